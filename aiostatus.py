# aiostatus: views of the aioctl task table, loaded on first use through
# aioctl's module __getattr__: systemctl-like status lines and debug views,
# tracebacks, results, a dict view for tools, and the log stream (cat |
# grep, tail -F). A device that never looks pays no RAM for them.
import sys
import time

import aioctl
from aiogrep import patterns, wanted  # one grep for every stream, as the journal's

_DOT = "\u25cf"
_ARROW = "\u2517\u2501\u25ba"
_COLORS = {"running": 32, "stopping": 33, "stopped": 33, "ERROR": 31, "failed": 31,
           "scheduled": 36}
_FAILED = ("ERROR", "failed", "failed (start-limit-hit)")
_DATA = (str, int, float, bool, type(None), list, tuple, dict)
_RESULT_WIDTH = 60  # a long result is cut in status lines, never in result()


def stamp(t):
    """Seconds since the epoch as 2026-01-02 10:00:00 (local time)."""
    return "%d-%02d-%02d %02d:%02d:%02d" % time.localtime(t)[:6]


def duration(ms):
    """How long a run took: `120 ms` below a second, else as span()."""
    return "%d ms" % ms if ms < 1000 else span(ms // 1000)


def span(secs):
    """A duration as `4 s`, `00:01:22` or `2 d 03:00:00`."""
    if secs < 60:
        return "%d s" % secs
    days, secs = divmod(secs, 86400)
    hms = "%02d:%02d:%02d" % (secs // 3600, secs // 60 % 60, secs % 60)
    return "%d d %s" % (days, hms) if days else hms


def error_line(exc):
    """ValueError: bad value"""
    return "%s: %s" % (type(exc).__name__, exc)


def _dot(state):
    color = _COLORS.get(state) if aioctl.group().color else None
    return "\x1b[%dm%s\x1b[0m" % (color, _DOT) if color else _DOT


def _next_run(name):
    # "; next in 25 s @ 10:00:40" for a task with a schedule; the date is
    # the second the run falls in, by the ms
    sch = sys.modules.get("aioschedule")
    ms = sch.next_run(name) if sch else None
    if ms is None:
        return ""
    from aioview import wall_ms

    return "; next in %s @ %s" % (span((ms + 500) // 1000),
                                  stamp((wall_ms() + ms) // 1000)[11:])


def _restart(name):
    # "; restart in 2 s" for a failed task whose restart is planned
    due = aioctl.group().planned.get(name)
    if due is None:
        return ""
    return "; restart in %s" % duration(max(0, time.ticks_diff(due, time.ticks_ms())))


def summary(view, now):
    """What follows `status: ` for one task (now: the wall clock, seconds)."""
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
    if state in _FAILED:
        return text + error_line(view.result) + nxt
    res = repr(view.result)
    if len(res) > _RESULT_WIDTH:
        res = res[: _RESULT_WIDTH - 3] + "..."
    if state == "stopped" and isinstance(view.extra, Exception):
        res += "; on_stop raised " + error_line(view.extra)
    return text + "result: " + res + nxt


def kwargs_text(kw):
    """kwargs for a person: plain data as it is, objects by name, secrets masked."""
    from aiotools import is_secret

    parts = []
    for k in sorted(kw):
        v = kw[k]
        if is_secret(k):
            text = "'****'"
        elif callable(v) or type(v) not in _DATA:  # hooks, loggers, objects: by name
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
    svc = view.service
    main = svc is not None and name.endswith(".service")
    if main:
        print("%s %s - %s" % (_dot(view.state), name, getattr(svc, "info", "")))
        print("    Loaded: %r" % (svc,))
        print("    Active: status: %s" % summary(view, now))
        print("    Type: %s" % getattr(svc, "type", "?"))
        print("    Docs: %s" % getattr(svc, "docs", ""))
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
    if view.state in _FAILED:
        print_traceback(view.result)


def status(name=None, log=True, debug=False):
    from aioview import wall_ms

    t = aioctl.group()
    now = wall_ms() // 1000
    names = aioctl.select(name)
    if not names:
        return
    if debug or t.debug:
        shown = set(names)
        for n in names:
            if not any(n.startswith(s + ".") for s in shown if s.endswith(".service")):
                _details(n, t.tasks[n], now)
    else:
        for n in names:
            print(line(n, t.tasks[n], now))
    if log and name and "*" not in name and t.log is not None:
        show_log(["[%s]" % name, "[%s." % name])


def print_traceback(exc):
    """The exception with the file/line traceback it was raised through."""
    sys.print_exception(exc)


def traceback(name):
    """Print the traceback of the tasks name picks: their last failure (kept
    after a restart until the next one) and any exception a hook raised."""
    from aiotools import last_failure

    names = aioctl.select(name)
    for n in names:
        view = aioctl.group().tasks[n]
        exc = last_failure(n)
        hook_failed = isinstance(view.extra, Exception)
        if len(names) > 1 and (exc or hook_failed):
            print("%s %s:" % (_dot(view.state), n))
        if exc and view.state not in _FAILED:
            print("%s: %s now; its last failure:" % (n, view.state))
        if exc:
            print_traceback(exc)
        if hook_failed:
            print("%s: a hook raised:" % n)
            print_traceback(view.extra)
        if len(names) == 1 and not (exc or hook_failed):
            print("%s: no traceback (%s)" % (n, view.state))


def result_all(as_dict=False):
    res = {n: aioctl.result(n) for n in aioctl.select()}
    if as_dict:
        return res
    for n in sorted(res):
        print("%s --> %r" % (n, res[n]))


def top():
    """One screen about the whole system, like a tiny top."""
    import gc

    import aiotasks

    t = aioctl.group()
    gc.collect()
    counts = {}
    sch = sys.modules.get("aioschedule")
    for n in aioctl.select():
        state = t.tasks[n].state
        if state in ("done", "stopped") and sch and sch.next_run(n) is not None:
            state = "scheduled"  # between two runs of its schedule
        counts[state] = counts.get(state, 0) + 1
    lag = aiotasks.lag_ms
    print("mpsysd: up %s; heap %d B used, %d B free; loop lag %s" % (
        span(time.ticks_diff(time.ticks_ms(), t.started) // 1000), gc.mem_alloc(), gc.mem_free(),
        "%d ms (max %d ms)" % (lag, aiotasks.lag_max_ms) if lag is not None else "not measured"))
    print("tasks: %d (%s)" % (sum(counts.values()), ", ".join(
        "%s %d" % (s, counts[s]) for s in sorted(counts))))
    failed = counts.get("ERROR", 0) + counts.get("failed", 0)
    reg = sys.modules.get("aioservice")
    if reg:
        loaded = [n for n, s in reg.registry.items() if s.loaded]
        down = [n for n in loaded if n + ".service" not in t.recs
                or t.tasks[n + ".service"].state in _FAILED + ("stopped",)]
        broken = [n for n in reg.errors if n in reg.registry and n not in loaded]
        print("services: %d loaded, %d not running, %d not loaded; errors: %d" % (
            len(loaded), len(down), len(broken), failed + len(broken)))
    else:
        print("errors: %d" % failed)


def stats(name=None):
    """{task name: dict} for tools: info() plus each service's own stats()."""
    out = {}
    for d in info(name):
        view = aioctl.group().tasks[d["name"]]
        svc = view.service
        if svc is not None and d["name"].endswith(".service") and hasattr(svc, "stats"):
            try:
                d["stats"] = svc.stats()
            except Exception as e:
                d["stats"] = {"error": error_line(e)}
        out[d["name"]] = d
    return out


def info(name=None):
    out = []
    for n in aioctl.select(name):
        v = aioctl.group().tasks[n]
        d = {"name": n, "state": v.state, "since": v.since, "done_at": v.done_at}
        if v.state in _FAILED:
            d["error"] = error_line(v.result)
        else:
            d["result"] = v.result
        out.append(d)
    return out


def _read(stream, pos):
    """(text written after pos, new end) of a StringIO-like stream or a file path."""
    if isinstance(stream, str):
        with open(stream) as f:
            f.seek(pos)
            text = f.read()
    else:
        text = stream.getvalue()[pos:]
    return text, pos + len(text)


def show_log(grep):
    stream = aioctl.group().log
    cat = getattr(stream, "cat", None)
    if cat:  # a journal knows how to grep itself
        return cat(grep)
    pats = patterns(grep)
    for text in _read(stream, 0)[0].splitlines():
        if wanted(text, pats):
            print(text)


def log(grep=""):
    if aioctl.group().log is None:
        print("no log stream: call aioctl.set_log(stream) first")
        return
    show_log(grep)


async def follow(grep=""):
    import asyncio

    stream = aioctl.group().log
    if stream is None:
        print("no log stream: call aioctl.set_log(stream) first")
        return
    own = getattr(stream, "follow", None)
    if own:  # a journal follows itself, without polling
        return await own(grep)
    pats = patterns(grep)
    pos = _read(stream, 0)[1]
    partial = ""
    while True:  # a plain stream has no way to wake us: poll it
        await asyncio.sleep_ms(100)
        text, pos = _read(stream, pos)
        if text:
            lines = (partial + text).split("\n")
            partial = lines.pop()
            for text in lines:
                if wanted(text, pats):
                    print(text)
