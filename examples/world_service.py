# world: a schedule service. Its task runs once per schedule and returns a
# result; `aioctl.status()` shows when it runs next.
import time

import aioctl
from aioclass import Service


class WorldService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "World example: runs on a schedule"
        self.type = "schedule.service"
        self.docs = "README.md#services"
        self.schedule = {"start_in": 4, "repeat": 15}
        self.runs = 0

    @aioctl.aiotask
    async def task(self, log=None):
        self.runs += 1
        if log:
            log.info("[world.service] run %d" % self.runs)
        return "run %d at %s" % (self.runs, "%02d:%02d:%02d" % time.localtime()[3:6])


service = WorldService("world")
