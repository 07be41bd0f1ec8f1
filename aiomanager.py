# aiomanager: the service manager's calls, loaded on first use through
# aioservice's module __getattr__: init() and load(), boot() (aiocoreboot's),
# and what they share (the config's problems, the app's logger, one-line
# errors). Each runs in two phases whose code loads in turn: aioimport
# finds, imports and configures the services, then aiocore starts them.
# unload() is aioadmin's: it needs none of this. After start-up the app
# may call aioservice.release() to give its RAM back; it loads again on
# demand.
import sys

import aioctl
import aioservice
from aioclass import Failed
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
    # said at each read while it lasts (trial: a load after the first fell back
    # to the defaults without a word), and aioservice.status() says it; gone once fixed
    errors.pop("(config)", None)
    for line in problems:
        _problem("(config)", line, log)
    return entries


def _app_log(log):
    # The logger given to boot()/init() is the app's: later loads use it too.
    if log is None:
        return aioservice.log
    aioservice.log = log
    return log


def _discover(names, entries, log):
    """Import and configure the named services (None: every enabled one);
    entries: see _settings. aioimport's work: its code, and discovery's,
    go before the services start."""
    try:
        __import__("aioimport")._discover(names, entries, log)
    finally:
        aioctl.unimport(("aioimport", "aiodiscover"))


def _start_ordered(chosen, debug, log, debug_log):
    """Start the chosen services in dependency order (aiocore); the list of
    those started."""
    try:
        return __import__("aiocore")._start_ordered(chosen, debug, log, debug_log)
    finally:
        aioctl.unimport(("aiocore",))


def _runnable(kinds, known=()):
    """The services of those types that can start (their files and configs
    are fine), but those in known."""
    return {n: s for n, s in registry.items() if n not in known and n not in errors
            and not isinstance(s, Failed) and s.type in kinds}


def load(name=None, debug=False, log=None, debug_log=False, config=True):
    """Import, configure (services.config and .env) and start name (a file
    may have been added since start). With no name: the enabled runtime and
    schedule services whose files are new since then; the others are left
    as they are (running, or stopped). It logs to the app's logger unless
    given another. Returns the Service (or the list of them started)."""
    log = _app_log(log)
    if name is None:
        known = [n for n in registry if not isinstance(registry[n], Failed)]
        _discover(None, _settings(config, log), log)
        return _start_ordered(_runnable(_LATER, known), debug, log, debug_log)
    name = __import__("aiodiscover").check(name)
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


def boot(debug=True, log=None, debug_log=False, config=True):
    """Run the enabled core services once, in dependency order (aiocoreboot's
    boot()). Returns a coroutine."""
    from aiocoreboot import boot

    return boot(debug, log, debug_log, config)
