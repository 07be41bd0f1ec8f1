#!/usr/bin/env python3
"""make bench: RAM and speed of mpsysd on the unix port, beside raw asyncio.

Each measurement runs in its own MicroPython process, with the project
compiled by mpy-cross (as a board runs it), and prints one number; this
script puts them in a table against the budgets of shared/DESIGN.md. Every
RAM figure is measured on the 32-bit build (micropython32: a board's object
sizes), which the targets are for, with the 64-bit figure beside it; speed
figures come from the 64-bit build. The whole app's figures are in
bench_app.py, and so is the table of each module's import cost.
A benchmark, not a test: it reports, it does not fail on a missed target.
Host-side script (CPython).
"""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench_app  # noqa: E402
import compile_mpy  # noqa: E402

INTERPRETER = bench_app.INTERPRETER
CROSS = bench_app.CROSS
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
    keep = [None] * 1500  # raw tasks need a place; managed ones live in the table
else:
    import aioctl
async def main():
    n = 0
    try:
        while n < 1500:
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
    h1 = heap()  # before the look below, which loads the record views
    steady = aioctl.group().tasks["steady.service"].state == "running"
    print(h0, h1, lo, hi, (w.restarts - r0) / secs, steady)
asyncio.run(main())
"""

# The soak again, with a greedy service beside them: it takes the whole heap
# and fails with MemoryError every run; supervision must be alive at the end.
GREEDY_SOAK = PRELUDE + """
import aioctl, aioservice
SECONDS = %d
async def main():
    aioservice.init(debug=False)
    aioservice.release()
    w = aioservice.service("watcher")
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < SECONDS * 1000:
        await asyncio.sleep(1)
    recs = aioctl.group().recs
    alive = [n for n in ("watcher.service", "steady.service") if recs[n][aioctl.END] is None]
    # an end the full heap kept from being recorded: a service shown running, dead
    lost = [n for n, r in recs.items() if r[aioctl.END] is None and r[aioctl.TASK].done()]
    print(len(alive) == 2 and not lost, w.restarts, w.total_errors)
asyncio.run(main())
"""

GREEDY = """\
import asyncio
import aioctl
from aioclass import Service


class Greedy(Service):
    @aioctl.aiotask
    async def task(self, log=None):
        await asyncio.sleep_ms(50)
        keep = []
        while True:  # until MemoryError: a leak
            keep.append(bytearray(64))


service = Greedy("greedy")
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


def make_soak(app, greedy=False):
    """A service that fails at once, forever, beside a steady one, with the
    watcher; greedy: and one that takes the whole heap every run."""
    folder = os.path.join(app, "aioservices", "services")
    shutil.rmtree(os.path.join(app, "aioservices"), ignore_errors=True)
    shutil.copytree(os.path.join(LIB, "aioservices"), os.path.join(app, "aioservices"))
    for name, source in (("flaky", FLAKY), ("steady", STEADY), ("greedy", GREEDY)):
        src = os.path.join(app, name + "_service.py")
        with open(src, "w") as f:
            f.write(source)
        subprocess.run([CROSS, "-o", os.path.join(folder, name + "_service.mpy"), src],
                       check=True)
        os.remove(src)
    with open(os.path.join(app, "services.config"), "w") as f:
        f.write('{"flaky": {"restart_delay": 0, "max_restarts": 1000000000, '
                '"restart_window": 1}, "greedy": {"enabled": %s, "restart_delay": 0.2, '
                '"max_restarts": 1000000000, "restart_window": 1}, '
                '"watcher": {"kwargs": {"period": 0.005}}}' % ("true" if greedy else "false"))


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


FAILED = []  # (what, why) of measurements that did not complete


