# aiowatcher: the rarely used half of the bundled watcher
# (aioservices/services/watcher_service.py),
# imported when first needed: describing an error (its kind, its traceback
# as text), the error report and stats, show(), the line said at a start
# limit, saving the report before a reset, and what the unix port's
# watchdog (the thread in aiowatchdog) says and saves when it bites.
import time

from micropython import const

import aioservice

# (private constants: compiled in, so neither is a name the board keeps)
_TRACEBACK_CHARS = const(600)  # of the last traceback kept per exception type
_MAX_ERROR_KINDS = const(8)  # exception types kept per service in the report; the rest are "other"
_FAILS = const(5)  # a watcher track's failures in a row and its restarts in the
_STARTS = const(7)  # current window (watcher_service's _FAILS and _STARTS)
# Why the watcher resets the device, by the key it gives (with the values)
WHY = {
    "max_errors": "%d errors in all (max_errors)",
    "err_service_limit": "%s failed %d times (err_service_limit)",
    "watchdog": "watchdog: not fed for %d ms: %s",
    "stopped": "watcher.service was stopped or deleted: without supervision the device resets",
}


class Text:
    """Text that the prompt shows as lines, not as a quoted string."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text

    __str__ = __repr__


def _date(t):
    return "%d-%02d-%02d %02d:%02d:%02d" % time.localtime(t)[:6]


def trace(exc):
    """The end of exc's traceback, as text."""
    import io
    import sys

    text = io.StringIO()
    # the board stubs miss StringIO as a print_exception target, and getvalue()
    sys.print_exception(exc, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
    text = text.getvalue()[-_TRACEBACK_CHARS:]  # pyright: ignore[reportAttributeAccessIssue]
    # secrets masked, as in the journal (the report is printed, and saved)
    return getattr(__import__("aioctl").group().log, "masked", str)(text)


def reset_failed(name=None):
    """Allow restarts again after start-limit-hit (all services when None;
    name: "hello" or "hello.service"). It starts nothing: aioctl.start() does."""
    if name is not None:
        if name.endswith(".service"):
            name = name[:-8]
        if name not in aioservice.registry:
            raise ValueError("no service %r" % name)
    tracks = _w().tracks
    for n, svc in aioservice.registry.items():
        if name in (None, n):
            svc.limit_hit = False
            tr = tracks.get(n)
            if tr:
                tr[_STARTS] = tr[_FAILS] = 0


def _w():
    # report(), stats(), show() and reset_failed() are called as the watcher's methods
    # (its __getattr__ hands them out): it is the registered one.
    return aioservice.registry["watcher"]


def report(w=None):
    """The error report, per service and exception type: it prints as
    readable lines at the prompt; str() of it is the text."""
    w = w or _w()
    lines = ["restarts: %d; errors: %d" % (w.restarts, w.total_errors)]
    if w.unnoted:
        lines[0] += " (%d counted without details: the heap was full)" % w.unnoted
    for name in sorted(w.errors):
        for kind, (count, first, last, tb) in sorted(w.errors[name].items()):
            lines.append("%s: %s x%d, first %s, last %s" % (
                name, kind, count, _date(first), _date(last)))
            if not isinstance(tb, str):  # the last exception of this kind
                tb = trace(tb)
            lines.append("    " + tb.strip().replace("\n", "\n    "))
    return Text("\n".join(lines))


def stats(w=None):
    w = w or _w()
    return {"restarts": w.restarts, "errors": w.total_errors, "unnoted": w.unnoted,
            "services": {n: {k: v[0] for k, v in kinds.items()}
                         for n, kinds in w.errors.items()},
            "start_limit_hit": sorted(n for n, s in aioservice.registry.items()
                                      if s.limit_hit)}


def show(w=None):
    w = w or _w()
    since = w.healthy_since
    healthy = ("healthy for %d s" % (time.ticks_diff(time.ticks_ms(), since) // 1000)
               if since is not None else "not healthy: " + (w.said or "starting"))
    return "Watcher", "restarts: %d; errors: %d; %s" % (w.restarts, w.total_errors, healthy)


def note(w, name, exc, what):
    """Describe an error the watcher has counted, by service and kind (the
    exception's type), with its last traceback. exc None: a hang, and what
    the ms the service went without checking in (logged: it is stopped);
    what True: exc was raised in on_stop (said on the console). The last
    exception of each kind is kept, not its text: formatting it on every
    failure would churn the heap. MemoryError when the heap has no room for
    the entry: the watcher counts it without."""
    kinds = w.errors.setdefault(name, {})
    hung = "hung: no check-in"  # the kind of a hang (its detail says for how long)
    kind = hung if exc is None else type(exc).__name__
    if kind not in kinds and len(kinds) >= _MAX_ERROR_KINDS:
        kind = "other"
    now = int(time.time())
    entry = kinds.setdefault(kind, [0, now, now, ""])
    entry[0] += 1
    entry[2] = now
    entry[3] = ""
    try:  # the details: skipped when they do not fit (the error is counted)
        if exc is None:  # a hang
            entry[3] = "%s for %d ms" % (hung, what)
            if w.log:
                w.log.error("%s: %s; stopping it" % (name, entry[3]))
            return
        if what:  # raised in on_stop: the record keeps it (extra); it is said
            line = "%s: on_stop raised %s: %s" % (name, type(exc).__name__, exc)
            print("[ ERROR ] watcher: " + line)
            if w.log:
                w.log.error(line)
        entry[3] = exc  # made into text by report(): a storm of failures formats nothing
    except MemoryError:
        pass


def limit_hit(w, name, starts, window):
    w.log.error("%s: start-limit-hit: %d restarts in %s s; aioctl.start() or "
                "reset_failed() to allow more" % (name, starts, window))


def save(w, why):
    """Before a reset: the journal's line, and the report when report_file is set."""
    if w.log:
        w.log.error("resetting: " + why)
    if getattr(w, "report_file", None):
        import aioconfig

        aioconfig.write({"reason": why, "report": str(report(w)), "stats": stats(w)},
                        w.report_file)


def bite(w, why):
    """The unix port's watchdog bites (aiowatchdog's thread, while the loop
    is blocked): name the task that blocks it, say why, save the report.
    Returns the reason."""
    try:
        name = _running()
        if name:
            why += " in " + name
    except Exception:  # the table changed under us: the reason without the name
        pass
    print("[ ERROR ] watcher: resetting: " + why)
    try:
        save(w, why)
    except Exception as e:
        print("[ ERROR ] watcher: report not saved: %r" % e)
    return why


def _running():
    # The managed task the event loop is in (the one that blocks it), if any.
    import aioctl
    from asyncio import core  # pyright: ignore[reportAttributeAccessIssue]

    cur = core.cur_task
    for name, rec in aioctl.group().recs.items():
        if cur is not None and rec[aioctl.TASK] is cur:
            return name
    return None
