# aiowatchdog: on the unix port (no machine.WDT), the thread that plays the
# hardware watchdog for the bundled watcher: when the event loop stops
# ticking it saves why, names the running task and ends the process with
# status 76. Small, as it stays loaded for as long as the app runs: what it
# says and saves when it bites is aiowatcher's, loaded then.
import time

import aioservice
import safemode


def watch_loop(w):
    """Start the thread that plays the hardware watchdog on the unix port:
    when the event loop has not ticked for wdt_timeout (a loop blocked by
    `while True: pass` or a long sleep), it saves the reason and the report,
    names the task that was running, and ends the process with status 76."""
    global _dogs
    if not _dogs:  # one thread, whatever restarts the watcher has
        import _thread  # pyright: ignore[reportMissingImports]

        _dogs = 1
        _thread.start_new_thread(_dog, (w,))


_dogs = 0


def _dog(w):
    import os

    step = max(10, min(w.wdt_ms // 4, 250))
    while True:
        time.sleep_ms(step)
        if aioservice.stopping:  # an orderly stop: the loop may rest now
            return
        late = time.ticks_diff(time.ticks_ms(), w.beat)
        if late > w.wdt_ms and not safemode.pending:
            break
    safemode.pending = safemode.EXIT_WATCHDOG  # the Ctrl-C below is this reset
    why = "watchdog: not fed for %d ms: event loop blocked" % late
    try:
        import aiowatcher

        why = aiowatcher.bite(w, why)  # names the task that blocks, says why, saves the report
    except Exception:  # no heap to load it: the reason is said all the same
        print("[ ERROR ] watcher: resetting: " + why)
    safemode.note(why)
    # Only the main thread can end the process with a status: a Ctrl-C
    # interrupts the blocked code there, and aioservice.shutdown() (which
    # main.py runs on Ctrl-C) turns it into the reset. Sent from a child
    # shell, as system() ignores SIGINT while it waits.
    os.system("(sleep 0.05; kill -INT $PPID) &")
    time.sleep(5)  # not ended by then (the Ctrl-C was caught): as a board, at once
    os.system("kill -KILL $PPID")
