# aioline: what an Enter at the prompt does with the line: is the statement
# whole (a block, a bracket or a triple-quoted string left open)? Then
# aioprompt compiles and runs it, once this module is garbage. aioprompt
# loads it for the line and drops it from sys.modules at once: small, as a
# line needs it every time.
from micropython import const

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
    """An Enter (or a Ctrl-C key) at the prompt: add line (bytes) to the
    statement so far (src, None at its start; block: it opened a block);
    line None: it was too long, and the statement is dropped. Returns (src, block,
    code): code is None while more lines are wanted, else the whole
    statement as (src, the last ";" outside brackets, src blanked by
    _scan). aioprompt compiles and runs it once this module is garbage:
    the parse wants a 512 B block of its own (aioprompt._run)."""
    try:
        if ctrl_c:  # Ctrl-C drops what was typed
            return None, block, None
        if line is None:  # longer than the prompt takes: what it kept is not what was meant
            print("that line is over 255 bytes: not run (type a long value over several lines)")
            return None, block, None
        try:
            line = line.decode()
        except UnicodeError:  # a terminal that is not UTF-8, or a character cut in two
            print("that line is not UTF-8 text: not run")
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
        # a bracket or a triple-quoted string left open, or a backslash at the
        # end, asks for more lines
        depth, cut, string, code = _scan(src.encode())
        if (block and line.strip()) or depth > 0 or string or src.endswith("\\"):
            return src, block, None
        return None, block, (src, -1 if block or "\n" in src else cut, code)
    finally:
        # Used once: aioprompt imports this module afresh for each line. The
        # statement runs next, and MicroPython's collector takes any stale
        # word on the C stack for a pointer: one left by this call would keep
        # every function here alive while it runs. Emptied, they go anyway.
        globals().clear()
