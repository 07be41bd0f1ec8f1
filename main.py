# main.py: the mpsysd app. Logs go to a RAM journal (aioctl.log(),
# aioctl.follow()); core services boot in dependency order; runtime and
# schedule services start; a prompt runs beside them. After SAFE_MODE_AFTER
# boots in a row that never ran healthy, only core services and the prompt
# run. Ctrl-C stops everything in order.
import asyncio

import aioctl
import aioservice
import safemode

JOURNAL_BYTES = 4096  # the RAM journal: the newest log lines that fit
FILE_LOG = ""  # e.g. "mpsysd.log": a capped log file that survives a reset
FILE_LOG_BYTES = 16384
SAFE_MODE_AFTER = 3  # boots in a row that never ran healthy, before safe mode
HEALTHY_AFTER = 60  # seconds of health that make a boot good (the watcher judges)
SHUTDOWN_TIMEOUT = 5  # seconds for an orderly stop on Ctrl-C


def make_logger(journal):
    stream = journal
    if FILE_LOG:
        from filelog import FileLog, Tee

        stream = Tee(journal, FileLog(FILE_LOG, FILE_LOG_BYTES))
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


async def main(log):
    aioctl.add(aioctl.loop_lag, name="loop.lag")
    safe = safemode.begin(SAFE_MODE_AFTER)
    await aioservice.boot(debug=True, log=log)
    if safe:
        print(safemode.line())
        log.warning(safemode.line())
    else:
        aioservice.init(debug=True, log=log)
    if aioservice.service("watcher") is None or safe:
        aioctl.add(healthy_after, HEALTHY_AFTER, name="safemode")
    aioservice.release()  # the manager's code loads again if it is called
    if want_prompt():
        print("mpsysd: try aioctl.status(), aioctl.top(), aioctl.log(), aioservice.status()")
        add_prompt()
    while True:  # the services and the prompt run as tasks
        await asyncio.sleep(3600)


def run():
    from journal import Journal

    journal = Journal(JOURNAL_BYTES)
    aioctl.set_log(journal)
    log = make_logger(journal)
    app = asyncio.create_task(main(log))
    try:
        asyncio.get_event_loop().run_until_complete(app)
    except KeyboardInterrupt:  # Ctrl-C, at the prompt or while booting
        print("\nmpsysd: Ctrl-C: stopping the services")
        app.cancel()  # a boot cut short must not go on to start more services
        asyncio.run(aioservice.shutdown(SHUTDOWN_TIMEOUT, log=log))


run()
