"""scripts/run_app.py (host side): the app starts again after a reset status."""
import os

import run_app


def test_app_restarts_after_reset_and_watchdog_statuses(monkeypatch, capsys):
    statuses = [75, 76, 0]
    calls = []

    def run_once(env):
        calls.append(env.get("MPSYSD_PROMPT"))
        return statuses.pop(0)

    monkeypatch.setattr(run_app, "lay_out", lambda: None)
    monkeypatch.setattr(run_app, "run_once", run_once)
    assert run_app.main() == 0
    assert calls == ["off"] * 3  # stdin here is not a terminal
    out = capsys.readouterr().out
    assert out.count("(a reset); starting it again") == 2


def test_restart_statuses_are_the_apps(mp):
    r = mp.run("import safemode\nprint(safemode.EXIT_RESET, safemode.EXIT_WATCHDOG)")
    assert tuple(int(v) for v in r.lines[0].split()) == run_app.RESTART_ON


def test_lay_out_keeps_what_the_user_added_or_edited(tmp_path, capsys):
    app = str(tmp_path / "app")
    run_app.lay_out(app)
    services = os.path.join(app, "aioservices", "services")
    assert os.path.exists(os.path.join(services, "hello_service.py"))
    with open(os.path.join(services, "mine_service.py"), "w") as f:
        f.write("# the user's own service\n")
    with open(os.path.join(services, "hello_service.py"), "a") as f:
        f.write("# edited by the user\n")
    with open(os.path.join(app, "services.config"), "w") as f:
        f.write('{"hello": {"enabled": false}}')
    os.remove(os.path.join(services, "world_service.py"))  # removed: it comes back
    capsys.readouterr()
    run_app.lay_out(app)
    with open(os.path.join(services, "mine_service.py")) as f:
        assert f.read() == "# the user's own service\n"
    with open(os.path.join(services, "hello_service.py")) as f:
        assert f.read().endswith("# edited by the user\n")
    with open(os.path.join(app, "services.config")) as f:
        assert f.read() == '{"hello": {"enabled": false}}'
    assert os.path.exists(os.path.join(services, "world_service.py"))
    assert "keeping your edited" in capsys.readouterr().out
    # an untouched example is brought up to date
    with open(os.path.join(services, "world_service.py"), "w") as f:
        f.write("old")
    run_app.lay_out(app)  # edited now: kept
    with open(os.path.join(services, "world_service.py")) as f:
        assert f.read() == "old"
