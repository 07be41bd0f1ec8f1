#!/usr/bin/env python3
"""Write mpsysd's mip package files from one list of files (make packages).

- package.json: the core, for /lib (mip's default target). Services then go
  in /lib/aioservices/services/.
- services.json: the core and the bundled services (the watcher), for /lib.
- app.json: the core, the watcher, main.py, boot.py and the examples, for
  the board's root: `mip install --target / .../app.json`. It overwrites
  main.py and boot.py, which is why it is a bundle of its own.

Each package holds every module its files import, so none needs deps.
Host-side script (CPython); `--check` fails when the files are not current.
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

VERSION = "0.1.0"
BUNDLED = ("aioservices/services/watcher_service.py", "aioservices/services/mqtt_service.py")
APP = ("main.py", "boot.py")
FLAT = "tools/logging/"  # on a board these modules sit in /lib itself


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


def packages():
    core = [[on_board(rel), rel] for rel in core_files()]
    services = core + [[rel, rel] for rel in BUNDLED]
    app = [["lib/" + dest, src] for dest, src in services]
    app += [[rel, rel] for rel in APP]
    app += [["lib/" + dest if dest.startswith("aioservices") else dest, src]
            for dest, src in example_files()]
    return {"package.json": core, "services.json": services, "app.json": app}


def render(urls):
    return json.dumps({"urls": urls, "version": VERSION}, indent=1) + "\n"


def main():
    stale = []
    for name, urls in packages().items():
        path = os.path.join(ROOT, name)
        text = render(urls)
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            if "--check" in sys.argv:
                stale.append(name)
            else:
                with open(path, "w") as f:
                    f.write(text)
                print("wrote", name)
    if stale:
        sys.exit("make_packages: %s not current: run `make packages`" % ", ".join(stale))


if __name__ == "__main__":
    main()
