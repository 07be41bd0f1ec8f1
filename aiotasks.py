# aiotasks: the controlling half of the aioctl API, loaded on first use
# through aioctl's module __getattr__: the @aiotask decorator (services load
# it at import), stop(), start(), discard(), join() and ended() for who waits
# for tasks, and the event-loop lag monitor. The occasional calls (result,
# restart, delete, debug, reset...) are in aiotools, the views in aiostatus
# and the read-only views of records (group().tasks) in aioview.
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
    if name is not None:
        named(name)
    if stop_sch:
        sch = sys.modules.get("aioschedule")
        if sch:
            held = sch.cancel(name, hold=True)
    return act(name, STOP) or held > 0


def named(pattern):
    """pattern, or a one-line error: a task is named by a string."""
    if type(pattern) is not str:
        raise TypeError("a task is named by a string, such as 'hello.service': not %r"
                        % (pattern,))
    return pattern


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
    if name and "*" in named(name):
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
                    import aiotools

                    aiotools.hold(t, key, rec)
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


def discard(name):
    """Cancel name's task if it runs and forget it at once (hooks are not
    called): a service replacing a child task uses this."""
    rec = aioctl.group().recs.pop(name, None)
    if rec and rec[END] is None:
        rec[TASK].cancel()


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


def lookup(attr):
    """What aioctl.attr is, for aioctl's lazy half: this module's calls, then
    the occasional ones (aiotools) and the views (aiostatus), which give their
    RAM back once they have run."""
    mine = globals().get(attr)
    if mine is not None:
        return mine
    from gc import collect

    collect()  # what the last call let go of is free: its code loads into whole holes
    module = _VIEWS.get(attr, "aiotools")
    parts = (module, "aioview", "aiotools", "aiogrep", "journalx", "aiocat", "aiosecret")
    try:
        view = getattr(__import__(module), attr, None)
    except BaseException:  # no heap for it, most likely: what did load goes
        unimport(parts)
        raise
    if view is None:  # a typo at the prompt, most likely: say so, and load nothing
        unimport(parts)
        raise AttributeError("aioctl has no %r; help(aioctl) lists its calls" % attr)
    if attr == "follow":  # a coroutine function: it runs on
        return view
    return released(view, parts)


# Where the views live; the other occasional calls are aiotools'
_VIEWS = {"status": "aiostatus", "traceback": "aiostatus", "top": "aiotop", "stats": "aiotop",
          "info": "aiotop", "result_all": "aiotop", "log": "aiocat", "follow": "aiocat"}


def released(func, modules):
    """func, wrapped so that modules leave sys.modules once it has run."""

    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            unimport(modules)

    return call


def unimport(modules):
    """Take modules out of sys.modules, RAM and all. A module whose import
    failed (a full heap) is out of sys.modules already, but MicroPython 1.25
    leaves it in the table's slot, which keeps all it had loaded: a name
    stored there again, then deleted, lets go of it."""
    for module in modules:
        try:
            sys.modules[module] = sys  # any value: the slot is what matters
            del sys.modules[module]
        except MemoryError:  # the table was full and could not grow: it stays
            pass
