"""scripts/run_app.py (host side): the app starts again after a reset status,
and a terminal is raw while the app runs, restored on every way out."""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

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
# make run on a terminal: raw while the app runs, restored on every way out.
FAKE_APP = """#!%(python)s
# stands in for the interpreter: says how the terminal is, then exits with
# the next status of the list (or sleeps, for "sleep")
import os, sys, termios, time
a = termios.tcgetattr(0)
print("app %%d: icanon=%%d echo=%%d isig=%%d opost=%%d prompt=%%s" %% (
    os.getpid(), bool(a[3] & termios.ICANON), bool(a[3] & termios.ECHO),
    bool(a[3] & termios.ISIG), bool(a[1] & termios.OPOST), os.environ["MPSYSD_PROMPT"]),
    flush=True)
statuses = open("statuses").read().split()
open("statuses", "w").write(" ".join(statuses[1:]))
if statuses[0] == "sleep":
    time.sleep(60)
sys.exit(int(statuses[0]))
"""

LAUNCH = """
import sys
sys.path.insert(0, %(scripts)r)
import run_app
run_app.lay_out = lambda: None
run_app.MICROPYTHON, run_app.APP = %(app)r, %(cwd)r
sys.exit(run_app.main())
"""


def launch(tmp_path, statuses, app=None):
    fake = tmp_path / "micropython"
    fake.write_text(FAKE_APP % {"python": sys.executable})
    fake.chmod(0o755)
    (tmp_path / "statuses").write_text(statuses)
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    code = LAUNCH % {"scripts": os.path.dirname(run_app.__file__), "app": app or str(fake),
                     "cwd": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    return proc, master, slave, before


def output(master, until=None, timeout=10):
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (until and until in text):
        if select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            text += chunk.decode().replace("\r", "")
        elif until is None:
            break
    return text


@pytest.mark.parametrize("how", ["restarts", "sigterm", "error"])
def test_make_run_makes_the_terminal_raw_and_restores_it(tmp_path, how):
    statuses = {"restarts": "75 76 0", "sigterm": "sleep", "error": "0"}[how]
    broken = tmp_path / "not-executable"  # an error once the terminal is raw
    broken.write_text("")
    proc, master, slave, before = launch(
        tmp_path, statuses, app=str(broken) if how == "error" else None)
    try:
        if how == "sigterm":
            text = output(master, until="prompt=raw")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 128 + signal.SIGTERM
            pid = int(re.search(r"app (\d+)", text).group(1))
            with pytest.raises(ProcessLookupError):  # the app was stopped too
                os.kill(pid, 0)
        else:
            proc.wait(timeout=10)
            text = output(master)
        apps = re.findall(r"^app \d+: (.*)$", text, re.M)
        if how == "error":
            assert apps == [] and "PermissionError" in text and proc.returncode == 1
        else:
            assert apps == ["icanon=0 echo=0 isig=0 opost=1 prompt=raw"] * len(statuses.split())
        assert termios.tcgetattr(slave) == before
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)


def test_make_run_without_the_interpreter_says_how_to_get_it(tmp_path):
    # BITS=32 make run where gcc-multilib could not build micropython32
    r = subprocess.run([sys.executable, "-c", LAUNCH % {
        "scripts": os.path.dirname(run_app.__file__), "app": str(tmp_path / "missing"),
        "cwd": str(tmp_path)}], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r
    assert "`make micropython` builds it" in r.stdout and "Traceback" not in r.stderr, r
