#!/usr/bin/env python3
"""The whole app's RAM, for make bench: main.py with the journal, the
watcher and the example services, laid out as a board's filesystem
(as `make mpy` makes it, or as mip installs a package), run on
the unix port and looked at from a task of its own (bench_probe) once it
has booted. Also where the heap goes: each module's import cost.

`python3 scripts/bench_app.py` prints the per-module table alone.
Host-side script (CPython).
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_dist  # noqa: E402
import make_packages  # noqa: E402

BIN = os.path.join(os.environ.get("MPSYSD_BUILD") or os.path.join(ROOT, ".build"), "bin")
INTERPRETER = {32: os.path.join(BIN, "micropython32"), 64: os.path.join(BIN, "micropython")}
CROSS = os.path.join(BIN, "mpy-cross")
WORK = os.path.join(ROOT, ".build", "bench")
HEAPINFO = os.path.join(ROOT, "tests", "mplib", "heapinfo.py")
BOOT_MS = 2500  # main.py has booted and started everything by then

# Imported instead of main.py: a task that waits for the boot, looks at the
# app as a user would at the prompt, prints one BENCH line and exits.
PROBE = """\
import asyncio
import sys

import aioctl
from heapinfo import heap

WAIT_MS = %(wait)d
EXPECT = %(expect)r  # tasks that must be running after the boot


def trouble():
    tasks = aioctl.group().tasks
    bad = [n for n in aioctl.select() if tasks[n].state in ("ERROR", "failed")]
    return bad + [n for n in EXPECT if n not in tasks or tasks[n].state != "running"]


def typed(line):
    # A line typed at the prompt: compiled, and run in a frame of its own
    # (a call made in look()'s own frame could stay referenced from it).
    return eval(line, globals())


async def probe():
    try:
        await look()
    except BaseException as e:  # SystemExit too: exit with the app, whatever happened
        if not isinstance(e, SystemExit):
            print("PROBE", repr(e))
        sys.exit(0 if isinstance(e, SystemExit) else 3)


async def look():
    import micropython

    await asyncio.sleep_ms(WAIT_MS)
    bad = trouble()
    for line in ("aioctl.status()", "aioctl.top()", "aioctl.log()"):
        typed(line)
    low, errors = 0, 0
%(churn)s    free, largest = heap()
    print("MODULES", " ".join(sorted(sys.modules)))
    print("TASKS", len(aioctl.group().tasks))
    micropython.qstr_info()
    print("BENCH", ",".join(bad) or "-", free, largest, low, errors)
    raise SystemExit


asyncio.create_task(probe())
import main  # noqa: E402,F401  (runs the app until probe() exits)
"""

# The churn of target c: ROUNDS of load/unload of a service with every view
# in between, as an hour of prompt use would do (compiled as bench_churn).
CHURN_PROBE = """\
import asyncio

import aioctl
import aioservice
from heapinfo import heap

VIEWS = ("aioctl.status()", "aioctl.status('churn.service', debug=True)", "aioctl.top()",
         "aioctl.stats()", "aioservice.status()", "aioctl.log()")


def typed(line):
    # A line typed at the prompt: compiled, and run in a frame of its own.
    return eval(line, globals())


async def churn(rounds):
    import os

    low, errors = 1 << 30, 0
    os.rename("churn_service.mpy", "lib/aioservices/services/churn_service.mpy")
    for i in range(rounds):
        try:
            typed("aioservice.load('churn')")
            await asyncio.sleep_ms(10)
            for line in VIEWS:
                typed(line)
            typed("aioservice.unload('churn')")
        except MemoryError:
            errors += 1
        await asyncio.sleep_ms(10)
        low = min(low, heap()[1])
    return low, errors
"""

SEED = """\
# %(name)s: a small service written to the seed's conventions.
import asyncio

import aioctl
from aioclass import Service


