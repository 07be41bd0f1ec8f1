# aioentry: what aioconfig.settings() makes of services.config once the
# file has passed its JSON check: each service's entry checked, and its
# "${VAR}" strings filled from .env (read here). Loaded after that check
# has let go of its code, so that the two never sit in the heap together.
import sys

from aioconfig import ENV_MAX_BYTES, ENV_MAX_VARS, ConfigError, _kind, _load
from micropython import const

_CONFIG = const("services.config")  # (aioconfig's file: its private name is folded away)
_ENV = const(".env")
_KEYS = const(("enabled", "args", "kwargs", "schedule", "require"))
# The watcher's restart policy per service (defaults in watcher_service.py)
_POLICY_KEYS = const(("restart", "restart_delay", "restart_delay_max", "max_restarts",
                      "restart_window", "watchdog"))
_RESTART_MODES = const(("on-failure", "always", "no"))


def settings(conf, service, problems):
    """{service: its entry(), or the ConfigError to say} of conf (given a
    service, its entry alone); the problems of .env go first in problems."""
    said = []
    env = read_env(problems=said)
    problems[:0] = said
    out = {}
    for name in conf:
        if service is not None and service not in (name, name + ".service"):
            continue  # (the others' objects would sit between the manager's code)
        try:
            out[name] = entry(conf, name, env)
        except ConfigError as e:
            out[name] = e
    return out


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
