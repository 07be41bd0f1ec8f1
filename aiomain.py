# aiomain: the mpsysd app that main.py starts with main.py's settings. The
# start (journal, boot, services, prompt) is aioboot, let go of once it is
# over; what stays is the loop, and Ctrl-C, which stops everything in order.
# main.py holds only the settings: a board compiles it at every boot.
import asyncio
import sys

import aioctl


async def feed_watchdog(wdt, period_ms):
    # Feeds the start-up watchdog while the loop runs, until the watcher runs
    # (it feeds the same watchdog, and only while all is healthy). Without a
    # watcher it goes on: a loop blocked for good still resets the board.
    recs = aioctl.group().recs
    while True:
        rec = recs.get("watcher.service")
        if rec is not None and rec[aioctl.END] is None:
            return
        wdt.feed()
        await asyncio.sleep_ms(period_ms)


async def settle():
    # From a task of its own: stop() spares only the task that calls it.
    aioctl.stop()
    await asyncio.sleep_ms(100)  # the tasks end: their on_stop and finally blocks run


def run(wdt, settings):
    """Run the app until Ctrl-C. wdt: the start-up watchdog main.py armed
    (None on the unix port); settings: main.py's globals (JOURNAL_BYTES,
    FILE_LOG...)."""
    import gc

    if settings["GC_EVERY"]:  # see main.py: the heap stays in larger blocks
        gc.threshold(int((gc.mem_free() + gc.mem_alloc()) * settings["GC_EVERY"]))
    import aioboot

    log = aioboot.logger(settings)
    if wdt is not None:
        asyncio.create_task(feed_watchdog(wdt, settings["BOOT_WDT_MS"] // 4))
    starting = []  # the start's task while it runs, emptied when it is over
    aioboot.start(log, settings, starting)
    del aioboot
    sys.modules.pop("aioboot")
    timeout = settings["SHUTDOWN_TIMEOUT"]
    try:
        asyncio.get_event_loop().run_forever()  # the services and the prompt run as tasks
    except KeyboardInterrupt as e:  # Ctrl-C, at the prompt or while booting
        bit = getattr(sys.modules.get("safemode"), "pending", 0)  # the unix watchdog's Ctrl-C
        print("\nmpsysd: %s: stopping the services" % ("watchdog" if bit else "Ctrl-C"))
        aioctl.interrupted(e)  # a task it broke into ends as stopped, with its on_stop
        for task in starting:  # a boot cut short must not go on to start more services
            task.cancel()
        import aioservice

        try:
            asyncio.run(aioservice.shutdown(timeout, log=log))
        except MemoryError:  # no heap for the orderly stop: cancel what runs, at least
            import gc

            gc.collect()
            print("mpsysd: no memory for an orderly stop; the tasks are cancelled")
            aioservice._shutdown_begins()  # a stop, not a failure: the watcher does not reset
            asyncio.run(settle())
