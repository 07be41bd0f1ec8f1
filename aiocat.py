# aiocat: the log views of aioctl, loaded through its module __getattr__
# when asked for: log(grep) (cat | grep) and follow(grep) (tail -F) of the
# stream set with aioctl.set_log(): a journal greps and follows itself; a
# StringIO or a file path is read here.
import aioctl
from aiogrep import patterns, wanted  # one grep for every stream, as the journal's


def _read(stream, pos):
    """(text written after pos, new end) of a StringIO-like stream or a file path."""
    if isinstance(stream, str):
        with open(stream) as f:
            f.seek(pos)
            text = f.read()
    else:
        text = stream.getvalue()[pos:]
    return text, pos + len(text)


def show_log(grep):
    stream = aioctl.group().log
    cat = getattr(stream, "cat", None)
    if cat:  # a journal knows how to grep itself
        return cat(grep)
    pats = patterns(grep)
    for text in _read(stream, 0)[0].splitlines():
        if wanted(text, pats):
            print(text)


def log(grep=""):
    if aioctl.group().log is None:
        print("no log stream: call aioctl.set_log(stream) first")
        return
    show_log(grep)


async def follow(grep=""):
    import asyncio

    stream = aioctl.group().log
    if stream is None:
        print("no log stream: call aioctl.set_log(stream) first")
        return
    own = getattr(stream, "follow", None)
    if own:  # a journal follows itself, without polling
        return await own(grep)
    pats = patterns(grep)
    pos = _read(stream, 0)[1]
    partial = ""
    while True:  # a plain stream has no way to wake us: poll it
        await asyncio.sleep_ms(100)
        text, pos = _read(stream, pos)
        if text:
            lines = (partial + text).split("\n")
            partial = lines.pop()
            for text in lines:
                if wanted(text, pats):
                    print(text)
