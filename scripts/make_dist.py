#!/usr/bin/env python3
"""make mpy: dist/ laid out as a board's filesystem, modules compiled by the
mpy-cross that matches the interpreter: dist/lib/*.mpy (the core and the
logging tools, flat), dist/lib/aioservices/ (discovery, the watcher, the
example services), and dist/main.py, boot.py, services.config, .env.

`make deploy PORT=...` copies dist/lib to the board; with APP=1 also main.py,
boot.py and the examples' config (they would replace a user's own).
Host-side script (CPython).
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_packages  # noqa: E402


def build(out):
    shutil.rmtree(out, ignore_errors=True)
    for dest, src in make_packages.source_packages()["app-src.json"]:
        target = os.path.join(out, dest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if make_packages.compiled(src):  # as app.json's mpy/ files are compiled
            make_packages.compile_module(src, target[:-3] + ".mpy",
                                         make_packages.compile_mpy.source_name(src))
        else:
            shutil.copy(os.path.join(ROOT, src), target)


def deploy(out, port, app):
    mpremote = [sys.executable, "-m", "mpremote", "connect", port]
    subprocess.run(mpremote + ["fs", "cp", "-r", os.path.join(out, "lib"), ":"], check=True)
    if app:
        for name in ("main.py", "boot.py", "services.config", ".env"):
            subprocess.run(mpremote + ["fs", "cp", os.path.join(out, name), ":"], check=True)
    else:
        print("deploy: main.py, boot.py and services.config left as they are on the board "
              "(APP=1 replaces them with mpsysd's)")


if __name__ == "__main__":
    out = os.path.join(ROOT, "dist")
    build(out)
    print("mpsysd: %s ready to copy to a board" % os.path.relpath(out))
    if len(sys.argv) > 1:
        deploy(out, sys.argv[1], os.environ.get("APP") == "1")
