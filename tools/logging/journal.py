# journal: mpsysd's RAM journal. Log lines go into one preallocated ring
# buffer that never grows; when it is full the oldest lines are dropped
# whole. It is a stream (write/flush), so micropython-lib `logging`, aiolog
# or print(file=journal) can write to it, and it can be read back like
# journalctl: cat(grep) and, as lines arrive, `await follow(grep)`.
# RAM: reading (lines, cat, follow) is journalx's, loaded when the journal
# is read; a journal's writer never needs it. One line is at most an eighth
# of the journal: an error that quotes a long value cannot push out the rest.
import io


class Journal(io.IOBase):  # print(file=...) takes only io.IOBase streams on MicroPython
    MASK = "****"  # what a secret becomes in the journal

    def __init__(self, size=4096):
        self.size = size
        self.limit = min(size, max(size // 8, 128)) - 1  # bytes in a line but its end
        self.run = 0  # bytes of the line being written (print() writes its end apart)
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
            # longest first: a new secret that holds an old one (a token
            # changed in .env) is masked whole, not around the old one
            self.secrets.sort(key=len, reverse=True)

    def masked(self, text):
        """text with each secret as ****: the views show errors through it too."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, self.MASK)
        return text

    def write(self, text):
        if not isinstance(text, str):  # bytes, or a memoryview from print()
            text = str(text, "utf-8")
        data = self.masked(text).encode()
        if self.run + len(data) > self.limit:  # a line may be too long
            data = self._cut(data)
        n = len(data)
        if n >= self.size:  # lines and lines in one write: keep their start
            data, n = data[:self.size - 1] + b"\n", self.size
        nl = data.rfind(b"\n")
        self.run = n - nl - 1 if nl >= 0 else self.run + n
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

    def _cut(self, data):
        # Each line keeps its first self.limit bytes and says "..." where it
        # was cut; what comes after, in this write or the next, is dropped.
        parts = data.split(b"\n")
        for i, part in enumerate(parts):
            room = self.limit - (self.run if i == 0 else 0)
            if len(part) > room:
                parts[i] = part[:room - 3] + b"..." if room > 3 else b""
        return b"\n".join(parts)

    def _drop(self, need):
        # Move tail past whole lines until it is at or beyond need.
        while self.tail < need:
            nl = self.find(self.tail, self.head)
            self.tail = self.head if nl < 0 else nl + 1
            self.dropped += 1

    def find(self, start, end):
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

    def __getattr__(self, attr):
        # lines(start), cat(grep), follow(grep): journalx's, as this journal's
        import journalx

        func = getattr(journalx, attr)
        return lambda *args: func(self, *args)
