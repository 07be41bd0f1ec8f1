# safemodex: safemode's rare half (safemode keeps what the running app
# needs): counting a boot, the safe-mode line, an orderly stop, leave(),
# and healthy_after(), which stands in for the watcher when there is none.
# safemode loads it for one use and drops it from sys.modules at once.
import safemode as s

COUNT_FILE = "safemode.count"


def count(n):
    """Boots in a row that have not been healthy: n, in memory and in COUNT_FILE."""
    import sys

    import atomicfile

    s.boots = n
    atomicfile.write(COUNT_FILE, str(n))
    sys.modules.pop("atomicfile", None)  # written: its RAM is the app's again


async def healthy_after(seconds):
    """Without the watcher (safe mode, or disabled), a boot that stays up is good."""
    import asyncio

    await asyncio.sleep(seconds)
    s.healthy()


def begin(limit=3):
    """Count this boot; True when it must be in safe mode: `limit` boots in
    a row before it never ran healthy."""
    import atomicfile

    try:
        with open(s.REASON_FILE) as f:
            s.reason = f.read(200)
        import os

        os.remove(s.REASON_FILE)
    except (OSError, UnicodeError):
        pass
    try:  # no file, garbage or a cut write: start again
        n = max(0, int(atomicfile.read(COUNT_FILE, 32) or 0))
    except (OSError, ValueError, UnicodeError):
        n = 0
    count(n + 1)
    s.active = s.boots > limit
    return s.active


def line():
    return ("SAFE MODE: %d boots in a row did not run healthy; only core services and the "
            "prompt run. Fix the cause, then `import safemode; safemode.leave()` to boot "
            "normally." % (s.boots - 1))


def stopped_in_order():
    """This boot ended in an orderly stop (Ctrl-C, shutdown()): it does not
    count as a boot that never ran healthy."""
    if s.boots:
        count(s.boots - 1)


def leave():
    """Leave safe mode: clear the count and reset into a normal boot."""
    count(0)
    s.reset()
