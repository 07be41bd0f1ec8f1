# aioctl: the mpsysd task table. Coroutines become managed tasks that keep
# a state, a result or error with its traceback, and can be stopped, started
# and restarted by name. Human views (status, tracebacks, logs) live in
# aiostatus.py and load only when asked for; the less used calls are in
# aiotasks.py.
import asyncio
import sys
from time import ticks_ms
from micropython import const

# One record per task: a 6-tuple, the smallest object that holds it all
# (64 bytes of heap on a 64-bit port, 32 on an ESP32):
#   (func, args, kwargs or None, asyncio task, since, end)
# end is None while the task runs, an intent while a cancel is pending, and
# (done_at, state, result, extra) once it has finished (the asyncio task is
# then None). since and done_at
# are ticks_ms (small ints: no heap); the views turn them into dates with
# the current clock. The field indexes are public for aiotasks, whose
# TaskView reads records for the views.
FUNC = const(0)
ARGS = const(1)
KW = const(2)
TASK = const(3)
SINCE = const(4)
END = const(5)
# Intents (kept in end while a cancel is pending) and requests
_STOP = const(1)
RESTART = const(2)  # public, as DELETE
DELETE = const(3)  # public: aiotasks' restart() and delete() ask for them
_START = const(4)  # like RESTART, but running tasks are left alone

_HOOKS = ("on_stop", "on_error", "_id")  # consumed by the manager, never passed on
_NO_KW = {}  # stands in for a record without kwargs; never mutated
_WAITING = (None, "scheduled", None, None)  # end of a record not started yet


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
        import aiotasks

        return aiotasks.Tasks()


_table = None


def group():
    """The task table (made on first use)."""
    global _table
    if _table is None:
        _table = Table()
    return _table


