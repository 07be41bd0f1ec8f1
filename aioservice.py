# aioservice: the mpsysd service manager's front: the registry of services
# and service(name). Everything else (discover, boot, init, load, unload,
# status, config...) is in aiomanager, which loads on first use and can be
# released after start-up. Importing this module does nothing else.
import sys

registry = {}  # name -> Service, or aioclass.Failed for one that could not load
errors = {}  # name -> the one-line reason it is not running


def service(name):
    """The Service called name (without .service), or None."""
    return registry.get(name)


def release():
    """Forget the manager's code (RAM) until it is needed again."""
    for module in ("aiomanager", "aioconfig"):
        sys.modules.pop(module, None)


def __getattr__(attr):
    # boot, init, load, unload, status, config... live in aiomanager.
    # `list` is spelled list_services there, so as not to hide the builtin.
    import aiomanager

    return getattr(aiomanager, "list_services" if attr == "list" else attr)
