# service_logger: a logger for one service (or child task). It puts
# "[hello.service]" before each message and has its own level, in front of
# any logger with info/error... methods: micropython-lib `logging` or aiolog.
# It is an aiolog Logger whose lines go to that logger's method of the same
# name instead of a stream: the level methods are aiolog's, not a copy.

from aiolog import Logger, level_of


class ServiceLogger(Logger):
    tail = ".service"  # follows the name in each line's prefix (a child's name has it)

    def __init__(self, log, name, level="INFO"):
        self.log = log  # the logger in front of which it stands (hides Logger.log)
        self.name = name  # the service's own name string: no prefix string per service
        self.level = level_of(level)

    def child(self, cname):
        """A logger for a child task: [name.service.cname], the same level."""
        log = ServiceLogger(self.log, "%s%s.%s" % (self.name, self.tail, cname))
        log.level = self.level
        log.tail = ""
        return log

    def failed(self, e, *args, **kwargs):
        """A task's on_error hook: its failure, in the journal."""
        self.error("failed: %s: %s" % (type(e).__name__, e))

    def _emit(self, level, method, msg, args):
        if level >= self.level:
            getattr(self.log, method)("[%s%s] %s" % (self.name, self.tail,
                                                     msg % args if args else msg))
