# jsoncheck: is a file's text strict JSON, as CPython's json reads it?
# MicroPython's json takes a trailing comma, a missing comma or a missing
# closing brace without a word, and `{"a": 1, "b": }` silently loses b, so
# aioconfig runs this over the file's bytes first (and drops it after). One
# pass, no recursion: the open brackets sit in a bytearray as deep as allowed.
# NaN and Infinity are refused (not JSON; MicroPython's json refuses them).
from micropython import const

_FIRST_KEY = const(0)  # after "{": a key or "}"
_NEXT_KEY = const(1)  # after "," in an object: a key
_COLON = const(2)  # after a key
_VALUE = const(3)  # at the start, after ":"
_FIRST_VALUE = const(4)  # after "[": a value or "]"
_NEXT_VALUE = const(5)  # after "," in a list: a value
_AFTER = const(6)  # after a value: ",", a closing bracket, or the end
# (the byte sets below are written where they are used: a module-level name
# is a qstr for good, and the qstr pool grows by 4.5 KB at 620 of them)


def check(data, max_depth, max_values):
    """Raise ValueError(offset, what, over_a_limit) unless data (bytes) holds
    one JSON value, nested at most max_depth deep, of at most max_values values."""
    n = len(data)
    stack = bytearray(max_depth)  # the open brackets
    depth = values = i = 0
    state = _VALUE
    while True:
        while i < n and data[i] in b" \t\n\r":
            i += 1
        if i == n:
            break
        c = data[i]
        if state == _AFTER:
            if not depth:
                raise ValueError(i, "more after the end of the JSON value", 0)
            top = stack[depth - 1]
            if c == 0x2C:  # ,
                state = _NEXT_KEY if top == 0x7B else _NEXT_VALUE
            elif c == top + 2:  # "{" + 2 is "}", "[" + 2 is "]"
                depth -= 1
            else:
                raise ValueError(i, _why(c, "expected ',' or '%s'" % chr(top + 2)), 0)
            i += 1
        elif state == _COLON:
            if c != 0x3A:
                raise ValueError(i, _why(c, "expected ':'"), 0)
            state = _VALUE
            i += 1
        elif c == 0x7D and state == _FIRST_KEY or c == 0x5D and state == _FIRST_VALUE:
            depth -= 1  # {} or []
            state = _AFTER
            i += 1
        elif (c == 0x7D or c == 0x5D) and (state == _NEXT_KEY or state == _NEXT_VALUE):
            raise ValueError(i, "a comma before '%s'" % chr(c), 0)
        elif state <= _NEXT_KEY:  # a key
            if c != 0x22:
                raise ValueError(i, _why(c, "expected a key in double quotes"), 0)
            i = _string(data, i + 1, n)
            state = _COLON
        else:  # a value
            values += 1
            if values > max_values:
                raise ValueError(i, "more than %d values" % max_values, 1)
            if c == 0x7B or c == 0x5B:  # { [
                if depth == max_depth:
                    raise ValueError(i, "nested more than %d deep" % max_depth, 1)
                stack[depth] = c
                depth += 1
                state = _FIRST_KEY if c == 0x7B else _FIRST_VALUE
                i += 1
                continue
            if c == 0x22:
                i = _string(data, i + 1, n)
            elif c == 0x2D or 0x30 <= c <= 0x39:
                i = _number(data, i, n)
            elif data.startswith(b"true", i) or data.startswith(b"null", i):
                i += 4
            elif data.startswith(b"false", i):
                i += 5
            else:
                raise ValueError(i, _why(c, "expected a value"), 0)
            state = _AFTER
    if state != _AFTER or depth:
        raise ValueError(n, "no closing '%s'" % chr(stack[depth - 1] + 2) if depth and (
            state == _AFTER or state == _FIRST_KEY or state == _FIRST_VALUE)
            else "the file ends too soon", 0)


def _why(c, expected):
    # What was found instead, when it is a usual mistake.
    if c == 0x27:
        return expected + ", not ' (JSON takes double quotes)"
    if c == 0x2F:
        return expected + "; JSON has no comments"
    if c >= 0x80:
        return expected + ", not byte 0x%02x" % c
    return expected


