#!/usr/bin/env python3
"""Compile mpsysd's device code with mpy-cross into OUT, keeping the layout.

Usage: compile_mpy.py OUT. Only changed files are compiled again. main.py and
boot.py stay source: MicroPython runs those two only as .py.
Host-side script (CPython).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CROSS = os.path.join(ROOT, ".build", "bin", "mpy-cross")
DEVICE_TREES = ("aioservices", "tools")  # besides the modules at the top level
KEEP_SOURCE = ("main.py", "boot.py")
NOT_DEVICE = ("manifest.py",)  # read by MicroPython's build, not run on a board
# mpy-cross's level, the one MicroPython builds its own asyncio and mip with:
# -O3 leaves the line numbers out of the bytecode, which keeps 1.3 KB more
# of a 64 KB board's heap free. A traceback through mpsysd's own modules then
# says line 1 (the function names stay); a service of your own, from its .py,
# keeps its line numbers.
OPT = "-O3"


def device_sources():
    """Paths (relative to the project) of the device modules."""
    found = [f for f in sorted(os.listdir(ROOT)) if f.endswith(".py") and f not in NOT_DEVICE]
    for tree in DEVICE_TREES:
        for top, dirs, files in os.walk(os.path.join(ROOT, tree)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            rel = os.path.relpath(top, ROOT)
            found += [os.path.join(rel, f) for f in sorted(files) if f.endswith(".py")]
    return found


_SELF = os.path.getmtime(os.path.abspath(__file__))


def source_name(rel):
    """The name a compiled module gives its source in tracebacks: the
    module's own short name (aioctl, hello_service, services for a package),
    a string the board has interned already. A file name (aioctl.py) would
    be one more permanent qstr per module: 35 of them cross a step of the
    qstr pool's growth, which costs 4.5 KB on a 32-bit board."""
    base = os.path.basename(rel)[:-3]
    return os.path.basename(os.path.dirname(rel)) if base == "__init__" else base


def compile_to(out):
    for rel in device_sources():
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        src = os.path.join(ROOT, rel)
        if rel in KEEP_SOURCE:
            with open(src, "rb") as f, open(dst, "wb") as g:
                g.write(f.read())
            continue
        dst = dst[:-3] + ".mpy"
        # again when the source changed, or how it is compiled (this script)
        if os.path.exists(dst) and os.path.getmtime(dst) >= max(os.path.getmtime(src), _SELF):
            continue
        res = subprocess.run([CROSS, OPT, "-o", dst, "-s", source_name(rel), rel], cwd=ROOT,
                             capture_output=True, text=True)
        if res.returncode:
            sys.exit("compile_mpy: %s: %s" % (rel, res.stderr.strip()))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    compile_to(sys.argv[1])
