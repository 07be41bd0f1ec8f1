# journal: mpsysd's RAM journal. Log lines go into one preallocated ring
# buffer that never grows; when it is full the oldest lines are dropped
# whole. It is a stream (write/flush), so micropython-lib `logging`, aiolog
# or print(file=journal) can write to it, and it can be read back like
# journalctl: cat(grep) and, as lines arrive, `await follow(grep)`.
import asyncio
import io


class Journal(io.IOBase):  # print(file=...) takes only io.IOBase streams on MicroPython
    MASK = "****"  # what a secret becomes in the journal

    def __init__(self, size=4096):
        self.size = size
        self.buf = bytearray(size)
        self.view = memoryview(self.buf)
        # Positions count every byte ever written: byte p is buf[p % size].
        self.head = 0  # where the next byte goes
        self.tail = 0  # the oldest byte kept, always the start of a line
        self.dropped = 0  # whole lines dropped to make room
        self.secrets = []  # strings that never reach the buffer
        self.event = None  # set on every write while someone follows

    def mask(self, secret):
        """Never store secret (a password, a token...): it is written as ****."""
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def write(self, text):
        if not isinstance(text, str):  # bytes, or a memoryview from print()
            text = str(text, "utf-8")
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, self.MASK)
        data = text.encode()
        n = len(data)
        if n >= self.size:  # one line longer than the journal: keep its start
            data, n = data[: self.size - 1] + b"\n", self.size
        if self.head + n - self.tail > self.size:
            self._drop(self.head + n - self.size)
        i = self.head % self.size
        first = min(n, self.size - i)
        self.view[i:i + first] = data[:first]
        if first < n:
            self.view[:n - first] = data[first:]
        self.head += n
        if self.event:
            self.event.set()
        return n

    def flush(self):
        pass

    def _drop(self, need):
        # Move tail past whole lines until it is at or beyond need.
        while self.tail < need:
            nl = self._find(self.tail, self.head)
            self.tail = self.head if nl < 0 else nl + 1
            self.dropped += 1

    def _find(self, start, end):
        """Position of the first newline in [start, end), or -1."""
        i = start % self.size
        stop = i + end - start
        j = self.buf.find(b"\n", i, min(stop, self.size))
        if j >= 0:
            return start + j - i
        if stop > self.size:
            j = self.buf.find(b"\n", 0, stop - self.size)
            if j >= 0:
                return start + self.size - i + j
        return -1

    def _text(self, start, end):
        i, n = start % self.size, end - start
        if i + n <= self.size:
            raw = self.view[i:i + n]
        else:
            raw = bytes(self.view[i:]) + bytes(self.view[:i + n - self.size])
        try:
            return str(raw, "utf-8")
        except UnicodeError:  # a character cut by the ring's edge
            return str(bytes(b if b < 128 else 63 for b in raw), "utf-8")

    def lines(self, start=None):
        """(line, position after it) for each whole line from start (default: the oldest)."""
        p = self.tail if start is None else max(start, self.tail)
        while True:
            nl = self._find(p, self.head)
            if nl < 0:
                return
            yield self._text(p, nl), nl + 1
            p = nl + 1

    def cat(self, grep=""):
        """Print the lines that match grep (cat | grep)."""
        from aiogrep import patterns, wanted  # only when read: its RAM is the services'

        pats = patterns(grep)
        for line, _ in self.lines():
            if wanted(line, pats):
                print(line)

    async def follow(self, grep=""):
        """Print lines that match grep as they are written (tail -F). Sleeps
        between writes; a follower that falls a whole journal behind goes
        on from the oldest line kept."""
        from aiogrep import patterns, wanted

        pats = patterns(grep)
        if self.event is None:
            self.event = asyncio.Event()
        pos = self.head
        while True:
            for line, after in self.lines(pos):
                pos = after  # where this follower has read up to
                if wanted(line, pats):
                    print(line)
            self.event.clear()  # no await since reading: nothing is missed
            await self.event.wait()
