# aiotasks: the controlling half of the aioctl API, loaded on first use
# through aioctl's module __getattr__: the @aiotask decorator (services load
# it at import), stop(), start(), tasks() and join(), result(), restart(), discard(),
# delete(), debug(), reset(), the event-loop lag monitor and which kwargs
# are secret. The read-only views of records
# (group().tasks) are in aioview.
import asyncio
import sys
import time

import aioctl
from aioctl import ARGS, DELETE, END, FUNC, KW, RESTART, START, STOP, TASK


class Job:
    """What calling an @aiotask function gives: the coroutine and its hooks."""

    def __init__(self, coro, on_stop, on_error):
        self.coro = coro
        self.on_stop = on_stop
        self.on_error = on_error

    def __iter__(self):  # `await job` runs the coroutine without management
        return self.coro


def aiotask(func):
    """Decorate an `async def` so that it takes on_stop=, on_error= and _id=."""
    if type(func) is type(aiotask):  # a plain def: it would fail only when started
        raise TypeError("%s is not a coroutine function (async def)" % func.__name__)

    def call(*args, **kwargs):
        on_stop = kwargs.pop("on_stop", None)
        on_error = kwargs.pop("on_error", None)
        kwargs.pop("_id", None)
        return Job(func(*args, **kwargs), on_stop, on_error)

    return call


def name_of(run):
    # The coroutine function's own name (what an @aiotask wrapper hides):
    # MicroPython's generators have no __name__, but their repr holds it.
    text = repr(getattr(run, "coro", run))
    i = text.find("'")
    j = text.find("'", i + 1)
    return text[i + 1:j] if 0 <= i < j else "task"


def relaunch(t, name, rec):
    # Start a finished record again; its failure stays readable by traceback().
    if rec[FUNC] is None:
        raise ValueError("%s was added as a coroutine object, which runs once; add its "
                         "function to start it again" % name)
    end = rec[END]
    if type(end) is tuple and end[1] == "ERROR":
        t.failures[name] = end[2]
    t.planned.pop(name, None)
    t.recs[name] = aioctl.launch(rec[FUNC], rec[ARGS], rec[KW])


def forget(t, name):
    del t.recs[name]
    t.planned.pop(name, None)
    t.failures.pop(name, None)


def stop(name=None, stop_sch=True):
    """Cancel the running tasks name picks (None: all but the caller).

    A service's child tasks stop with it. A task that names itself stops
    once the others have been cancelled. Returns True if any task stopped.
    stop_sch: also cancel the future runs of scheduled tasks (aioschedule).
    """
    held = 0
    if stop_sch:
        sch = sys.modules.get("aioschedule")
        if sch:
            held = sch.cancel(name, hold=True)
    return act(name, STOP) or held > 0


def act(name, intent):
    """Act on the tasks name picks: cancel running ones (noting the intent,
    which _finish carries out) and start or delete finished ones.

    A service's child tasks follow it, except that they are only stopped
    when it starts again: the service's new run adds them again.
    """
    t = aioctl.group()
    recs = t.recs
    try:
        me = asyncio.current_task()
    except RuntimeError:  # no loop runs: the caller is not a task
        me = None
    own = None
    hit = False
    wild = None
    if name and "*" in name:
        from aiogrep import match as wild
    for key in family(recs, name) if name and not wild else aioctl.select(name, children=True):
        rec = recs[key]
        end = rec[END]
        what = intent
        if name and intent != DELETE and key != name and not (wild and wild(name, key)):
            what = STOP  # a child of the service name picks
        if type(end) is tuple:  # finished
            if what == STOP:
                if key in t.planned:  # a user stop cancels a planned restart
                    hold(t, key, rec)
                    hit = True
                continue
            if what == DELETE:
                forget(t, key)
            else:
                relaunch(t, key, rec)
        elif end is None:  # running
            if what == START:
                continue
            if rec[TASK] is me:
                if name and "*" not in name:  # a task that names itself
                    own = key
                continue
            rec[TASK].cancel()
            aioctl.set_field(key, END, what)
        elif what != STOP:  # its cancel is pending: change what follows it
            aioctl.set_field(key, END, RESTART if what == START else what)
        hit = True
    if own:  # asyncio cannot cancel the running task: end it from inside
        aioctl.set_field(own, END, intent)
        raise asyncio.CancelledError
    return hit


