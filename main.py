# main.py: the mpsysd app: what it is set to do; the app itself is aiomain
# (compiled with the rest, where this file is compiled at every boot). Logs
# go to a RAM journal (aioctl.log()); core services boot in dependency order,
# then runtime and schedule services start, with a prompt beside them.
# Ctrl-C stops everything in order. On a board the watchdog is armed first,
# before the rest loads: a start-up that hangs (MicroPython 1.25's importer
# can hang on a truncated .mpy) resets the board.
BOOT_WDT_MS = 8000  # the start-up watchdog (8.3 s is the longest an RP2040 takes)
JOURNAL_BYTES = 2048  # the RAM journal: the newest lines that fit (~30); more where RAM allows
FILE_LOG = ""  # e.g. "mpsysd.log": a capped log file that survives a reset
FILE_LOG_BYTES = 16384
SAFE_MODE_AFTER = 3  # boots in a row that never ran healthy, before safe mode
HEALTHY_AFTER = 60  # seconds of health that make a boot good (the watcher judges)
SHUTDOWN_TIMEOUT = 5  # seconds for an orderly stop on Ctrl-C
# A garbage collection each time this share of the heap has been allocated
# (2 KB of 64 KB), not only when it is full: garbage goes before what stays
# settles between it, so a load() at the prompt still finds whole blocks.
GC_EVERY = 1 / 32


try:
    from machine import WDT

    wdt = WDT(timeout=BOOT_WDT_MS)
except ImportError:  # the unix port: no hardware watchdog
    wdt = None

import aiomain  # noqa: E402  (after the watchdog: an import can hang)

aiomain.run(wdt, globals())
