#!/usr/bin/env python3
"""make bench: RAM and speed of mpsysd on the unix port, beside raw asyncio.

Each measurement runs in its own MicroPython process, with the project
compiled by mpy-cross (as a board runs it), and prints one number; this
script puts them in a table against the budgets of shared/DESIGN.md.
A benchmark, not a test: it reports, it does not fail on a missed target.
Host-side script (CPython).
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

MICROPYTHON = os.path.join(ROOT, ".build", "bin", "micropython")
CROSS = os.path.join(ROOT, ".build", "bin", "mpy-cross")
APP = os.path.join(ROOT, ".build", "bench")
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


SCHEDULE = PRELUDE + """
import aioctl, aioschedule
N = 20
runs = []
async def job():
    runs.append(time.ticks_ms())
async def main():
    aioctl.enter(job, (), {}, "job", start=False)
    t0 = time.ticks_ms()
    aioschedule.schedule("job", start_in=0.1, repeat=0.05)
    while len(runs) < N:
        await asyncio.sleep_ms(10)
    late = [abs(time.ticks_diff(t, t0) - (100 + 50 * i)) for i, t in enumerate(runs)]
    print(max(late))
asyncio.run(main())
"""

SERVICES = PRELUDE + """
import aioctl, aioservice
async def main():
    before = heap()
    t0 = time.ticks_us()
    await aioservice.boot(debug=False, config=False)
    boot_ms = time.ticks_diff(time.ticks_us(), t0) / 1000
    aioservice.release()
    t0 = time.ticks_us()
    aioservice.init(debug=False, config=False)
    init_ms = time.ticks_diff(time.ticks_us(), t0) / 1000
    aioservice.release()
    await asyncio.sleep_ms(10)
    print(boot_ms, init_ms, (heap() - before) / 40)
asyncio.run(main())
"""

TRIVIAL = """\
import asyncio
import aioctl
from aioclass import Service


class S%(n)d(Service):
    def __init__(self, name):
        super().__init__(name)
        self.type = "%(kind)s"

    @aioctl.aiotask
    async def task(self, log=None):
        %(body)s


service = S%(n)d("%(name)s")
"""


JOURNAL = PRELUDE + """
import aiolog
from journal import Journal
N = 2000
before = heap()
j = Journal(4096)
beyond = heap() - before - 4096
log = aiolog.getLogger("bench", stream=j)
text = "[hello.service] hello #12, every 5 s\\n"
t0 = time.ticks_us()
for i in range(N):
    j.write(text)
write_us = time.ticks_diff(time.ticks_us(), t0) / N
t0 = time.ticks_us()
for i in range(N):
    log.info("[hello.service] hello #%d, every %d s", i, 5)
log_us = time.ticks_diff(time.ticks_us(), t0) / N
print(beyond, write_us, log_us)
"""


SOAK = PRELUDE + """
import aioctl, aioservice
SECONDS = %d
async def main():
    aioservice.init(debug=False)
    aioservice.release()
    w = aioservice.service("watcher")
    await asyncio.sleep(2)  # warm up: every code path has run once
    h0, r0, lo, hi = heap(), w.restarts, None, 0
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < SECONDS * 1000:
        await asyncio.sleep(1)
        h = heap()
        lo, hi = h if lo is None else min(lo, h), max(hi, h)
    secs = time.ticks_diff(time.ticks_ms(), t0) / 1000
    steady = aioctl.group().tasks["steady.service"].state == "running"
    print(h0, heap(), lo, hi, (w.restarts - r0) / secs, steady)
asyncio.run(main())
"""

FLAKY = """\
import asyncio
import aioctl
from aioclass import Service


class Flaky(Service):
    @aioctl.aiotask
    async def task(self, log=None):
        await asyncio.sleep_ms(1)
        raise ValueError("soak")


