#!/usr/bin/env python3
"""make firmware: the unix port with mpsysd's core frozen in (freeze/unix.py),
built from the same Debian source tree as .build/bin/micropython, into
.build/bin/micropython-frozen. Host-side script (CPython).
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import get_micropython  # noqa: E402

OUT = os.path.join(get_micropython.BIN, "micropython-frozen")


def build():
    tree = get_micropython.TREE
    if not os.path.isdir(os.path.join(tree, "ports", "unix")):
        get_micropython.fetch_source()  # the interpreter came from elsewhere
    if not os.path.exists(os.path.join(tree, "mpy-cross", "build", "mpy-cross")):
        subprocess.run(["make", "-C", "mpy-cross"], cwd=tree, check=True, capture_output=True)
    res = subprocess.run(
        ["make", "-j%d" % (os.cpu_count() or 1), "-C", "ports/unix", "BUILD=build-mpsysd",
         "STRIP=true", "FROZEN_MANIFEST=" + os.path.join(ROOT, "freeze", "unix.py"),
         "MICROPY_PY_SSL=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0"],
        cwd=tree, capture_output=True, text=True)
    if res.returncode:
        sys.exit("build_firmware: the build failed:\n" + (res.stdout + res.stderr)[-3000:])
    shutil.copy(os.path.join(tree, "ports", "unix", "build-mpsysd", "micropython"), OUT)
    return OUT


if __name__ == "__main__":
    print(build())
