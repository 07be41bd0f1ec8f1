# aiomanager: the work of the service manager, loaded on first use through
# aioservice's module __getattr__: discovery, services.config and .env,
# starting services per type, init() and load(); boot() runs aiocore's,
# which is needed once (unload() is aioadmin's: it needs none of this).
# After start-up the app may call aioservice.release() to give its RAM
# back; it loads again on demand.
import sys

import aioctl
import aiojob
import aioservice
from aioclass import Failed, Service
from gc import collect
from micropython import const
from aioservice import errors, registry

_LATER = const(("runtime.service", "schedule.service"))  # the types init() starts, after the boot


def _say(line, debug, log):
    # Progress lines: printed when debug, logged when log is given.
    if debug:
        print(line)
    if log is not None:
        log.info(line)


def _problem(name, line, log):
    # A service that cannot run: the line names the file, the service and why.
    # It is printed, and logged when there is a log; once.
    if errors.get(name) == line:
        return
    errors[name] = line
    print("[ ERROR ] " + line)
    if log is not None:
        log.error(line)


def _error_line(exc):
    line = "%s: %s" % (type(exc).__name__, exc)
    if isinstance(exc, SyntaxError):  # where it is: said by the traceback alone
        import io

        text = io.StringIO()
        sys.print_exception(exc, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
        text = text.getvalue()  # pyright: ignore[reportAttributeAccessIssue]
        at = text.rfind(", line ")
        if at >= 0:
            line += " (line %s)" % text[at + 7:text.find("\n", at)]
    return line


def _settings(config, log):
    """{service: its checked config entry, or the ConfigError to say}
    (aioconfig.settings), reporting the config's own problems. Read before
    this module loaded (aioservice.load), else now."""
    read, aioservice.settings = aioservice.settings, None
    if not config:
        return {}
    if type(read) is not tuple:
        read = aioservice.read_config()
    entries, problems = read
    for line in problems:
        _problem("(config)", line, log)
    return entries


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
            raise ValueError("%s: %s: unknown type %r" % (svc.path, name, svc.type))
        if svc.type == "schedule.service":
            import aioschedule

            try:
                aioschedule.check(svc.schedule or {})
            except ValueError as e:
                raise ValueError("%s: %s: %s" % (svc.path, name, e))
    except Exception as e:  # aioconfig.ConfigError or ValueError, one line each
        if isinstance(e, MemoryError):  # its message alone would not say whose
            e = "%s: %s: not configured: %s" % (svc.path, name, _error_line(e))
        _problem(name, str(e), log)
        return False
    return True


def _discover(names, entries, log):
    """Import and configure the named services (None: every enabled one);
    entries: see _settings."""
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


def _keep_secrets(kw):
    # Values of secret kwargs (psk, token...) never reach the journal.
    mask = getattr(aioctl.group().log, "mask", None)  # a journal can keep them out
    if mask:
        from aiosecret import is_secret

        for k, v in kw.items():
            if isinstance(v, str) and is_secret(k):
                mask(v)


def _start(svc, log):
    """Run svc's task per its type; returns the task name."""
    collect()  # the last start's garbage is gone: what this one keeps fills its holes
    kw = dict(svc.kwargs)
    _keep_secrets(kw)
    if log is not None:
        kw.setdefault("log", log)
    for hook in ("on_stop", "on_error"):
        if hook not in kw and hasattr(svc, hook):
            kw[hook] = getattr(svc, hook)
    name = svc.name + ".service"
    scheduled = svc.type == "schedule.service"
    run = None
    if not scheduled:  # args of the wrong shape fail here, before a run it replaces ends
        run = svc.task(*svc.args, **aioctl._call_kw(kw))
    _retire(name)
    aioctl.enter(svc.task, svc.args, kw, name, not scheduled, run)
    if scheduled:
        import aioschedule

        try:
            aioschedule.schedule(name, **svc.schedule)
        except ValueError:
            aiojob.discard(name)
            raise
    svc.loaded = True
    return name


def _retire(name):
    # A load() replaces name's record: a run still going stops as a stop
    # would (its on_stop runs, it reads `stopped`), then the record goes.
    t = aioctl.group()
    rec = t.recs.get(name)
    if rec is not None and rec[aioctl.END] is None:
        from asyncio import CancelledError

        print("%s is running: it stops and starts again with its file's new code" % name)
        aioctl._finish(t, name, rec, CancelledError())
        rec[aioctl.TASK].cancel()  # it ends at its next await, its record gone
    aiojob.discard(name)


def _try_start(svc, log):
    if aioservice.stopping:  # nothing starts once shutdown has begun
        return None
    try:
        return _start(svc, log)
    except Exception as e:  # args of the wrong shape, a bad schedule...
        _problem(svc.name, "%s: %s: cannot start: %s" % (svc.path, svc.name, _error_line(e)), log)
        return None


def _state(name):
    """A service task's state as the views say it, without loading them."""
    end = aioctl.group().recs[name][aioctl.END]
    if end is None:
        return "running"
    if type(end) is not tuple:
        return "stopping"
    return "failed" if end[1] == "ERROR" else end[1]


def _requirements_met(svc):
    """None, or the first required service that is not running or done."""
    for req in svc.require:
        name = req + ".service"
        if name not in aioctl.group().recs or \
                _state(name) not in ("running", "done", "scheduled"):
            return req
    return None


def _down(req):
    """Why a requirement is not there, for the line of who requires it."""
    why = errors.get(req)
    svc = registry.get(req)
    if why and not (svc and svc.loaded) and ": not started: " not in why:  # config or file
        return "requires %s, which did not start: %s" % (req, why)
    return "dependency failed: " + req  # it ran and failed: its own line says how


def _app_log(log):
    # The logger given to boot()/init() is the app's: later loads use it too.
    if log is None:
        return aioservice.log
    aioservice.log = log
    return log


def load(name=None, debug=False, log=None, debug_log=False, config=True):
    """Import, configure (services.config and .env) and start name (a file
    may have been added since start). With no name: the enabled runtime and
    schedule services whose files are new since then; the others are left
    as they are (running, or stopped). It logs to the app's logger unless
    given another. Returns the Service (or the list of them started)."""
    import aiodiscover

    log = _app_log(log)
    if name is None:
        known = [n for n in registry if not isinstance(registry[n], Failed)]
        _discover(None, _settings(config, log), log)
        return _start_ordered(_runnable(_LATER, known), debug, log, debug_log)
    name = aiodiscover.check(name)
    old = registry.get(name)
    _discover([name], _settings(config, log), log)
    # a load starts afresh: no restart the watcher planned for the old run
    # (if this one does not start, none is promised), and no backoff from it
    aioctl.group().planned.pop(name + ".service", None)
    svc = registry.get(name)
    if svc is not None:  # what the watcher knew of the old run (restarts, backoff) goes too
        getattr(registry.get("watcher"), "tracks", {}).pop(name, None)
    if svc is not None and not isinstance(svc, Failed) and name not in errors \
            and _start_ordered({name: svc}, debug, log, debug_log):
        return svc
    rec = aioctl.group().recs.get(name + ".service")
    if old is not None and rec and rec[aioctl.END] is None:  # the new code did not start
        registry[name] = old  # its old run goes on, supervised as before
        print("%s.service goes on with its old code" % name)
    return None


def init(debug=True, log=None, debug_log=False, config=True, init_schedule=True):
    """Start every enabled runtime service and schedule every schedule service.

    A runtime service that requires others starts once they run (it is
    started after them here); one whose requirement is not running is not
    started. Returns the services started.
    """
    log = _app_log(log)
    if aioservice.settings is not True:  # else boot() has just found and imported them all
        _discover(None, _settings(config, log), log)
    aioservice.settings = None
    return _start_ordered(_runnable(_LATER if init_schedule else _LATER[:1]), debug, log,
                          debug_log)



def _runnable(kinds, known=()):
    """The services of those types that can start (their files and configs
    are fine), but those in known."""
    return {n: s for n, s in registry.items() if n not in known and n not in errors
            and not isinstance(s, Failed) and s.type in kinds}


def _start_ordered(chosen, debug, log, debug_log):
    from aioclass import order

    # requirements outside this start (core services, running ones) are checked when due
    names, problems = order({n: [r for r in s.require if r in chosen or r not in registry]
                             for n, s in chosen.items()})
    sys.modules.pop("aioorder", None)  # ordered: needed no more
    for n, why in problems.items():
        _problem(n, "%s: %s: not started: %s" % (chosen[n].path, n, why), log)
    started = []
    for n in names:
        svc = chosen[n]
        missing = _requirements_met(svc)
        if missing:
            _problem(n, "%s: %s: not started: %s" % (svc.path, n, _down(missing)), log)
            continue
        if _try_start(svc, log):
            started.append(svc)
            _say("[ OK ] %r started" % (svc,), debug, log if debug_log else None)
    return started


def boot(debug=True, log=None, debug_log=False, config=True):
    """Run the enabled core services once, in dependency order: aiocore.boot(),
    whose code is needed once, at start-up. Returns a coroutine."""
    from aiocore import boot

    return boot(debug, log, debug_log, config)
