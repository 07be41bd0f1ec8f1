# aiomain: the mpsysd app that main.py starts. Logs go to a RAM journal
# (aioctl.log(), aioctl.follow()); core services boot in dependency order;
# runtime and schedule services start; a prompt runs beside them. After
# SAFE_MODE_AFTER boots in a row that never ran healthy, only core services
# and the prompt run. Ctrl-C stops everything in order. A boot() or init()
# that raises (a MemoryError) is one [ ERROR ] line; the app goes on with
# what started, and the prompt. The settings are main.py's: a board compiles
# main.py at every boot and keeps its code, so this compiled module holds
# the app and main.py only what a user sets.
import asyncio

import aioctl
import aioservice
import safemode


def make_logger(journal, file_log, file_log_bytes):
    stream = journal
    if file_log:
        from filelog import FileLog, Tee

        stream = Tee(journal, FileLog(file_log, file_log_bytes))
    try:
        import logging  # micropython-lib's, when installed
    except ImportError:
        import aiolog

        log = aiolog.getLogger("mpsysd", stream=stream)
        log.setLevel(aiolog.DEBUG)  # each service's logger applies its own level
        return log
    log = logging.getLogger("mpsysd")
    log.addHandler(logging.StreamHandler(stream))
    log.setLevel(logging.DEBUG)
    return log


def want_prompt():
    # The host launcher says when there is no terminal; a board always has one.
    import os

    return getattr(os, "getenv", lambda name: None)("MPSYSD_PROMPT") != "off"


def add_prompt():
    # aioprompt rather than micropython-lib's aiorepl: it stops the app in
    # order on Ctrl-C at an empty prompt, and has mpsysd's help()
    import aioprompt

    return aioctl.add(aioprompt.prompt, name="prompt")


async def healthy_after(seconds):
    # Without the watcher (safe mode, or disabled), a boot that stays up is good.
    await asyncio.sleep(seconds)
    safemode.healthy()


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


def failed(step, exc, log):
    # boot() or init() raised: one line, and the app goes on with what started
    import gc

    gc.collect()  # what the failed step held is garbage now
    try:
        line = "mpsysd: %s failed: %s: %s; the app goes on with what started" % (
            step, type(exc).__name__, exc)
        print("[ ERROR ] " + line)
        log.error(line)
    except Exception:  # no heap even for the line
        print("[ ERROR ] mpsysd: start-up failed, out of memory")
    return False


async def main(log, safe_mode_after, healthy_after_s):
    aioctl.add(aioctl.loop_lag, name="loop.lag")
    safe = safemode.begin(safe_mode_after)
    ok = True  # a start that failed does not count as a healthy boot
    try:
        await aioservice.boot(debug=True, log=log)
    except Exception as e:
        ok = failed("boot", e, log)
    if safe:
        print(safemode.line())
        log.warning(safemode.line())
    else:
        try:
            aioservice.init(debug=True, log=log)
        except Exception as e:
            ok = failed("init", e, log)
    if ok and (aioservice.service("watcher") is None or safe):
        aioctl.add(healthy_after, healthy_after_s, name="safemode")
    aioservice.release()  # the manager's code loads again if it is called
    if want_prompt():
        print("mpsysd: try aioctl.status(), aioctl.top(), aioctl.log(), aioservice.status()")
        add_prompt()
    while True:  # the services and the prompt run as tasks
        await asyncio.sleep(3600)


async def settle():
    # From a task of its own: stop() spares only the task that calls it.
    aioctl.stop()
    await asyncio.sleep_ms(100)  # the tasks end: their on_stop and finally blocks run


def run(wdt, settings):
    """Run the app until Ctrl-C. wdt: the start-up watchdog main.py armed
    (None on the unix port); settings: main.py's globals (JOURNAL_BYTES,
    FILE_LOG...), read once here."""
    from journal import Journal

    journal = Journal(settings["JOURNAL_BYTES"])
    aioctl.set_log(journal)
    log = make_logger(journal, settings["FILE_LOG"], settings["FILE_LOG_BYTES"])
    if wdt is not None:
        asyncio.create_task(feed_watchdog(wdt, settings["BOOT_WDT_MS"] // 4))
    app = asyncio.create_task(main(log, settings["SAFE_MODE_AFTER"], settings["HEALTHY_AFTER"]))
    timeout = settings["SHUTDOWN_TIMEOUT"]
    try:
        asyncio.get_event_loop().run_until_complete(app)
    except KeyboardInterrupt as e:  # Ctrl-C, at the prompt or while booting
        print("\nmpsysd: Ctrl-C: stopping the services")
        aioctl.interrupted(e)  # a task it broke into ends as stopped, with its on_stop
        app.cancel()  # a boot cut short must not go on to start more services
        try:
            asyncio.run(aioservice.shutdown(timeout, log=log))
        except MemoryError:  # no heap for the orderly stop: cancel what runs, at least
            import gc

            gc.collect()
            print("mpsysd: no memory for an orderly stop; the tasks are cancelled")
            asyncio.run(settle())

