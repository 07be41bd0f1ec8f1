# aioview: records of the aioctl task table seen as objects, for the views
# and tools: group().tasks[name] is a TaskView (args, kwargs, task, since,
# done_at, state, result...), and how times and errors read in every view.
# Loaded when first asked for; the views let it go again after use.
import sys
import time

import aioctl
from aioctl import ARGS, END, FUNC, KW, SINCE, TASK

FAILED = ("ERROR", "failed", "failed (start-limit-hit)")  # the states of a failure


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


def masked(text):
    """text with the secrets the journal keeps out (psk, token...) as ****:
    an error may quote one, as in `OSError: bad psk hunter2`."""
    return getattr(aioctl.group().log, "masked", str)(text)  # (no journal: no secrets)


def error_line(exc):
    """ValueError: bad value (secrets masked)"""
    return masked("%s: %s" % (type(exc).__name__, exc))


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


def last_failure(name):
    """The exception name's task failed with last (kept over a restart), or None."""
    rec = aioctl.group().recs.get(name)
    end = rec and rec[END]
    if type(end) is tuple and end[1] == "ERROR":
        return end[2]
    return aioctl.group().failures.get(name)


class TaskView:
    """A live view of one task record: what group().tasks[name] gives. Each
    field is read from the record when asked for: func, args, kwargs, task,
    since, done_at, ran_ms, result, extra, state, service."""

    def __init__(self, name):
        self.name = name

    def __getattr__(self, attr):
        # one function reads every field: a property each cost three objects
        name = self.name
        rec = aioctl.group().recs[name]
        end = rec[END]
        ended = type(end) is tuple
        if attr == "state":  # running, stopping, done, stopped, ERROR; failed for a service
            if end is None:
                return "running"
            if not ended:
                return "stopping"
            return "failed" if end[1] == "ERROR" and ".service" in name else end[1]
        if attr == "since":  # when it started, in seconds since the epoch
            return wall(rec[SINCE])
        if attr in ("done_at", "ran_ms"):  # None until it ends (a schedule's first run)
            at = end[0] if ended else None
            if at is None:
                return None
            return wall(at) if attr == "done_at" else time.ticks_diff(at, rec[SINCE])
        if attr in ("result", "extra"):  # extra: on_error's value, or the error a hook raised
            return end[2 if attr == "result" else 3] if ended else None
        if attr == "task":  # once it has ended, a stand-in: the coroutine held the run's locals
            return rec[TASK] or ENDED
        if attr == "service":  # the Service it belongs to, when aioservice is loaded
            i = name.find(".service")
            reg = sys.modules.get("aioservice")
            return reg.service(name[:i]) if reg and i > 0 else None
        if attr == "func":
            return rec[FUNC]
        raise AttributeError(attr)

    @property
    def args(self):
        return aioctl.group().recs[self.name][ARGS]

    @args.setter
    def args(self, value):
        aioctl.set_field(self.name, ARGS, value)

    @property
    def kwargs(self):
        """The kwargs dict; a task added without any gets a new one by assignment."""
        return aioctl.group().recs[self.name][KW] or {}

    @kwargs.setter
    def kwargs(self, value):
        aioctl.set_field(self.name, KW, value)


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
