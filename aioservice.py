# aioservice: the mpsysd service manager's front: the registry of services
# and service(name), and the shutdown signal services can wait for.
# Everything else (discover, boot, init, load...) is in aiomanager, and
# (unload, status, config...) in aioadmin, which load on first use and are
# let go of after; shutdown() is in aioshutdown. Importing this does
# nothing else.
import sys

from micropython import const

registry = {}  # name -> Service, or aioclass.Failed for one that could not load
errors = {}  # name -> the one-line reason it is not running
log = None  # the app's logger, as given to boot() or init(); load() uses it too
# services.config and .env as read_config() gives them, for the boot() or
# load() about to run; True from boot() to the init() after it (nothing new to find)
settings = None


def service(name):
    """The Service called name ("hello", or its task's name "hello.service"), or None."""
    if type(name) is str and name.endswith(".service"):
        name = name[:-8]
    return registry.get(name)


stopping = False  # shutdown() has begun
_stop_event = None  # made when a service first waits for shutdown


def _shutdown_begins():
    # Called by aiomanager.shutdown(): wake every wait_for_shutdown().
    global stopping
    stopping = True
    if _stop_event:
        _stop_event.set()


async def wait_for_shutdown(timeout=None):
    """Wait until shutdown begins (True) or timeout seconds pass (False):
    a service can sleep on this instead of polling a flag."""
    global _stop_event
    import asyncio

    if stopping:
        return True
    if _stop_event is None:
        _stop_event = asyncio.Event()
    if timeout is None:
        await _stop_event.wait()
        return True
    try:
        await asyncio.wait_for(_stop_event.wait(), timeout)
        return True
    except asyncio.TimeoutError:
        return False


# what release() forgets: the manager, and what a boot brings in as well (the
# task views, the occasional calls, the wildcards); each loads again when needed
_MANAGER = const(("aiomanager", "aioadmin", "aiodiscover", "aioconfig", "aioorder", "atomicfile",
                  "aiosecret", "aioview", "aiotools", "aiotasks", "aiolazy", "aiogrep"))


def release():
    """Forget the manager's code (RAM) until it is needed again."""
    global settings
    settings = None
    __import__("aioctl").unimport(_MANAGER)  # also what a boot short of heap half-loaded


def read_config(service=None):
    """services.config and .env, checked (see aioconfig.settings); the code
    that read them is let go of at once."""
    try:
        import aioconfig

        return aioconfig.settings(service)
    finally:
        __import__("aioctl").unimport(("aioconfig", "atomicfile", "jsoncheck"))


def load(name=None, debug=False, log=None, debug_log=False, config=True):
    """Import, configure (services.config and .env) and start name (a file
    may have been added since start); see aiomanager.load. The config is
    read before the manager's code loads (on a small board the two do not
    fit in the heap together), and the manager is let go of after."""
    global settings
    try:
        if config:
            settings = read_config(name)
        return __import__("aiomanager").load(name, debug, log, debug_log, config)
    except MemoryError as e:  # the config or the manager did not fit: say whose load it was
        raise MemoryError("load(%r): %s" % (name, e))
    finally:
        settings = None
        __import__("aioctl").unimport(_MANAGER)


def __getattr__(attr):
    # boot and init (they start services) are aiomanager's; status, unload,
    # config... aioadmin's. `list` is spelled list_services there, so as not
    # to hide the builtin.
    if attr == "shutdown":  # needed once, at the end: a module of its own
        import aioshutdown

        return getattr(aioshutdown, attr)
    import aioctl

    if attr != "boot":  # (awaited once by aioboot, which lets go of the manager itself)
        import aiolazy  # a call at the prompt gives the manager's RAM back, as a view does
    name = "aiomanager" if attr in ("boot", "init") else "aioadmin"
    loaded = name in sys.modules
    try:
        func = getattr(__import__(name), "list_services" if attr == "list" else attr, None)
    except BaseException:  # no heap for it, most likely: what did load goes
        aioctl.unimport(_MANAGER)
        raise
    if func is None:  # a typo at the prompt, most likely: say so, and keep nothing loaded
        if not loaded:
            aioctl.unimport((name,))
        raise AttributeError("aioservice has no %r; help(aioservice) lists its calls" % attr)
    if attr == "boot":  # a coroutine function
        return func
    return aiolazy.released(func, _MANAGER)  # pyright: ignore[reportPossiblyUnbound]
