# aioprompt: the prompt that runs as an asyncio task beside the services:
# type `aioctl.status()` or `await aioctl.follow("ERROR")` while everything
# keeps running. A raw terminal (a board, or `make run`, which sets
# MPSYSD_PROMPT=raw) gets line editing, a bounded history, `...` blocks and
# Ctrl-C/Ctrl-D handled here; a cooked one gets whole lines and the signals
# as before. With no input left (stdin closed) it steps aside quietly.
import asyncio
import sys

import micropython
from micropython import const

PROMPT = "mpsysd> "
MORE = "...     "
_LINE = const(255)  # bytes in a line; more are refused
_HIST = const(16)  # lines kept for Up/Down; the ring never grows
_ENTER = const(1)  # what a key asks of the prompt
_INTR = const(2)
_EOF = const(3)
_CLOSED = "mpsysd: prompt closed; services go on (Ctrl-C stops the app)"
_STOPPED = "^C: interrupted; the prompt goes on"
_BLOCK = ("if", "for", "while", "def", "class", "with", "try", "async")
_KW = ("False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
       "continue", "def", "del", "elif", "else", "except", "finally", "for", "from",
       "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass",
       "raise", "return", "try", "while", "with", "yield")
_HELP = """mpsysd prompt: Python beside the running services; `await` works here.
 aioctl.status(), aioctl.status("hello.service", debug=True), aioctl.top()
 aioctl.stop("name"), .start(), .restart(), .result(), .traceback() (* wildcards)
 aioctl.log("grep"): the RAM journal; await aioctl.follow("ERROR"): new lines
 aioservice.status(), .load("name"), .unload(), .enable(), .disable(), .config()
Keys: Left/Right, Home/End, Up/Down (history); a block goes on to an empty line.
Ctrl-C stops what runs; at an empty prompt it stops the app in order.
Ctrl-D at an empty prompt closes the prompt; the services go on.
help(obj) is the builtin help."""


def _help(obj=None):
    if obj is None:
        print(_HELP)
    else:
        help(obj)


def _kbd(board, char):
    # On a board, Ctrl-C is a byte for the prompt while it reads (-1), and a
    # KeyboardInterrupt while a statement runs (3). The unix port's raw
    # terminal sends no signal at all, and -1 there would make SIGINT fatal.
    if board:
        micropython.kbd_intr(char)


