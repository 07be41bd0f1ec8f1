# aioimport: the import phase of a boot, init() or load(): each service
# file found (aiodiscover) is imported, checked and configured from its
# services.config entry. aiomanager loads it for the phase and lets go of
# it (and of aiodiscover) before the services start: the two phases'
# code never sits in the heap together.
import sys

from aioclass import Failed, Service
from aiomanager import _error_line, _problem
from aioservice import errors, registry
from gc import collect


def _discover(names, entries, log):
    """Import and configure the named services (None: every enabled one);
    entries: see _settings."""
    # (aiomanager's own is called so: a name the board holds already)
    import aiodiscover as found

    files = found.find()
    for path in found.ignored:
        name = path.rsplit("/", 1)[-1].split("_service.")[0]
        if names is None or name in names:
            _problem(path, "%s: %s: ignored: %s is the one imported; remove one of them"
                     % (path, name, files[name]), log)
    wanted = sorted(files if names is None else names)
    for name, entry in entries.items() if names is None else ():
        if name not in files and not (isinstance(entry, dict) and entry["enabled"] is False):
            _problem(name, "services.config: %s: no file %s_service.py in %s (a misspelt "
                     "name?)" % (name, name, found.folder()), log)
    for name in wanted:
        if names is None and name in registry and not isinstance(registry[name], Failed):
            continue  # imported already (by boot() before init()); a failed file is tried again
        if name not in files:
            _problem(name, "%s: %s: no file %s_service.py" % (found.folder(), name, name), log)
            continue
        entry = entries.get(name)
        if names is None and isinstance(entry, dict) and entry["enabled"] is False:
            registry.pop(name, None)  # disabled in the config: not even imported
            continue
        svc = _import(name, files[name], log)
        if svc is None or not _apply(svc, entry, log):
            continue
        if names is None and not svc.enabled:
            registry.pop(name)
            found.unload(name)
    sys.modules.pop("aiodiscover", None)  # what it imported is the services' now


def _import(name, path, log):
    """Import one service file and register it (or a Failed stand-in)."""
    import aiodiscover as found

    errors.pop(name, None)
    collect()  # what came before is garbage now: the service's code fills its holes
    try:
        module = found.load(name)
        svc = getattr(module, "service", None)
        if not isinstance(svc, Service):
            raise ImportError("%s: end the file with service = MyService(%r), a subclass of "
                              "aioclass.Service" % ("no `service` object" if svc is None else
                                                    "`service` is not a Service", name))
        task = getattr(type(svc), "task", None)
        if task is None:
            raise TypeError("no task: give the class an @aioctl.aiotask async def task(self)")
        if type(task) is type(_error_line):
            raise TypeError("task is not a coroutine function (async def)")
        if svc.name != name:  # two files could claim one name, and one be lost
            raise ValueError("the file declares %r: a service in %s_service.py must be "
                             "called %r" % (svc.name, name, name))
    except Exception as e:
        found.unload(name)
        registry[name] = Failed(name, path, e)
        _problem(name, "%s: %s: not loaded: %s" % (path, name, _error_line(e)), log)
        return None
    # the module's own name and __file__ are names the board holds already:
    # kept instead of the strings found on disk (heap, strewn through it)
    where = getattr(module, "__file__", None)
    svc.path = where if where == path else path
    registry[svc.name] = svc
    return svc


def _apply(svc, e, log):
    """Config entry e (see _settings) and attributes into svc.args/kwargs/
    schedule/require; False on error."""
    name = svc.name
    kw = svc.kwargs  # asyncmd's services could give these two as kwargs too
    if "schedule" in kw:
        svc.schedule = kw.pop("schedule")
    if "require" in kw:
        svc.require = kw.pop("require") or ()
    try:
        if isinstance(e, Exception):
            raise e
        if e:  # what differs from the class's defaults is set: each attribute costs heap
            if e["enabled"] is not None:
                svc.enabled = e["enabled"]
            if e["args"] is not None:
                svc.args = e["args"]
            if e["schedule"]:
                svc.schedule = e["schedule"]
            if e["require"]:
                svc.require = e["require"]
            kw.update(e["kwargs"])
            if e["policy"]:
                svc.policy = dict(svc.policy, **e["policy"])
        if svc.type not in ("core.service", "runtime.service", "schedule.service"):
            raise ValueError("%s: %s: unknown type %r (core.service, runtime.service or "
                             "schedule.service)" % (svc.path, name, svc.type))
        if svc.type == "schedule.service":
            import aioschedule

            try:
                aioschedule.check(svc.schedule or {})
            except ValueError as err:  # named by where the plan came from
                where = "services.config" if e and e["schedule"] else svc.path
                raise ValueError("%s: %s: %s" % (where, name, err))
    except Exception as e:  # aioconfig.ConfigError or ValueError, one line each
        if isinstance(e, MemoryError):  # its message alone would not say whose
            e = "%s: %s: not configured: %s" % (svc.path, name, _error_line(e))
        _problem(name, str(e), log)
        return False
    return True
