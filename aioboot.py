# aioboot: the start of the mpsysd app (aiomain): the journal and the
# logger, core services in dependency order, then runtime and schedule
# services and the prompt. After SAFE_MODE_AFTER boots in a row that never
# ran healthy, only core services and the prompt run. A boot() or init()
# that raises (a MemoryError) is one [ ERROR ] line; the app goes on with
# what started. Used once: aiomain lets go of it when the start is over.
import aioctl
import aioservice
import safemode


def logger(settings):
    """The app's logger, writing to a new RAM journal (aioctl.log() reads it)."""
    from journal import Journal

    journal = Journal(settings["JOURNAL_BYTES"])
    aioctl.set_log(journal)
    stream = journal
    if settings["FILE_LOG"]:
        from filelog import FileLog, Tee

        stream = Tee(journal, FileLog(settings["FILE_LOG"], settings["FILE_LOG_BYTES"]))
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
    import gc

    gc.collect()
    import aioprompt

    return aioctl.add(aioprompt.prompt, name="prompt")


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


def start(log, settings, running):
    """Start the app as a task; running holds the task until it is over.
    (Made here, not in aiomain.run(), whose frame lives as long as the app:
    a copy of the task left in it would keep this module's code.)"""
    import asyncio

    running.append(asyncio.create_task(start_up(log, settings, running)))


async def start_up(log, settings, running):
    """Boot, start the services, then the prompt; returns once they run."""
    # What stays as long as the app comes first, low in the heap. Loaded
    # later, among the manager's passing work, it would cut the heap the
    # manager leaves into small pieces (first fit, and nothing moves).
    import aioclass  # noqa: F401  (every service's base class)
    import aioclock  # the loop lag monitor's clocks (the watcher's and schedules' too)
    import aiojob  # noqa: F401  (the @aiotask decorator, which services hold)
    import aioservices.services  # noqa: F401  (the services' package)
    from asyncio import Event, gather  # noqa: F401  (asyncio's lazy parts the boot uses)

    if want_prompt():  # its one big function (1.4 KB) wants a whole block
        try:
            import aioprompt  # noqa: F401
        except MemoryError:  # tried again, and said, when the prompt starts
            pass

    aioctl.add(aioclock.loop_lag, name="loop.lag")
    safe = safemode.begin(settings["SAFE_MODE_AFTER"])
    ok = True  # a start that failed does not count as a healthy boot
    try:
        aioservice.settings = aioservice.read_config()  # before the manager's code loads
        await aioservice.boot(debug=True, log=log)
    except Exception as e:
        ok = failed("boot", e, log)
    if safe:
        print(safemode.line())
        log.warning(safemode.line())
    else:
        try:
            # aiomanager's own: aioservice.init would hold aiolazy (1 KB) while
            # the services start, to let go of the manager after; release() does
            __import__("aiomanager").init(debug=True, log=log)
        except Exception as e:
            ok = failed("init", e, log)
    if ok and (aioservice.service("watcher") is None or safe):
        aioctl.add(safemode.healthy_after, settings["HEALTHY_AFTER"], name="safemode")
    aioservice.release()  # the manager's code loads again if it is called
    if want_prompt():
        try:
            add_prompt()
            print("mpsysd: try aioctl.status(), aioctl.top(), aioctl.log(), aioservice.status()")
        except Exception as e:  # no heap for it, most likely: said in one line
            failed("prompt", e, log)
    running.clear()


