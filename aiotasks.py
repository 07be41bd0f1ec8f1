# aiotasks: the control calls of the aioctl API, loaded on first use
# through aioctl's module __getattr__ (aiolazy.lookup): stop(), start()
# and join(); let go of after each call. The watcher's restarts and a
# schedule's runs need none of it (aiojob.rerun), nor does a delete that
# ends (aiojob.discard). The occasional calls (result, restart, delete,
# debug, reset...) are in aiotools, the views in aiostatus and the
# read-only views of records (group().tasks) in aioview.
import asyncio
import sys

import aioctl
import aiojob
from aiolazy import named
from aioctl import DELETE, END, FUNC, RESTART, START, STOP, TASK


def stop(name=None, stop_sch=True):
    """Cancel the running tasks name picks (None: all but the caller).

    A service's child tasks stop with it. A task that names itself stops
    once the others have been cancelled. Returns True if any task stopped.
    stop_sch: also cancel the future runs of scheduled tasks (aioschedule).
    """
    held = 0
    if name is not None:
        named(name)
    if stop_sch:
        sch = sys.modules.get("aioschedule")
        if sch:
            held = sch.cancel(name, hold=True)
    return act(name, STOP) or held > 0


def act(name, intent):
    """Act on the tasks name picks: cancel running ones (noting the intent,
    which _finish carries out) and start or delete finished ones.

    A service's child tasks follow it, except that they are only stopped
    when it starts again: the service's new run adds them again.
    """
    t = aioctl.group()
    recs = t.recs
    try:
        me = asyncio.current_task()
    except RuntimeError:  # no loop runs: the caller is not a task
        me = None
    own = None
    hit = False
    wild = None
    if name and "*" in named(name):
        from aiogrep import match as wild
    for key in family(recs, name) if name and not wild else aioctl.select(name, children=True):
        rec = recs[key]
        end = rec[END]
        what = intent
        if name and intent != DELETE and key != name and not (wild and wild(name, key)):
            what = STOP  # a child of the service name picks
        if type(end) is tuple:  # finished
            if what == STOP:
                if key in t.planned:  # a user stop cancels a planned restart
                    import aiotools

                    aiotools.hold(t, key, rec)
                    hit = True
                continue
            if what == DELETE:
                aiojob.discard(key)
            elif rec[FUNC] is None:
                raise ValueError("%s was added as a coroutine object, which runs once; add "
                                 "its function to start it again" % key)
            else:
                aiojob.relaunch(t, key, rec)
        elif end is None:  # running
            if what == START:
                continue
            if rec[TASK] is me:
                if name and "*" not in name:  # a task that names itself
                    own = key
                continue
            rec[TASK].cancel()
            aioctl.set_field(key, END, what)
        elif what != STOP:  # its cancel is pending: change what follows it
            aioctl.set_field(key, END, RESTART if what == START else what)
        hit = True
    if own:  # asyncio cannot cancel the running task: end it from inside
        aioctl.set_field(own, END, intent)
        raise asyncio.CancelledError
    return hit


def family(recs, name):
    """name and, for a service, its child tasks (name.service.child): what
    act() picks for a name without wildcards, with nothing to load (a
    restart may come when the heap is nearly full)."""
    if name not in recs:
        return aioctl.select(name, children=True)  # says that nothing matches
    if not name.endswith(".service"):
        return [name]
    n = len(name)
    return [name] + sorted(k for k in recs if k.startswith(name) and k.find(".", n) == n)


def start(name):
    """Start again the finished tasks name picks, with their args/kwargs.

    A task whose stop is still pending starts as soon as it has stopped; a
    schedule that stop() held is resumed. Returns True if any task was started.
    """
    started = act(named(name), START)  # (None is no name: stop(None) stops all, not start)
    sch = sys.modules.get("aioschedule")
    if sch:
        sch.resume(name)
    return started


async def join(name):
    """Wait for name's task to end; return its result (None if it is deleted)."""
    t = aioctl.group()
    while True:
        rec = t.recs.get(name)
        if rec is None:
            return None
        if type(rec[END]) is tuple:
            return rec[END][2]
        await aiojob.ended()
