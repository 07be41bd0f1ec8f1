# aioprompt: the prompt that runs as an asyncio task beside the services:
# type `aioctl.status()` or `await aioctl.follow("ERROR")` while everything
# keeps running. A raw terminal (a board, or `make run`, which sets
# MPSYSD_PROMPT=raw) gets line editing, a bounded history, `...` blocks and
# Ctrl-C/Ctrl-D handled here; a cooked one gets whole lines and the signals
# as before. With no input left (stdin closed) it steps aside quietly.
# RAM: this module stays imported as long as the app runs, so it is one
# coroutine whose state is its locals. What an Enter does with a line (is
# the statement whole?) is aioline's; the rare parts (the start, top-level
# await, showing an error, the Ctrl-C watcher, the closing words) are in
# aiopromptx; each loads when needed. A statement is compiled and runs
# here, once aioline has let go: a line has the heap an idle prompt has.
import asyncio
import sys

from micropython import const

_LINE = const(255)  # bytes in a line; more are refused
_HIST = const(16)  # lines kept for Up/Down


def _x(name, module="aiopromptx"):
    # A part needed now and then (aiopromptx; aioline for each line): loaded
    # for one use and dropped from sys.modules at once; what it hands out
    # keeps it alive while needed, then it is garbage.
    try:
        part = __import__(module)
    finally:  # also after a failed import, which leaves it in sys.modules' table
        __import__("aioctl").unimport((module,))
    return getattr(part, name)


async def _run(code, g, reader, ahead, board, kbd):
    # A whole statement is compiled and runs here, not in aioline, which is
    # garbage by now: the statement has its room. One that awaits runs as a
    # task (aiopromptx.run).
    # While it runs, a second loop inside the app's is refused: asyncio.run()
    # (before it makes a task of what it is given), run_until_complete() and
    # run_forever() all start one with core's run_until_complete.
    # (MicroPython's asyncio: the stubs know neither name.)
    core = asyncio.core  # pyright: ignore[reportAttributeAccessIssue]
    real = core.run_until_complete, asyncio.run
    core.run_until_complete = asyncio.run_until_complete = asyncio.run = _nested  # pyright: ignore
    try:
        # compiled here, after a collection: the parse wants a block of 512 B,
        # and in a full heap aioline's code had split the largest. An
        # expression (its value is shown); a statement ("single": each
        # expression's value is printed, as the REPL does); several (none shown)
        src = code[0]
        __import__("gc").collect()
        for mode in ("eval", "single", "exec"):
            try:
                code = compile(src, "<stdin>", mode)
                break
            except SyntaxError as e:
                value = e
        else:  # none compiles: it awaits, or it is the line's SyntaxError
            if "await" not in src and "async" not in src:
                raise value  # pyright: ignore  (bound: each mode failed)
        if type(code) is tuple:
            value = await _x("run")(code, g, reader, ahead)
        else:
            kbd(3)
            try:
                value = eval(code, g)
            finally:
                kbd(-1)
        if value is not None:
            g["_"] = value
            print(repr(value))
    except Exception as e:  # the prompt outlives the user's mistakes (a MemoryError
        _x("show")(e, code)  # too: what the statement allocated is garbage by then)
    except KeyboardInterrupt as e:  # a board's Ctrl-C while it ran
        if not board:
            raise
        _x("show")(e, code)
    finally:
        core.run_until_complete = asyncio.run_until_complete = real[0]  # pyright: ignore
        asyncio.run = real[1]


def _nested(*args):
    _x("_nested")(*args)  # a loop started at the prompt: refused, saying why


def _help(obj=None):
    import aiohelp  # mpsysd's help for the prompt, aioctl and aioservice

    aiohelp.show(obj)
    sys.modules.pop("aiohelp", None)


