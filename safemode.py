# safemode: crash-loop protection and resets for the mpsysd app. Each boot
# is counted in a small file (written atomically); a run that stays healthy
# long enough clears the count. After `limit` boots in a row that never got
# there, main.py boots in safe mode: core services and the prompt only.
# RAM: what the running app needs (healthy, note, reset) stays here; the
# boot's count (begin, line), an orderly stop's, leave() and the watcher's
# stand-in (healthy_after) are in safemodex, loaded for one use and let go
# of at once.
EXIT_RESET = 75  # unix port: a reset was asked for (make run starts the app again)
EXIT_WATCHDOG = 76  # unix port: the software watchdog bit (make run starts it again)
REASON_FILE = "safemode.reason"  # why the last reset happened, written just before it
# Made now: raising them on a full heap must not lose the status.
_EXITS = (SystemExit(EXIT_RESET), SystemExit(EXIT_WATCHDOG))

active = False  # this boot is in safe mode
boots = 0  # boots in a row, this one included, that have not been healthy
reason = ""  # why the previous boot ended in a reset (from REASON_FILE), if it said
pending = 0  # the unix watchdog bit: the Ctrl-C it sent ends in a reset with this status


def _x():
    import sys

    import safemodex

    del sys.modules["safemodex"]
    return safemodex


def __getattr__(attr):
    # begin(), line(), stopped_in_order(), leave(), healthy_after(), COUNT_FILE: see safemodex
    return getattr(_x(), attr)


def healthy():
    """This boot ran healthy long enough: the crash-loop count starts again."""
    if boots:  # the watcher says so every healthy round: nothing to load then
        _x().count(0)


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
