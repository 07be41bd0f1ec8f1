# main.py: the mpsysd app. Boots the core services in dependency order,
# starts the runtime and schedule services, offers a prompt beside them,
# and runs forever.
import asyncio

import aioctl
import aioservice


def make_logger():
    try:
        import logging  # micropython-lib's, when installed
    except ImportError:
        import aiolog as logging
    return logging.getLogger("mpsysd")


async def main():
    log = make_logger()
    await aioservice.boot(debug=True, log=log)
    aioservice.init(debug=True, log=log)
    import aioprompt

    aioctl.add(aioprompt.prompt, name="prompt")
    while True:  # the services and the prompt run as tasks
        await asyncio.sleep(3600)


asyncio.run(main())
