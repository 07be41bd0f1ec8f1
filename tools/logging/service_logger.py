# service_logger: a logger for one service (or child task). It puts
# "[hello.service]" before each message and has its own level, in front of
# any logger with info/error... methods: micropython-lib `logging` or aiolog.

from aiolog import level_of  # one table of level names


class ServiceLogger:
    def __init__(self, log, prefix, level="INFO"):
        self.log = log
        self.name = prefix
        self.prefix = "[%s] " % prefix
        self.level = level_of(level)

    def child(self, cname):
        """A logger for a child task: [name.service.cname], the same level."""
        log = ServiceLogger(self.log, "%s.%s" % (self.name, cname))
        log.level = self.level
        return log

    def setLevel(self, level):
        self.level = level_of(level)

    def _emit(self, level, method, msg, args):
        if level >= self.level:
            getattr(self.log, method)(self.prefix + (msg % args if args else msg))

    def debug(self, msg, *args):
        self._emit(10, "debug", msg, args)

    def info(self, msg, *args):
        self._emit(20, "info", msg, args)

    def warning(self, msg, *args):
        self._emit(30, "warning", msg, args)

    def error(self, msg, *args):
        self._emit(40, "error", msg, args)

    def critical(self, msg, *args):
        self._emit(50, "critical", msg, args)

    def exception(self, msg, *args):
        self._emit(40, "error", msg, args)
