# aioprompt: a compact prompt that runs as an asyncio task beside the
# services: type `aioctl.status()` while everything keeps running. It reads
# whole lines from stdin without blocking the loop, evaluates expressions
# (printing their value) and executes statements. With no input left
# (stdin closed, Ctrl-D) it steps aside quietly and the services run on.
import asyncio
import sys

PROMPT = "mpsysd> "


def _run(line, scope):
    try:
        try:
            value = eval(line, scope)
        except SyntaxError:  # a statement, not an expression
            exec(line, scope)
        else:
            if value is not None:
                print(repr(value))
    except Exception as e:  # the prompt outlives the user's mistakes
        sys.print_exception(e)


async def prompt(scope=None):
    """Read, evaluate, print: until stdin ends. scope: the names to offer."""
    if scope is None:
        import aioctl
        import aioservice

        scope = {"aioctl": aioctl, "aioservice": aioservice, "asyncio": asyncio}
    reader = asyncio.StreamReader(sys.stdin)
    while True:
        sys.stdout.write(PROMPT)
        line = await reader.readline()
        if not line:
            return "stdin closed"
        line = line.decode().strip()
        if line:
            _run(line, scope)
