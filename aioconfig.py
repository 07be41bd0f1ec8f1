# aioconfig: services.config (JSON) and .env for mpsysd. Reads the config,
# checks the shape of each service's entry, fills "${VAR}" strings from
# .env, and writes changes atomically (a temp file, then a rename). A broken
# config file is reported and never overwritten. aioservice imports this
# module while it boots or configures, and may drop it afterwards.
import json

CONFIG = "services.config"
ENV = ".env"
_KEYS = ("enabled", "args", "kwargs", "schedule", "require")
# The watcher's restart policy per service (defaults in watcher_service.py)
POLICY_KEYS = ("restart", "restart_delay", "restart_delay_max", "max_restarts",
               "restart_window", "watchdog")
_RESTART_MODES = ("on-failure", "always", "no")


class ConfigError(Exception):
    """A one-line problem: `file: service: what is wrong`."""


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(value), type(value).__name__)


def read(path=CONFIG):
    """The config as a dict ({} when there is no file); ConfigError when broken."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigError("%s: not valid JSON (%s): services run with their defaults; "
                          "the file is left as it is" % (path, e))
    if not isinstance(data, dict):
        raise ConfigError("%s: must hold a JSON object, not %s" % (path, _kind(data)))
    return data


def read_env(path=ENV, problems=None):
    """.env as a dict: KEY=VALUE lines, # comments, optional quotes.

    A line that is not KEY=VALUE is skipped and described in problems.
    """
    values = {}
    try:
        f = open(path)
    except OSError:
        return values
    with f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            if not sep or not key:
                if problems is not None:
                    problems.append("%s: line %d: not KEY=VALUE, skipped" % (path, n))
                continue
            value = value.strip()
            if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key] = value
    return values


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
    (None where not given; kwargs and policy always dicts). schedule and require may also be given
    inside kwargs, as asyncmd allowed. Raises ConfigError.
    """
    e = conf.get(name)
    if e is None:
        return None
    where = "%s: %s: " % (CONFIG, name)
    if not isinstance(e, dict):
        raise ConfigError(where + "entry must be an object, not " + _kind(e))
    for key in e:
        if key not in _KEYS and key not in POLICY_KEYS:
            raise ConfigError(where + "unknown key %r (known: %s)"
                              % (key, ", ".join(_KEYS + POLICY_KEYS)))
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
    policy = {k: e[k] for k in POLICY_KEYS if k in e}
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
        raise ConfigError(where + "${%s} is not set in %s" % (e.args[0], ENV))
    return out


def write(conf, path=CONFIG):
    """Write conf as JSON, atomically (see atomicfile)."""
    import atomicfile

    atomicfile.write(path, json.dumps(conf))


def update(name, enabled=None, args=None, kwargs=None, path=CONFIG):
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