def interrupted(e):
    """Ctrl-C (e, a KeyboardInterrupt) raised in a task's own code, in a call
    that blocks, ends that task without asyncio seeing it end: record it as
    stopped, with its on_stop. Raised while the loop waited, it ended none."""
    import io
    from asyncio import core  # pyright: ignore[reportAttributeAccessIssue]

    text = io.StringIO()
    sys.print_exception(e, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
    frames = text.getvalue().split("\n  File ")  # pyright: ignore[reportAttributeAccessIssue]
    task = core.cur_task
    if task is not None and not frames[-1].startswith('"asyncio/'):
        aioctl._done(task, asyncio.CancelledError())


def family(recs, name):
    """name and, for a service, its child tasks (name.service.child): what
    act() picks for a name without wildcards, with nothing to load (a
    restart may come when the heap is nearly full)."""
    if name not in recs:
        return aioctl.select(name, children=True)  # says that nothing matches
    if not name.endswith(".service"):
        return [name]
    n = len(name)
    return [name] + sorted(k for k in recs if k.startswith(name) and k.find(".", n) == n)


def start(name):
    """Start again the finished tasks name picks, with their args/kwargs.

    A task whose stop is still pending starts as soon as it has stopped; a
    schedule that stop() held is resumed. Returns True if any task was started.
    """
    started = act(name, START)
    sch = sys.modules.get("aioschedule")
    if sch:
        sch.resume(name)
    return started


def nothing(pattern):
    """Say, in one line, that pattern names no task, and what there is."""
    names = sorted(aioctl.group().recs)
    more = " ... (%d in all)" % len(names) if len(names) > 12 else ""
    reg = sys.modules.get("aioservice")
    if reg and pattern.endswith(".service") and pattern[:-8] in reg.registry:
        more += "; aioservice.traceback(%r) says why it is not running" % pattern[:-8]
    print("aioctl: no task matches %r; tasks: %s%s" % (
        pattern, ", ".join(names[:12]) or "none", more))


def hold(t, name, rec):
    # A failed task whose restart was planned, stopped by the user: it stays
    # down, as `stopped`; its failure stays readable by traceback().
    del t.planned[name]
    end = rec[END]
    if end[1] == "ERROR":
        t.failures[name] = end[2]
    t.recs[name] = rec[:5] + ((end[0], "stopped", None, end[3]),)


def result(name):
    """The task's result: its return value, on_stop's, or its exception."""
    rec = aioctl.group().recs.get(name)
    if rec is None:
        nothing(name)
        return None
    end = rec[END]
    return end[2] if type(end) is tuple else None


def debug():
    """Toggle the debug view of status(); returns the new setting."""
    aioctl.group().debug = not aioctl.group().debug
    return aioctl.group().debug


def restart(name):
    """Stop (if running) and start again the tasks name picks."""
    return act(name, RESTART)


def discard(name):
    """Cancel name's task if it runs and forget it at once (hooks are not
    called): a service replacing a child task uses this."""
    rec = aioctl.group().recs.pop(name, None)
    if rec and rec[END] is None:
        rec[TASK].cancel()


def reset():
    """Forget every record (tests); running tasks are left to asyncio."""
    aioctl._table = None


def last_failure(name):
    """The exception name's task failed with last (kept over a restart), or None."""
    recs = aioctl.group().recs
    end = recs[name][END] if name in recs else None
    if type(end) is tuple and end[1] == "ERROR":
        return end[2]
    return aioctl.group().failures.get(name)


def delete(*names):
    """Remove tasks from the table; running ones are stopped first, and
    scheduled ones lose their future runs."""
    sch = sys.modules.get("aioschedule")
    for name in names:
        if sch:
            sch.cancel(name)
        act(name, DELETE)


def tasks():
    """Awaitables for the running tasks; each returns the task's result."""
    recs = aioctl.group().recs
    return [join(n) for n in aioctl.select() if recs[n][END] is None]


async def join(name):
    """Wait for name's task to end; return its result (None if it is deleted)."""
    t = aioctl.group()
    while True:
        rec = t.recs.get(name)
        if rec is None:
            return None
        if type(rec[END]) is tuple:
            return rec[END][2]
        await ended()


def ended():
    """An awaitable that wakes at the next end of any managed task."""
    t = aioctl.group()
    if t.changed is None:
        import asyncio

        t.changed = asyncio.Event()
    return t.changed.wait()


# Words that make a kwarg secret: its value is masked in every view and
# kept out of the journal.
SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "psk")


def is_secret(key):
    key = key.lower()
    return any(word in key for word in SECRET_WORDS)


lag_ms = None  # how late the loop ran the lag monitor last time (None: not running)
lag_max_ms = 0


async def loop_lag(period_ms=500):
    """Measure event-loop lag: how late a sleep of period_ms wakes up. Run it
    as a task (main.py does); top() and the watcher read lag_ms."""
    import asyncio

    global lag_ms, lag_max_ms
    while True:
        t0 = time.ticks_ms()
        await asyncio.sleep_ms(period_ms)
        lag_ms = max(0, time.ticks_diff(time.ticks_ms(), t0) - period_ms)
        lag_max_ms = max(lag_max_ms, lag_ms)


def set_log(stream):
    """Use stream (a journal, a StringIO or a file) for log() and follow()."""
    aioctl.group().log = stream


def lookup(attr):
    """What aioctl.attr is, for aioctl's lazy half: this module's calls, then
    the views (aiostatus), which give their RAM back once they have printed."""
    mine = globals().get(attr)
    if mine is not None:
        return mine
    import aiostatus

    view = getattr(aiostatus, attr)
    if attr == "follow":  # a coroutine function: it runs on
        return view

    def call(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        finally:
            for module in ("aiostatus", "aioview"):
                sys.modules.pop(module, None)

    return call
