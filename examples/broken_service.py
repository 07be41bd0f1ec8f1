# broken: a service that fails at import, to show that the others still
# load and that `aioservice.traceback("broken")` finds the line.
from aioclass import Service

RATIO = 1 / 0


class BrokenService(Service):
    pass


service = BrokenService("broken")