def measure(code, heap="256K", last_line_of="stdout", cwd=None, bits=64, what=""):
    """The numbers of the last line the snippet prints; None when it fails."""
    if cwd is None:  # not the checkout: `-c` puts the working directory first on
        cwd = os.path.join(APP, "empty")  # the path, and its .py would be compiled
        os.makedirs(cwd, exist_ok=True)
    res = subprocess.run([INTERPRETER[bits], "-X", "heapsize=" + heap, "-c", code], cwd=cwd,
                         env=dict(os.environ, MICROPYPATH=":".join(
                             (".frozen", LIB, os.path.join(LIB, "tools", "logging")))),
                         capture_output=True, text=True, timeout=600)
    out = res.stdout if last_line_of == "stdout" else res.stderr
    if res.returncode:
        why = (res.stderr.strip().splitlines() or ["exit status %d" % res.returncode])[-1]
        FAILED.append(("%s (%d-bit, %s heap)" % (what, bits, heap), why))
        return None
    return [float(v) if v not in ("True", "False") else v == "True"
            for v in out.strip().splitlines()[-1].split()]


def both(code, **kw):
    """{32: numbers, 64: numbers} of one snippet run on each build."""
    return {bits: measure(code, bits=bits, **kw) for bits in (32, 64)}


def fmt(v, pattern="%.0f"):
    return "failed" if v is None else pattern % v


def ram_row(name, fig, raw=None, target="", limit=None, pattern="%.0f"):
    """A table row: the 32-bit and 64-bit figures (index 0 of each), raw
    asyncio's, and whether the 32-bit one meets limit(value)."""
    one = {b: None if fig.get(b) is None else fig[b][0] for b in (32, 64)}
    raw_text = "" if raw is None else "%s / %s" % (
        fmt(raw.get(32) and raw[32][0], pattern), fmt(raw.get(64) and raw[64][0], pattern))
    met = None if limit is None or one[32] is None else limit(one[32])
    return (name, fmt(one[32], pattern), fmt(one[64], pattern), raw_text, target,
            False if limit is not None and one[32] is None else met)


# b and c near their edge pass some runs and fail others: on the 32-bit build
# their smallest heap goes in 4 KB steps, and the size found must pass 2 runs more
EDGE = "(32-bit: 4K steps, 3 runs)"


def edge_heap(tree, good=None):
    """b's or c's smallest heap on the 32-bit build, searched as EDGE says."""
    return bench_app.smallest_heap(tree, 32, 60, 124, step_k=4, good=good, confirm=2)


def app_rows():
    """Targets a-c: the whole app, from make mpy and from mip, at 64 KB on the 32-bit
    build (the 64-bit build gets 128 KB: its objects are twice the size). The
    views and c's rounds are typed at the app's prompt, as a user types them."""
    views = "status(), top(), log()"
    rows = []
    compiled = bench_app.lay_out("app")
    seen = {32: bench_app.run_app(compiled, 32, "64K"),
            64: bench_app.run_app(compiled, 64, "128K")}

    def shown(r):
        if not r["ok"]:
            return "no: " + ("MemoryError" if r["memory_error"] else "down: %s" % r.get("bad"))
        return "%d / %d" % (r["free"], r["largest"])

    rows.append(("a. make mpy's app, after %s: free / largest block (B)" % views,
                 shown(seen[32]), shown(seen[64]) + " (128K)", "",
                 ">= 16384 free", seen[32]["ok"] and seen[32]["free"] >= 16384))
    names = seen[32].get("names")
    small = {32: bench_app.smallest_heap(compiled, 32, 48, 160),
             64: bench_app.smallest_heap(compiled, 64, 48, 320)}
    rows.append(("   smallest heap it boots and runs in (8K steps)", kb(small[32]), kb(small[64]),
                 "", "<= 64K", small[32] is not None and small[32] <= 64))
    mip = bench_app.lay_out("app-mip", mip="app.json", seeds=bench_app.SEEDS)
    small = {32: edge_heap(mip),
             64: bench_app.smallest_heap(mip, 64, 48, 320)}
    rows.append(("b. mip's app.json (.mpy) + 6 seed services (.py): smallest heap " + EDGE,
                 kb(small[32]), kb(small[64]), "", "<= 64K",
                 small[32] is not None and small[32] <= 64))
    at64 = bench_app.run_app(mip, 32, "64K")  # its margin: what the views leave
    rows.append(("   b at 64K, after %s: free / largest block (B)" % views, shown(at64), "", "",
                 "", None))
    churn = bench_app.lay_out("app-churn", churn=True, rounds=100)
    seen = {32: bench_app.run_app(churn, 32, "64K"), 64: bench_app.run_app(churn, 64, "128K")}

    def churned(r):
        if "low" not in r:
            return "no: " + ("MemoryError before the rounds" if r["memory_error"]
                             else "did not run")
        return "%s MemoryError; min largest %d" % (r["errors"] or "no", r["low"])

    def good(r):
        return not r["errors"] and r["low"] >= 4096

    r = seen[32]
    # the qstr pool's fifth step holds names 301 to 620; the 621st needs 4.5 KB in one block
    rows.append(("names (qstrs) interned after a's views; after c's rounds", "%s; %s" % (
        names, r.get("names")), "", "", "<= 620 (the next pool: 4.5 KB)", None))
    rows.append(("c. 100 load/unload rounds + views, 64K", churned(r),
                 churned(seen[64]) + " (128K)", "", "none; >= 4096",
                 "low" in r and not r["errors"] and not r["memory_error"] and r["low"] >= 4096))
    small = {32: edge_heap(churn, good),
             64: bench_app.smallest_heap(churn, 64, 48, 320, good=good)}
    rows.append(("   smallest heap c holds in (no MemoryError, largest >= 4 KB) " + EDGE,
                 kb(small[32]),
                 kb(small[64]), "", "<= 64K", small[32] is not None and small[32] <= 64))
    return rows