class %(cls)s(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "%(name)s: counts every %(period)d s"
        self.type = "runtime.service"
        self.args = [%(period)d]
        self.count = 0

    def show(self):
        return "Count", str(self.count)

    @aioctl.aiotask
    async def task(self, period, log=None, loglevel="INFO"):
        self.add_logger(log, level=loglevel)
        while True:
            self.count += 1
            self.log.info("count %%d" %% self.count)
            await asyncio.sleep(period)


service = %(cls)s("%(name)s")
"""
SEEDS = ["seed%d" % i for i in range(1, 7)]
CHURN = SEED % {"name": "churn", "cls": "ChurnService", "period": 1}
APP_TASKS = ["hello.service", "watcher.service", "prompt"]


def compile_into(src_text, dst):
    src = dst[:-4] + ".py"
    with open(src, "w") as f:
        f.write(src_text)
    # its source named by the module's name, as the project's modules are
    # (compile_mpy.source_name): a file name or path would be a qstr for good
    name = os.path.basename(dst)[:-4]
    subprocess.run([CROSS, "-o", name + ".mpy", "-s", name, name + ".py"], check=True,
                   cwd=os.path.dirname(src))
    os.remove(src)


def lay_out(name, mip=None, seeds=(), churn=False, rounds=0, expect=APP_TASKS):
    """An app tree in WORK/name; returns its path. mip: a package file
    (app.json: compiled, app-src.json: all sources) laid out as mip installs
    it, with the seed services as sources, as a user drops them in; else
    `make mpy`'s tree with the seeds compiled."""
    tree = os.path.join(WORK, name)
    if mip:
        shutil.rmtree(tree, ignore_errors=True)
        for dest, src in make_packages.packages()[mip]:
            os.makedirs(os.path.dirname(os.path.join(tree, dest)), exist_ok=True)
            shutil.copy(os.path.join(ROOT, src), os.path.join(tree, dest))
    else:
        make_dist.build(tree)
    services = os.path.join(tree, "lib", "aioservices", "services")
    for n, seed in enumerate(seeds):
        text = SEED % {"name": seed, "cls": seed.title() + "Service", "period": 5 + n}
        if mip:
            with open(os.path.join(services, seed + "_service.py"), "w") as f:
                f.write(text)
        else:
            compile_into(text, os.path.join(services, seed + "_service.mpy"))
    if churn:  # moved into services/ by the probe, once the app has booted
        compile_into(CHURN, os.path.join(tree, "churn_service.mpy"))
        compile_into(CHURN_PROBE, os.path.join(tree, "bench_churn.mpy"))
    compile_into(open(HEAPINFO).read(), os.path.join(tree, "heapinfo.mpy"))
    expect = list(expect) + [s + ".service" for s in seeds]
    # the churn of c is a module of its own, named only in c's probe: a and b
    # carry neither its code nor its names (each a qstr for good)
    churn_call = ("    from bench_churn import churn\n\n    low, errors = await churn(%d)\n"
                  % rounds) if rounds else ""
    compile_into(PROBE % {"wait": BOOT_MS, "churn": churn_call, "expect": expect},
                 os.path.join(tree, "bench_probe.mpy"))
    return tree


def run_app(tree, bits, heap):
    """Run the app in tree; a dict of what the probe saw (ok False when the
    app did not boot and run: a task down, a MemoryError, no probe line)."""
    # The prompt runs, as on a board: its stdin is a pipe left open (nothing typed).
    # lib relative to the app, as a board's /lib: each module's __file__ is a
    # qstr, and a long absolute path would cost heap a board does not spend
    env = dict(os.environ, MICROPYPATH=".frozen:lib")
    env.pop("MPSYSD_PROMPT", None)
    for f in ("safemode.count", "services.config.new"):
        if os.path.exists(os.path.join(tree, f)):
            os.remove(os.path.join(tree, f))
    churn = os.path.join(tree, "lib", "aioservices", "services", "churn_service.mpy")
    if os.path.exists(churn):  # moved there by an earlier run's probe: out of services/ again
        os.rename(churn, os.path.join(tree, "churn_service.mpy"))
    typed, keys = os.pipe()  # keys stays open here until the app has exited
    try:
        res = subprocess.run([INTERPRETER[bits], "-X", "heapsize=" + heap, "-c",
                              "import bench_probe"], cwd=tree, env=env, capture_output=True,
                             text=True, timeout=60, stdin=typed)
        out, rc = res.stdout + res.stderr, res.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = str(e.stdout or "") + str(e.stderr or ""), -1
    finally:
        os.close(typed)
        os.close(keys)
    found = re.search(r"^BENCH (\S+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    seen = {"ok": False, "memory_error": "MemoryError" in out, "out": out}
    if not found:
        return seen
    bad, free, largest, low, errors = found.groups()
    seen.update(bad=bad, free=int(free), largest=int(largest), low=int(low),
                errors=int(errors), modules=re.search("^MODULES (.*)$", out, re.M).group(1),
                tasks=int(re.search(r"^TASKS (\d+)$", out, re.M).group(1)),
                qstr=int(re.search(r"n_total_bytes=(\d+)", out).group(1)),
                names=int(re.search(r"n_qstr=(\d+)", out).group(1)))
    seen["ok"] = rc == 0 and bad == "-" and not seen["memory_error"]
    return seen


def smallest_heap(tree, bits, low_k, high_k, step_k=8, good=None):
    """The smallest heap (K, a multiple of step_k) in which the app boots
    and runs (and good(seen) holds, when given), by bisection; None if not
    even high_k."""
    def fits(k):
        seen = run_app(tree, bits, "%dK" % k)
        return seen["ok"] and (good is None or good(seen))

    sizes = list(range(low_k, high_k + 1, step_k))
    if not fits(sizes[-1]):
        return None
    lo, hi = -1, len(sizes) - 1  # sizes[hi] works
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(sizes[mid]):
            hi = mid
        else:
            lo = mid
    return sizes[hi]


# Each module's import cost: first what it pulls in (its project
# dependencies), then, in a fresh interpreter with those already imported,
# what importing it alone adds to the heap and to the qstr pool.
MODULES = ["aioctl", "aiotasks", "aiostatus", "aioclass", "aioservice", "aiomanager",
           "aioconfig", "aioschedule", "journal", "aiolog", "aiogrep", "service_logger",
           "aioservices.services.watcher_service", "aioprompt", "safemode", "aioshutdown",
           "atomicfile", "filelog", "aioservices.services.hello_service",
           "aioservices.services.world_service", "aioservices.services.wifi_service",
           "aioservices.services.clock_service"]
IMPORT = """\
import gc, sys, micropython, asyncio
%s
before = set(sys.modules)
gc.collect()
a0 = gc.mem_alloc()
micropython.qstr_info()
import %s
gc.collect()
a1 = gc.mem_alloc()
micropython.qstr_info()
print("DEPS", " ".join(sorted(m for m in sys.modules if m not in before)))
print("HEAP", a1 - a0)
"""


def import_cost(tree, bits, module, deps=()):
    """(heap bytes, qstr pool bytes, modules it brought) of importing module."""
    pre = "".join("import %s\n" % d for d in deps)
    res = subprocess.run([INTERPRETER[bits], "-X", "heapsize=64K", "-c",
                          IMPORT % (pre, module)], cwd=tree, capture_output=True, text=True,
                         env=dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(tree, "lib")),
                         timeout=60)
    if res.returncode:
        raise RuntimeError("import %s: %s" % (module, res.stderr.strip().splitlines()[-1]))
    q = [int(v) for v in re.findall(r"n_total_bytes=(\d+)", res.stdout)]
    brought = re.search("^DEPS (.*)$", res.stdout, re.M).group(1).split()
    return int(re.search(r"^HEAP (-?\d+)$", res.stdout, re.M).group(1)), q[1] - q[0], brought


def breakdown(bits=32):
    """Rows (module, own heap, own qstr, with deps heap, deps): each module's cost."""
    tree = lay_out("modules")
    rows = []
    for m in MODULES:
        total, _, brought = import_cost(tree, bits, m)
        deps = [d for d in brought if d != m and not d.startswith(m + ".")]
        own, qstr, _ = import_cost(tree, bits, m, deps)
        rows.append((m, own, qstr, total, [d for d in deps if d != "aioservices"
                                            and d != "aioservices.services"]))
    return rows


def print_breakdown(rows, bits=32):
    print("import cost on the %d-bit build (bytes of heap; own = with its project "
          "dependencies already imported)" % bits)
    print("%-38s %6s %6s %8s  %s" % ("module", "own", "qstr", "w/ deps", "dependencies"))
    for m, own, qstr, total, deps in rows:
        print("%-38s %6d %6d %8d  %s" % (m.replace("aioservices.services.", "services/"), own,
                                          qstr, total, " ".join(deps)))


if __name__ == "__main__":
    print_breakdown(breakdown())
