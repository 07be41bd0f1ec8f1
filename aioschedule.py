# aioschedule: start-in / at / repeat schedules for aioctl tasks. Each
# schedule is one small timer coroutine that sleeps, in milliseconds, until
# the next run and then starts the task; the next run is counted from the
# plan, not from when the last one ended, so runs do not drift.
import asyncio
import time

import aioctl

_KEYS = ("start_in", "at", "repeat")
_timers = {}  # task name -> [timer task, next run (ticks_ms), schedule]


def check(schedule):
    """Raise ValueError saying what is wrong with a schedule, if anything."""
    if not isinstance(schedule, dict):
        raise ValueError("schedule must be an object with start_in, at, repeat")
    for key in schedule:
        if key not in _KEYS:
            raise ValueError("unknown schedule key %r (known: start_in, at, repeat)" % (key,))
    for key in ("start_in", "repeat"):
        value = schedule.get(key)
        if value is not None and (type(value) not in (int, float) or value < 0):
            raise ValueError("schedule %s must be a number of seconds >= 0" % key)
    if schedule.get("repeat") == 0:
        raise ValueError("schedule repeat must be more than 0 seconds")
    at = schedule.get("at")
    if at is not None:
        if "start_in" in schedule:
            raise ValueError("schedule takes start_in or at, not both")
        if not isinstance(at, (list, tuple)) or len(at) < 6 or \
                not all(type(v) is int for v in at[:6]):
            raise ValueError("schedule at must be a time tuple (Y, M, D, h, m, s)")


def _first_delay_ms(schedule):
    at = schedule.get("at")
    if at is None:
        return int(schedule.get("start_in", 0) * 1000)
    delay = time.mktime(tuple(at[:6]) + (0, 0)) - time.time()
    if delay < 0:
        repeat = schedule.get("repeat")
        if not repeat:
            raise ValueError("schedule at %r is in the past" % (tuple(at[:6]),))
        delay %= repeat  # the next run of the series that started at `at`
    return int(delay * 1000)


def schedule(name, **plan):
    """Start aioctl task name by plan: start_in=s or at=(Y, M, D, h, m, s),
    then every repeat=s. The task may wait in state scheduled (see
    aioctl.enter). Replaces an earlier schedule of name; ValueError when
    the plan is wrong."""
    check(plan)
    due = time.ticks_add(time.ticks_ms(), _first_delay_ms(plan))
    cancel(name)
    timer = [None, due, plan]
    timer[0] = asyncio.create_task(_run(name, timer))
    _timers[name] = timer


async def _run(name, timer):
    repeat_ms = int(timer[2].get("repeat", 0) * 1000)
    try:
        while True:
            wait = time.ticks_diff(timer[1], time.ticks_ms())
            if wait > 0:
                await asyncio.sleep_ms(wait)
            if name not in aioctl.group().recs:
                raise LookupError("its task is gone")
            aioctl.start(name)  # a run still going on is left to finish
            if not repeat_ms:
                break
            timer[1] = time.ticks_add(timer[1], repeat_ms)
            late = time.ticks_diff(time.ticks_ms(), timer[1])
            if late > 0:  # runs missed while the loop was busy are skipped
                timer[1] = time.ticks_add(timer[1], (late // repeat_ms + 1) * repeat_ms)
    except Exception as e:  # the task is gone or cannot start: the schedule ends
        print("aioschedule: %s: schedule ended: %s: %s" % (name, type(e).__name__, e))
    if _timers.get(name) is timer:
        del _timers[name]


_held = {}  # task name -> the plan of a schedule a user stopped; start() resumes it


def _picked(names, pattern):
    from aiogrep import match

    return [n for n in names if pattern is None or match(pattern, n)
            or n.startswith(pattern + ".")]


def cancel(pattern=None, hold=False):
    """Cancel the schedules of the tasks pattern picks (None: all); returns
    how many. hold: a user's stop: the task shows `stopped` and start()
    resumes its plan."""
    names = _picked(_timers, pattern)
    for name in names:
        timer = _timers.pop(name)
        timer[0].cancel()
        if hold:
            _held[name] = timer[2]
            rec = aioctl.group().recs.get(name)
            end = rec and rec[aioctl.END]
            if type(end) is tuple:  # between two runs: it is stopped now
                aioctl.set_field(name, aioctl.END, (end[0], "stopped") + end[2:])
    if not hold:
        for name in _picked(_held, pattern):
            del _held[name]
    return len(names)


def resume(pattern):
    """Schedule again what a user's stop held (see cancel)."""
    for name in _picked(_held, pattern):
        schedule(name, **_held.pop(name))


def next_run(name):
    """Milliseconds until name's next scheduled run, or None."""
    timer = _timers.get(name)
    return None if timer is None else max(0, time.ticks_diff(timer[1], time.ticks_ms()))


def schedules():
    """{task name: schedule} of every active schedule."""
    return {n: t[2] for n, t in _timers.items()}
