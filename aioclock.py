# aioclock: the clocks mpsysd reads, in one place a test can replace
# (set aioclock.ticks_ms, .clock or .sleep_ms to simulate days, a tick wrap
# or an NTP sync in a moment). ticks_ms wraps: on a 32-bit board every
# 2^30 ms (12.4 days), and a ticks_diff is only right below 2^29 ms (6.2
# days); ticks_add refuses more. Long waits are chained below that horizon,
# and a window kept with clamp() never ages past it. The wall clock
# (clock(), seconds since the epoch) jumps when NTP sets it: durations come
# from ticks, dates from the current wall clock.
import time
from asyncio import sleep_ms  # noqa: F401  (replaceable, as the clocks)

ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff
ticks_add = time.ticks_add
clock = time.time


def clamp(stamp, limit_ms):
    """stamp (a ticks_ms reading of the past), or the ticks limit_ms before
    now when it is older: a supervisor that clamps the start of each window
    (to just over the window; limit_ms < 2^29) every round compares it
    with ticks_diff rightly for as long as it runs, wrap or not, since the
    stamp never gets older than the tick horizon. A stamp that reads as in
    the future has wrapped: it is old too."""
    now = ticks_ms()
    age = ticks_diff(now, stamp)
    if age > limit_ms or age < 0:
        return ticks_add(now, -limit_ms)
    return stamp


lag_ms = None  # how late the loop ran the lag monitor last time (None: not running)
lag_max_ms = 0


async def loop_lag(period_ms=500):
    """Measure event-loop lag: how late a sleep of period_ms wakes up. Run it
    as a task (the app runs it as loop.lag); top() reads lag_ms."""
    global lag_ms, lag_max_ms
    while True:
        t0 = ticks_ms()
        await sleep_ms(period_ms)
        lag_ms = max(0, ticks_diff(ticks_ms(), t0) - period_ms)
        lag_max_ms = max(lag_max_ms, lag_ms)
