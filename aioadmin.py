# aioadmin: the calls a user makes at the prompt about services that
# start nothing: list, status, traceback, unload, and services.config
# (config, enable, disable, get_config). aioservice loads it for the call
# and lets go of it after, as it does aiomanager (which boots and loads).
# A name that is not a string, or (for the config) names no service file,
# is one line of error: nothing is written for it.
import sys

import aioctl
from aioclass import Failed
from aioservice import errors, registry


def list_services():
    """Names of the services found in aioservices/services/."""
    import aiodiscover as found

    return sorted(found.find())


def _named(name, exists=False):
    import aiodiscover

    return aiodiscover.check(name, exists)


def status(name=None):
    """One [ OK ] / [ ERROR ] / [ -- ] line per service (or for name): the
    files not loaded (unloaded, disabled) too."""
    files = list_services()
    mask = getattr(aioctl.group().log, "masked", str)  # an error may quote a secret
    if name is None and "(config)" in errors:  # services.config or .env: the last read's problem
        print(mask("[ ERROR ] " + errors["(config)"]))
    for n in sorted(set(registry).union(files)) if name is None else [_named(name)]:
        svc = registry.get(n)
        rec = aioctl.group().recs.get(n + ".service")
        end = rec and rec[aioctl.END]
        if svc is None:  # a file not loaded (unloaded, disabled), or none at all
            print("[ -- ] %s: not loaded" % n if n in files else
                  "[ ERROR ] %s: no such service" % n)
        elif n in errors and svc.loaded and rec and end is None:  # running: a
            # load's new code failed, and its old code goes on
            print(mask("[ OK ] %r loaded, with its old code; the new: %s" % (svc, errors[n])))
        elif n in errors:  # (its load's own line: the file, the service, why)
            print(mask("[ ERROR ] " + errors[n]))
        elif isinstance(svc, Failed):
            print(mask("[ ERROR ] %r not loaded: %s: %s" % (svc, type(svc.exc).__name__, svc.exc)))
        elif svc.loaded and type(end) is tuple and end[1] == "ERROR":  # its run failed
            print(mask("[ ERROR ] %r failed: %s: %s" % (svc, type(end[2]).__name__, end[2])))
        elif svc.loaded:
            print("[ OK ] %r loaded%s" % (svc, "" if rec else "; its task was deleted"))
        else:
            print("[ -- ] %r %s" % (svc, "enabled" if svc.enabled else "disabled"))


def traceback(name):
    """Print why name failed: its import traceback, or its task's traceback."""
    name = _named(name)
    svc = registry.get(name)
    refused = name in errors and not isinstance(svc, Failed)
    if refused:  # a load (new code, services.config) refused: no exception, its line
        print("[ ERROR ] " + errors[name])
    if isinstance(svc, Failed):
        sys.print_exception(svc.exc)
    elif name + ".service" in aioctl.group().recs:
        aioctl.traceback(name + ".service")
    elif not refused:  # as status() says it of a name that is no service
        print("%s: %s" % (name, "no traceback" if svc else "no such service"))


def unload(name):
    """Stop name's tasks (its on_stop runs) and schedule, and forget its code."""
    import aiodiscover as found
    from gc import collect

    name = found.check(name)
    svc = registry.pop(name, None)
    errors.pop(name, None)
    # what the watcher knew of its runs (restarts, backoff) goes too: a later
    # load, by name or not, starts afresh
    getattr(registry.get("watcher"), "tracks", {}).pop(name, None)
    task = name + ".service"
    try:
        if task in aioctl.group().recs:
            aioctl.delete(task)  # on_stop runs; its schedule and child tasks go too
        elif svc is None:
            print("%s: no such service loaded" % name)
        elif isinstance(svc, Failed):  # nothing ran: what goes is its import's error
            print("%s: not loaded (its file failed to import); its error is forgotten" % name)
            svc = None
    finally:  # its code goes even when the delete ran out of heap halfway
        found.unload(name)
        collect()
    return svc


def config(name, enabled, *args, **kwargs):
    """Set name's entry in services.config: enabled (True, False; None
    leaves it), and args/kwargs when given."""
    if enabled is not None and type(enabled) is not bool:  # the loader would refuse it
        raise ValueError("config(%r, enabled): enabled is True or False, not %r"
                         % (name, enabled))
    import aioconfig

    return aioconfig.update(_named(name, True), enabled, args or None, kwargs)


def enable(name):
    """Mark name enabled in services.config."""
    import aioconfig

    return aioconfig.update(_named(name, True), enabled=True)


def disable(name):
    """Mark name disabled in services.config (it is not imported at the next start)."""
    import aioconfig

    return aioconfig.update(_named(name, True), enabled=False)


def get_config(name=None):
    """services.config as a dict (or name's entry), "${VAR}"s left as written."""
    import aioconfig

    conf = aioconfig.read()
    return conf if name is None else conf.get(_named(name))

