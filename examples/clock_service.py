# clock: a core service that requires wifi, so it boots after it.
import asyncio
import time

import aioctl
from aioclass import Service


class ClockService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Clock sync (needs the network)"
        self.type = "core.service"
        self.docs = "README.md#services"
        self.kwargs = {"require": ["wifi"]}

    @aioctl.aiotask
    async def task(self, log=None):
        await asyncio.sleep_ms(100)  # asking a time server...
        return "time: %d-%02d-%02d %02d:%02d:%02d" % time.localtime()[:6]


service = ClockService("clock")
