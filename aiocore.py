# aiocore: the start phase of the service manager: services started in
# dependency order, each per its type (_start_ordered(), for init() and
# load(), and what aiocoreboot's boot() starts with). aiomanager loads it
# once the services are imported and lets go of it after.
import sys

import aioctl
import aiojob
import aioservice
from aiomanager import _error_line, _problem, _say
from aioservice import errors, registry
from gc import collect


def _start_ordered(chosen, debug, log, debug_log):
    # (aiomanager's own is called so: a name the board holds already)
    from aioclass import order

    # requirements outside this start (core services, running ones) are checked when due
    names, problems = order({n: [r for r in s.require if r in chosen or r not in registry]
                             for n, s in chosen.items()})
    sys.modules.pop("aioorder", None)  # ordered: needed no more
    for n, why in problems.items():
        _problem(n, "%s: %s: not started: %s" % (chosen[n].path, n, why), log)
    started = []
    for n in names:
        svc = chosen[n]
        for req in svc.require:  # each running or done (a schedule: scheduled) by now
            task = req + ".service"
            if task not in aioctl.group().recs or \
                    _state(task) not in ("running", "done", "scheduled"):
                _problem(n, "%s: %s: not started: %s" % (svc.path, n, _down(req)), log)
                break
        else:
            if _try_start(svc, log):
                started.append(svc)
                _say("[ OK ] %r started" % (svc,), debug, log if debug_log else None)
    return started


def _start(svc, log):
    """Run svc's task per its type; returns the task name."""
    collect()  # the last start's garbage is gone: what this one keeps fills its holes
    kw = dict(svc.kwargs)
    mask = getattr(aioctl.group().log, "mask", None)  # a journal can keep secrets out:
    if mask:  # the values of secret kwargs (psk, token...) never reach it
        from aiosecret import is_secret

        for k, v in kw.items():
            if isinstance(v, str) and is_secret(k):
                mask(v)
    if log is not None:
        kw.setdefault("log", log)
    for hook in ("on_stop", "on_error"):
        if hook not in kw and hasattr(svc, hook):
            kw[hook] = getattr(svc, hook)
    name = svc.name + ".service"
    scheduled = svc.type == "schedule.service"
    run = None
    if not scheduled:  # args of the wrong shape fail here, before a run it replaces ends
        run = svc.task(*svc.args, **aioctl._call_kw(kw))
    _retire(name)
    aioctl.enter(svc.task, svc.args, kw, name, not scheduled, run)
    if scheduled:
        import aioschedule

        try:
            aioschedule.schedule(name, **svc.schedule)
        except ValueError:
            aiojob.discard(name)
            raise
    svc.loaded = True
    return name


def _retire(name):
    # A load() replaces name's record: a run still going stops as a stop
    # would (its on_stop runs, it reads `stopped`), then the record goes.
    t = aioctl.group()
    rec = t.recs.get(name)
    if rec is not None and rec[aioctl.END] is None:
        from asyncio import CancelledError

        print("%s is running: it stops and starts again with its file's new code" % name)
        aioctl._finish(t, name, rec, CancelledError())
        rec[aioctl.TASK].cancel()  # it ends at its next await, its record gone
    aiojob.discard(name)


def _try_start(svc, log):
    if aioservice.stopping:  # nothing starts once shutdown has begun
        return None
    try:
        return _start(svc, log)
    except Exception as e:  # args of the wrong shape, a bad schedule...
        _problem(svc.name, "%s: %s: cannot start: %s" % (svc.path, svc.name, _error_line(e)), log)
        return None


def _state(name):
    """A service task's state as the views say it, without loading them."""
    end = aioctl.group().recs[name][aioctl.END]
    if end is None:
        return "running"
    if type(end) is not tuple:
        return "stopping"
    return "failed" if end[1] == "ERROR" else end[1]


def _down(req):
    """Why a requirement is not there, for the line of who requires it."""
    why = errors.get(req)
    svc = registry.get(req)
    if why and not (svc and svc.loaded) and ": not started: " not in why:  # config or file
        return "requires %s, which did not start: %s" % (req, why)
    return "dependency failed: " + req  # it ran and failed: its own line says how
