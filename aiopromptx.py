# aiopromptx: the prompt's rare half (aioprompt keeps the part that runs per
# key): top-level await, the Ctrl-C watcher, the closing words. aioprompt
# loads it for one use and drops it from sys.modules at once.
import asyncio

STOPPED = "^C: interrupted; the prompt goes on"
_KW = (" False None True and as assert async await break class continue def del elif else"
       " except finally for from global if import in is lambda nonlocal not or pass raise"
       " return try while with yield ")


def _names(src):
    # every identifier in src but keywords: the names an awaited statement
    # may bind, declared global so that they stay in the prompt's scope
    out = ["_"]
    i = 0
    for j in range(len(src) + 1):
        c = src[j] if j < len(src) else " "
        if c.isalpha() or c == "_" or (j > i and c.isdigit()):
            continue
        w = src[i:j]
        if w and (" %s " % w) not in _KW and w not in out:
            out.append(w)
        i = j + 1
    return ",".join(out)


async def run(src, g, reader):
    """Run src, which awaits, as the body of a coroutine in a task that a
    Ctrl-C key cancels; return an expression's value."""
    head = "async def _prompt_():\n global %s\n " % _names(src)
    try:
        exec(head + "return (\n" + src + "\n)", g)
    except SyntaxError:
        exec(head + src.replace("\n", "\n "), g)
    task = asyncio.create_task(g.pop("_prompt_")())
    one = bytearray(1)  # the watcher's key: 3 once it cancelled the task
    watch = asyncio.create_task(ctrl_c(reader, task, one))
    try:
        return await task
    except asyncio.CancelledError:
        if one[0] != 3:  # the prompt itself is stopped: so is its statement
            task.cancel()
            raise
        print(STOPPED)
    finally:
        watch.cancel()


async def ctrl_c(reader=None, task=None, one=None):
    # Wait for a Ctrl-C key (not at all without a reader); then cancel task,
    # or stop the app as a Ctrl-C signal would: main.py's KeyboardInterrupt path.
    one = one or bytearray(1)
    while reader:
        if not await reader.readinto(one):  # pyright: ignore[reportAttributeAccessIssue]
            return
        if one[0] == 3:
            break
    if task is None:
        raise KeyboardInterrupt
    task.cancel()


def bye(reader):
    # Ctrl-D, or the end of input: say so. With a reader (the unix port's raw
    # terminal), nothing else would see a Ctrl-C now: watch for one.
    print("mpsysd: prompt closed; services go on (Ctrl-C stops the app)")
    if reader:
        asyncio.create_task(ctrl_c(reader))
