# aioschedule: start-in / at / repeat schedules for aioctl tasks. Each
# schedule is one small timer coroutine that sleeps, in milliseconds, until
# the next run and then starts the task; the next run is counted from the
# plan, not from when the last one ended, so runs do not drift. Waits are
# chained in steps of a minute at most: a week's repeat never meets the
# tick horizon of a 32-bit board (see aioclock), and an `at` schedule looks
# at the wall clock each step and is planned again when it moved (NTP).
# RAM: this module stays imported while any schedule exists, so it keeps
# only the timers and their loop; checking and planning a schedule
# (check, schedule, replan), a user's stop and start, and schedules() are
# in aioschedulex, loaded for one use and let go of at once.
import time
from micropython import const

import aioclock
import aioctl
import aiojob

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
_held = {}  # task name -> the plan of a schedule a user stopped; start() resumes it


def _x():
    # the rare half: what it hands out keeps it alive while needed
    try:
        import aioschedulex
    finally:  # also after a failed import, which leaves it in sys.modules' table
        aioctl.unimport(("aioschedulex",))
    return aioschedulex


def __getattr__(attr):
    # check(), schedule(), replan(), schedules(): see aioschedulex
    return getattr(_x(), attr)


def _to_at(schedule):
    # ms from now (by the wall clock) to the schedule's `at`; negative when
    # past. Rounded up twice, for this truncation and for the tick the sleep
    # starts in (up to 1 ms gone): a run a fraction of a ms early reads as a
    # second early (the test, waiting for each run, saw it in half its runs)
    at = tuple(schedule["at"][:6]) + (0, 0)
    return int((time.mktime(at) - aioclock.clock()) * 1000) + 2


def _step(timer):
    # the next wake: the run itself, or _STEP_MS on the way to it
    step = min(timer[_LEFT], _STEP_MS)
    timer[_WAKE] = aioclock.ticks_add(timer[_WAKE], step)
    timer[_LEFT] -= step


async def _run(name, timer):
    repeat_ms = int(timer[_PLAN].get("repeat", 0) * 1000)
    try:
        while True:
            wait = aioclock.ticks_diff(timer[_WAKE], aioclock.ticks_ms())
            if wait > 0:
                await aioclock.sleep_ms(wait)
                continue
            if timer[_AT] is not None:  # an `at` whose wall-clock time and ticks disagree
                by_ticks = aioclock.ticks_diff(timer[_WAKE], aioclock.ticks_ms()) + timer[_LEFT]
                if abs(_to_at(timer[_PLAN]) + timer[_AT] - by_ticks) > _SLACK_MS:
                    _x().again(timer)  # the clock was set: planned again by it
                    continue
            if timer[_LEFT] > 0:  # a step on the way
                _step(timer)
                continue
            if name not in aioctl.group().recs:
                raise LookupError("its task is gone")
            aiojob.rerun(name)  # a run still going on is left to finish
            if not repeat_ms:
                break
            # the next run is repeat_ms later; runs missed while the loop was busy are skipped
            left = repeat_ms
            late = aioclock.ticks_diff(aioclock.ticks_ms(), timer[_WAKE]) - repeat_ms
            if late > 0:
                left += (late // repeat_ms + 1) * repeat_ms
            timer[_LEFT] = left
            if timer[_AT] is not None:
                timer[_AT] += left
            _step(timer)
    except Exception as e:  # the task is gone or cannot start: the schedule ends
        print("aioschedule: %s: schedule ended: %s: %s" % (name, type(e).__name__, e))
    if _timers.get(name) is timer:
        del _timers[name]


def cancel(pattern=None, hold=False):
    """Cancel the schedules of the tasks pattern picks (None: all); returns
    how many. hold: a user's stop: the task shows `stopped` and start()
    resumes its plan."""
    if pattern is not None and "*" not in pattern:  # every stop and delete of a task
        dotted = str(pattern) + "."  # passes: the rare half loads only when the name
        for names in (_timers, _held):  # (or a child of it) has a schedule
            for n in names:
                if n == pattern or n.startswith(dotted):
                    return _x().cancel(pattern, hold)
        return 0
    return _x().cancel(pattern, hold) if _timers or _held else 0


def resume(pattern):
    """Schedule again what a user's stop held (see cancel)."""
    if _held:  # aioctl.start() asks each time: nothing to load then
        _x().resume(pattern)


def next_run(name):
    """Milliseconds until name's next scheduled run, or None."""
    timer = _timers.get(name)
    if timer is None:
        return None
    return max(0, aioclock.ticks_diff(timer[_WAKE], aioclock.ticks_ms()) + timer[_LEFT])
