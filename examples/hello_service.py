# hello: a runtime service written to the asyncmd conventions. Its main task
# loops forever and starts a child task that blinks a (virtual) LED; show()
# adds a line to `aioctl.status("hello.service", debug=True)`.
import asyncio
import time

import aioctl
from aioclass import Service


class HelloService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Hello example runner v1.0"
        self.type = "runtime.service"
        self.enabled = True
        self.docs = "README.md#services"
        self.args = [2, 5]
        self.kwargs = {"on_stop": self.on_stop, "on_error": self.on_error}
        self.n_loop = 0
        self.loop_diff = 0
        self.led = False

    def show(self):
        return "Stats", "loops: %d; last loop: %d ms; led: %s" % (
            self.n_loop, self.loop_diff, "on" if self.led else "off")

    def on_stop(self, *args, **kwargs):
        if self.log:
            self.log.info("stopped after %d loops" % self.n_loop)
        return self.n_loop

    def on_error(self, e, *args, **kwargs):
        if self.log:
            self.log.error("error: %s" % e)
        return e

    @aioctl.aiotask
    async def blink(self, period):
        while True:
            self.led = not self.led
            await asyncio.sleep(period)

    @aioctl.aiotask
    async def task(self, n, s, log=None, loglevel="INFO"):
        self.add_logger(log, level=loglevel)
        self.add_ctask(aioctl, self.blink, "blink", n / 4)
        while True:
            t0 = time.ticks_ms()
            self.n_loop += 1
            if self.log:
                self.log.info("hello #%d, every %d s" % (self.n_loop, s))
            self.loop_diff = time.ticks_diff(time.ticks_ms(), t0)
            await asyncio.sleep(s)


service = HelloService("hello")
