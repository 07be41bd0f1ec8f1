# aiocoreboot: boot(), the core services run once at start-up, each when
# what it requires has finished, independent ones concurrently. A module
# of its own: init() and load() start services with aiocore alone, and the
# heap they start in is the smaller by this code. boot() lets go of both.
import sys

import aioctl
import aioservice
from aioclass import Failed
from aiocore import _down, _state, _try_start
from aiomanager import _app_log, _discover, _error_line, _problem, _say, _settings
from aioservice import errors, registry


async def boot(debug=True, log=None, debug_log=False, config=True):
    """Run the enabled core services once, in dependency order.

    Each starts when what it requires has finished successfully; independent
    ones run concurrently. A missing requirement or a cycle is reported with
    the names in the chain, and the rest still boots. Returns {name: state}.
    """
    try:
        return await _boot(debug, log, debug_log, config)
    finally:  # needed once, even by a boot that failed
        aioctl.unimport(("aiocoreboot", "aiocore"))


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
