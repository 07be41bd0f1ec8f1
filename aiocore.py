# aiocore: the start phase of the service manager: services started in
# dependency order, each per its type (_start_ordered(), for init() and
# load()), and boot(), the core services run once at start-up, each when
# what it requires has finished. aiomanager loads it once the services are
# imported and lets go of it after; boot() lets go of it when done.
import sys

import aioctl
import aiojob
import aioservice
from aioclass import Failed
from aiomanager import _app_log, _discover, _error_line, _problem, _say, _settings
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
        missing = _requirements_met(svc)
        if missing:
            _problem(n, "%s: %s: not started: %s" % (svc.path, n, _down(missing)), log)
            continue
        if _try_start(svc, log):
            started.append(svc)
            _say("[ OK ] %r started" % (svc,), debug, log if debug_log else None)
    return started


def _keep_secrets(kw):
    # Values of secret kwargs (psk, token...) never reach the journal.
    mask = getattr(aioctl.group().log, "mask", None)  # a journal can keep them out
    if mask:
        from aiosecret import is_secret

        for k, v in kw.items():
            if isinstance(v, str) and is_secret(k):
                mask(v)


def _start(svc, log):
    """Run svc's task per its type; returns the task name."""
    collect()  # the last start's garbage is gone: what this one keeps fills its holes
    kw = dict(svc.kwargs)
    _keep_secrets(kw)
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


def _requirements_met(svc):
    """None, or the first required service that is not running or done."""
    for req in svc.require:
        name = req + ".service"
        if name not in aioctl.group().recs or \
                _state(name) not in ("running", "done", "scheduled"):
            return req
    return None


def _down(req):
    """Why a requirement is not there, for the line of who requires it."""
    why = errors.get(req)
    svc = registry.get(req)
    if why and not (svc and svc.loaded) and ": not started: " not in why:  # config or file
        return "requires %s, which did not start: %s" % (req, why)
    return "dependency failed: " + req  # it ran and failed: its own line says how


async def boot(debug=True, log=None, debug_log=False, config=True):
    """Run the enabled core services once, in dependency order.

    Each starts when what it requires has finished successfully; independent
    ones run concurrently. A missing requirement or a cycle is reported with
    the names in the chain, and the rest still boots. Returns {name: state}.
    """
    try:
        return await _boot(debug, log, debug_log, config)
    finally:
        sys.modules.pop("aiocore", None)  # needed once, even by a boot that failed


async def _boot(debug, log, debug_log, config):
    import asyncio
    from aioclass import order

    log = _app_log(log)
    _discover(None, _settings(config, log), log)
    aioservice.settings = True if config else None  # for the init() that follows
    # services whose config failed stay in the order, so that those that
    # require them say why they cannot start
    core = {n: s for n, s in registry.items()
            if not isinstance(s, Failed) and s.type == "core.service"}
    names, problems = order({n: s.require for n, s in core.items()})
    sys.modules.pop("aioorder", None)
    outcome = {}
    for n, why in problems.items():
        outcome[n] = why
        _problem(n, "%s: %s: not started: %s" % (core[n].path, n, why), log)
    if names:
        _say("boot order: " + " -> ".join(n for n in names if n not in errors), debug,
             log if debug_log else None)
    finished = {n: asyncio.Event() for n in names}

    async def run(name):
        svc = core[name]
        if name in errors:  # its config is wrong: said already
            outcome[name] = "not started"
            finished[name].set()
            return
        for req in svc.require:
            await finished[req].wait()
            if outcome[req] != "done":
                outcome[name] = _down(req)
                _problem(name, "%s: %s: not started: %s" % (svc.path, name, outcome[name]), log)
                finished[name].set()
                return
        task = _try_start(svc, log)
        if task:
            result = await aioctl.join(task)
            state = outcome[name] = _state(task)
            if state == "done":
                _say("[ OK ] %r --> %r" % (svc, result), debug, log if debug_log else None)
            else:
                what = _error_line(result) if isinstance(result, Exception) else repr(result)
                _problem(name, "%s: %s: %s: %s" % (svc.path, name, state, what), log)
        else:
            outcome[name] = "not started"
        finished[name].set()

    await asyncio.gather(*[run(n) for n in names])
    return outcome
