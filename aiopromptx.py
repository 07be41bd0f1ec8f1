# aiopromptx: the prompt's rare half (aioprompt keeps the part that runs per
# key, aioline what an Enter does with a line): the prompt's start,
# top-level await, showing an error, the Ctrl-C watcher, the closing words.
# aioprompt loads it for one use and drops it from sys.modules at once.
import asyncio

from micropython import const

_STOPPED = const("^C: interrupted; the prompt goes on")
_KW = const(" False None True and as assert async await break class continue def del elif"
             " else except finally for from global if import in is lambda nonlocal not or"
             " pass raise return try while with yield ")


def start(scope, help):
    """What aioprompt.prompt() starts with: (board, raw, kbd, g, w, reader):
    on a board or not; a raw terminal (line editing here) or a cooked one;
    kbd, what sets the Ctrl-C character; the statements' globals; the
    output's write; the input's reader."""
    import gc
    import os
    import sys

    import aioctl
    import aioservice
    import micropython

    getenv = getattr(os, "getenv", None)
    board = getenv is None  # a board's stdin is raw; the unix port's is when told
    raw = board or getenv("MPSYSD_PROMPT") == "raw"
    # On a board, Ctrl-C is a byte for the prompt while it reads (-1), and a
    # KeyboardInterrupt while a statement runs (3). The unix port's raw
    # terminal sends no signal at all, and -1 there would make SIGINT fatal:
    # there kbd is id(), which does nothing.
    kbd = micropython.kbd_intr if board else id
    g = scope or {"aioctl": aioctl, "aioservice": aioservice, "asyncio": asyncio, "gc": gc,
                  "help": help}
    w = getattr(sys.stdout, "buffer", sys.stdout).write
    reader = asyncio.StreamReader(getattr(sys.stdin, "buffer", sys.stdin))
    return board, raw, kbd, g, w, reader


def _names(code):
    # every identifier but keywords in code (a line's bytes with its strings
    # and comments blanked by aioline): the names an awaited statement may
    # bind, declared global so that they stay in the prompt's scope
    out, i = ["_"], 0
    for j in range(len(code) + 1):
        c = code[j:j + 1]  # b"" past the end
        if c.isalpha() or c == b"_" or (j > i and c.isdigit()):
            continue
        w = code[i:j].decode()
        if w and (" %s " % w) not in _KW and w not in out:
            out.append(w)
        i = j + 1
    return ",".join(out)


async def run(code, g, reader, ahead):
    """Run a statement that awaits (code: as aioline.enter gives it) as the
    body of a coroutine in a task that a Ctrl-C key cancels; return an
    expression's value, or that of the last of its statements
    (`x = await f(); x`) when it is an expression."""
    src, cut, code = code  # (a block's last ";" is its own: cut is -1)
    data = src.encode()
    head = "async def _prompt_():\n global %s\n " % _names(code)
    bodies = ["return (" + src + "\n)"]  # src's first line is line 3 (see enter)
    if cut > 0 and data[cut + 1:].strip():
        bodies.append(data[:cut].decode() + "\n return (" + data[cut + 1:].decode() + ")")
    bodies.append(src.replace("\n", "\n "))
    for body in bodies:
        try:
            exec(head + body, g)
            break
        except SyntaxError:
            if body is bodies[-1]:
                raise
    task = asyncio.create_task(g.pop("_prompt_")())
    one = bytearray(1)  # the watcher's key: 3 once it cancelled the task
    watch = asyncio.create_task(ctrl_c(reader, task, one, ahead))
    try:
        return await task
    except asyncio.CancelledError:
        if one[0] != 3:  # the prompt itself is stopped: so is its statement
            task.cancel()
            raise
        print(_STOPPED)
    finally:
        watch.cancel()


async def ctrl_c(reader=None, task=None, one=None, ahead=None):
    # Wait for a Ctrl-C key (not at all without a reader); then cancel task,
    # or stop the app as a Ctrl-C signal would: main.py's KeyboardInterrupt path.
    # Other keys go to ahead, for the prompt to read next (a line's worth);
    # a Ctrl-C drops them, as a terminal drops what was typed ahead of one.
    one = one or bytearray(1)
    while reader:
        if not await reader.readinto(one):  # pyright: ignore[reportAttributeAccessIssue]
            return
        if one[0] == 3:
            if ahead:
                ahead[:] = b""
            break
        if ahead is not None and len(ahead) < 255:
            ahead.extend(one)
    if task is None:
        raise KeyboardInterrupt
    task.cancel()


def bye(reader):
    # Ctrl-D, or the end of input: say so. With a reader (the unix port's raw
    # terminal), nothing else would see a Ctrl-C now: watch for one.
    print("mpsysd: prompt closed; services go on (Ctrl-C stops the app)")
    if reader:
        asyncio.create_task(ctrl_c(reader))


def show(e, src):
    """Print what a statement raised, as the REPL shows it: without the
    prompt's own frames (src: the statement, as aioline.enter gave it)."""
    if isinstance(e, KeyboardInterrupt):  # a board's Ctrl-C while it ran
        print(_STOPPED)
        return
    if isinstance(e, MemoryError):
        import gc

        gc.collect()  # what the statement allocated is garbage now
        print("MemoryError: %s (%d B free); the prompt goes on" % (e, gc.mem_free()))
        return
    import io
    import sys

    text = io.StringIO()
    sys.print_exception(e, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
    shown = text.getvalue().rstrip("\n")  # pyright: ignore[reportAttributeAccessIssue]
    at = shown.rfind(", line ")  # the innermost frame: `  File "name", line n...`
    start = shown.rfind("\n", 0, at) + 1
    inner = shown[start + 8:at - 1]  # (sliced: each short literal would be a name for good)
    if isinstance(e, (AttributeError, TypeError, ValueError)) and inner[:1].isalpha() \
            and "/" not in inner and "." not in inner:  # bad input, refused by mpsysd's
        print(shown[shown.find("\n", at) + 1:])  # own code (its modules name themselves
        return  # bare): its line says it
    for line in shown.split("\n"):
        if not line or 'File "aioprompt' in line or 'File "aioline"' in line \
                or 'File "asyncio/' in line:
            continue
        if type(src) is tuple and 'File "<string>", line ' in line:
            # an awaited statement (aioline's tuple), which run() compiled as
            # "<string>", two lines down: its own lines, as typed
            line = line.replace("<string>", "<stdin>", 1)  # (names the board has)
            at = line.find(", line ") + 7
            end = (line + ",").find(",", at)
            n = max(1, int(line[at:end]) - 2) if "\n" in src[0] else 1
            line = line[:at] + str(n) + line[end:]
        print(line)


def _nested(aw=None, *args):
    # asyncio.run(), loop.run_until_complete() or run_forever() typed at the
    # prompt would run a second loop inside the app's and leave the prompt
    # deaf when it returns: refused, as CPython refuses it inside a running
    # loop. What it was given never runs: a coroutine is closed, a task
    # (asyncio.run() makes one first) cancelled.
    for end in ("close", "cancel"):
        if hasattr(aw, end):
            getattr(aw, end)()
    raise RuntimeError("asyncio.run() cannot be called while the app runs (nor the loop's "
                       "run_until_complete() or run_forever()): await the coroutine instead, "
                       "e.g. `await main()`")
