# atomicfile: files that a power cut leaves whole, the old version or the new
# one, also on FAT, which cannot rename over a file. write() puts the text in
# PATH.tmp; once it is complete, renaming it to PATH.new commits it; then
# PATH.new goes over PATH (one rename, or on FAT: remove PATH, rename). A cut
# anywhere leaves PATH, or a complete PATH.new, or both: read() (and the next
# write()) first settles that, so the newest complete version wins, and
# removes a PATH.tmp that never got complete.


def _replace(os, src, dst):
    try:
        os.rename(src, dst)
    except OSError:  # FAT cannot rename over a file: remove it first
        os.remove(dst)
        os.rename(src, dst)


def settle(path):
    """Finish a write of path that a reset cut short, and clean up after it."""
    import os

    new = path + ".new"
    try:
        os.stat(new)
    except OSError:
        pass
    else:  # complete, and newer than path
        _replace(os, new, path)
    try:
        os.remove(path + ".tmp")  # never completed: the write did not happen
    except OSError:
        pass


def write(path, text):
    """Write text (str or bytes) to path, atomically."""
    import os

    settle(path)  # PATH.new must not exist: FAT cannot rename onto it
    tmp = path + ".tmp"
    with open(tmp, "wb" if isinstance(text, bytes) else "w") as f:
        f.write(text)
    os.rename(tmp, path + ".new")  # the commit
    _replace(os, path + ".new", path)


def size(path):
    """path's size after settling a cut write, or None when there is no file."""
    import os

    try:
        settle(path)
    except OSError:  # a read-only filesystem: read what is there
        pass
    try:
        return os.stat(path)[6]
    except OSError:
        return None


def read(path, limit=0):
    """path's bytes after settling a cut write, or None when there is no file.
    With limit, a larger file raises ValueError(its size), unread."""
    n = size(path)
    if n is None:
        return None
    if limit and n > limit:
        raise ValueError(n)
    with open(path, "rb") as f:
        return f.read(n)  # one block of the size, not grown bit by bit
