# aioconfig: services.config (JSON) and .env for mpsysd. Reads the config,
# checks the shape of each service's entry, fills "${VAR}" strings from
# .env, and writes changes atomically (see atomicfile). A broken config file
# is reported in one line and never overwritten; so is one over the limits
# below, which a board's heap can afford to parse. aioservice imports this
# module while it boots or configures, and may drop it afterwards.
import json
import sys

from micropython import const

_CONFIG = const("services.config")
_ENV = const(".env")
# Limits (README: Services): larger files are refused unread, and services
# run with their defaults; raise them here on a board with RAM to spare.
MAX_BYTES = 4096  # services.config
MAX_DEPTH = 8  # objects and lists inside each other in services.config
MAX_VALUES = 256  # values in services.config, all levels together
ENV_MAX_BYTES = 2048  # .env
ENV_MAX_VARS = 32  # variables in .env; the lines after the last are skipped
_KEYS = const(("enabled", "args", "kwargs", "schedule", "require"))
# The watcher's restart policy per service (defaults in watcher_service.py)
_POLICY_KEYS = const(("restart", "restart_delay", "restart_delay_max", "max_restarts",
                      "restart_window", "watchdog"))
_RESTART_MODES = const(("on-failure", "always", "no"))
_DEFAULTS = const("services run with their defaults; the file is left as it is")


class ConfigError(Exception):
    """A one-line problem: `file: service: what is wrong`."""


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), type(value).__name__)


def _load(path, limit):
    # path's bytes (None: no file); ValueError(size) when over limit
    import atomicfile

    try:
        return atomicfile.read(path, limit)
    except OSError:  # unreadable: as good as none
        return None


def read(path=_CONFIG):
    """The config as a dict ({} when there is no file); ConfigError when broken."""
    import atomicfile

    size = atomicfile.size(path)
    if size is None:
        return {}
    if size > MAX_BYTES:
        raise ConfigError("%s: %d bytes, over the limit of %d (aioconfig.MAX_BYTES): %s"
                          % (path, size, MAX_BYTES, _DEFAULTS))
    try:
        with open(path, "rb") as f:
            import jsoncheck  # strict, as CPython: MicroPython's json lets mistakes through

            data = jsoncheck.Window(f, size)  # never the whole file in RAM
            try:
                jsoncheck.check(data, MAX_DEPTH, MAX_VALUES)
            except ValueError as e:
                line, col = jsoncheck.where(data, e.args[0])
                raise ConfigError("%s: line %d, col %d: %s: %s; %s" % (
                    path, line, col, e.args[1], "over the limit (aioconfig.MAX_DEPTH, "
                    "MAX_VALUES)" if e.args[2] else "not valid JSON", _DEFAULTS))
            data = None
            sys.modules.pop("jsoncheck", None)
            f.seek(0)
            data = json.load(f)
    except (OSError, ValueError, MemoryError) as e:  # no room; or it changed since
        why = "too large for the free RAM" if isinstance(e, MemoryError) else repr(e)
        raise ConfigError("%s: %s: %s" % (path, why, _DEFAULTS))
    finally:
        sys.modules.pop("jsoncheck", None)
    if not isinstance(data, dict):
        raise ConfigError("%s: must hold a JSON object, not %s" % (path, _kind(data)))
    return data


def read_env(path=_ENV, problems=None):
    """.env as a dict: KEY=VALUE lines, # comments, optional quotes.

    A line that is not KEY=VALUE (or not UTF-8) is skipped and described in
    problems; a file over ENV_MAX_BYTES is not read.
    """
    values = {}
    say = problems.append if problems is not None else (lambda line: None)
    try:
        data = _load(path, ENV_MAX_BYTES)
    except ValueError as e:
        say("%s: %d bytes, over the limit of %d (aioconfig.ENV_MAX_BYTES): not read"
            % (path, e.args[0], ENV_MAX_BYTES))
        return values
    except MemoryError:
        say("%s: too large for the free RAM: not read" % path)
        return values
    try:
        _env_lines(data, path, values, say)
    except MemoryError:  # what was read so far stays
        say("%s: too large for the free RAM: the rest skipped" % path)
    return values


def _env_lines(data, path, values, say):
    start, n = 0, 0
    while data and start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            end = len(data)
        raw = data[start:end]
        start, n = end + 1, n + 1
        try:
            line = raw.decode().strip()
        except UnicodeError:
            import jsoncheck

            say("%s: line %d, col %d: %s, skipped" % ((path, n) + jsoncheck.bad_byte(raw)))
            sys.modules.pop("jsoncheck", None)
            continue
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            say("%s: line %d: not KEY=VALUE, skipped" % (path, n))
            continue
        if len(values) == ENV_MAX_VARS and key not in values:
            say("%s: line %d: more than %d variables (aioconfig.ENV_MAX_VARS): the rest "
                "skipped" % (path, n, ENV_MAX_VARS))
            break
        value = value.strip()
        # (slices: a character taken by index would be interned, a name for good)
        if len(value) > 1 and value[:1] == value[-1:] and value[:1] in "'\"":
            value = value[1:-1]
        values[key] = value


