# aiowatcher: the rarely used half of the bundled watcher
# (aioservices/services/watcher_service.py),
# imported when first needed: the error report and stats, show(),
# reset_failed(), saving the report before a reset, tracebacks as text.
# On the unix port the thread that plays the watchdog is in aiowatchdog.
import time

import aioservice

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
