#!/usr/bin/env python3
"""Write mpsysd's mip packages and the compiled modules they install
(make packages), from one list of files.

- mpy/: each device module compiled by the pinned mpy-cross, laid out as on
  a board under /lib (tools/logging/* flat, aioservices/ kept), and the
  example services in mpy/examples/. Each file names its source by its file
  name alone (`aioctl.py`, `watcher_service.py`), so the bytes are the same
  on every machine, and the name, a permanent qstr on the board, is short.
- package.json: the core, compiled, for /lib (mip's default target).
  Services then go in /lib/aioservices/services/.
- services.json: the core and the bundled services (the watcher), compiled.
- app.json: the core, the watcher and the example services compiled, with
  main.py, boot.py and the examples' config, for the board's root:
  `mip install --target / .../app.json` (what `make mpy` puts in dist/). It
  overwrites main.py and boot.py, which is why it is a bundle of its own.
- package-src.json, services-src.json, app-src.json: the same as sources,
  for firmware that cannot import .mpy files, or to read the code on a board.

Each package holds every module its files import, so none needs deps.
Host-side script (CPython); `--check` fails when a package file or a
compiled module is not current (it compiles into a temporary folder and
compares bytes).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

VERSION = "0.1.0"
BUNDLED = ("aioservices/services/watcher_service.py", "aioservices/services/mqtt_service.py")
APP = ("main.py", "boot.py")  # MicroPython runs these two only as .py
FLAT = "tools/logging/"  # on a board these modules sit in /lib itself
MPY = "mpy"  # the committed compiled modules
CROSS = os.path.join(ROOT, ".build", "bin", "mpy-cross")
PINNED = "MicroPython v1.25.0"  # the mpy-cross whose output is committed


def core_files():
    return [rel for rel in compile_mpy.device_sources() if rel not in BUNDLED + APP]


def on_board(rel):
    """Where a project file goes, relative to /lib."""
    return rel[len(FLAT):] if rel.startswith(FLAT) else rel


def example_files():
    names = sorted(os.listdir(os.path.join(ROOT, "examples")))
    return [("aioservices/services/" + n, "examples/" + n) for n in names
            if n.endswith("_service.py")] + \
        [(n, "examples/" + n) for n in ("services.config", ".env")]


def source_packages():
    core = [[on_board(rel), rel] for rel in core_files()]
    services = core + [[rel, rel] for rel in BUNDLED]
    app = [["lib/" + dest, src] for dest, src in services]
    app += [[rel, rel] for rel in APP]
    app += [["lib/" + dest if dest.startswith("aioservices") else dest, src]
            for dest, src in example_files()]
    return {"package-src.json": core, "services-src.json": services, "app-src.json": app}


def compiled(src):
    """True for a file the compiled packages hold as .mpy."""
    return src.endswith(".py") and src not in APP


def mpy_files():
    """(path in mpy/, source, name in its tracebacks) of each compiled module."""
    return [(on_board(src)[:-3] + ".mpy", src, compile_mpy.source_name(src))
            for _, src in source_packages()["app-src.json"] if compiled(src)]


def packages():
    """Each package file's name -> its urls ([path on the board, path here])."""
    where = {src: MPY + "/" + path for path, src, _ in mpy_files()}
    out = {}
    for name, urls in source_packages().items():
        out[name.replace("-src", "")] = [[dest[:-3] + ".mpy", where[src]] if compiled(src)
                                         else [dest, src] for dest, src in urls]
    out.update(source_packages())
    return out


def render(urls):
    return json.dumps({"urls": urls, "version": VERSION}, indent=1) + "\n"


def cross_problem():
    """Why mpy-cross cannot make mpy/ (a line), or None."""
    try:
        res = subprocess.run([CROSS, "--version"], capture_output=True, text=True)
    except OSError:
        return "no %s: run `make micropython`" % os.path.relpath(CROSS, ROOT)
    if PINNED + "+" not in res.stdout and PINNED + " " not in res.stdout:
        return "mpy/ is made by %s's mpy-cross; %s is %s" % (
            PINNED, os.path.relpath(CROSS, ROOT), res.stdout.strip())
    return None


def compile_module(src, out, name):
    """Compile the project file src into out; tracebacks name it name. The
    examples keep their line numbers (compile_mpy.OPT is for mpsysd's own
    modules): they are services as a user writes them, and broken_service
    shows aioservice.traceback() pointing at the line that failed."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    opt = [] if src.startswith("examples/") else [compile_mpy.OPT]
    res = subprocess.run([CROSS] + opt + ["-s", name, "-o", out, src], cwd=ROOT,
                         capture_output=True, text=True)
    if res.returncode:
        sys.exit("make_packages: %s: %s" % (src, res.stderr.strip()))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def committed_mpy(mpy_dir):
    """The .mpy files under mpy_dir, relative to it."""
    found = []
    for top, _, files in os.walk(mpy_dir):
        found += [os.path.relpath(os.path.join(top, f), mpy_dir) for f in files]
    return sorted(found)


def stale_mpy(mpy_dir):
    """Paths in mpy_dir that are not their source compiled now: changed,
    missing, or left from a module that is gone. Compiles into a temporary
    folder, which is returned as well."""
    fresh = tempfile.mkdtemp(prefix="mpsysd-mpy-")
    for path, src, name in mpy_files():
        compile_module(src, os.path.join(fresh, path), name)
    want = committed_mpy(fresh)
    stale = [p for p in want if not os.path.exists(os.path.join(mpy_dir, p))
             or read(os.path.join(mpy_dir, p)) != read(os.path.join(fresh, p))]
    return stale + [p for p in committed_mpy(mpy_dir) if p not in want], fresh


def main():
    check = "--check" in sys.argv
    problem = cross_problem()
    if problem:
        sys.exit("make_packages: " + problem)
    stale = []
    for name, urls in packages().items():
        path = os.path.join(ROOT, name)
        text = render(urls)
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            if check:
                stale.append(name)
            else:
                with open(path, "w") as f:
                    f.write(text)
                print("wrote", name)
    mpy_dir = os.path.join(ROOT, MPY)
    changed, fresh = stale_mpy(mpy_dir)
    try:
        for rel in changed:
            new, old = os.path.join(fresh, rel), os.path.join(mpy_dir, rel)
            if check:
                stale.append(MPY + "/" + rel)
            elif os.path.exists(new):
                os.makedirs(os.path.dirname(old), exist_ok=True)
                shutil.copyfile(new, old)
                print("wrote", MPY + "/" + rel)
            else:
                os.remove(old)
                print("removed", MPY + "/" + rel)
    finally:
        shutil.rmtree(fresh)
    for top, _, _ in os.walk(mpy_dir, topdown=False):
        if not check and not os.listdir(top):  # a folder whose modules are gone
            os.rmdir(top)
    if stale:
        sys.exit("make_packages: %s not current: run `make packages`" % ", ".join(stale))


if __name__ == "__main__":
    main()
