# aioshutdown: an orderly stop of the mpsysd app, loaded only when it is
# needed (Ctrl-C, or aioservice.shutdown()): services stop in reverse
# dependency order with their on_stop, then the other tasks; the journal is
# flushed; stragglers are named. A service whose dependant does not stop
# (it swallows the cancel) is still stopped, with its on_stop, before the
# timeout ends: only that dependant is named.
import asyncio
import sys
import time
from micropython import const

import aioctl
import aioservice
from aioclass import order

_GRACE_MS = const(100)  # the end of the timeout kept for the last stops (at most a quarter)
_SLOW_MS = const(500)  # a stop whose on_stop holds the loop this long is named if late


async def shutdown(timeout=5, log=None):
    """Stop every service, those that others require last, running their
    on_stop; then the other tasks (but the caller); flush the journal. Done
    within timeout seconds: tasks still going then are cancelled again and
    named. Returns the names of those stragglers."""
    safemode = sys.modules.get("safemode")
    if safemode and safemode.pending:  # the Ctrl-C was the unix watchdog's bite: a reset
        safemode.reset(safemode.pending)
    aioservice._shutdown_begins()
    await asyncio.sleep_ms(10)  # services waiting for shutdown may end themselves
    timeout_ms = int(timeout * 1000)
    deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
    # services wait for their dependants until soft; what is left lets the
    # services still running then end, with their on_stop, before the deadline
    soft = time.ticks_add(deadline, -min(_GRACE_MS, timeout_ms // 4))
    slow = []  # (task, ms) of the stops whose on_stop held the loop
    loaded = {n: s for n, s in aioservice.registry.items() if s.loaded}
    needs = {n: [r for r in s.require if r in loaded] for n, s in loaded.items()}
    names, problems = order(needs)
    recs = aioctl.group().recs
    for name in list(problems) + list(reversed(names)):
        # first wait, until soft, for the services that require this one
        users = [u + ".service" for u in needs if name in needs[u]]
        while any(u in _unfinished(recs) for u in users) and \
                time.ticks_diff(soft, time.ticks_ms()) > 0:
            await asyncio.sleep_ms(10)
        task = name + ".service"
        if task in recs and recs[task][aioctl.END] is None:
            print("shutdown: stopping " + task)
            if log is not None:
                log.info("shutdown: stopping " + task)
            aioctl.stop(task)
            began = time.ticks_ms()
            await asyncio.sleep_ms(0)  # it ends now, before what it requires stops
            took = time.ticks_diff(time.ticks_ms(), began)
            if took >= _SLOW_MS:  # a synchronous on_stop held the loop that long
                slow.append("%s (%d ms)" % (task, took))
    # the other tasks; not this one, nor what awaits it (the prompt, when this
    # is a statement typed there: it goes on once the statement is over)
    sch = sys.modules.get("aioschedule")
    if sch:  # every schedule ends, at once (a stop per task would load its rare half each)
        sch.cancel(None, hold=True)
    me = asyncio.current_task()
    for name in sorted(recs):
        task = recs[name][aioctl.TASK]
        if task is not None and task is not me and getattr(task, "data", None) is not me:
            aioctl.stop(name, stop_sch=False)
    while _unfinished(recs) and time.ticks_diff(deadline, time.ticks_ms()) > 0:
        await asyncio.sleep_ms(10)
    stragglers = _unfinished(recs)
    for name in stragglers:
        recs[name][aioctl.TASK].cancel()
    if stragglers:
        line = "shutdown: still running after %s s, cancelled: %s" % (
            timeout, ", ".join(stragglers))
        print("[ ERROR ] " + line)
        if log is not None:
            log.error(line)
    took = time.ticks_diff(time.ticks_ms(), deadline) + timeout_ms
    if took > timeout_ms:
        line = "shutdown: took %d ms, over its %s s timeout%s" % (
            took, timeout, "; slow to stop: " + ", ".join(slow) if slow else "")
        print("[ ERROR ] " + line)
        if log is not None:
            log.error(line)
    stream = aioctl.group().log
    if stream is not None and hasattr(stream, "flush"):
        stream.flush()
    if safemode:  # an orderly stop is not a crash: it does not count toward safe mode
        safemode.stopped_in_order()
    return stragglers


def _unfinished(recs):
    """Tasks whose stop is pending: cancelled, not ended yet (their end is an intent)."""
    return sorted(n for n, r in recs.items() if type(r[aioctl.END]) is int)
