# aiopromptx: the prompt's rare half (aioprompt keeps the part that runs per
# key): what an Enter does (is the statement whole? compile it), top-level
# await, showing an error, the Ctrl-C watcher, the closing words. aioprompt
# loads it for one use and drops it from sys.modules at once.
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
    # and comments blanked by _scan): the names an awaited statement may
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


async def run(src, g, reader, ahead, block):
    """Run src, which awaits, as the body of a coroutine in a task that a
    Ctrl-C key cancels; return an expression's value, or that of the last
    of its statements (`x = await f(); x`) when it is an expression."""
    data = src.encode()
    _, cut, _, code = _scan(data)
    if block or "\n" in src:  # a block's last ";" is its own
        cut = -1
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


_BLOCK = const(" if for while def class with try async ")  # words that open a block


def _scan(data):
    # Reads data, a line's bytes (as ints: each character of a str would be
    # interned). Returns (brackets left open, where the last ";" outside
    # brackets is: -1 if none, a triple-quoted string left open, the code:
    # data with its strings and comments blanked). A backslash in a string
    # escapes what follows it.
    code = bytearray(data)
    depth, cut, i, q = 0, -1, 0, b""  # q: what ends the string or comment being read
    while i < len(data):
        ch, start, inside = data[i], i, q
        if q:
            if ch == 92 and q != b"\n":  # a backslash in a string
                i += 1
            elif data.startswith(q, i) or (ch == 10 and len(q) == 1):  # its end (a
                i += len(q) - 1  # line's end also ends a comment or a one-line string)
                q = b""
        elif ch == 35:  # "#"
            q = b"\n"
        elif ch == 39 or ch == 34:  # a quote, or three
            q = data[i:i + 3]
            if q not in (b'"""', b"'''"):
                q = data[i:i + 1]
            i += len(q) - 1
        elif ch in b"([{":
            depth += 1
        elif ch in b")]}":
            depth -= 1
        elif ch == 59 and not depth:  # ";"
            cut = i
        if inside or q:  # a string's or a comment's bytes, their ends included
            for k in range(start, i + 1):
                code[k] = 32
        i += 1
    return depth, cut, len(q) == 3, code


def enter(src, block, line, ctrl_c):
    """An Enter (or a Ctrl-C key) at the prompt: add line to the statement
    so far (src, None at its start; block: it opened a block); line None:
    it was too long, and the statement is dropped. Returns (src, block,
    code): code is the whole statement, compiled, or as a str when it
    awaits (run() runs it); None while more lines are wanted. aioprompt
    runs it once this module is garbage (see aioprompt._run)."""
    try:
        return _enter(src, block, line, ctrl_c)
    finally:
        # Used once: aioprompt imports this module afresh for each use. The
        # statement runs next, and MicroPython's collector takes any stale
        # word on the C stack for a pointer: one left by this call would keep
        # every function here alive while it runs. Emptied, they go anyway.
        globals().clear()


def _enter(src, block, line, ctrl_c):
    if ctrl_c:  # Ctrl-C drops what was typed
        return None, block, None
    if line is None:  # longer than the prompt takes: what it kept is not what was meant
        print("that line is over 255 bytes: not run (type a long value over several lines)")
        return None, block, None
    if src is None:
        if not line.strip():
            return None, block, None
        src = line
        s = line.strip()
        word = s.encode()  # its first word (from bytes: see _scan)
        i = 0
        while word[i:i + 1].isalpha():
            i += 1
        block = s[-1:] == ":" or s[:1] == "@" or (" %s " % word[:i].decode()) in _BLOCK
    else:
        src += "\n" + line
    # a bracket or a triple-quoted string left open, or a backslash at the end,
    # asks for more lines
    depth, _, string, _ = _scan(src.encode())
    if (block and line.strip()) or depth > 0 or string or src.endswith("\\"):
        return src, block, None
    # an expression (its value is shown); a statement ("single": each
    # expression's value is printed, as the REPL does); several (none shown)
    for mode in ("eval", "single", "exec"):
        try:
            return None, block, compile(src, "<stdin>", mode)
        except SyntaxError as e:
            error = e
    if "await" in src or "async" in src:
        return None, block, src
    show(error, src)
    return None, block, None


def show(e, src):
    """Print what a statement raised, as the REPL shows it: without the
    prompt's own frames (src: the statement, its lines counted in run())."""
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
    shown = text.getvalue()  # pyright: ignore[reportAttributeAccessIssue]
    for line in shown.split("\n"):
        if not line or 'File "aioprompt' in line or 'File "asyncio/' in line:
            continue
        if line.endswith(", in _prompt_"):  # an awaited statement, which run()
            at = line.find(", line ") + 7  # compiled two lines down: its own lines
            end = line.find(",", at)
            n = max(1, int(line[at:end]) - 2) if "\n" in str(src) else 1
            line = line[:at] + str(n) + line[end:]
        print(line)


def _nested(coro, *args):
    # asyncio.run() typed at the prompt would run a second loop inside the
    # app's and leave the prompt deaf when it returns: refused, as CPython
    # refuses it inside a running loop
    if hasattr(coro, "close"):
        coro.close()
    raise RuntimeError("asyncio.run() cannot be called while the app runs: await the "
                       "coroutine instead, e.g. `await main()`")
