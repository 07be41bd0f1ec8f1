# aioschedule: start-in / at / repeat schedules for aioctl tasks. Each
# schedule is one small timer coroutine that sleeps, in milliseconds, until
# the next run and then starts the task; the next run is counted from the
# plan, not from when the last one ended, so runs do not drift. Waits are
# chained in steps of a minute at most: a week's repeat never meets the
# tick horizon of a 32-bit board (see aioclock), and an `at` schedule looks
# at the wall clock each step and is planned again when it moved (NTP).
import asyncio
import time
from micropython import const

import aioclock
import aioctl

_KEYS = ("start_in", "at", "repeat")
_STEP_MS = const(60000)  # the longest single wait
_SLACK_MS = const(2000)  # wall clock and ticks may disagree this much before an `at` re-plan
# task name -> [timer task, next wake (ticks_ms), schedule, ms from that wake
# to the run, and for an `at` schedule how long after `at` the run is (ms)]
_timers = {}
_TASK = const(0)
_WAKE = const(1)
_PLAN = const(2)
_LEFT = const(3)
_AT = const(4)


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


def _to_at(schedule):
    # ms from now (by the wall clock) to the schedule's `at`; negative when past
    at = tuple(schedule["at"][:6]) + (0, 0)
    return int((time.mktime(at) - aioclock.clock()) * 1000)


def _delay_ms(schedule, strict=True):
    # ms from now to the first run; an `at` by the wall clock as it is now.
    # A one-off `at` in the past is an error, unless the clock moved past it
    # after it was planned (strict=False): then it runs now.
    if schedule.get("at") is None:
        return int(schedule.get("start_in", 0) * 1000)
    delay = _to_at(schedule)
    if delay < 0:
        repeat_ms = int(schedule.get("repeat", 0) * 1000)
        if repeat_ms:
            delay %= repeat_ms  # the next run of the series that started at `at`
        elif strict:
            raise ValueError("schedule at %r is in the past" % (tuple(schedule["at"][:6]),))
        else:
            delay = 0
    return delay


def _step(timer):
    # the next wake: the run itself, or _STEP_MS on the way to it
    step = min(timer[_LEFT], _STEP_MS)
    timer[_WAKE] = aioclock.ticks_add(timer[_WAKE], step)
    timer[_LEFT] -= step


def _plan(timer, ms):
    # the next run is ms from now (any length: it is waited for in steps)
    timer[_WAKE] = aioclock.ticks_ms()
    timer[_LEFT] = ms
    if "at" in timer[_PLAN]:  # and it is this long after `at` (whole ms: no float)
        timer[_AT] = ms - _to_at(timer[_PLAN])
    _step(timer)


def _moved(timer):
    # An `at` schedule whose wall-clock time and ticks no longer agree (the
    # clock was set) is planned again by the clock; True when it was.
    if timer[_AT] is None:
        return False
    by_ticks = aioclock.ticks_diff(timer[_WAKE], aioclock.ticks_ms()) + timer[_LEFT]
    if abs(_to_at(timer[_PLAN]) + timer[_AT] - by_ticks) <= _SLACK_MS:
        return False
    _plan(timer, _delay_ms(timer[_PLAN], False))
    return True


def _next(timer, repeat_ms):
    # The run due at timer[_WAKE] has started: the next is repeat_ms later;
    # runs missed while the loop was busy are skipped.
    left = repeat_ms
    late = aioclock.ticks_diff(aioclock.ticks_ms(), timer[_WAKE]) - repeat_ms
    if late > 0:
        left += (late // repeat_ms + 1) * repeat_ms
    timer[_LEFT] = left
    if timer[_AT] is not None:
        timer[_AT] += left
    _step(timer)


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
    timer[_TASK] = asyncio.create_task(_run(name, timer))
    _timers[name] = timer


async def _run(name, timer):
    repeat_ms = int(timer[_PLAN].get("repeat", 0) * 1000)
    try:
        while True:
            wait = aioclock.ticks_diff(timer[_WAKE], aioclock.ticks_ms())
            if wait > 0:
                await aioclock.sleep_ms(wait)
                continue
            if _moved(timer):
                continue
            if timer[_LEFT] > 0:  # a step on the way
                _step(timer)
                continue
            if name not in aioctl.group().recs:
                raise LookupError("its task is gone")
            aioctl.start(name)  # a run still going on is left to finish
            if not repeat_ms:
                break
            _next(timer, repeat_ms)
    except Exception as e:  # the task is gone or cannot start: the schedule ends
        print("aioschedule: %s: schedule ended: %s: %s" % (name, type(e).__name__, e))
    if _timers.get(name) is timer:
        del _timers[name]


def replan():
    """Plan every `at` schedule again by the wall clock as it is now: call
    it once the clock is set (NTP). Without the call, each timer sees the
    change within a minute. Returns how many were planned again."""
    n = 0
    for name in _timers:
        timer = _timers[name]
        if timer[_AT] is not None:
            timer[_TASK].cancel()
            _plan(timer, _delay_ms(timer[_PLAN], False))
            timer[_TASK] = asyncio.create_task(_run(name, timer))
            n += 1
    return n


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
        timer[_TASK].cancel()
        if hold:
            _held[name] = timer[_PLAN]
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
    if timer is None:
        return None
    return max(0, aioclock.ticks_diff(timer[_WAKE], aioclock.ticks_ms()) + timer[_LEFT])


def schedules():
    """{task name: schedule} of every active schedule."""
    return {n: t[_PLAN] for n, t in _timers.items()}
