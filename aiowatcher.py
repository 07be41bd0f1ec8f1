# aiowatcher: the rarely used half of the bundled watcher
# (aioservices/services/watcher_service.py),
# imported when first needed: the error report and stats, show(),
# reset_failed(), saving the report before a reset, tracebacks as text, and
# on the unix port (no machine.WDT) the thread that plays the watchdog.
import time

import aioservice
import safemode

TRACEBACK_CHARS = 600  # of the last traceback kept per exception type


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
    return text.getvalue()[-TRACEBACK_CHARS:]  # pyright: ignore[reportAttributeAccessIssue]


def report(w):
    """The error report, per service and exception type: it prints as
    readable lines at the prompt; str() of it is the text."""
    lines = ["restarts: %d; errors: %d" % (w.restarts, w.total_errors)]
    if w.unnoted:
        lines[0] += " (%d counted without details: the heap was full)" % w.unnoted
    for name in sorted(w.errors):
        for kind, (count, first, last, tb) in sorted(w.errors[name].items()):
            lines.append("%s: %s x%d, first %s, last %s" % (
                name, kind, count, _date(first), _date(last)))
            lines.append("    " + tb.strip().replace("\n", "\n    "))
    return Text("\n".join(lines))


def stats(w):
    return {"restarts": w.restarts, "errors": w.total_errors, "unnoted": w.unnoted,
            "services": {n: {k: v[0] for k, v in kinds.items()}
                         for n, kinds in w.errors.items()},
            "start_limit_hit": sorted(n for n, s in aioservice.registry.items()
                                      if s.limit_hit)}


def show(w):
    since = w.healthy_since
    healthy = ("healthy for %d s" % (time.ticks_diff(time.ticks_ms(), since) // 1000)
               if since is not None else "not healthy: " + (w.said or "starting"))
    return "Watcher", "restarts: %d; errors: %d; %s" % (w.restarts, w.total_errors, healthy)


def reset_failed(w, name=None):
    """Allow restarts again after start-limit-hit (all services when None)."""
    for n, svc in aioservice.registry.items():
        if name in (None, n):
            svc.limit_hit = False
            track = w.tracks.get(n)
            if track:
                track.starts, track.fails = 0, 0


def limit_hit(w, name, track):
    if w.log:
        w.log.error("%s: start-limit-hit: %d restarts in %s s; aioctl.start() or "
                    "reset_failed() to allow more"
                    % (name, track.starts, track.policy["restart_window"]))


def on_stop_raised(w, name, exc):
    # an exception raised in on_stop: the record keeps it (extra); it is said
    line = "%s: on_stop raised %s: %s" % (name, type(exc).__name__, exc)
    print("[ ERROR ] watcher: " + line)
    if w.log:
        w.log.error(line)


def save(w, why):
    """Before a reset: the journal's line, and the report when report_file is set."""
    if w.log:
        w.log.error("resetting: " + why)
    if getattr(w, "report_file", None):
        import aioconfig

        aioconfig.write({"reason": why, "report": str(report(w)), "stats": stats(w)},
                        w.report_file)


# -- the unix port's watchdog --------------------------------------------

def watch_loop(w):
    """Start the thread that plays the hardware watchdog on the unix port:
    when the event loop has not ticked for wdt_timeout (a loop blocked by
    `while True: pass` or a long sleep), it saves the reason and the report,
    names the task that was running, and ends the process with status 76."""
    global _dogs
    if not _dogs:  # one thread, whatever restarts the watcher has
        import _thread  # pyright: ignore[reportMissingImports]

        _dogs = 1
        _thread.start_new_thread(_dog, (w,))


_dogs = 0


def _running():
    # The managed task the event loop is in (the one that blocks it), if any.
    import aioctl
    from asyncio import core  # pyright: ignore[reportAttributeAccessIssue]

    cur = core.cur_task
    for name, rec in aioctl.group().recs.items():
        if cur is not None and rec[aioctl.TASK] is cur:
            return name
    return None


def _dog(w):
    import os

    step = max(10, min(w.wdt_ms // 4, 250))
    while True:
        time.sleep_ms(step)
        if aioservice.stopping:  # an orderly stop: the loop may rest now
            return
        late = time.ticks_diff(time.ticks_ms(), w.beat)
        if late > w.wdt_ms and not safemode.pending:
            break
    why = "watchdog: not fed for %d ms: event loop blocked" % late
    try:
        name = _running()
        if name:
            why += " in " + name
    except Exception:  # the table changed under us: the reason without the name
        pass
    safemode.pending = safemode.EXIT_WATCHDOG  # the Ctrl-C below is this reset
    print("[ ERROR ] watcher: resetting: " + why)
    try:
        save(w, why)
    except Exception as e:
        print("[ ERROR ] watcher: report not saved: %r" % e)
    safemode.note(why)
    # Only the main thread can end the process with a status: a Ctrl-C
    # interrupts the blocked code there, and aioservice.shutdown() (which
    # main.py runs on Ctrl-C) turns it into the reset. Sent from a child
    # shell, as system() ignores SIGINT while it waits.
    os.system("(sleep 0.05; kill -INT $PPID) &")
    time.sleep(5)  # not ended by then (the Ctrl-C was caught): as a board, at once
    os.system("kill -KILL $PPID")
