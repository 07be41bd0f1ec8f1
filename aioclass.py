# aioclass: the base class of an mpsysd service, and (loaded from aioorder
# when asked for) the dependency order in which services with `require` start.
from time import ticks_ms


class ServiceException(Exception):
    """Raised by a service (or about one) with a message for the user."""


class Service:
    """Base of a service. Subclass it in aioservices/services/xxx_service.py,
    give it an `@aioctl.aiotask async def task(self, ...)`, and end the file
    with `service = XxxService("xxx")`."""

    # Defaults, at class level so that an instance holds only what differs
    # (its attributes are a dict: every entry costs heap on a board)
    path = None  # the file it was loaded from (set by discovery)
    info = ""
    type = "runtime.service"  # or core.service, schedule.service
    enabled = True
    docs = ""
    args = ()
    schedule = None  # a schedule service's plan (see aioschedule)
    require = ()  # names of the services that must run before this one
    log = None
    loaded = False
    checked_in = None  # ticks_ms of the last check_in()
    limit_hit = False  # set by the watcher: restarted too often, not restarted again
    policy = ()  # restart policy from services.config, a dict (see watcher_service)

    def __init__(self, name):
        self.name = name
        self.kwargs = {}  # per instance: a service may add to its own

    def __repr__(self):
        return "Service: %s.service from %s" % (self.name, self.path)

    def check_in(self):
        """Tell the watcher this service is alive. A service with a `watchdog`
        period that does not check in that often is taken as hung."""
        self.checked_in = ticks_ms()

    def add_ctask(self, aioctl, coro, cname, *args, **kwargs):
        """Run a child task named `name.service.cname`, replacing an earlier one."""
        name = "%s.service.%s" % (self.name, cname)
        import aiojob  # (loaded: the service's task is made with its decorator)

        aiojob.discard(name)
        log = self.log  # a ServiceLogger logs the child's failure, as [name.service.cname]
        if "on_error" not in kwargs and hasattr(log, "child"):
            kwargs["on_error"] = log.child(cname).failed  # pyright: ignore[reportOptionalMemberAccess]
        return aioctl.add(coro, *args, name=name, **kwargs)

    def add_logger(self, log, level="INFO", service_logger=True):
        """Give the service its own logger: `[name.service]` prefix, own level."""
        if service_logger and log is not None:
            from service_logger import ServiceLogger

            log = ServiceLogger(log, self.name, level)
        self.log = log
        return log


class Failed(Service):
    """Stands in for a service whose file could not be loaded (it keeps the
    exception for aioservice.traceback). Defined here, not in aiomanager, so
    that a stand-in does not keep the manager's code alive."""

    def __init__(self, name, path, exc):
        super().__init__(name)
        self.path = path
        self.exc = exc
        self.enabled = False


def __getattr__(attr):
    # order() is needed at boot and at shutdown only: a module of its own.
    if attr == "order":
        from aioorder import order

        return order
    raise AttributeError(attr)
