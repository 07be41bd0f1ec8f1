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
_BLOCK = " if for while def class with try async "  # words that open a block
_KW = (" False None True and as assert async await break class continue def del elif else"
       " except finally for from global if import in is lambda nonlocal not or pass raise"
       " return try while with yield ")
def _help(obj=None):
    import aiohelp  # mpsysd's help for the prompt, aioctl and aioservice

    aiohelp.show(obj)
    sys.modules.pop("aiohelp", None)


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
        self.hist = [b""] * _HIST
        self.hi = self.hn = self.hb = 0  # next slot, entries, how far back Up went
        self.esc = 0  # 0; 1 after ESC; 2 after ESC [; or the digit of ESC [ 3 ~
        self.last = 0  # the previous key: CR LF is one Enter
        self.text = PROMPT
        self.intr = False  # Ctrl-C cancelled the running statement

    def key(self, c):
        """Take one key; return _ENTER, _INTR, _EOF or None."""
        last, self.last = self.last, c
        e = self.esc
        if e:  # ESC [ or O, then A B C D H F; or ESC [ 1..8 ~; digits and ; between
            if e == 1:
                self.esc = 2 if c == 91 or c == 79 else 0
            elif 48 <= c <= 59:
                if e == 2:
                    self.esc = c
            else:
                self.esc = 0
                self.act("H?PF??HF"[e - 49] if c == 126 and 49 <= e <= 56 else chr(c))
            return None
        if c == 13 or c == 10:
            return None if c == 10 and last == 13 else _ENTER
        if 32 <= c < 127 or not self.raw:  # a cooked terminal has edited the line
            self.insert(c)
        elif c == 27:
            self.esc = 1
        elif c == 3:
            return _INTR
        elif c == 4 and not self.n:
            return _EOF
        elif c == 9:
            for _ in range(4 - self.p % 4):
                self.insert(32)
        elif c == 8 or c == 127:
            if self.p:
                self.move(self.p - 1)
                self.delete()
        elif c < 6:  # Ctrl-A Home, Ctrl-D Delete, Ctrl-E End
            self.act("?H??PF"[c])
        return None

    def act(self, k):
        if k == "A" or k == "B":  # Up, Down
            self.recall(1 if k == "A" else -1)
        elif k == "P":
            self.delete()
        elif k == "C" or k == "D":
            self.move(self.p + 1 if k == "C" else self.p - 1)
        elif k == "H" or k == "F":
            self.move(0 if k == "H" else self.n)

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


def _opens_block(line):
    s = line.strip()
    i = 0
    while i < len(s) and s[i].isalpha():
        i += 1
    return s[-1:] == ":" or s[:1] == "@" or (" %s " % s[:i]) in _BLOCK


def _unclosed(src):
    # a bracket left open, or a backslash at the end; strings and comments
    # (a comment is read as a string that the newline closes) do not count
    depth, q = 0, None
    for c in src:
        if q:
            if c == q or c == "\n":
                q = None
        elif c == "#":
            q = "\n"
        elif c == "'" or c == '"':
            q = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
    return depth > 0 or src[-1:] == "\\"


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
            # top-level await: src becomes the body of a coroutine, run as a
            # task that Ctrl-C cancels; an expression's value is returned
            head = "async def _prompt_():\n global %s\n " % _names(src)
            try:
                exec(head + "return (\n" + src + "\n)", g)
            except SyntaxError:
                exec(head + src.replace("\n", "\n "), g)
            task = asyncio.create_task(g.pop("_prompt_")())
            ed.intr = False
            watch = asyncio.create_task(_ctrl_c(ed, reader, task))
            try:
                value = await task
            except asyncio.CancelledError:
                if not ed.intr:  # the prompt itself is stopped: so is its statement
                    task.cancel()
                    raise
                value = None
                print(_STOPPED)
            finally:
                watch.cancel()
        if value is not None:
            g["_"] = value
            print(repr(value))
    except MemoryError as e:
        import gc

        gc.collect()  # what the line allocated is garbage now
        print("MemoryError: %s (%d B free); the prompt goes on" % (e, gc.mem_free()))
    except KeyboardInterrupt:  # a board's Ctrl-C while a statement runs
        if not board:
            raise
        print(_STOPPED)
    except Exception as e:  # the prompt outlives the user's mistakes
        sys.print_exception(e)


async def _ctrl_c(ed, reader, task=None):
    # Wait for a Ctrl-C key (not at all without a reader); then cancel task,
    # or stop the app as a Ctrl-C signal would: main.py's KeyboardInterrupt path.
    while reader:
        if not await reader.readinto(ed.one):
            return
        if ed.one[0] == 3:
            break
    if task is None:
        raise KeyboardInterrupt
    ed.intr = True
    task.cancel()


async def prompt(scope=None):
    """Read, evaluate, print, beside the services. scope: the globals to use
    (by default aioctl, aioservice, asyncio, gc and mpsysd's help())."""
    import gc
    import os

    import aioctl
    import aioservice

    getenv = getattr(os, "getenv", None)
    board = getenv is None  # a board's stdin is raw; the unix port's is when told
    raw = board or getenv("MPSYSD_PROMPT") == "raw"
    g = scope or {"aioctl": aioctl, "aioservice": aioservice, "asyncio": asyncio, "gc": gc,
                  "help": _help}
    ed = _Editor(raw, getattr(sys.stdout, "buffer", sys.stdout).write)
    reader = asyncio.StreamReader(getattr(sys.stdin, "buffer", sys.stdin))
    src = None  # the lines of a block so far
    block = seen = False
    _kbd(board, -1)
    try:
        ed.w(PROMPT)
        while True:
            # end of input? (readinto: in MicroPython's asyncio, not in the stubs)
            if not await reader.readinto(ed.one):  # pyright: ignore[reportAttributeAccessIssue]
                if seen:
                    print(_CLOSED)
                return "stdin closed"
            seen = True
            act = ed.key(ed.one[0])
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
                    src = None
            elif act == _INTR:
                if not (ed.n or src is not None):  # at an empty prompt: stop the app
                    asyncio.create_task(_ctrl_c(ed, None))
                    return "Ctrl-C: stopping the app"
                ed.take()  # else drop what was typed
                src = None
                ed.w("^C\n")
            elif act == _EOF:
                ed.w("\n")
                print(_CLOSED)
                if raw and not board:  # nothing else would see a Ctrl-C now
                    asyncio.create_task(_ctrl_c(ed, reader))
                return "closed by Ctrl-D"
            if act:
                ed.text = PROMPT if src is None else MORE
                ed.w(ed.text)
    finally:
        _kbd(board, 3)