class _Editor:
    """One line being typed: a preallocated buffer, the cursor, the history."""

    def __init__(self, raw, write):
        self.raw = raw
        self.w = write
        self.buf = bytearray(_LINE)
        self.mv = memoryview(self.buf)
        self.one = bytearray(1)  # a key, as read and as echoed
        self.n = self.p = 0  # length, cursor
        self.hist = [None] * _HIST
        self.hi = self.hn = self.hb = 0  # next slot, entries, how far back Up went
        self.esc = 0  # 0, 1 after ESC, 2 after ESC [, or the last digit of ESC [ 3 ~
        self.last = 0  # the previous key: CR LF is one Enter
        self.text = PROMPT
        self.intr = False  # Ctrl-C cancelled the running statement

    def key(self, c):
        """Take one key; return _ENTER, _INTR, _EOF or None."""
        last, self.last = self.last, c
        if self.esc:
            return self._esc(c)
        if c == 13 or c == 10:
            return None if c == 10 and last == 13 else _ENTER
        if not self.raw:  # a cooked terminal has edited the line already
            self.insert(c)
        elif 32 <= c < 127:
            self.insert(c)
        elif c == 8 or c == 127:
            if self.p:
                self.w("\b")
                self.p -= 1
                self.delete()
        elif c == 27:
            self.esc = 1
        elif c == 3:
            return _INTR
        elif c == 4:
            if not self.n:
                return _EOF
            self.delete()
        elif c == 1:  # Ctrl-A, Ctrl-E: Home, End
            self.move(0)
        elif c == 5:
            self.move(self.n)
        elif c == 9:
            for _ in range(4 - self.p % 4):
                self.insert(32)
        return None

    def _esc(self, c):
        # ESC [ A..D, H, F; ESC O H, F; ESC [ 1 ~ .. 8 ~; modifiers as in 1;5C
        if self.esc == 1:
            self.esc = 2 if c == 91 or c == 79 else 0
            return None
        if 48 <= c <= 59:
            if self.esc == 2:
                self.esc = c
            return None
        d, self.esc = self.esc, 0
        if c == 65 or c == 66:  # Up, Down
            self.recall(1 if c == 65 else -1)
        elif c == 67:
            self.move(self.p + 1)
        elif c == 68:
            self.move(self.p - 1)
        elif c == 72 or (c == 126 and (d == 49 or d == 55)):
            self.move(0)
        elif c == 70 or (c == 126 and (d == 52 or d == 56)):
            self.move(self.n)
        elif c == 126 and d == 51:  # Delete
            self.delete()
        return None

    def insert(self, c):
        n, p, b = self.n, self.p, self.buf
        if n >= _LINE:
            return
        while n > p:
            b[n] = b[n - 1]
            n -= 1
        b[p] = c
        self.n += 1
        self.p += 1
        if self.raw:
            if self.p == self.n:
                self.one[0] = c
                self.w(self.one)
            else:
                self.tail(p)

    def delete(self):
        # remove the byte under the cursor; the screen cursor is at p
        p, b = self.p, self.buf
        if p >= self.n:
            return
        self.n -= 1
        while p < self.n:
            b[p] = b[p + 1]
            p += 1
        self.tail(self.p)

    def tail(self, at):
        # rewrite the line from column at (where the screen cursor is) to its
        # end, then bring the cursor back to p
        self.w(self.mv[at:self.n])
        self.w("\x1b[K")
        if self.n > self.p:
            self.w("\x1b[%dD" % (self.n - self.p))

    def move(self, to):
        to = max(0, min(to, self.n))
        if to < self.p:
            self.w("\x1b[%dD" % (self.p - to))
        elif to > self.p:
            self.w(self.mv[self.p:to])
        self.p = to

    def recall(self, step):
        hb = self.hb + step
        if 0 <= hb <= self.hn:
            self.hb = hb
            line = self.hist[(self.hi - hb) % _HIST] if hb else b""
            self.n = self.p = len(line)
            self.buf[:self.n] = line
            self.w("\r")
            self.w(self.text)
            self.tail(0)

    def take(self):
        """The line as text; it goes into the history, and the buffer empties."""
        line = bytes(self.mv[:self.n])
        h = self.hist
        if self.raw and line and h[(self.hi - 1) % _HIST] != line:
            h[self.hi] = line
            self.hi = (self.hi + 1) % _HIST
            self.hn = min(self.hn + 1, _HIST)
        self.n = self.p = self.hb = 0
        return line.decode()

    async def watch(self, task, reader):
        # While a statement runs: Ctrl-C cancels it.
        while await reader.readinto(self.one):
            if self.one[0] == 3:
                self.intr = True
                task.cancel()
                return


def _opens_block(line):
    s = line.lstrip()
    if s[:1] == "@" or line.rstrip()[-1:] == ":":
        return True
    i = 0
    while i < len(s) and s[i].isalpha():
        i += 1
    return s[:i] in _BLOCK


def _unclosed(src):
    # brackets left open, a triple-quoted string or a backslash at the end
    depth, q, i, n = 0, None, 0, len(src)
    while i < n:
        c = src[i]
        if q:
            if c == "\\":
                i += 1
            elif c == "\n" and len(q) == 1:
                q = None
            elif src.startswith(q, i):
                i += len(q) - 1
                q = None
        elif c == "#":
            i = src.find("\n", i)
            if i < 0:
                break
        elif c == "'" or c == '"':
            q = src[i:i + 3] if src[i:i + 3] in ('"""', "'''") else c
            i += len(q) - 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        i += 1
    return depth > 0 or (q is not None and len(q) == 3) or src.endswith("\\")


def _names(src):
    # every identifier in src but keywords: the names an awaited statement
    # may bind, declared global so that they stay in the prompt's scope
    out = ["_"]
    i, n = 0, len(src)
    while i < n:
        j = i
        while j < n and (src[j].isalpha() or src[j].isdigit() or src[j] == "_"):
            j += 1
        if j > i:
            w = src[i:j]
            if not w[0].isdigit() and w not in _KW and w not in out:
                out.append(w)
            i = j
        else:
            i += 1
    return ",".join(out)


