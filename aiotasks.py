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
        return self._rec()[TASK]

    @property
    def since(self):
        return self._rec()[SINCE]

    def _end(self, i):
        end = self._rec()[END]
        return end[i] if type(end) is tuple else None

    @property
    def done_at(self):
        return self._end(0)

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


def result(name):
    """The task's result: its return value, on_stop's, or its exception."""
    end = aioctl.group().recs[name][END]
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
        ev = t.changed
        if ev is None:
            import asyncio

            ev = t.changed = asyncio.Event()
        await ev.wait()


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
