# aioctl: the mpsysd task table. Coroutines become managed tasks that keep
# a state, a result or error with its traceback, and can be stopped, started
# and restarted by name. This module runs tasks and sees them end; the calls
# that control them (stop, start, restart, delete) are in aiotasks.py and
# aiotools.py, the @aiotask decorator in aiojob.py and the human views
# (status, tracebacks, logs) in aiostatus.py, aiotop.py and aiocat.py, all
# found by aiolazy.py through this module's __getattr__ when first used:
# `aioctl.stop(...)` works as ever.
import asyncio
from gc import collect
from sys import maxsize, modules
from time import ticks_ms
from micropython import const

# One record per task: a 6-tuple, the smallest object that holds it all
# (64 bytes of heap on a 64-bit port, 32 on an ESP32):
#   (func, args, kwargs or None, asyncio task, since, end)
# end is None while the task runs, an intent while a cancel is pending, and
# (done_at, state, result, extra) once it has finished (the asyncio task is
# then None). since and done_at are ticks_ms (small ints: no heap); the
# views turn them into dates with the current clock. The field indexes are
# public for aiotasks and for aioview, which reads records for the views.
FUNC = const(0)
ARGS = const(1)
KW = const(2)
TASK = const(3)
SINCE = const(4)
END = const(5)
# Intents, kept in end while a cancel is pending (aiotasks' stop, start,
# restart and delete set them; a record's end carries them out)
STOP = const(1)
RESTART = const(2)
DELETE = const(3)
START = const(4)  # like RESTART, but running tasks are left alone

_HOOKS = const(("on_stop", "on_error", "_id"))  # consumed by the manager, never passed on
_NO_KW = {}  # stands in for a record without kwargs; never mutated
_WAITING = const((None, "scheduled", None, None))  # end of a record not started yet


class Table:
    """The task table and the settings of its views."""

    def __init__(self):
        self.recs = {}
        self.debug = False
        self.color = True
        self.log = None  # a stream set by set_log()
        # pulsed each time a task ends (join() and the watcher wait on it);
        # made when one first waits
        self.changed = None  # type: asyncio.Event | None
        self.planned = {}  # name -> ticks_ms of a restart a supervisor plans
        self.failures = {}  # name -> its last failure, kept over a restart
        self.started = ticks_ms()  # for the uptime in top()

    @property
    def tasks(self):
        """The table as a mapping of names to TaskViews."""
        import aioview

        return aioview.Tasks()


_table = None


def group():
    """The task table (made on first use)."""
    global _table
    if _table is None:
        _table = Table()
    return _table


def select(pattern=None, children=False):
    """Names that pattern (None: all, `*` wildcards) picks, sorted.

    With children, a service's child tasks come with it. When nothing
    matches, one line says so and names what exists.
    """
    recs = group().recs
    if pattern is None:
        return sorted(recs)
    if pattern in recs and not children and "*" not in pattern:
        return [pattern]
    import aiogrep  # wildcards, a service's children, what is not a name: the slower path

    return aiogrep.pick(recs, pattern, children)


def set_field(name, i, value):
    """Replace field i of name's record (records are tuples)."""
    recs = group().recs
    recs[name] = recs[name][:i] + (value,) + recs[name][i + 1:]


def _call_kw(kw):
    """kwargs as the coroutine function receives them: without the hooks."""
    if not kw:
        return _NO_KW
    for k in _HOOKS:
        if k in kw:
            kw = kw.copy()
            for k in _HOOKS:
                kw.pop(k, None)
            return kw
    return kw


def launch(func, args, kw, run=None):
    """Start func(*args, **kwargs), or run when given, as an asyncio task.

    Returns the new record.
    """
    if run is None and type(func).__name__ != "function":  # a plain def, a builtin: they
        run = func(*args, **_call_kw(kw))  # would run to their end here; refused uncalled
    run = getattr(run, "coro", run)  # what an @aiotask function returned: a Job
    if not hasattr(run, "send"):
        raise TypeError("%r is not a coroutine function" % (func,))
    task = asyncio.create_task(run)  # pyright: ignore[reportArgumentType]  (it has send)
    # asyncio calls a callable state with (task, exception) when the task
    # ends: completion is seen without a wrapper coroutine per task.
    task.state = _done
    return (func, args, kw, task, ticks_ms(), None)


def add(func, *args, name=None, **kwargs):
    """Run func(*args, **kwargs) as a managed task; return the name it got.

    func is a coroutine function (decorated with @aiotask or not), or what
    calling an @aiotask function returned. name defaults to _id= or to the
    function's name; a taken name gets @1, @2...
    """
    return enter(func, args, kwargs, name)


