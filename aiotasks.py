# aiotasks: the less used half of the aioctl API, loaded on first use
# through aioctl's module __getattr__: TaskView (what group().tasks[name]
# gives), tasks() and join(), result(), restart(), discard(), delete(),
# debug(), reset(), the event-loop lag monitor and which kwargs are secret.
import sys
import time

import aioctl
from aioctl import ARGS, END, FUNC, KW, SINCE, TASK


class TaskView:
    """A live view of one task record: what group().tasks[name] gives."""

    def __init__(self, name):
        self.name = name

    def _rec(self):
        return aioctl.group().recs[self.name]

    @property
    def func(self):
        return self._rec()[FUNC]

    @property
    def args(self):
        return self._rec()[ARGS]

    @args.setter
    def args(self, value):
        aioctl.set_field(self.name, ARGS, value)

    @property
    def kwargs(self):
        """The kwargs dict; a task added without any gets a new one by assignment."""
        return self._rec()[KW] or {}

    @kwargs.setter
    def kwargs(self, value):
        aioctl.set_field(self.name, KW, value)

    @property
    def task(self):
        """The asyncio task; once it has ended, a stand-in (the record lets
        go of the task, whose coroutine holds the run's locals)."""
        return self._rec()[TASK] or ENDED

    @property
    def since(self):
        """When it started, in seconds since the epoch (by the current clock)."""
        return wall(self._rec()[SINCE])

    def _end(self, i):
        end = self._rec()[END]
        return end[i] if type(end) is tuple else None

    @property
    def done_at(self):
        """When it ended (seconds since the epoch), or None."""
        end = self._end(0)
        return None if end is None else wall(end)

    @property
    def ran_ms(self):
        """How long its last run took (ms), or None while it runs."""
        end = self._end(0)
        return None if end is None else time.ticks_diff(end, self._rec()[SINCE])

    @property
    def result(self):
        return self._end(2)

    @property
    def extra(self):
        """on_error's return value, or the exception a hook raised."""
        return self._end(3)

    @property
    def state(self):
        """running, stopping, done, stopped, ERROR; failed for a service."""
        end = self._rec()[END]
        if end is None:
            return "running"
        if type(end) is not tuple:
            return "stopping"
        if end[1] == "ERROR" and ".service" in self.name:
            return "failed"
        return end[1]

    @property
    def service(self):
        """The Service this task belongs to (by name), when aioservice is loaded."""
        i = self.name.find(".service")
        reg = sys.modules.get("aioservice")
        return reg.service(self.name[:i]) if reg and i > 0 else None


class Ended:
    """What TaskView.task gives for a task that has ended."""

    def done(self):
        return True

    def cancel(self):
        return False

    def __repr__(self):
        return "<Task ended>"


ENDED = Ended()


class Tasks:
    """group().tasks: the table read as a mapping of names to TaskViews."""

    def __getitem__(self, name):
        aioctl.group().recs[name]  # KeyError for unknown names
        return TaskView(name)

    def __contains__(self, name):
        return name in aioctl.group().recs

    def __len__(self):
        return len(aioctl.group().recs)

    def __iter__(self):
        return iter(aioctl.group().recs)

    def keys(self):
        return aioctl.group().recs.keys()

    def items(self):
        return [(n, TaskView(n)) for n in aioctl.group().recs]


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


def wall_ms():
    """The wall clock in ms since the epoch (to the ms where the port can)."""
    try:
        return time.time_ns() // 1000000
    except AttributeError:  # a port without time_ns(): whole seconds
        return int(time.time()) * 1000


def wall(ticks):
    """A ticks_ms reading as seconds since the epoch, by the current clock:
    a clock set (NTP) after the reading moves the date, not the duration."""
    return (wall_ms() - time.ticks_diff(time.ticks_ms(), ticks)) // 1000


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
    return aioctl.act(name, aioctl.RESTART)


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
        aioctl.act(name, aioctl.DELETE)


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