async def _await(src, g, ed, reader):
    # Top-level await: src becomes the body of a coroutine run as a task,
    # which Ctrl-C cancels; its value is returned when src is an expression.
    head = "async def _prompt_():\n global %s\n " % _names(src)
    try:
        exec(head + "return (\n" + src + "\n)", g)
    except SyntaxError:
        exec(head + src.replace("\n", "\n "), g)
    task = asyncio.create_task(g.pop("_prompt_")())
    ed.intr = False
    watch = asyncio.create_task(ed.watch(task, reader))
    try:
        return await task
    except asyncio.CancelledError:
        if not ed.intr:  # the prompt itself is stopped: so is its statement
            task.cancel()
            raise
        print(_STOPPED)
    finally:
        watch.cancel()


async def _run(src, g, ed, reader, board):
    try:
        try:
            _kbd(board, 3)
            try:
                value = eval(src, g)
            except SyntaxError:  # a statement, or an await
                value = exec(src, g)
            finally:
                _kbd(board, -1)
        except SyntaxError:
            if "await" not in src and "async" not in src:
                raise
            value = await _await(src, g, ed, reader)
        if value is not None:
            g["_"] = value
            print(repr(value))
    except MemoryError:
        import gc

        gc.collect()
        print("MemoryError: heap exhausted (%d B free); the prompt goes on" % gc.mem_free())
    except KeyboardInterrupt:  # only a board's Ctrl-C raises it here
        if not board:
            raise
        print(_STOPPED)
    except Exception as e:  # the prompt outlives the user's mistakes
        sys.print_exception(e)


async def _ctrl_c(reader=None, key=None):
    # Stop the app as a Ctrl-C signal would: main.py's KeyboardInterrupt path.
    # With a reader, first wait for the Ctrl-C byte (the prompt is closed).
    while reader is not None:
        if not await reader.readinto(key):
            return
        if key[0] == 3:
            break
    raise KeyboardInterrupt


def _scope():
    import gc

    import aioctl
    import aioservice

    return {"aioctl": aioctl, "aioservice": aioservice, "asyncio": asyncio, "gc": gc,
            "help": _help}


async def prompt(scope=None):
    """Read, evaluate, print, beside the services. scope: the globals to use
    (by default aioctl, aioservice, asyncio, gc and mpsysd's help())."""
    import os

    getenv = getattr(os, "getenv", None)
    board = getenv is None  # a board's stdin is raw; the unix port's is when told
    raw = board or getenv("MPSYSD_PROMPT") == "raw"
    g = _scope() if scope is None else scope
    out = getattr(sys.stdout, "buffer", sys.stdout)
    ed = _Editor(raw, out.write)
    reader = asyncio.StreamReader(getattr(sys.stdin, "buffer", sys.stdin))
    key = ed.one
    src = None  # the lines of a block so far
    block = seen = False
    _kbd(board, -1)
    try:
        ed.w(PROMPT)
        while True:
            if not await reader.readinto(key):  # end of input
                if seen:
                    print(_CLOSED)
                return "stdin closed"
            seen = True
            act = ed.key(key[0])
            if act == _ENTER:
                if raw:
                    ed.w("\n")
                line = ed.take()
                if src is None:
                    if line.strip():
                        src, block = line, _opens_block(line)
                else:
                    src += "\n" + line
                if src is not None and not (block and line.strip()) and not _unclosed(src):
                    await _run(src, g, ed, reader, board)
                    src, block = None, False
                ed.text = PROMPT if src is None else MORE
                ed.w(ed.text)
            elif act == _INTR:
                if ed.n or src is not None:  # drop what was typed
                    ed.take()
                    src, block = None, False
                    ed.text = PROMPT
                    ed.w("^C\n" + PROMPT)
                    continue
                ed.w("\n")
                asyncio.create_task(_ctrl_c())
                return "Ctrl-C: stopping the app"
            elif act == _EOF:
                ed.w("\n")
                print(_CLOSED)
                if raw and not board:  # nothing else would see a Ctrl-C now
                    asyncio.create_task(_ctrl_c(reader, key))
                return "closed by Ctrl-D"
    finally:
        _kbd(board, 3)