def kb(k):
    return "> max" if k is None else "%dK" % k


def main():
    compile_mpy.compile_to(LIB)
    raw = both(PER_TASK % "raw", what="raw task")
    named = both(PER_TASK % "named", what="named task")
    auto = both(PER_TASK % "auto", what="auto-named task")
    fit_raw = both(CAPACITY % "raw", heap="64K", what="raw capacity")
    fit_named = both(CAPACITY % "named", heap="64K", what="managed capacity")
    imp_ctl = both(IMPORT % ("", "aioctl"), what="import aioctl")
    imp_svc = both(IMPORT % (", aioctl", "aioservice"), what="import aioservice")
    imp_mgr = both(IMPORT % (", aioctl, aioservice", "aiomanager"), what="import aiomanager")
    imp_job = both(IMPORT % (", aioctl", "aiojob"), what="import aiojob")
    imp_tasks = both(IMPORT % (", aioctl, aiojob, aiolazy", "aiotasks"), what="import aiotasks")
    imp_status = both(IMPORT % (", aioctl, aiotasks", "aiostatus"), what="import aiostatus")
    core = {b: None if imp_ctl[b] is None or imp_svc[b] is None else
            [imp_ctl[b][0] + imp_svc[b][0]] for b in (32, 64)}
    stop_start = measure(STOP_START, what="stop+start")
    status_ms = measure(STATUS, last_line_of="stderr", what="status() speed")
    late_ms = measure(SCHEDULE, what="schedule")
    journal = both(JOURNAL, what="journal")
    soak_app = os.path.join(APP, "soak")
    os.makedirs(soak_app, exist_ok=True)
    make_soak(soak_app)
    soak_s = int(os.environ.get("SOAK_SECONDS", "180"))
    print("bench: soak of %d s (SOAK_SECONDS) under way..." % soak_s, flush=True)
    soak = measure(SOAK % soak_s, heap="64K", cwd=soak_app, bits=32, what="soak")
    greedy_s = max(5, soak_s // 6)
    make_soak(soak_app, greedy=True)
    print("bench: soak of %d s with a greedy service under way..." % greedy_s, flush=True)
    greedy = measure(GREEDY_SOAK % greedy_s, heap="64K", cwd=soak_app, bits=32,
                     what="greedy soak")
    os.makedirs(APP, exist_ok=True)
    make_services(APP)
    services = both(SERVICES, cwd=APP, what="40 services")
    print("bench: the whole app...", flush=True)
    apps = app_rows()

    def ratio(b):
        if named[b] is None or raw[b] is None:
            return None
        return [named[b][0] / raw[b][0]]

    ratios = {b: ratio(b) for b in (32, 64)}
    per_service = {b: services[b] and [services[b][2]] for b in (32, 64)}
    beyond = {b: journal[b] and [journal[b][0]] for b in (32, 64)}
    rows = [
        ram_row("heap per task, caller-named (B)", named, raw, "", None),
        ram_row("  managed / raw task", ratios, None, "<= 2x", lambda v: v <= 2.0, "%.2fx"),
        ram_row("heap per task, auto-named (B)", auto, raw, "(name string)"),
        ram_row("d. tasks that fit in a 64 KB heap", fit_named, fit_raw, ">= 300",
                lambda v: v >= 300),
        ram_row("e. import aioctl (B)", imp_ctl, None, "<= 4096", lambda v: v <= 4096),
        ram_row("   import aioctl + aioservice: core (B)", core, None, "<= 6144",
                lambda v: v <= 6144),
        ram_row("  + aiomanager, while booting (B)", imp_mgr, None, "(released)"),
        ram_row("  + aiojob, with a service (B)", imp_job, None, "(stays)"),
        ram_row("  + aiotasks, lazy (B)", imp_tasks, None, "(released)"),
        ram_row("  + aiostatus, on first view (B)", imp_status, None, "(lazy)"),
        ram_row("heap per loaded service (B)", per_service),
        ram_row("journal: heap beyond its 4 KB buffer (B)", beyond),
    ] + apps
    if soak is None:
        rows.append(("soak %d s, 64K: failed" % soak_s, "failed", "", "", "no growth", False))
    else:
        h0, h1, lo, hi, per_s, steady = soak
        rows += [
            ("soak %d s, 64K: heap at start / end (B)" % soak_s, "%d / %d" % (h0, h1), "", "",
             "no growth", h1 <= h0 + 256),
            ("soak: heap low / high (B)", "%d / %d" % (lo, hi), "", "", "", None),
            ("soak: restarts per second", "%.0f" % per_s, "", "", "", None),
            ("soak: steady neighbour still running", "yes" if steady else "NO", "", "", "",
             None),
        ]
    if greedy is None:
        rows.append(("soak with a greedy service: failed", "failed", "", "", "alive", False))
    else:
        alive, restarts, memory_errors = greedy
        rows += [
            ("soak %d s + a greedy service (MemoryError every run): watcher and neighbour "
             "alive, no end lost" % greedy_s, "yes" if alive else "NO", "", "", "alive",
             bool(alive)),
            ("  restarts / failures counted by the watcher",
             "%d / %d" % (restarts, memory_errors), "", "", "", None),
        ]
    speed = [
        ("stop+start per task (us)", fmt(stop_start and stop_start[0], "%.1f"), "", None),
        ("status() of 100 tasks (ms)", fmt(status_ms and status_ms[0], "%.2f"), "<= 10",
         status_ms is not None and status_ms[0] <= 10),
        ("schedule: worst lateness of 20 runs (ms)", fmt(late_ms and late_ms[0]), "<= 20",
         late_ms is not None and late_ms[0] <= 20),
        ("boot() of 20 trivial core services (ms)",
         fmt(services[64] and services[64][0], "%.1f"), "", None),
        ("init() of 20 trivial runtime services (ms)",
         fmt(services[64] and services[64][1], "%.1f"), "", None),
        ("journal: write() of a line (us)", fmt(journal[64] and journal[64][1], "%.1f"), "", None),
        ("journal: log.info() with timestamp (us)", fmt(journal[64] and journal[64][2], "%.1f"),
         "", None),
    ]
    print("mpsysd bench: unix port, modules compiled by mpy-cross. RAM on the 32-bit build "
          "(a board's sizes; targets apply to it), 64-bit beside it")
    table(("measure", "32-bit", "64-bit", "raw asyncio 32/64", "target", "met"), rows)
    print("\nspeed (64-bit build)")
    table(("measure", "mpsysd", "target", "met"), speed)
    for what, why in FAILED:
        print("failed: %s: %s" % (what, why))
    print()
    bench_app.print_breakdown(bench_app.breakdown(32), 32)
    try:  # the fleet's numbers need mosquitto and aiomqtt (make venv broker-deps)
        import bench_fleet

        bench_fleet.main()
    except (ImportError, RuntimeError) as e:
        print("\nfleet: not measured: %s" % e)


def table(head, rows):
    n = len(head) - 1
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(n)]
    for row in [head] + rows:
        met = row[n] if row is head else {True: "yes", False: "NO", None: ""}[row[n]]
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:n], widths)) + "  " + met)


if __name__ == "__main__":
    main()
