"""scripts/run_app.py (host side): the app starts again after a reset status."""
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
