# aiodiscover: service discovery. Service files (xxx_service.py or .mpy)
# are dropped in aioservices/services/; find() lists them, load() imports
# one, unload() forgets it. Needed at boot and when a service is loaded at
# run time, then let go of with the manager.
import os
import sys

ignored = []  # files that find() saw beside one of the same name that is imported


def folder():
    """The services' folder; relative when it is below the working directory
    (as the imported modules' __file__ then is: see aiomanager._import)."""
    import aioservices.services as package

    where = package.__file__
    path = where.rsplit("/", 1)[0] if "/" in where else "."
    cwd = os.getcwd().rstrip("/") + "/"
    if path.startswith(cwd):
        path = path[len(cwd):]
    return path


def check(name, exists=False):
    """name, or a one-line error: a service is named by a string ("hello";
    its task's name "hello.service" will do), and with exists, one that has
    a file here (or has been loaded)."""
    if type(name) is not str or name in ("", ".service"):
        raise TypeError("a service is named by a string, such as 'hello': not %r" % (name,))
    if name.endswith(".service"):
        name = name[:-8]
    if exists and name not in find() and name not in sys.modules["aioservice"].registry:
        raise ValueError("%s: %s: no file %s_service.py" % (folder(), name, name))
    return name


def find():
    """{service name: file path} of the service files in this folder."""
    where = folder()
    found = {}
    ignored.clear()
    for suffix in ("_service.py", "_service.mpy"):  # MicroPython imports the .py of a pair
        for entry in sorted(os.listdir(where)):
            if entry.endswith(suffix):
                name = entry[: -len(suffix)]
                if name in found:  # x_service.py and x_service.mpy: the .py is imported
                    ignored.append(where + "/" + entry)
                else:
                    found[name] = where + "/" + entry
    return found


def load(name):
    """Import xxx_service and return its module (a fresh import each time)."""
    module = "aioservices.services.%s_service" % name
    sys.modules.pop(module, None)
    __import__(module)
    return sys.modules[module]


def unload(name):
    """Forget the imported module of a service, so that its RAM can be freed:
    its package holds it too, as an attribute."""
    import aioctl

    module = "aioservices.services.%s_service" % name
    aioctl.unimport((module,))
    sys.modules["aioservices.services"].__dict__.pop(module[21:], None)
