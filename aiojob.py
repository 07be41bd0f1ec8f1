# aiojob: the small part of aioctl's API that stays loaded (the rest comes
# and goes through aiolazy): the @aiotask decorator and the Job it makes
# (each service's task holds them), ended(), which the watcher waits on,
# rerun(), how the watcher restarts a service and a schedule starts its
# next run, and discard(), how a service replaces its child task at each
# start: often, so with nothing to load (a service that failed may have
# left the heap full).
import aioctl


class Job:
    """What calling an @aiotask function gives: its coroutine (coro) and its
    hooks (on_stop, on_error), which the decorator sets: no __init__ to keep."""

    coro: object  # (annotations only: the class holds no value for them)
    on_stop: object
    on_error: object

    def __iter__(self):  # `await job` runs the coroutine without management
        return self.coro


def aiotask(func):
    """Decorate an `async def` so that it takes on_stop=, on_error= and _id=."""
    if type(func) is type(aiotask):  # a plain def: it would fail only when started
        raise TypeError("%s is not a coroutine function (async def)" % func.__name__)

    def call(*args, **kwargs):
        job = Job()
        job.on_stop = kwargs.pop("on_stop", None)
        job.on_error = kwargs.pop("on_error", None)
        kwargs.pop("_id", None)
        job.coro = func(*args, **kwargs)
        return job

    return call


def ended():
    """An awaitable that wakes at the next end of any managed task."""
    t = aioctl.group()
    if t.changed is None:
        from asyncio import Event

        t.changed = Event()
    return t.changed.wait()


def relaunch(t, name, rec):
    # Start a finished record of a function again; its failure stays
    # readable by traceback().
    end = rec[aioctl.END]
    if type(end) is tuple and end[1] == "ERROR":
        t.failures[name] = end[2]
    t.recs[name] = aioctl.launch(*rec[:3])  # func, args, kwargs
    t.planned.pop(name, None)  # (after: on a full heap the plan stays for the next try)


def child(recs, name):
    """A running child task of name (name.child), or None."""
    n = len(name)
    for k in recs:
        if k.startswith(name) and k.find(".", n) == n and recs[k][aioctl.END] is None:
            return k
    return None


def rerun(name):
    """aioctl.start(name), for a task that is not running, with nothing to
    load when none of its child tasks runs (start() would stop them)."""
    t = aioctl.group()
    rec = t.recs[name]
    end = rec[aioctl.END]
    if end is None:  # running: left to finish
        return False
    if type(end) is tuple and rec[aioctl.FUNC] and child(t.recs, name) is None:
        relaunch(t, name, rec)
        return True
    return aioctl.start(name)  # its stop is pending, or a child task runs


def discard(name):
    """Cancel name's task if it runs and forget it at once, with what the
    watcher kept of it (hooks are not called): a service replacing a child
    task, a load replacing a run and a delete that ends use this."""
    t = aioctl.group()
    rec = t.recs.pop(name, None)
    t.planned.pop(name, None)
    t.failures.pop(name, None)
    if rec and rec[aioctl.END] is None:
        rec[aioctl.TASK].cancel()
