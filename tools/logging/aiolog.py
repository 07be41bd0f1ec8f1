# aiolog: a small logger with the interface of micropython-lib `logging`
# (getLogger, levels, info/warning/error...), for boards and the unix port
# where that package is not installed. Lines go to one stream (stdout, or a
# journal): "2026-01-02 10:00:00 [name] [LEVEL] message".
# RAM: the level methods are shared with service_logger's ServiceLogger (a
# subclass), which differs only in what _emit does with a line.
import sys
import time

from micropython import const

DEBUG = const(10)
INFO = const(20)
WARNING = const(30)
ERROR = const(40)
CRITICAL = const(50)
_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", CRITICAL: "CRITICAL"}


def level_of(level):
    """A level number from a number or a name such as "INFO"."""
    if isinstance(level, int):
        return level
    for number, name in _NAMES.items():
        if name == str(level).upper():
            return number
    raise ValueError("unknown log level %r" % (level,))


class Logger:
    def __init__(self, name, level=INFO, stream=None):
        self.name = name
        self.level = level
        self.stream = stream

    def setLevel(self, level):
        self.level = level_of(level)

    def isEnabledFor(self, level):
        return level >= self.level

    def log(self, level, msg, *args):
        self._emit(level, None, msg, args)

    def _emit(self, level, method, msg, args):
        # one line at level, if the logger's level lets it through; method
        # is the name of the call that made it (a ServiceLogger passes it on)
        if level < self.level:
            return
        if args:
            msg = msg % args
        t = time.localtime()
        (self.stream or sys.stdout).write(
            "%d-%02d-%02d %02d:%02d:%02d [%s] [%s] %s\n"
            % (t[:6] + (self.name, _NAMES.get(level, level), msg)))

    def debug(self, msg, *args):
        self._emit(DEBUG, "debug", msg, args)

    def info(self, msg, *args):
        self._emit(INFO, "info", msg, args)

    def warning(self, msg, *args):
        self._emit(WARNING, "warning", msg, args)

    def error(self, msg, *args):
        self._emit(ERROR, "error", msg, args)

    def critical(self, msg, *args):
        self._emit(CRITICAL, "critical", msg, args)

    def exception(self, msg, *args):
        self._emit(ERROR, "error", msg, args)


_loggers = {}


def getLogger(name="root", stream=None):
    """The logger called name (made on first use, writing to stream)."""
    log = _loggers.get(name)
    if log is None:
        log = _loggers[name] = Logger(name, stream=stream)
    elif stream is not None:
        log.stream = stream
    return log
