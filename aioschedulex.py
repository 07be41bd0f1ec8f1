# aioschedulex: aioschedule's rare half (aioschedule keeps the timers and
# their loop): checking and planning a schedule, planning `at` schedules
# again when the wall clock is set, a user's stop and start, the list of
# schedules. aioschedule loads it for one use and drops it from sys.modules.
import asyncio
from micropython import const

import aioctl
import aioschedule as s

_TASK = const(0)  # a timer's fields, as in aioschedule
_WAKE = const(1)
_PLAN = const(2)
_LEFT = const(3)
_AT = const(4)


def check(schedule):
    """Raise ValueError saying what is wrong with a schedule, if anything."""
    if not isinstance(schedule, dict):
        raise ValueError("schedule must be an object with start_in, at, repeat")
    for key in schedule:
        if key not in ("start_in", "at", "repeat"):
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


def _delay_ms(schedule, strict=True):
    # ms from now to the first run; an `at` by the wall clock as it is now.
    # A one-off `at` in the past is an error, unless the clock moved past it
    # after it was planned (strict=False): then it runs now.
    if schedule.get("at") is None:
        return int(schedule.get("start_in", 0) * 1000)
    delay = s._to_at(schedule)
    if delay < 0:
        repeat_ms = int(schedule.get("repeat", 0) * 1000)
        if repeat_ms:
            delay %= repeat_ms  # the next run of the series that started at `at`
        elif strict:
            raise ValueError("schedule at %r is in the past" % (tuple(schedule["at"][:6]),))
        else:
            delay = 0
    return delay


def _plan(timer, ms):
    # the next run is ms from now (any length: it is waited for in steps)
    timer[_WAKE] = s.aioclock.ticks_ms()
    timer[_LEFT] = ms
    if "at" in timer[_PLAN]:  # and it is this long after `at` (whole ms: no float)
        timer[_AT] = ms - s._to_at(timer[_PLAN])
    s._step(timer)


def again(timer):
    """Plan an `at` schedule's timer again by the wall clock as it is now."""
    _plan(timer, _delay_ms(timer[_PLAN], False))


def schedule(name, **plan):
    """Start aioctl task name by plan: start_in=s or at=(Y, M, D, h, m, s),
    then every repeat=s. The task may wait in state scheduled (see
    aioctl.enter). Replaces an earlier schedule of name; ValueError when
    the plan is wrong."""
    check(plan)
    ms = _delay_ms(plan)
    cancel(name)
    timer = [None, 0, plan, 0, None]
    _plan(timer, ms)
    timer[_TASK] = asyncio.create_task(s._run(name, timer))
    s._timers[name] = timer


def replan():
    """Plan every `at` schedule again by the wall clock as it is now: call
    it once the clock is set (NTP). Without the call, each timer sees the
    change within a minute. Returns how many were planned again."""
    n = 0
    for name, timer in s._timers.items():
        if timer[_AT] is not None:
            timer[_TASK].cancel()
            again(timer)
            timer[_TASK] = asyncio.create_task(s._run(name, timer))
            n += 1
    return n


def _picked(names, pattern):
    from aiogrep import match

    return [n for n in names if pattern is None or match(pattern, n)
            or n.startswith(pattern + ".")]


def cancel(pattern=None, hold=False):
    """See aioschedule.cancel."""
    names = _picked(s._timers, pattern)
    for name in names:
        timer = s._timers.pop(name)
        timer[_TASK].cancel()
        if hold:
            s._held[name] = timer[_PLAN]
            rec = aioctl.group().recs.get(name)
            end = rec and rec[aioctl.END]
            if type(end) is tuple:  # between two runs: it is stopped now
                aioctl.set_field(name, aioctl.END, (end[0], "stopped") + end[2:])
    if not hold:
        for name in _picked(s._held, pattern):
            del s._held[name]
    return len(names)


def resume(pattern):
    """See aioschedule.resume. A task that start() has just run again takes
    that run as its plan's first: a start_in plan goes on a repeat later
    (one without repeat is over), an `at` plan at its next time."""
    for name in _picked(s._held, pattern):
        plan = s._held.pop(name)
        rec = aioctl.group().recs.get(name)
        ran = rec is not None and rec[aioctl.END] is None and "at" not in plan  # by start()
        if ran and "repeat" not in plan:
            continue  # its one run is the one start() began
        try:
            schedule(name, **plan)
        except ValueError:  # a one-off `at` gone by while it was held: nothing left
            continue
        if ran:  # (its timer has not run yet: planned again, it waits so)
            _plan(s._timers[name], int(plan["repeat"] * 1000))


def schedules():
    """{task name: schedule} of every active schedule."""
    return {n: t[_PLAN] for n, t in s._timers.items()}
