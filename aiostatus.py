# aiostatus: status(), the systemctl-like status lines of the aioctl task
# table, loaded on first use through aioctl's module __getattr__ and let go
# of after each. The debug views and traceback() are in aiostatusx, loaded
# only for them: the overview, the view looked at most, loads the least.
# top(), stats(), info() and result_all() are in aiotop; log() and follow()
# in aiocat. A device that never looks pays no RAM for them.
import sys
import time

from micropython import const

import aioctl

# (aioview, the records as objects, is imported where it is used: status()
# lets go of it before the log, which then has its room)

_COLORS = {"running": 32, "stopping": 33, "stopped": 33, "ERROR": 31, "failed": 31,
           "scheduled": 36}
_RESULT_WIDTH = const(60)  # a long result is cut in status lines, never in result()


def dot(state):
    """The colored ● of a state (when the terminal has colors)."""
    color = _COLORS.get(state) if aioctl.group().color else None
    return "\x1b[%dm\u25cf\x1b[0m" % color if color else "\u25cf"


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
    # a long result or error is cut: one line per task (traceback() and
    # result() have it whole)
    if state in FAILED:
        res, width = error_line(view.result), 2 * _RESULT_WIDTH
    else:
        res, width = "result: " + repr(view.result), _RESULT_WIDTH + 8
    if len(res) > width:
        res = res[: width - 3] + "..."
    if state == "stopped" and isinstance(view.extra, Exception):
        res += "; on_stop raised " + error_line(view.extra)
    return text + res + nxt


def line(name, view, now):
    """● name: status: running since 2026-01-02 10:00:00; 4 s ago"""
    return "%s %s: status: %s" % (dot(view.state), name, summary(view, now))


def lines(name, debug):
    # The status lines (or debug views) of the tasks name picks, in a frame
    # of their own: the task views they made go with it. The names shown.
    t = aioctl.group()
    now = int(time.time())
    names = aioctl.select(name)
    if debug or t.debug:
        from aiostatusx import details

        shown = set(names)
        for n in names:
            if not any(n.startswith(s + ".") for s in shown if s.endswith(".service")):
                details(n, t.tasks[n], now)
    else:
        for n in names:
            print(line(n, t.tasks[n], now))
    return names


def status(name=None, log=True, debug=False):
    if lines(name, debug) and log and name and "*" not in name \
            and aioctl.group().log is not None:
        from aiocat import show_log

        # done with: the log has their room
        aioctl.unimport(("aioview", "aiosecret", "aiostatusx"))
        grep = ["[%s]" % name, "[%s." % name]
        if name.endswith(".service"):  # and what the watcher said of it (restarts, hangs)
            grep.append("[watcher.service] %s: " % name[:-8])
        show_log(grep)
