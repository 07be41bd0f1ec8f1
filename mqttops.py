# mqttops: the commands of mpsysd's fleet link (mqtt_service), loaded for
# a command and let go after it, so that their code takes no RAM between
# commands. Each op takes the service and the command (a dict) and returns
# what the reply's `result` holds, or raises Bad with the reply's error.
# pyright: reportOptionalMemberAccess=false, reportAttributeAccessIssue=false
# (the board stubs miss asyncio.wait_for_ms, tls.SSLContext.verify_mode and str
# into BytesIO; the link's streams and events are made when it runs)
# pyright: reportOptionalOperand=false, reportOperatorIssue=false
import io
import json
import sys

from micropython import const

import aioctl
import aioservice

_SET_KEYS = const(("args", "kwargs", "enabled"))
_MAX_LINES = const(200)  # journal lines one `log` reply may carry


class Bad(Exception):
    """A command that cannot run: its message is the reply's error."""


def get_name(cmd, required=True):
    n = cmd.get("name")
    if n is None and not required:
        return None
    if not isinstance(n, str) or not n:
        raise Bad("%s: `name` must be a non-empty string" % cmd.get("op"))
    return n


def _masked(value, key=""):
    from aiosecret import is_secret

    if isinstance(value, dict):
        return {k: _masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    return "****" if key and is_secret(key) and value is not None else value


def parse(payload):
    import jsoncheck

    try:
        jsoncheck.check(payload, 8, 64)
        cmd = json.loads(payload)
    except (ValueError, UnicodeError):
        raise Bad("not JSON")
    if not isinstance(cmd, dict):
        raise Bad("not a JSON object")
    return cmd


def pattern(name):
    """A service name stands for its task: hello is hello.service."""
    if name is not None and name in aioservice.registry:
        return name + ".service"
    return name


def _tasks(cmd):
    pat = pattern(get_name(cmd))
    from aiogrep import match

    found = [n for n in aioctl.group().recs if match(pat, n)]
    if not found:
        raise Bad("no task matches %s" % pat)
    return pat, sorted(found)


def _not_me(svc, names):
    if svc.name + ".service" in names:
        raise Bad("%s.service carries this link: stop it at the device" % svc.name)


def start(svc, cmd):
    name = get_name(cmd)
    if pattern(name) not in aioctl.group().recs and "*" not in name:
        import aiodiscover as found

        if name in found.find():  # a service not loaded (disabled): load it
            if aioservice.load(name) is None:
                raise Bad("%s: %s" % (name, aioservice.errors.get(name, "did not start")))
            svc.due.set()
            return [name + ".service"]
    pat, names = _tasks(cmd)
    aioctl.start(pat)
    svc.due.set()
    return names


def stop(svc, cmd):
    return _stop_or_restart(svc, cmd, aioctl.stop)


def restart(svc, cmd):
    return _stop_or_restart(svc, cmd, aioctl.restart)


def _stop_or_restart(svc, cmd, act):
    # never the link's own task: the command would cut the line it came on
    pat, names = _tasks(cmd)
    _not_me(svc, names)
    act(pat)
    svc.due.set()
    return names


def log(svc, cmd):
    from aiogrep import patterns, wanted

    grep = cmd.get("grep", "")
    n = cmd.get("lines", 20)
    if not isinstance(grep, str):
        raise Bad("log: `grep` must be a string")
    if type(n) is not int or not 0 < n <= _MAX_LINES:
        raise Bad("log: `lines` must be a whole number from 1 to %d" % _MAX_LINES)
    j = aioctl.group().log
    if not hasattr(j, "lines"):
        raise Bad("log: the log is not a journal")
    pats = patterns(grep)
    out = []
    for line, _ in j.lines():
        if wanted(line, pats):
            out.append(line)
            if len(out) > n:
                out.pop(0)
    return out


def traceback(svc, cmd):
    from aioview import last_failure

    name = get_name(cmd)
    exc = getattr(aioservice.registry.get(name), "exc", None)
    if exc is None:
        task = pattern(name)
        if task not in aioctl.group().recs:
            raise Bad("traceback: no task %s" % task)
        exc = last_failure(task)
    if exc is None:
        return None
    text = io.StringIO()
    sys.print_exception(exc, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
    return svc.clean(text.getvalue()[-1500:])  # pyright: ignore[reportAttributeAccessIssue]


def report(svc, cmd):
    w = aioservice.registry.get("watcher")
    rep = getattr(w, "report", None)
    return {"report": svc.clean(str(rep())) if rep else None,
            "watcher": w.stats() if rep else None, "link": svc.stats()}


def _service_name(cmd):
    import aiodiscover as found

    name = get_name(cmd)
    if name not in found.find():
        raise Bad("%s: no service file %s_service.py" % (cmd["op"], name))
    return name


def enable(svc, cmd):
    return _masked(aioservice.enable(_service_name(cmd)))


def disable(svc, cmd):
    return _masked(aioservice.disable(_service_name(cmd)))


def config(svc, cmd):
    name = _service_name(cmd)
    new = cmd.get("set")
    if new is None:
        return _masked(aioservice.get_config(name) or {})
    if not isinstance(new, dict) or not new:
        raise Bad("config: `set` must be an object of args, kwargs, enabled")
    for k in new:
        if k not in _SET_KEYS:
            raise Bad("config: cannot set %s (only args, kwargs, enabled)" % json.dumps(k))
    args, kwargs, enabled = new.get("args"), new.get("kwargs"), new.get("enabled")
    if args is not None and not isinstance(args, list):
        raise Bad("config: args must be a list")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise Bad("config: kwargs must be an object")
    if enabled is not None and not isinstance(enabled, bool):
        raise Bad("config: enabled must be true or false")
    import aioconfig

    try:
        entry = aioconfig.update(name, enabled, args, kwargs)
    finally:
        aioservice.release()

    def apply():  # once the reply is out: it may restart this very link
        if entry.get("enabled") is False:
            if name + ".service" in aioctl.group().recs:
                aioctl.stop(name + ".service")
        else:
            aioservice.load(name)
        svc.due.set()

    svc.after = apply
    return _masked(entry)


def reset(svc, cmd):
    import safemode

    svc.after = safemode.reset
    return "resetting"


