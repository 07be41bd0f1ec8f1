# main.py: the mpsysd app. Logs go to a RAM journal (aioctl.log(),
# aioctl.follow()); core services boot in dependency order; runtime and
# schedule services start; a prompt runs beside them; forever.
import asyncio

import aioctl
import aioservice

JOURNAL_BYTES = 4096  # the RAM journal: the newest log lines that fit
FILE_LOG = None  # e.g. ("mpsysd.log", 16384): a capped log file that survives a reset


def make_logger(journal):
    try:
        import logging  # micropython-lib's, when installed
    except ImportError:
        import aiolog as logging
    stream = journal
    if FILE_LOG:
        from filelog import FileLog, Tee

        stream = Tee(journal, FileLog(*FILE_LOG))
    log = logging.getLogger("mpsysd")
    if hasattr(log, "stream"):  # aiolog
        log.stream = stream
    else:  # micropython-lib logging
        log.addHandler(logging.StreamHandler(stream))
    log.setLevel(logging.DEBUG)  # each service's logger applies its own level
    return log


def want_prompt():
    # The host launcher says when there is no terminal; a board always has one.
    import os

    return getattr(os, "getenv", lambda name: None)("MPSYSD_PROMPT") != "off"


def add_prompt():
    try:
        import aiorepl  # micropython-lib's, when installed
    except ImportError:
        import aioprompt

        return aioctl.add(aioprompt.prompt, name="prompt")
    return aioctl.add(aiorepl.task, name="prompt")


async def main():
    from journal import Journal

    journal = Journal(JOURNAL_BYTES)
    aioctl.set_log(journal)
    log = make_logger(journal)
    aioctl.add(aioctl.loop_lag, name="loop.lag")
    await aioservice.boot(debug=True, log=log)
    aioservice.init(debug=True, log=log)
    aioservice.release()  # the manager's code loads again if it is called
    if want_prompt():
        print("mpsysd: try aioctl.status(), aioctl.top(), aioctl.log(), aioservice.status()")
        add_prompt()
    while True:  # the services and the prompt run as tasks
        await asyncio.sleep(3600)


asyncio.run(main())