def match(pattern, name):
    """True when name fits pattern, where * stands for any run of characters."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == name
    head, tail = parts[0], parts[-1]
    pos, end = len(head), len(name) - len(tail)
    if end < pos or not name.startswith(head) or not name.endswith(tail):
        return False
    for part in parts[1:-1]:
        pos = name.find(part, pos, end)
        if pos < 0:
            return False
        pos += len(part)
    return True


def select(pattern=None, children=False):
    """Names that pattern (None: all, `*` wildcards) picks, sorted.

    With children, a service's child tasks come with it. When nothing
    matches, one line says so and names what exists.
    """
    recs = group().recs
    if pattern is None:
        return sorted(recs)
    if "*" not in pattern and pattern in recs and not children:
        return [pattern]
    found = []
    for n in recs:
        if match(pattern, n):
            found.append(n)
    if children:  # name.service.child follows name.service
        for n in recs:
            i = n.find(".service.")
            if i > 0 and n[: i + 8] in found and n not in found:
                found.append(n)
    if not found:
        import aiotasks

        aiotasks.nothing(pattern)
    found.sort()
    return found



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


def _coro(func, args, kw):
    if func is None:
        raise ValueError("a coroutine object given to add() runs once; add its function")
    return func(*args, **_call_kw(kw))


def _name_of(run):
    # The coroutine function's own name (what an @aiotask wrapper hides):
    # MicroPython's generators have no __name__, but their repr holds it.
    text = repr(run.coro if isinstance(run, Job) else run)
    i = text.find("'")
    j = text.find("'", i + 1)
    return text[i + 1:j] if 0 <= i < j else "task"


def _launch(func, args, kw, run=None):
    """Start func(*args, **kwargs), or run when given, as an asyncio task.

    Returns the new record.
    """
    if run is None:
        run = _coro(func, args, kw)
    if isinstance(run, Job):
        run = run.coro
    elif not hasattr(run, "send"):
        raise TypeError("%r is not a coroutine function" % (func,))
    task = asyncio.create_task(run)
    # asyncio calls a callable state with (task, exception) when the task
    # ends: completion is seen without a wrapper coroutine per task.
    task.state = _done
    return (func, args, kw, task, ticks_ms(), None)


def _relaunch(t, name, rec):
    # Start a finished record again; its failure stays readable by traceback().
    end = rec[END]
    if type(end) is tuple and end[1] == "ERROR":
        t.failures[name] = end[2]
    t.planned.pop(name, None)
    t.recs[name] = _launch(rec[FUNC], rec[ARGS], rec[KW])


def add(func, *args, name=None, **kwargs):
    """Run func(*args, **kwargs) as a managed task; return the name it got.

    func is a coroutine function (decorated with @aiotask or not), or what
    calling an @aiotask function returned. name defaults to _id= or to the
    function's name; a taken name gets @1, @2...
    """
    return enter(func, args, kwargs, name)


def enter(func, args, kwargs, name=None, start=True):
    """add() with args and kwargs as given. With start=False the record
    waits, in state scheduled, for start() (aioschedule uses this)."""
    recs = group().recs
    run = None
    if not callable(func):  # a coroutine or Job made by the caller: it runs once
        run, func = func, None
        if isinstance(run, Job):
            kwargs = {"on_stop": run.on_stop, "on_error": run.on_error}
    name = name or kwargs.get("_id")
    if not name:  # named after the coroutine function, decorated or not
        if run is None:
            run = _coro(func, args, kwargs)
        name = _name_of(run)
        if not start:  # made only for its name: the record starts it later
            getattr(run.coro if isinstance(run, Job) else run, "close")()
            run = None
    if name in recs:
        n = 1
        while "%s@%d" % (name, n) in recs:
            n += 1
        name = "%s@%d" % (name, n)
    kw = kwargs or None
    if start:
        recs[name] = _launch(func, args, kw, run)
    else:
        recs[name] = (func, args, kw, None, ticks_ms(), _WAITING)
    return name


_ROOM = const(128)  # heap kept aside for the one record _done writes when all else fails
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
        _relaunch(t, name, rec)
    elif intent == DELETE:
        _forget(t, name)


def _forget(t, name):
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
    return act(name, _STOP) or held > 0


def act(name, intent):
    """Act on the tasks name picks: cancel running ones (noting the intent,
    which _finish carries out) and start or delete finished ones.

    A service's child tasks follow it, except that they are only stopped
    when it starts again: the service's new run adds them again.
    """
    t = group()
    recs = t.recs
    try:
        me = asyncio.current_task()
    except RuntimeError:  # no loop runs: the caller is not a task
        me = None
    own = None
    hit = False
    for key in select(name, children=True):
        rec = recs[key]
        end = rec[END]
        what = intent
        if name and intent != DELETE and not match(name, key):
            what = _STOP  # a child of the service name picks
        if type(end) is tuple:  # finished
            if what == _STOP:
                if key in t.planned:  # a user stop cancels a planned restart
                    import aiotasks

                    aiotasks.hold(t, key, rec)
                    hit = True
                continue
            if what == DELETE:
                _forget(t, key)
            else:
                _relaunch(t, key, rec)
        elif end is None:  # running
            if what == _START:
                continue
            if rec[TASK] is me:
                if name and "*" not in name:  # a task that names itself
                    own = key
                continue
            rec[TASK].cancel()
            set_field(key, END, what)
        elif what != _STOP:  # its cancel is pending: change what follows it
            set_field(key, END, RESTART if what == _START else what)
        hit = True
    if own:  # asyncio cannot cancel the running task: end it from inside
        set_field(own, END, intent)
        raise asyncio.CancelledError
    return hit


def start(name):
    """Start again the finished tasks name picks, with their args/kwargs.

    A task whose stop is still pending starts as soon as it has stopped; a
    schedule that stop() held is resumed. Returns True if any task was started.
    """
    started = act(name, _START)
    sch = sys.modules.get("aioschedule")
    if sch:
        sch.resume(name)
    return started


def set_log(stream):
    """Use stream (a journal, a StringIO or a file) for log() and follow()."""
    group().log = stream


def __getattr__(attr):
    # The rest of the API loads on first use: aiotasks, then the views.
    import aiotasks

    if hasattr(aiotasks, attr):
        return getattr(aiotasks, attr)
    import aiostatus

    return getattr(aiostatus, attr)