async def prompt(scope=None):
    """Read, evaluate, print, beside the services. scope: the globals to use
    (by default aioctl, aioservice, asyncio, gc and mpsysd's help())."""
    import gc
    from time import ticks_diff, ticks_ms

    board, raw, kbd, g, w, reader = _x("start")(scope, _help)  # the terminal, the scope
    buf = bytearray(_LINE)  # the line being typed: editing allocates nothing
    mv = memoryview(buf)
    one = bytearray(1)  # a key, as read and as echoed
    ahead = bytearray()  # keys typed while an awaited statement ran, to read first
    hist = []  # the last _HIST lines entered, newest last
    n = p = back = esc = last = 0  # length, cursor, how far Up went, escape state, last key
    over = 0  # keys refused since the line began: it was longer than _LINE
    src = None  # the lines of a block so far
    block = seen = False
    ran = 0  # ticks_ms when the last statement ended
    text = "mpsysd> "
    kbd(-1)
    try:
        w(text)
        while True:
            try:  # a full heap costs the line being typed, never the prompt
                if ahead:  # a key typed while an awaited statement ran (aiopromptx.run)
                    one[0] = ahead[0]
                    ahead[:1] = b""
                # end of input? (readinto: in MicroPython's asyncio, not in the stubs)
                elif not await reader.readinto(one):  # pyright: ignore[reportAttributeAccessIssue]
                    if seen:
                        _x("bye")(None)
                    return "stdin closed"
                seen = True
                c = one[0]
                if c == 4 and not n and src is not None:  # Ctrl-D on an empty "...":
                    c = 13  # the block ends, as MicroPython's REPL ends it
                prev, last = last, c
                k = 0  # an editing key: A B Up Down, C D Right Left, H F Home End, P Delete
                if esc:  # ESC [ or O, then A B C D H F; or ESC [ 1..8 ~; digits and ; between
                    if esc == 1:
                        esc = 2 if c == 91 or c == 79 else 0
                    elif 48 <= c <= 59:
                        if esc == 2:
                            esc = c
                    else:
                        k = b"H?PF??HF"[esc - 49] if c == 126 and 49 <= esc <= 56 else c
                        esc = 0
                elif c == 13 or c == 10 or (c == 3 and raw):  # Enter, or Ctrl-C as a key
                    if c == 10 and prev == 13:  # CR LF is one Enter
                        continue
                    if c == 3 and not n and src is None:  # at an empty prompt: stop the app,
                        if prev == 13 and ticks_diff(ticks_ms(), ran) < 50:  # unless typed
                            w("^C\n" + text)  # while a statement blocked (the unix port's
                            continue  # raw terminal cannot break one): it meant that one
                        asyncio.create_task(_x("ctrl_c")())
                        return "Ctrl-C: stopping the app"
                    line = bytes(mv[:n])
                    if raw and line and line not in hist[-1:]:  # a repeat is kept once
                        hist.append(line)
                        if len(hist) > _HIST:
                            hist.pop(0)
                    n = p = back = 0
                    if raw:
                        w("^C\n" if c == 3 else "\n")
                    # keys refused (over): the line is not what was typed; it does not run
                    line, over = None if over else line, 0  # (aioline decodes it)
                    # the rest of an Enter (a block? a whole statement?) is
                    # aioline's, loaded for the line and let go of
                    src, block, code = _x("enter", "aioline")(src, block, line, c == 3)
                    if code is not None:
                        await _run(code, g, reader, ahead, board, kbd)
                    if c != 3:
                        ran = ticks_ms()
                    # "... " has no indent of its own: what is typed is what runs
                    text = "mpsysd> " if src is None else "... "
                    w(text)
                elif c > 31 and c != 127 or c == 9 or not raw:  # (UTF-8's bytes too; a cooked
                    # terminal edited the line)
                    t = 1
                    if c == 9 and raw:  # Tab: spaces up to the next stop
                        one[0] = c = 32
                        t = 4 - p % 4
                    for _ in range(t):
                        over |= n == _LINE
                        if n < _LINE:
                            for i in range(n, p, -1):
                                buf[i] = buf[i - 1]
                            buf[p] = c
                            n += 1
                            p += 1
                            if p < n:
                                k = 1  # typed inside the line: redraw it below
                            elif raw:
                                w(one)  # typed at its end: echo the key  # pyright: ignore
                elif c == 27:
                    esc = 1
                elif c == 4 and not n:
                    w("\n")
                    _x("bye")(reader if not board else None)
                    return "closed by Ctrl-D"
                elif c == 8 or c == 127:  # Backspace: Delete, one byte to the left (of a
                    # character of several bytes, one: aioline refuses the line the rest makes)
                    if p:
                        p -= 1
                        k = 80
                elif c < 6:  # Ctrl-A Home, Ctrl-D Delete, Ctrl-E End
                    k = b"?H??PF"[c]
                if k:  # an editing key (raw terminals only): act, then redraw the line
                    if k == 65 or k == 66:  # Up, Down: the history
                        i = back + (1 if k == 65 else -1)
                        if 0 <= i <= len(hist):
                            back = i
                            line = hist[-i] if i else b""
                            n = p = len(line)
                            buf[:n] = line
                    elif k == 80:  # Delete the byte under the cursor
                        if p < n:
                            n -= 1
                            for i in range(p, n):
                                buf[i] = buf[i + 1]
                    elif k == 67:
                        p += 1
                    elif k == 68:
                        p -= 1
                    elif k == 72:
                        p = 0
                    elif k == 70:
                        p = n
                    elif k != 1:  # a key with no use here (1: typed inside the line)
                        continue
                    p = max(0, min(p, n))
                    w("\r")
                    w(text)
                    w(mv[:n])  # pyright: ignore  (the stubs' write takes bytes only)
                    w("\x1b[K")
                    if n > p:
                        w("\x1b[%dD" % (n - p))
            except MemoryError:
                gc.collect()
                n = p = over = 0
                src = None
                w("\r\nMemoryError: no heap for that line; the prompt goes on\r\n")
                w("mpsysd> ")
                await asyncio.sleep_ms(100)  # never a busy loop: the rest runs, and frees
    finally:
        kbd(3)
