#!/usr/bin/env python3
"""make run: the mpsysd app on the unix port, with the example services.

Lays out .build/app/ as a board's filesystem would be (main.py, boot.py,
aioservices/services/ with the examples, services.config, .env), puts the
compiled core on the import path as a board's /lib, and starts main.py with
a microcontroller-sized heap. services.config and .env are copied only when
the app has none, so that changes made with aioservice.config() persist.
On a terminal, the app runs with it raw, as a board's serial line is: the
prompt edits lines itself and Ctrl-C reaches it as a key; the terminal is
restored whenever the app exits, and on Ctrl-C, errors or SIGTERM here.
Host-side script (CPython).
"""
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import termios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

# BITS=32: the 32-bit build, whose objects are a board's size; HEAP=64K
# with it is what a 64 KB board has
MICROPYTHON = os.path.join(ROOT, ".build", "bin", "micropython32" if os.environ.get("BITS") == "32"
                           else "micropython")
LIB = os.path.join(ROOT, ".build", "mpy")
APP = os.path.join(ROOT, ".build", "app")
EXAMPLES = os.path.join(ROOT, "examples")
# The whole app (journal, watcher, prompt, examples) wants about 184 KB on
# this 64-bit port today (README: Budgets): 256 KB leaves room to work at the
# prompt. HEAP=... for another size.
HEAP = os.environ.get("HEAP", "256K")


def import_path(lib):
    """MICROPYPATH for a compiled tree: the frozen modules, /lib and the logging tools."""
    return ":".join((".frozen", lib, os.path.join(lib, "tools", "logging")))


INSTALLED = ".mpsysd-installed.json"  # in the app: what lay_out() put there last time


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def lay_out(app=APP):
    """Put the project's files into app. A file the user added is never
    touched, and one the user edited (it differs from what lay_out put there
    last time) is kept and named; the rest are brought up to date.
    services.config and .env are the user's once they exist."""
    compile_mpy.compile_to(LIB)
    files = {}  # path in the app -> source
    bundled = os.path.join(LIB, "aioservices")
    for folder, _, names in os.walk(bundled):
        for name in names:
            src = os.path.join(folder, name)
            files[os.path.join("aioservices", os.path.relpath(src, bundled))] = src
    for name in sorted(os.listdir(EXAMPLES)):
        if name.endswith("_service.py"):
            files[os.path.join("aioservices", "services", name)] = os.path.join(EXAMPLES, name)
    for name in ("main.py", "boot.py"):
        files[name] = os.path.join(ROOT, name)
    record = os.path.join(app, INSTALLED)
    try:
        with open(record) as f:
            before = json.load(f)
    except (OSError, ValueError):
        before = {}
    after = {}
    for rel, src in sorted(files.items()):
        dest = os.path.join(app, rel)
        if rel in before and os.path.exists(dest) and _digest(dest) != before[rel]:
            print("mpsysd: keeping your edited %s" % os.path.relpath(dest))
            after[rel] = before[rel]
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(src, dest)
        after[rel] = _digest(dest)
    for name in ("services.config", ".env"):
        if not os.path.exists(os.path.join(app, name)):
            shutil.copy(os.path.join(EXAMPLES, name), app)
    with open(record, "w") as f:
        json.dump(after, f, indent=1, sort_keys=True)


# Exit statuses after which the app starts again, like systemd's Restart=always
# for a board's reset: safemode.EXIT_RESET and safemode.EXIT_WATCHDOG.
RESTART_ON = (75, 76)


def set_raw(fd):
    """Make the terminal on fd raw, as a board's serial line is: keys reach the
    app one by one, unechoed, Ctrl-C and Ctrl-D as bytes; output keeps its
    \n -> \r\n. Returns the settings it had."""
    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON
                | termios.ISTRIP)
    new[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    new[6][termios.VMIN] = 1
    new[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSADRAIN, new)
    return old


@contextlib.contextmanager
def raw_terminal(fd):
    """The terminal on fd raw while inside; its settings back on every way out."""
    old = set_raw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # so that the app is stopped and the terminal restored


def main():
    if not os.path.exists(MICROPYTHON):  # micropython32 needs gcc-multilib (make micropython)
        print("mpsysd: no %s: `make micropython` builds it (it says what it needs)"
              % os.path.relpath(MICROPYTHON))
        return 1
    lay_out()
    print("mpsysd: starting the app in %s (%s, heap %s); Ctrl-C stops the app, Ctrl-D closes "
          "the prompt" % (os.path.relpath(APP), os.path.basename(MICROPYTHON), HEAP))
    env = dict(os.environ, MICROPYPATH=import_path(LIB))
    tty = sys.stdin.isatty()
    # no terminal: the services run without a prompt; a terminal: made raw for it
    env["MPSYSD_PROMPT"] = "raw" if tty else "off"
    signal.signal(signal.SIGTERM, _terminated)
    while True:
        with raw_terminal(sys.stdin.fileno()) if tty else contextlib.nullcontext():
            status = run_once(env)
        if status not in RESTART_ON:
            return status
        print("mpsysd: the app exited with status %d (a reset); starting it again" % status)


def run_once(env):
    """Run main.py until it exits; return its status."""
    app = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + HEAP, "main.py"], cwd=APP, env=env)
    try:
        while True:
            try:
                return app.wait()
            except KeyboardInterrupt:  # the app got the Ctrl-C too: wait while it stops in order
                pass
    finally:
        if app.poll() is None:  # SIGTERM or an error here: the app goes too
            app.terminate()
            app.wait()


if __name__ == "__main__":
    sys.exit(main())
