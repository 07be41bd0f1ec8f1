# safemode: crash-loop protection and resets for the mpsysd app. Each boot
# is counted in a small file (written atomically); a run that stays healthy
# long enough clears the count. After `limit` boots in a row that never got
# there, main.py boots in safe mode: core services and the prompt only.
COUNT_FILE = "safemode.count"
EXIT_RESET = 75  # unix port: a reset was asked for (make run starts the app again)
EXIT_WATCHDOG = 76  # unix port: the software watchdog bit (make run starts it again)
REASON_FILE = "safemode.reason"  # why the last reset happened, written just before it
# Made now: raising them on a full heap must not lose the status.
_EXITS = (SystemExit(EXIT_RESET), SystemExit(EXIT_WATCHDOG))

active = False  # this boot is in safe mode
boots = 0  # boots in a row, this one included, that have not been healthy
reason = ""  # why the previous boot ended in a reset (from REASON_FILE), if it said
pending = 0  # the unix watchdog bit: the Ctrl-C it sent ends in a reset with this status


def _read():
    import atomicfile

    try:  # no file, garbage or a cut write: start again
        return max(0, int(atomicfile.read(COUNT_FILE, 32) or 0))
    except (OSError, ValueError, UnicodeError):
        return 0


def _write(n):
    import atomicfile

    atomicfile.write(COUNT_FILE, str(n))


def begin(limit=3):
    """Count this boot; True when it must be in safe mode: `limit` boots in
    a row before it never ran healthy."""
    global active, boots, reason
    try:
        with open(REASON_FILE) as f:
            reason = f.read(200)
        import os

        os.remove(REASON_FILE)
    except (OSError, UnicodeError):
        pass
    boots = _read() + 1
    _write(boots)
    active = boots > limit
    return active


def healthy():
    """This boot ran healthy long enough: the crash-loop count starts again."""
    global boots
    if boots:
        boots = 0
        _write(0)


async def healthy_after(seconds):
    """Without the watcher (safe mode, or disabled), a boot that stays up is good."""
    import asyncio

    await asyncio.sleep(seconds)
    healthy()


def stopped_in_order():
    """This boot ended in an orderly stop (Ctrl-C, shutdown()): it does not
    count as a boot that never ran healthy."""
    global boots
    if boots:
        boots -= 1
        _write(boots)


def line():
    return ("SAFE MODE: %d boots in a row did not run healthy; only core services and the "
            "prompt run. Fix the cause, then `import safemode; safemode.leave()` to boot "
            "normally." % (boots - 1))


def note(why):
    """Save why the device resets (REASON_FILE); never fails."""
    try:
        with open(REASON_FILE, "w") as f:
            f.write(why)
    except Exception:  # no room for the file object, or no file system
        pass


def reset(status=EXIT_RESET, why=None):
    """Reset the board, saving why first when given; on the unix port, exit
    with status (make run restarts). Works on a full heap."""
    if why:
        note(why)
    try:
        from machine import reset  # the unix port's machine has no reset()
    except Exception:  # ImportError, or MemoryError making it
        i = status - EXIT_RESET
        raise _EXITS[i] if 0 <= i < len(_EXITS) else SystemExit(status)
    reset()


def leave():
    """Leave safe mode: clear the count and reset into a normal boot."""
    global boots
    boots = 0
    _write(0)
    reset()
