# aiostatus: views of the aioctl task table, loaded on first use through
# aioctl's module __getattr__ and let go of after each: systemctl-like
# status lines, debug views and tracebacks. top(), stats(), info() and
# result_all() are in aiotop; log() and follow() in aiocat. A device that
# never looks pays no RAM for them.
import sys
import time

from micropython import const

import aioctl

# (aioview, the records as objects, is imported where it is used: status()
# lets go of it before the log, which then has its room)

_ARROW = const("\u2517\u2501\u25ba")
_COLORS = {"running": 32, "stopping": 33, "stopped": 33, "ERROR": 31, "failed": 31,
           "scheduled": 36}
_RESULT_WIDTH = const(60)  # a long result is cut in status lines, never in result()


def _dot(state):
    color = _COLORS.get(state) if aioctl.group().color else None
    dot = "\u25cf"
    return "\x1b[%dm%s\x1b[0m" % (color, dot) if color else dot


def _next_run(name):
    # "; next in 25 s @ 10:00:40" for a task with a schedule; the date is
    # the second the run falls in, by the ms
    sch = sys.modules.get("aioschedule")
    ms = sch.next_run(name) if sch else None
    if ms is None:
        return ""
    from aioview import span, stamp, wall_ms

    return "; next in %s @ %s" % (span((ms + 500) // 1000),
                                  stamp((wall_ms() + ms) // 1000)[11:])


def _restart(name):
    # "; restart in 2 s" for a failed task whose restart is planned
    from aioview import duration

    due = aioctl.group().planned.get(name)
    if due is None:
        return ""
    return "; restart in %s" % duration(max(0, time.ticks_diff(due, time.ticks_ms())))


def summary(view, now):
    """What follows `status: ` for one task (now: the wall clock, seconds)."""
    from aioview import FAILED, duration, error_line, span, stamp

    state = view.state
    if state == "failed" and getattr(view.service, "limit_hit", False):
        state = "failed (start-limit-hit)"
    nxt = _next_run(view.name)
    if state in ("running", "stopping"):
        return "%s since %s; %s ago%s" % (state, stamp(view.since), span(now - view.since), nxt)
    done = view.done_at
    if done is None:  # waiting for its first run
        return state + nxt
    text = "%s @ %s; %s ago (ran %s) --> " % (state, stamp(done), span(now - done),
                                              duration(view.ran_ms))
    if nxt:
        text = "scheduled - " + text
    nxt += _restart(view.name)
    if state in FAILED:
        return text + error_line(view.result) + nxt
    res = repr(view.result)
    if len(res) > _RESULT_WIDTH:
        res = res[: _RESULT_WIDTH - 3] + "..."
    if state == "stopped" and isinstance(view.extra, Exception):
        res += "; on_stop raised " + error_line(view.extra)
    return text + "result: " + res + nxt


def kwargs_text(kw):
    """kwargs for a person: plain data as it is, objects by name, secrets masked."""
    from aiosecret import is_secret

    parts = []
    data = (str, int, float, bool, type(None), list, tuple, dict)  # shown as values
    for k in sorted(kw):
        v = kw[k]
        if is_secret(k):
            text = "'****'"
        elif callable(v) or type(v) not in data:  # hooks, loggers, objects: by name
            text = "<%s>" % getattr(v, "__name__", type(v).__name__)
        else:
            text = repr(v)
        parts.append("%r: %s" % (k, text))
    return "{%s}" % ", ".join(parts)


def line(name, view, now):
    """● name: status: running since 2026-01-02 10:00:00; 4 s ago"""
    return "%s %s: status: %s" % (_dot(view.state), name, summary(view, now))


def _children(name):
    prefix = name + "."
    return [n for n in aioctl.select() if n.startswith(prefix)]


def _details(name, view, now):
    from aioview import FAILED, error_line

    svc = view.service
    main = svc is not None and name.endswith(".service")
    if main:
        print("%s %s - %s" % (_dot(view.state), name, getattr(svc, "info", "")))
        print("    Loaded: %r" % (svc,))
        print("    Active: status: %s" % summary(view, now))
        print("    Type: %s" % getattr(svc, "type", "?"))
        if getattr(svc, "docs", ""):  # a service may have none
            print("    Docs: %s" % svc.docs)
        if hasattr(svc, "show"):
            try:
                print("    %s: %s" % svc.show())
            except Exception as e:
                print("    show() raised %s" % error_line(e))
    else:
        print(line(name, view, now))
    print("    Task: %r" % (view.task,))
    print("    %s args: %r" % (_ARROW, view.args))
    print("    %s kwargs: %s" % (_ARROW, kwargs_text(view.kwargs)))
    if main:
        kids = _children(name)
        if kids:
            print("    %s child tasks:" % _ARROW)
            for kid in kids:
                print("        " + line(kid, aioctl.group().tasks[kid], now))
    if view.extra is not None:
        print("    %s hook: %r" % (_ARROW, view.extra))
    if view.state in FAILED:
        print_traceback(view.result)


def lines(name, debug):
    # The status lines (or debug views) of the tasks name picks, in a frame
    # of their own: the task views they made go with it. The names shown.
    t = aioctl.group()
    now = int(time.time())
    names = aioctl.select(name)
    if debug or t.debug:
        shown = set(names)
        for n in names:
            if not any(n.startswith(s + ".") for s in shown if s.endswith(".service")):
                _details(n, t.tasks[n], now)
    else:
        for n in names:
            print(line(n, t.tasks[n], now))
    return names


def status(name=None, log=True, debug=False):
    if lines(name, debug) and log and name and "*" not in name \
            and aioctl.group().log is not None:
        from aiocat import show_log

        aioctl.unimport(("aioview", "aiosecret"))  # done with: the log has their room
        show_log(["[%s]" % name, "[%s." % name])


def print_traceback(exc):
    """The exception with the file/line traceback it was raised through."""
    sys.print_exception(exc)


def traceback(name):
    """Print the traceback of the tasks name picks: their last failure (kept
    after a restart until the next one) and any exception a hook raised."""
    from aiotools import last_failure
    from aioview import FAILED

    names = aioctl.select(name)
    for n in names:
        view = aioctl.group().tasks[n]
        exc = last_failure(n)
        hook_failed = isinstance(view.extra, Exception)
        if len(names) > 1 and (exc or hook_failed):
            print("%s %s:" % (_dot(view.state), n))
        if exc and view.state not in FAILED:
            print("%s: %s now; its last failure:" % (n, view.state))
        if exc:
            print_traceback(exc)
        if hook_failed:
            print("%s: a hook raised:" % n)
            print_traceback(view.extra)
        if len(names) == 1 and not (exc or hook_failed):
            print("%s: no traceback (%s)" % (n, view.state))


