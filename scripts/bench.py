#!/usr/bin/env python3
"""make bench: RAM and speed of mpsysd on the unix port, beside raw asyncio.

Each measurement runs in its own MicroPython process, with the project
compiled by mpy-cross (as a board runs it), and prints one number; this
script puts them in a table against the budgets of shared/DESIGN.md.
A benchmark, not a test: it reports, it does not fail on a missed target.
Host-side script (CPython).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".build", "bin", "micropython")
LIB = os.path.join(ROOT, ".build", "mpy")

# Shared by the MicroPython snippets: a sleeping task and a heap reading.
PRELUDE = """
import gc, asyncio, time
async def sleeper():
    await asyncio.sleep(1000)
def heap():
    gc.collect()
    return gc.mem_alloc()
"""

PER_TASK = PRELUDE + """
N = 100
MODE = %r
names = ["t%%d" %% i for i in range(N)]
keep = [None] * N
import aioctl
async def main():
    before = heap()
    for i in range(N):
        if MODE == "raw":
            keep[i] = asyncio.create_task(sleeper())
        elif MODE == "named":
            aioctl.add(sleeper, name=names[i])
        else:
            aioctl.add(sleeper)
    print((heap() - before) / N)
asyncio.run(main())
"""

CAPACITY = PRELUDE + """
MODE = %r
if MODE == "raw":
    keep = [None] * 400  # raw tasks need a place; managed ones live in the table
else:
    import aioctl
async def main():
    n = 0
    try:
        while n < 400:
            if MODE == "raw":
                keep[n] = asyncio.create_task(sleeper())
            else:
                aioctl.add(sleeper, name="t%%d" %% n)
            n += 1
    except MemoryError:
        pass
    print(n)
asyncio.run(main())
"""

IMPORT = """
import gc, asyncio%s
gc.collect()
before = gc.mem_alloc()
import %s
gc.collect()
print(gc.mem_alloc() - before)
"""

STOP_START = PRELUDE + """
import aioctl
N = 100
ROUNDS = 20
async def main():
    for i in range(N):
        aioctl.add(sleeper, name="t%d" % i)
    await asyncio.sleep_ms(0)
    t0 = time.ticks_us()
    for r in range(ROUNDS):
        aioctl.stop()
        await asyncio.sleep_ms(0)
        aioctl.start("*")
        await asyncio.sleep_ms(0)
    print(time.ticks_diff(time.ticks_us(), t0) / (N * ROUNDS))
asyncio.run(main())
"""

STATUS = PRELUDE + """
import aioctl, sys
N = 100
async def main():
    for i in range(N):
        aioctl.add(sleeper, name="t%d" % i)
    await asyncio.sleep_ms(0)
    aioctl.status()  # loads the views once
    best = None
    for r in range(5):
        t0 = time.ticks_us()
        aioctl.status()
        dt = time.ticks_diff(time.ticks_us(), t0)
        best = dt if best is None else min(best, dt)
    sys.stderr.write("%f\\n" % (best / 1000))
asyncio.run(main())
"""


def measure(code, heap="256K", last_line_of="stdout"):
    res = subprocess.run([MICROPYTHON, "-X", "heapsize=" + heap, "-c", code],
                         env=dict(os.environ, MICROPYPATH=".frozen:" + LIB),
                         capture_output=True, text=True, timeout=300)
    out = res.stdout if last_line_of == "stdout" else res.stderr
    if res.returncode:
        sys.exit("bench: a measurement failed:\n" + res.stderr)
    return float(out.strip().splitlines()[-1])


def main():
    compile_mpy.compile_to(LIB)
    raw = measure(PER_TASK % "raw")
    named = measure(PER_TASK % "named")
    auto = measure(PER_TASK % "auto")
    fit_raw = measure(CAPACITY % "raw", heap="64K")
    fit_named = measure(CAPACITY % "named", heap="64K")
    imp_ctl = measure(IMPORT % ("", "aioctl"))
    imp_status = measure(IMPORT % (", aioctl", "aiostatus"))
    stop_start = measure(STOP_START)
    status_ms = measure(STATUS, last_line_of="stderr")

    rows = [
        ("heap per task, caller-named (B)", "%.0f" % named, "%.0f" % raw,
         "<= 1.6x raw", "%.2fx" % (named / raw), named <= 1.6 * raw),
        ("heap per task, auto-named (B)", "%.0f" % auto, "%.0f" % raw,
         "(name string)", "%.2fx" % (auto / raw), None),
        ("tasks that fit in a 64 KB heap", "%d" % fit_named, "%d" % fit_raw,
         ">= 200", "", fit_named >= 200),
        ("import aioctl (B)", "%.0f" % imp_ctl, "", "<= 6144", "", imp_ctl <= 6144),
        ("import aiostatus, on first view (B)", "%.0f" % imp_status, "", "(lazy)", "", None),
        ("stop+start per task (us)", "%.1f" % stop_start, "", "", "", None),
        ("status() of 100 tasks (ms)", "%.2f" % status_ms, "", "<= 10", "", status_ms <= 10),
    ]
    head = ("measure", "mpsysd", "raw asyncio", "target", "ratio", "met")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    print("mpsysd bench: unix port, modules compiled by mpy-cross, 64-bit heap sizes")
    for row in [head] + rows:
        met = row[5] if row is head else {True: "yes", False: "NO", None: ""}[row[5]]
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:5], widths)) + "  " + met)


if __name__ == "__main__":
    main()
