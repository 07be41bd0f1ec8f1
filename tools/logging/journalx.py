# journalx: the reading half of the RAM journal (journal.py): its lines,
# cat(grep) and follow(grep). A journal that is only written to never loads
# it; a Journal hands these out as its own methods.
import asyncio


def _text(j, start, end):
    i, n = start % j.size, end - start
    if i + n <= j.size:
        raw = j.view[i:i + n]
    else:
        raw = bytes(j.view[i:]) + bytes(j.view[:i + n - j.size])
    try:
        return str(raw, "utf-8")
    except UnicodeError:  # a character cut by the ring's edge
        return str(bytes(b if b < 128 else 63 for b in raw), "utf-8")


def lines(j, start=None):
    """(line, position after it) for each whole line from start (default: the oldest)."""
    p = j.tail if start is None else max(start, j.tail)
    while True:
        nl = j.find(p, j.head)
        if nl < 0:
            return
        yield _text(j, p, nl), nl + 1
        p = nl + 1


def cat(j, grep=""):
    """Print the lines that match grep (cat | grep)."""
    from aiogrep import patterns, wanted

    pats = patterns(grep)
    for line, _ in lines(j):
        if wanted(line, pats):
            print(line)


async def follow(j, grep=""):
    """Print lines that match grep as they are written (tail -F). Sleeps
    between writes; a follower that falls a whole journal behind goes on
    from the oldest line kept."""
    from aiogrep import patterns, wanted

    pats = patterns(grep)
    if j.event is None:
        j.event = asyncio.Event()
    pos = j.head
    while True:
        for line, after in lines(j, pos):
            pos = after  # where this follower has read up to
            if wanted(line, pats):
                print(line)
        j.event.clear()  # no await since reading: nothing is missed
        await j.event.wait()
