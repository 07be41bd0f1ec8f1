#!/usr/bin/env python3
"""make run: the mpsysd app on the unix port, with the example services.

Lays out .build/app/ as a board's filesystem would be (main.py, boot.py,
aioservices/services/ with the examples, services.config, .env), puts the
compiled core on the import path as a board's /lib, and starts main.py with
a microcontroller-sized heap. services.config and .env are copied only when
the app has none, so that changes made with aioservice.config() persist.
Host-side script (CPython).
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".build", "bin", "micropython")
LIB = os.path.join(ROOT, ".build", "mpy")
APP = os.path.join(ROOT, ".build", "app")
EXAMPLES = os.path.join(ROOT, "examples")
HEAP = os.environ.get("HEAP", "128K")


def import_path(lib):
    """MICROPYPATH for a compiled tree: the frozen modules, /lib and the logging tools."""
    return ":".join((".frozen", lib, os.path.join(lib, "tools", "logging")))


def lay_out(app=APP):
    compile_mpy.compile_to(LIB)
    services = os.path.join(app, "aioservices", "services")
    shutil.rmtree(os.path.join(app, "aioservices"), ignore_errors=True)
    shutil.copytree(os.path.join(LIB, "aioservices"), os.path.join(app, "aioservices"))
    for name in sorted(os.listdir(EXAMPLES)):
        src = os.path.join(EXAMPLES, name)
        if name.endswith("_service.py"):
            shutil.copy(src, services)
        elif name in ("services.config", ".env") and not os.path.exists(os.path.join(app, name)):
            shutil.copy(src, app)
    for name in ("main.py", "boot.py"):
        shutil.copy(os.path.join(ROOT, name), app)


# Exit statuses after which the app starts again, like systemd's Restart=always
# for a board's reset: safemode.EXIT_RESET and safemode.EXIT_WATCHDOG.
RESTART_ON = (75, 76)


def main():
    lay_out()
    print("mpsysd: starting the app in %s (heap %s); Ctrl-D leaves the prompt, "
          "Ctrl-C stops the app" % (os.path.relpath(APP), HEAP))
    env = dict(os.environ, MICROPYPATH=import_path(LIB))
    if not sys.stdin.isatty():  # no terminal: the services run without a prompt
        env["MPSYSD_PROMPT"] = "off"
    while True:
        status = run_once(env)
        if status not in RESTART_ON:
            return status
        print("mpsysd: the app exited with status %d (a reset); starting it again" % status)


def run_once(env):
    """Run main.py until it exits; return its status."""
    app = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + HEAP, "main.py"], cwd=APP, env=env)
    while True:
        try:
            return app.wait()
        except KeyboardInterrupt:  # the app got the Ctrl-C too: wait while it stops in order
            pass


if __name__ == "__main__":
    sys.exit(main())