def enter(func, args, kwargs, name=None, start=True, run=None):
    """add() with args and kwargs as given. With start=False the record
    waits, in state scheduled, for start() (aioschedule uses this). run: a
    first run the caller made of func(*args, **kwargs) (the manager, which
    checks the arguments that way) and passes on instead of another."""
    recs = group().recs
    if not callable(func):  # a coroutine or Job made by the caller: it runs once
        run, func = func, None
        if hasattr(run, "coro"):  # a Job: its hooks come with it
            kwargs = {"on_stop": run.on_stop, "on_error": run.on_error}
    name = name or kwargs.get("_id")
    if name and type(name) is not str:  # one line says what a name is
        import aiolazy

        aiolazy.named(name)
    if not name:  # named after the coroutine function, decorated or not
        if func is not None and type(func).__name__ != "function":  # (see launch)
            run = func(*args, **_call_kw(kwargs))
        import aiotools

        name = aiotools.name_of(run, func)
        if not start:  # made only for its name: the record starts it later
            getattr(getattr(run, "coro", run), "close")()
            run = None
    if name in recs:
        n = 1
        while "%s@%d" % (name, n) in recs:
            n += 1
        name = "%s@%d" % (name, n)
    kw = kwargs or None
    if len(recs) & 31 == 31:
        # Each add() leaves a little garbage (its kwargs dict). Collected now
        # and then, it is reused, instead of strewn through the heap where
        # it keeps the table from finding the block it needs to grow.
        collect()
    if start:
        recs[name] = launch(func, args, kw, run)
    else:
        recs[name] = (func, args, kw, None, ticks_ms(), _WAITING)
    return name


# Heap kept aside for the two tuples _lost writes when all else fails: a
# 6-tuple and a 4-tuple, 64 bytes on a 32-bit board, 128 on a 64-bit port.
_ROOM = 64 if maxsize >> 32 == 0 else 128
_room = bytearray(_ROOM)


def _done(task, er):
    # Called by the asyncio loop when a managed task ends: it must never
    # raise (that would end the loop), even when the heap is exhausted.
    global _room
    t = _table
    if t is None:
        return
    for name in t.recs:
        rec = t.recs[name]
        if rec[TASK] is task:
            try:
                _finish(t, name, rec, er)
            except Exception as e:  # no heap, or a bug: the record still ends
                _lost(t, name, rec, er, e)
            break
    ev = t.changed
    if ev:  # wake whoever waits for an end; they look at the table themselves
        ev.set()
        ev.clear()
    if _room is None:  # used up by _lost: kept aside again once there is room
        try:
            _room = bytearray(_ROOM)
        except MemoryError:
            pass


def _lost(t, name, rec, er, e):
    # _finish raised e: the record ends as ERROR with the task's own
    # exception (or e) and e beside it. The two tuples this takes go where
    # the heap kept aside was (the allocator collects when it finds no
    # room); without even that, the record is left as it is.
    global _room
    _room = None
    if isinstance(er, StopIteration) or not isinstance(er, Exception):
        er = e
    try:
        t.recs[name] = (rec[FUNC], rec[ARGS], rec[KW], None, rec[SINCE],
                        (ticks_ms(), "ERROR", er, e))
    except Exception:
        pass


def _finish(t, name, rec, er):
    kw = rec[KW] or _NO_KW
    args = rec[ARGS]
    extra = None
    if isinstance(er, StopIteration):
        state, result = "done", er.value
    elif isinstance(er, asyncio.CancelledError):
        state, result = "stopped", None
        hook = kw.get("on_stop")
        if hook:
            try:
                result = hook(*args, **_call_kw(kw))
            except Exception as e:
                extra = e
    else:
        state, result = "ERROR", er
        hook = kw.get("on_error")
        if hook:
            try:
                extra = hook(er, *args, **_call_kw(kw))
            except Exception as e:
                extra = e
    intent = rec[END]
    # The finished record lets go of the asyncio task: its coroutine holds the
    # locals of the run (a failed service's buffers), which must not stay pinned.
    rec = t.recs[name] = rec[:3] + (None, rec[SINCE], (ticks_ms(), state, result, extra))
    log = kw.get("log")
    if log and state != "done":  # after the record: a log line cut short loses nothing
        try:
            what = "%s: %s" % (type(result).__name__, result) if state == "ERROR" else state
            (log.error if state == "ERROR" else log.info)("[%s] %s" % (name, what))
        except Exception:
            pass
    if intent == RESTART and rec[FUNC]:
        import aiojob

        aiojob.relaunch(t, name, rec)
    elif intent == DELETE:
        import aiojob

        aiojob.discard(name)  # (aiojob, not aiotasks: a delete's end loads nothing)


def unimport(names):
    """Take the modules names out of sys.modules, RAM and all. A module whose import
    failed (a full heap) is out of sys.modules already, but MicroPython 1.25
    leaves it in the table's slot, which keeps all it had loaded: a name
    stored there again, then deleted, lets go of it."""
    for name in names:
        try:
            modules[name] = asyncio  # any module: the slot is what matters
            del modules[name]
        except MemoryError:  # the table was full and could not grow: it stays
            pass


def __getattr__(attr):
    # The rest of the API loads on first use: aiolazy finds where it lives.
    import aiolazy

    return aiolazy.lookup(attr)