def _string(data, i, n):
    # The index after the string whose first character is at i.
    while i < n:
        c = data[i]
        if c == 0x22:
            return i + 1
        if c == 0x5C:  # \
            if i + 1 < n and data[i + 1] == 0x75:  # \uXXXX
                for j in range(i + 2, i + 6):
                    if j >= n or data[j] not in b"0123456789abcdefABCDEF":
                        raise ValueError(i, "a \\u escape takes 4 hex digits", 0)
                i += 6
            elif i + 1 < n and data[i + 1] in b'"\\/bfnrt':
                i += 2
            else:
                raise ValueError(i, "not an escape (\\\\ for a backslash)", 0)
        elif c < 0x20:
            raise ValueError(i, "a control character in a string (write \\n, \\t)", 0)
        elif c < 0x80:
            i += 1
        else:
            j = utf8_end(data, i, n)
            if j < 0:
                raise ValueError(i, "byte 0x%02x is not UTF-8" % c, 0)
            i = j
    raise ValueError(n, "a string with no closing '\"' (the file ends)", 0)


def _number(data, i, n):
    # The index after the number at i: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
    start = i
    if data[i] == 0x2D:
        i += 1
    part = 0  # 0: the integer, 1: the fraction, 2: the exponent
    while True:
        j = i
        while j < n and 0x30 <= data[j] <= 0x39:
            j += 1
        if j == i or part == 0 and data[i] == 0x30 and j > i + 1:
            raise ValueError(start, "not a number", 0)
        i = j
        if part == 0 and i < n and data[i] == 0x2E:
            part, i = 1, i + 1
        elif part < 2 and i < n and data[i] in b"eE":
            part, i = 2, i + 1
            if i < n and data[i] in b"+-":
                i += 1
        else:
            return i


def bad_byte(raw):
    """(column, what) of the first byte of raw that is not UTF-8."""
    i, n = 0, len(raw)
    while i < n:
        j = i + 1 if raw[i] < 0x80 else utf8_end(raw, i, n)
        if j < 0:
            break
        i = j
    i = min(i, n - 1)
    return len(raw[:i].decode()) + 1, "byte 0x%02x is not UTF-8" % raw[i]


def utf8_end(data, i, n):
    """The index after the UTF-8 character whose lead byte (>= 0x80) is at i,
    or -1 when the bytes there are not UTF-8."""
    c = data[i]
    k = 1 if 0xC2 <= c <= 0xDF else 2 if 0xE0 <= c <= 0xEF else 3 if 0xF0 <= c <= 0xF4 else 0
    if not k or i + k >= n:
        return -1
    d = data[i + 1]  # no overlong forms, no surrogates, nothing past U+10FFFF
    if c == 0xE0 and d < 0xA0 or c == 0xED and d > 0x9F or \
            c == 0xF0 and d < 0x90 or c == 0xF4 and d > 0x8F:
        return -1
    for j in range(i + 1, i + k + 1):
        if (data[j] & 0xC0) != 0x80:
            return -1
    return i + k + 1


def where(data, offset):
    """(line, column) of offset in data, from 1; columns count characters."""
    line = col = 1
    for i in range(offset):
        c = data[i]
        if c == 0x0A:
            line, col = line + 1, 1
        elif (c & 0xC0) != 0x80:  # not a UTF-8 continuation byte
            col += 1
    return line, col


class Window:
    """A file's bytes by index through a small buffer, for check() and
    where(): a fragmented heap may have no free block as large as the file."""

    def __init__(self, f, size):
        self.f, self.n, self.buf, self.at, self.got = f, size, bytearray(64), 0, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not self.at <= i < self.at + self.got:
            self.f.seek(i)
            self.at, self.got = i, self.f.readinto(self.buf)
        return self.buf[i - self.at]

    def startswith(self, word, i):
        for k in range(len(word)):
            if i + k >= self.n or self[i + k] != word[k]:
                return False
        return True
