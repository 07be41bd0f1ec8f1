# aiotools: the occasional calls of the aioctl API, loaded when one is made
# (through aioctl's module __getattr__, and let go of after it): result(),
# restart(), delete(), tasks(), debug(), reset(), set_log(), how a task is
# named, what a stop of a failed task holds, the last failure kept for
# traceback(), and Ctrl-C in a blocking call.
import asyncio
import sys

import aioctl
import aiotasks
from aiolazy import named
from aioctl import DELETE, END, RESTART


def name_of(run, func):
    # The coroutine function's own name (what an @aiotask wrapper hides):
    # MicroPython's generators have no __name__, but their repr holds it.
    # What is not a coroutine is refused here, before func is called again.
    coro = getattr(run, "coro", run)
    if not hasattr(coro, "send"):
        raise TypeError("%r is not a coroutine function" % (func or run,))
    text = repr(coro)
    i = text.find("'")
    j = text.find("'", i + 1)
    return text[i + 1:j] if 0 <= i < j else "task"


def interrupted(e):
    """Ctrl-C (e, a KeyboardInterrupt) raised in a task's own code, in a call
    that blocks, ends that task without asyncio seeing it end: record it as
    stopped, with its on_stop. Raised while the loop waited, it ended none."""
    import io
    from asyncio import core  # pyright: ignore[reportAttributeAccessIssue]

    text = io.StringIO()
    sys.print_exception(e, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
    frames = text.getvalue().split("\n  File ")  # pyright: ignore[reportAttributeAccessIssue]
    task = core.cur_task
    if task is not None and not frames[-1].startswith('"asyncio/'):
        aioctl._done(task, asyncio.CancelledError())


def nothing(pattern):
    """Say, in one line, that pattern names no task, and what there is."""
    named(pattern)
    recs = aioctl.group().recs
    names = sorted(recs)
    more = " ... (%d in all)" % len(names) if len(names) > 12 else ""
    if pattern + ".service" in recs:  # a service's name, as services.config spells it
        more += "; a service's task is %r" % (pattern + ".service")
    reg = sys.modules.get("aioservice")
    if reg and pattern.endswith(".service") and pattern[:-8] in reg.registry:
        more += "; aioservice.status(%r) says why it is not running" % pattern[:-8]
    print("aioctl: no task matches %r; tasks: %s%s" % (
        pattern, ", ".join(names[:12]) or "none", more))


def hold(t, name, rec):
    # A failed task whose restart was planned, stopped by the user: it stays
    # down, as `stopped`; its failure stays readable by traceback().
    del t.planned[name]
    end = rec[END]
    if end[1] == "ERROR":
        t.failures[name] = end[2]
    # end[3] is on_error's return (asyncmd's give the exception back): not
    # kept, as the extra of a stopped record is what its on_stop raised
    t.recs[name] = rec[:5] + ((end[0], "stopped", None, None),)


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
    return aiotasks.act(named(name), RESTART)  # (no name is not all: '*' is)


def reset():
    """Forget every record (tests); running tasks are left to asyncio."""
    aioctl._table = None


def delete(*names):
    """Remove tasks from the table; running ones are stopped first, and
    scheduled ones lose their future runs."""
    sch = sys.modules.get("aioschedule")
    for name in names:
        if sch:
            sch.cancel(named(name))
        aiotasks.act(name, DELETE)


def tasks():
    """Awaitables for the running tasks; each returns the task's result."""
    recs = aioctl.group().recs
    return [aiotasks.join(n) for n in aioctl.select() if recs[n][END] is None]


def set_log(stream):
    """Use stream (a journal, a StringIO or a file) for log() and follow()."""
    aioctl.group().log = stream
