# filelog: a log file that survives a reset, capped in size. When the file
# passes max_bytes it becomes name.1 (name.1 becomes name.2, up to keep
# files) and a new one starts. Each line is flushed as it is written. Off by
# default: flash wears, so the RAM journal is mpsysd's everyday log.
import io
import os


class FileLog(io.IOBase):  # print(file=...) takes only io.IOBase streams on MicroPython
    def __init__(self, path, max_bytes=16384, keep=1):
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.file = open(path, "a")
        try:
            self.size = os.stat(path)[6]
        except OSError:
            self.size = 0

    def write(self, text):
        if not isinstance(text, str):
            text = str(text, "utf-8")
        if self.size + len(text) > self.max_bytes and self.size:
            self._rotate()
        self.file.write(text)
        self.size += len(text)
        if text.endswith("\n"):
            self.file.flush()
        return len(text)

    def flush(self):
        self.file.flush()

    def _rotate(self):
        self.file.close()
        for n in range(self.keep, 0, -1):
            older = "%s.%d" % (self.path, n)
            newer = self.path if n == 1 else "%s.%d" % (self.path, n - 1)
            try:
                try:
                    os.remove(older)  # FAT cannot rename over a file
                except OSError:
                    pass
                os.rename(newer, older)
            except OSError:
                pass  # that generation does not exist yet
        self.file = open(self.path, "w")
        self.size = 0

    def close(self):
        self.file.close()


class Tee(io.IOBase):
    """One stream that writes to several (the journal and a FileLog...)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self):
        for s in self.streams:
            s.flush()