def fill(value, env):
    """value with every "${VAR}" in its strings replaced from env (KeyError: VAR)."""
    if isinstance(value, str):
        start = value.find("${")
        while start >= 0:
            end = value.find("}", start)
            if end < 0:
                break
            key = value[start + 2:end]
            if key not in env:
                raise KeyError(key)
            value = value[:start] + env[key] + value[end + 1:]
            start = value.find("${", start + len(env[key]))
        return value
    if isinstance(value, list):
        return [fill(v, env) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, env) for k, v in value.items()}
    return value


def entry(conf, name, env):
    """name's entry in conf, checked and filled from env, or None.

    Returns {"enabled", "args", "kwargs", "schedule", "require", "policy"}
    (None where not given; kwargs and policy always dicts). schedule, require
    and the policy keys may also be given inside kwargs, as asyncmd allowed
    for the first two; the entry's own key wins. Raises ConfigError.
    """
    e = conf.get(name)
    if e is None:
        return None
    where = "%s: %s: " % (_CONFIG, name)
    if not isinstance(e, dict):
        raise ConfigError(where + "entry must be an object, not " + _kind(e))
    for key in e:
        if key not in _KEYS and key not in _POLICY_KEYS:
            raise ConfigError(where + "unknown key %r (known: %s)"
                              % (key, ", ".join(_KEYS + _POLICY_KEYS)))
    shapes = (("enabled", bool, "true/false"), ("args", list, "a list"),
              ("kwargs", dict, "an object"))
    for key, shape, said in shapes:
        if key in e and not isinstance(e[key], shape):
            raise ConfigError(where + '"%s" must be %s, not %s' % (key, said, _kind(e[key])))
    kwargs = dict(e.get("kwargs", {}))
    out = {"enabled": e.get("enabled"), "args": e.get("args"),
           "schedule": e.get("schedule", kwargs.pop("schedule", None)),
           "require": e.get("require", kwargs.pop("require", None))}
    req = out["require"]
    if req is not None and not (isinstance(req, list) and all(isinstance(r, str) for r in req)):
        raise ConfigError(where + '"require" must be a list of service names')
    policy = {}  # also from kwargs, like schedule and require: never the task's
    for key in _POLICY_KEYS:
        if key in kwargs:
            policy[key] = kwargs.pop(key)
        if key in e:
            policy[key] = e[key]
    for key, value in policy.items():
        if key == "restart":
            if value not in _RESTART_MODES:
                raise ConfigError(where + '"restart" must be one of %s'
                                  % ", ".join(_RESTART_MODES))
        elif type(value) not in (int, float) or value < 0:
            raise ConfigError(where + '"%s" must be a number >= 0' % key)
    out["policy"] = policy
    if out["schedule"] is not None and not isinstance(out["schedule"], dict):
        raise ConfigError(where + '"schedule" must be an object, not ' + _kind(out["schedule"]))
    try:
        out["args"] = fill(out["args"], env)
        out["kwargs"] = fill(kwargs, env)
    except KeyError as e:
        raise ConfigError(where + "${%s} is not set in %s" % (e.args[0], _ENV))
    return out


def settings(service=None):
    """What the manager needs of services.config and .env, read in one go:
    ({service: its entry(), or the ConfigError to say}, [the problems of the
    files themselves]); given a service, its entry alone. Neither file's
    text is kept: the caller can let go of this module before the manager's
    code loads."""
    problems = []
    env = read_env(problems=problems)
    try:
        conf = read()
    except ConfigError as e:
        problems.append(str(e))
        conf = {}
    entries = {}
    for name in conf:
        if service is not None and service not in (name, name + ".service"):
            continue  # (the others' objects would sit between the manager's code)
        try:
            entries[name] = entry(conf, name, env)
        except ConfigError as e:
            entries[name] = e
    return entries, problems


def write(conf, path=_CONFIG):
    """Write conf as JSON, atomically (see atomicfile): an entry a line, in
    the order of their names, as a person lays the file out."""
    import atomicfile

    atomicfile.write(path, "{\n%s\n}\n" % ",\n".join(
        " %s: %s" % (json.dumps(k), json.dumps(conf[k])) for k in sorted(conf)))


def update(name, enabled=None, args=None, kwargs=None, path=_CONFIG):
    """Change name's entry (creating it) and keep every other entry.

    A broken file raises ConfigError and stays untouched.
    """
    conf = read(path)
    e = conf.get(name)
    if not isinstance(e, dict):
        e = conf[name] = {}
    if enabled is not None:
        e["enabled"] = enabled
    if args is not None:
        e["args"] = list(args)
    if kwargs:
        e.setdefault("kwargs", {}).update(kwargs)
    write(conf, path)
    return e