service = Flaky("flaky")
"""

STEADY = FLAKY.replace("Flaky", "Steady").replace('"flaky"', '"steady"').replace(
    "        await asyncio.sleep_ms(1)\n        raise ValueError(\"soak\")",
    "        while True:\n            await asyncio.sleep_ms(10)")


def make_soak(app):
    """A service that fails at once, forever, beside a steady one, with the watcher."""
    folder = os.path.join(app, "aioservices", "services")
    shutil.rmtree(os.path.join(app, "aioservices"), ignore_errors=True)
    shutil.copytree(os.path.join(LIB, "aioservices"), os.path.join(app, "aioservices"))
    for name, source in (("flaky", FLAKY), ("steady", STEADY)):
        src = os.path.join(app, name + "_service.py")
        with open(src, "w") as f:
            f.write(source)
        subprocess.run([CROSS, "-o", os.path.join(folder, name + "_service.mpy"), src],
                       check=True)
        os.remove(src)
    with open(os.path.join(app, "services.config"), "w") as f:
        f.write('{"flaky": {"restart_delay": 0, "max_restarts": 1000000000, '
                '"restart_window": 1}, "watcher": {"kwargs": {"period": 0.005}}}')


def make_services(app):
    """20 trivial core and 20 runtime services, compiled as a board would hold them
    (and no watcher: this measures the services alone)."""
    folder = os.path.join(app, "aioservices", "services")
    shutil.rmtree(os.path.join(app, "aioservices"), ignore_errors=True)
    shutil.copytree(os.path.join(LIB, "aioservices"), os.path.join(app, "aioservices"))
    os.remove(os.path.join(folder, "watcher_service.mpy"))
    for n in range(40):
        kind, body = (("core.service", "return %d" % n) if n < 20 else
                      ("runtime.service", "await asyncio.sleep(1000)"))
        name = "s%d" % n
        src = os.path.join(app, name + "_service.py")
        with open(src, "w") as f:
            f.write(TRIVIAL % {"n": n, "kind": kind, "body": body, "name": name})
        subprocess.run([CROSS, "-o", os.path.join(folder, name + "_service.mpy"), src],
                       check=True)
        os.remove(src)


def measure(code, heap="256K", last_line_of="stdout", cwd=None):
    res = subprocess.run([MICROPYTHON, "-X", "heapsize=" + heap, "-c", code], cwd=cwd,
                         env=dict(os.environ, MICROPYPATH=":".join(
                             (".frozen", LIB, os.path.join(LIB, "tools", "logging")))),
                         capture_output=True, text=True, timeout=300)
    out = res.stdout if last_line_of == "stdout" else res.stderr
    if res.returncode:
        sys.exit("bench: a measurement failed:\n" + res.stderr)
    return [float(v) if v not in ("True", "False") else v == "True"
            for v in out.strip().splitlines()[-1].split()]


def main():
    compile_mpy.compile_to(LIB)
    (raw,) = measure(PER_TASK % "raw")
    (named,) = measure(PER_TASK % "named")
    (auto,) = measure(PER_TASK % "auto")
    (fit_raw,) = measure(CAPACITY % "raw", heap="64K")
    (fit_named,) = measure(CAPACITY % "named", heap="64K")
    (imp_ctl,) = measure(IMPORT % ("", "aioctl"))
    (imp_svc,) = measure(IMPORT % (", aioctl", "aioservice"))
    (imp_mgr,) = measure(IMPORT % (", aioctl, aioservice", "aiomanager"))
    (imp_tasks,) = measure(IMPORT % (", aioctl", "aiotasks"))
    (imp_status,) = measure(IMPORT % (", aioctl, aiotasks", "aiostatus"))
    (stop_start,) = measure(STOP_START)
    (status_ms,) = measure(STATUS, last_line_of="stderr")
    (late_ms,) = measure(SCHEDULE)
    journal_beyond, write_us, log_us = measure(JOURNAL)
    soak_app = os.path.join(APP, "soak")
    os.makedirs(soak_app, exist_ok=True)
    make_soak(soak_app)
    soak_s = int(os.environ.get("SOAK_SECONDS", "180"))
    print("bench: soak of %d s (SOAK_SECONDS) under way..." % soak_s, flush=True)
    h0, h1, lo, hi, per_s, steady = measure(SOAK % soak_s, heap="96K", cwd=soak_app)
    os.makedirs(APP, exist_ok=True)
    make_services(APP)
    boot_ms, init_ms, per_service = measure(SERVICES, cwd=APP)

    rows = [
        ("heap per task, caller-named (B)", "%.0f" % named, "%.0f" % raw,
         "<= 1.6x raw", "%.2fx" % (named / raw), named <= 1.6 * raw),
        ("heap per task, auto-named (B)", "%.0f" % auto, "%.0f" % raw,
         "(name string)", "%.2fx" % (auto / raw), None),
        ("tasks that fit in a 64 KB heap", "%d" % fit_named, "%d" % fit_raw,
         ">= 200", "", fit_named >= 200),
        ("import aioctl (B)", "%.0f" % imp_ctl, "", "<= 6144", "", imp_ctl <= 6144),
        ("import aioctl + aioservice: core (B)", "%.0f" % (imp_ctl + imp_svc), "", "<= 12288",
         "", imp_ctl + imp_svc <= 12288),
        ("  + aiomanager, while booting (B)", "%.0f" % imp_mgr, "", "(released)", "", None),
        ("  + aiotasks, lazy (B)", "%.0f" % imp_tasks, "", "(lazy)", "", None),
        ("  + aiostatus, on first view (B)", "%.0f" % imp_status, "", "(lazy)", "", None),
        ("stop+start per task (us)", "%.1f" % stop_start, "", "", "", None),
        ("status() of 100 tasks (ms)", "%.2f" % status_ms, "", "<= 10", "", status_ms <= 10),
        ("schedule: worst lateness of 20 runs (ms)", "%.0f" % late_ms, "", "<= 20", "",
         late_ms <= 20),
        ("boot() of 20 trivial core services (ms)", "%.1f" % boot_ms, "", "", "", None),
        ("init() of 20 trivial runtime services (ms)", "%.1f" % init_ms, "", "", "", None),
        ("heap per loaded service (B)", "%.0f" % per_service, "", "", "", None),
        ("journal: heap beyond its 4 KB buffer (B)", "%.0f" % journal_beyond, "", "", "", None),
        ("journal: write() of a line (us)", "%.1f" % write_us, "", "", "", None),
        ("journal: log.info() with timestamp (us)", "%.1f" % log_us, "", "", "", None),
        ("soak %d s: heap at start / end (B)" % soak_s, "%d / %d" % (h0, h1), "", "no growth",
         "", h1 <= h0 + 256),
        ("soak: heap low / high (B)", "%d / %d" % (lo, hi), "", "", "", None),
        ("soak: restarts per second", "%.0f" % per_s, "", "", "", None),
        ("soak: steady neighbour still running", "yes" if steady else "NO", "", "", "", None),
    ]
    head = ("measure", "mpsysd", "raw asyncio", "target", "ratio", "met")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    print("mpsysd bench: unix port, modules compiled by mpy-cross, 64-bit heap sizes")
    for row in [head] + rows:
        met = row[5] if row is head else {True: "yes", False: "NO", None: ""}[row[5]]
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:5], widths)) + "  " + met)


if __name__ == "__main__":
    main()
