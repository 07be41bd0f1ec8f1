"""The app's prompt: answers through a pseudo-terminal while services run on,
and steps aside quietly without a terminal."""
import os
import pty
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import LIB, LOGGING, MICROPYTHON, MPLIB, ROOT, service_file

pytestmark = pytest.mark.unix_only

TICKER = service_file("ticker", body="""
    n = 0
    while True:
        n += 1
        tasks = aioctl.group().tasks
        print("tick %d prompt=%s" % (n, tasks["prompt"].state if "prompt" in tasks else "none"))
        await asyncio.sleep_ms(50)
""")


def app(mp):
    mp.services({"ticker": TICKER})
    shutil.copy(os.path.join(ROOT, "main.py"), mp.workdir)
    env = dict(os.environ, MICROPYPATH=":".join((".frozen", LIB, LOGGING, MPLIB)))
    env.pop("MPSYSD_PROMPT", None)
    # The whole app, as `make run` runs it: 128 KB on this 64-bit port is about
    # a 64 KB heap on a 32-bit board.
    return [MICROPYTHON, "-X", "heapsize=128K", "main.py"], env


def read_until(fd, pattern, seen, timeout=10):
    """Read from fd into seen (a list of chunks) until pattern appears after
    what was there before; returns the new text."""
    start = len("".join(seen))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = "".join(seen)[start:]
        if re.search(pattern, text, re.M):
            return text
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                break
    pytest.fail("no %r within %s s; output:\n%s" % (pattern, timeout, "".join(seen)))


def test_prompt_answers_through_a_pty_while_a_service_keeps_running(mp):
    cmd, env = app(mp)
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=mp.workdir, env=env, stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    seen = []
    try:
        read_until(master, r"^tick 3 prompt=running", seen)
        os.write(master, b"aioctl.status()\n")
        answer = read_until(master, r"ticker\.service: status: running since", seen)
        assert re.search(r"prompt: status: running since", answer)
        after = read_until(master, r"^tick \d+ prompt=running", seen)
        assert "tick" in after  # the service went on while the prompt answered
        os.write(master, b"1 +\n")  # a mistake does not end the prompt
        read_until(master, r"SyntaxError", seen)
        os.write(master, b"aioservice.status()\n")
        read_until(master, r"\[ OK \] Service: ticker.service from \./aioservices/services/"
                           r"ticker_service\.py loaded", seen)
        os.write(master, b"\x04")  # Ctrl-D: the prompt steps aside, services run on
        read_until(master, r"^tick \d+ prompt=done", seen)
    finally:
        proc.kill()
        proc.wait()
        os.close(master)


@pytest.mark.parametrize("how", ["stdin closed", "not a terminal"])
def test_no_terminal_prompt_steps_aside_quietly(mp, how):
    cmd, env = app(mp)
    if how == "not a terminal":
        env["MPSYSD_PROMPT"] = "off"  # what scripts/run_app.py sets for a pipe
    proc = subprocess.Popen(cmd, cwd=mp.workdir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=1.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    ticks = re.findall(r"^tick (\d+) prompt=(\w+)$", out, re.M)
    assert len(ticks) >= 10, out
    expected = "done" if how == "stdin closed" else "none"
    assert ticks[-1][1] == expected, out
    assert err == "" and "Traceback" not in out
