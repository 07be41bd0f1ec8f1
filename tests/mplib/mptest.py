# Coroutines and helpers shared by the tests; runs on MicroPython.
import asyncio
import gc

import aioctl


async def forever(*args, **kwargs):
    while True:
        await asyncio.sleep_ms(5)


async def returns(value, ms=1):
    await asyncio.sleep_ms(ms)
    return value


async def divide(x, ms=1, log=None):
    await asyncio.sleep_ms(ms)
    return 1 / x


@aioctl.aiotask
async def managed(n, log=None):
    while True:
        await asyncio.sleep_ms(5)


class Log:
    """A logger stand-in that records what aioctl writes to log=."""

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append("INFO " + msg)

    def error(self, msg):
        self.lines.append("ERROR " + msg)

    def warning(self, msg):
        self.lines.append("WARNING " + msg)

    def debug(self, msg):
        self.lines.append("DEBUG " + msg)


def on_stop(*args, **kwargs):
    return "stopped with %r %r" % (args, sorted(kwargs))


def on_error(e, *args, **kwargs):
    return "handled %s" % type(e).__name__


def heap():
    gc.collect()
    return gc.mem_alloc()


def states():
    """name=state for every task, sorted, on one line."""
    return " ".join("%s=%s" % (n, aioctl.group().tasks[n].state) for n in aioctl.select())
