# aioservices.services: service discovery. Drop xxx_service.py (or .mpy)
# files in this folder; find() lists them and load() imports one.
import os
import sys

_SUFFIXES = ("_service.py", "_service.mpy")


def folder():
    """This package's folder; relative (./...) when it is below the working directory."""
    path = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    cwd = os.getcwd().rstrip("/") + "/"
    if path.startswith(cwd):
        path = path[len(cwd):]
    return path if path.startswith("/") or path.startswith(".") else "./" + path


def find():
    """{service name: file path} of the service files in this folder."""
    where = folder()
    found = {}
    for entry in sorted(os.listdir(where)):
        for suffix in _SUFFIXES:
            if entry.endswith(suffix):
                found.setdefault(entry[: -len(suffix)], where + "/" + entry)
    return found


def load(name):
    """Import xxx_service and return its module (a fresh import each time)."""
    module = "%s.%s_service" % (__name__, name)
    sys.modules.pop(module, None)
    __import__(module)
    return sys.modules[module]


def unload(name):
    """Forget the imported module of a service, so that its RAM can be freed."""
    sys.modules.pop("%s.%s_service" % (__name__, name), None)
