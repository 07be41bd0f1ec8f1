# aioconfig: services.config (JSON) and .env for mpsysd. Reads the config,
# checks the shape of each service's entry, fills "${VAR}" strings from
# .env, and writes changes atomically (see atomicfile). A broken config file
# is reported in one line and never overwritten; so is one over the limits
# below, which a board's heap can afford to parse. aioservice imports this
# module while it boots or configures, and may drop it afterwards; the
# checks of each entry and .env are aioentry's.
import json
import sys

from micropython import const

_CONFIG = const("services.config")
# Limits (README: Services): larger files are refused unread, and services
# run with their defaults; raise them here on a board with RAM to spare.
MAX_BYTES = 4096  # services.config
MAX_DEPTH = 8  # objects and lists inside each other in services.config
MAX_VALUES = 256  # values in services.config, all levels together
ENV_MAX_BYTES = 2048  # .env
ENV_MAX_VARS = 32  # variables in .env; the lines after the last are skipped
_DEFAULTS = const("services run with their defaults; the file is left as it is")


class ConfigError(ValueError):
    """A one-line problem: `file: service: what is wrong` (a bad value: the
    prompt says it in its one line)."""


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


def read(path=_CONFIG, end=_DEFAULTS):
    """The config as a dict ({} when there is no file); ConfigError when
    broken, its line ending with end (what follows from it)."""
    import atomicfile

    size = atomicfile.size(path)
    if size is None:
        return {}
    if size > MAX_BYTES:
        raise ConfigError("%s: %d bytes, over the limit of %d (aioconfig.MAX_BYTES): %s"
                          % (path, size, MAX_BYTES, end))
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
                    "MAX_VALUES)" if e.args[2] else "not valid JSON", end))
            data = None
            sys.modules.pop("jsoncheck", None)
            f.seek(0)
            data = json.load(f)
    except ConfigError:  # (a ValueError: what the check found, said already)
        raise
    except (OSError, ValueError, MemoryError) as e:  # no room; or it changed since
        why = "too large for the free RAM" if isinstance(e, MemoryError) else repr(e)
        raise ConfigError("%s: %s: %s" % (path, why, end))
    finally:
        sys.modules.pop("jsoncheck", None)
    if not isinstance(data, dict):
        raise ConfigError("%s: must hold a JSON object, not %s" % (path, _kind(data)))
    return data


def settings(service=None):
    """What the manager needs of services.config and .env, read in one go:
    ({service: its entry(), or the ConfigError to say}, [the problems of the
    files themselves]); given a service, its entry alone. Neither file's
    text is kept: the caller can let go of this module before the manager's
    code loads. The file is checked first; the checks of its entries
    (aioentry) load once the JSON check (jsoncheck) has let go."""
    problems = []
    try:
        conf = read()
    except ConfigError as e:
        problems.append(str(e))
        conf = {}
    try:
        from aioentry import settings as entries

        return entries(conf, service, problems), problems
    finally:
        __import__("aioctl").unimport(("aioentry",))


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
    conf = read(path, "nothing is written; the file is left as it is")
    e = conf.get(name)
    if not isinstance(e, dict):
        e = conf[name] = {}
    if enabled is not None:
        e["enabled"] = enabled
    if args is not None:
        e["args"] = list(args)
    if kwargs:
        e.setdefault("kwargs", {}).update(kwargs)
    try:  # what the boot would refuse (a ${VAR} not in .env too) is not written
        from aioentry import entry, read_env

        plan = entry(conf, name, read_env())["schedule"]  # pyright: ignore[reportOptionalSubscript]
    finally:
        __import__("aioctl").unimport(("aioentry",))
    if plan:  # a plan the boot would refuse too (trial: {"repeat": "x"} was written)
        import aioschedule

        try:
            aioschedule.check(plan)
        except ValueError as err:
            raise ConfigError("%s: %s: %s" % (path, name, err))
    write(conf, path)
    return e
