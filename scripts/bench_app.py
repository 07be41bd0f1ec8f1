#!/usr/bin/env python3
"""The whole app's RAM, for make bench: main.py with the journal, the
watcher and the example services, laid out as a board's filesystem
(as `make mpy` makes it, or as mip installs a package), run on
the unix port and looked at through its prompt once it has booted, as a
user would. Also where the heap goes: each module's import cost.

`python3 scripts/bench_app.py` prints the per-module table alone.
Host-side script (CPython).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

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
QUIET_S = 8  # silent this long, the app printed all it will (a line ran out of heap)

# What is typed at the app's prompt once it has booted, as a user would: the
# views, then a task that reads the heap once the prompt is idle again (a
# line that runs holds its own compiled code, and while it was compiled
# aioline, 1.2 KB: the app gives both back). heapinfo, the bisection that finds the
# largest block, is imported by that task once it has read the free heap.
# After it has read, the lines that tell the bench the app's state (each
# under 255 bytes: the prompt's limit).
# Every name typed is interned for good, and so is a string of up to 10
# characters: the bench's own are few (the state lines use the app's), and
# its markers longer than that.
VIEWS = ("aioctl.status()", "aioctl.top()", "aioctl.log()")
READ = ("async def heap(): await asyncio.sleep_ms(100); gc.collect(); free = gc.mem_free(); "
        "import heapinfo, micropython; micropython.qstr_info(); "
        "print('bench: heap %d %d' % (free, heapinfo.heap()[1]))",
        "", "asyncio.create_task(heap())")
# (printed item by item: one joined line would want a block of its own,
# which the reading, not the app, needs)
STATE = ("import sys; print('bench: modules', *sorted(sys.modules))",
         "print('bench: tasks', *(name + '=' + aioctl.group().tasks[name].state "
         "for name in aioctl.select()))",
         "print('bench: done')", "raise SystemExit")
# The churn of target c, before the views: ROUNDS of load/unload of a
# service with every view in between, as an hour of prompt use would do;
# low: the smallest largest free block seen after a round.
CHURN_START = ("import os; os.rename('churn_service.mpy', "
               "'lib/aioservices/services/churn_service.mpy')",
               "from heapinfo import heap; low = 1 << 30; print('bench: churn')")
CHURN_ROUND = ("aioservice.load('churn')", "aioctl.status()",
               "aioctl.status('churn.service', debug=True)", "aioctl.top()", "aioctl.stats()",
               "aioservice.status()", "aioctl.log()", "aioservice.unload('churn')",
               "low = min(low, heap()[1])")
CHURN_END = ("print('bench: low %d' % low)",)


def typed_lines(rounds):
    """What run_app types at the prompt: c's rounds (if any), the views and
    the heap's reading; then, once that is read, the state."""
    churn = CHURN_START + CHURN_ROUND * rounds + CHURN_END if rounds else ()
    return churn + VIEWS + READ, STATE

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
TYPED, EXPECTED = "bench_typed.txt", "bench_expected.txt"  # in the tree, for run_app
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
    `make mpy`'s tree with the seeds compiled. What run_app will type at the
    prompt, and the tasks it expects running, are kept in the tree."""
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
    if churn:  # moved into services/ by the first typed line, once the app has booted
        compile_into(CHURN, os.path.join(tree, "churn_service.mpy"))
    compile_into(open(HEAPINFO).read(), os.path.join(tree, "heapinfo.mpy"))
    with open(os.path.join(tree, TYPED), "w") as f:
        json.dump(typed_lines(rounds if churn else 0), f)
    with open(os.path.join(tree, EXPECTED), "w") as f:
        f.write(" ".join(list(expect) + [s + ".service" for s in seeds]))
    return tree


def run_app(tree, bits, heap):
    """Run the app in tree and type at its prompt; a dict of what it
    printed (ok False when the app did not boot and run: a task down or
    failed, a MemoryError, no heap line)."""
    # lib relative to the app, as a board's /lib: each module's __file__ is a
    # qstr, and a long absolute path would cost heap a board does not spend
    env = dict(os.environ, MICROPYPATH=".frozen:lib")
    env.pop("MPSYSD_PROMPT", None)  # whole lines, as a terminal in line mode sends them
    for f in ("safemode.count", "services.config.new"):
        if os.path.exists(os.path.join(tree, f)):
            os.remove(os.path.join(tree, f))
    churn = os.path.join(tree, "lib", "aioservices", "services", "churn_service.mpy")
    if os.path.exists(churn):  # moved there by an earlier run: out of services/ again
        os.rename(churn, os.path.join(tree, "churn_service.mpy"))
    with open(os.path.join(tree, TYPED)) as f:
        first, then = json.load(f)
    with open(os.path.join(tree, EXPECTED)) as f:
        expect = f.read().split()
    # main.py run as a board runs it, as __main__, with "" (not its directory) on the path
    app = subprocess.Popen([INTERPRETER[bits], "-X", "heapsize=" + heap, "-m", "main"],
                           cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    out = []  # what the app printed so far, read by a thread of its own
    reader = threading.Thread(target=lambda: out.extend(iter(app.stdout.readline, b"")))
    reader.start()
    try:
        time.sleep(BOOT_MS / 1000)  # typed once the app has booted
        type_in(app, first)
        deadline = time.monotonic() + 120
        seen, quiet = 0, time.monotonic() + QUIET_S
        while app.poll() is None and time.monotonic() < min(deadline, quiet) and not any(
                line.startswith(b"bench: heap ") for line in out[-8:]):
            if len(out) != seen:  # still printing: the typed lines still run
                seen, quiet = len(out), time.monotonic() + QUIET_S
            time.sleep(0.05)
        type_in(app, then)  # once the heap is read (or the app has ended)
        app.stdin.close()
        rc = app.wait(max(1, deadline - time.monotonic()))
    except (subprocess.TimeoutExpired, OSError):
        app.kill()
        rc = -1
    reader.join()
    return seen_in(b"".join(out).decode(errors="replace"), rc, expect)


def type_in(app, lines):
    try:
        app.stdin.write("".join(line + "\n" for line in lines).encode())
        app.stdin.flush()
    except OSError:  # the app has ended: what it printed says why
        pass


def seen_in(out, rc, expect):
    """What the typed lines printed, as a dict (see run_app)."""
    seen = {"ok": False, "memory_error": "MemoryError" in out, "out": out}
    found = re.search(r"bench: heap (\d+) (\d+)", out)
    tasks = re.search(r"bench: tasks (.*)", out)
    if not found or not tasks or "bench: done" not in out:
        return seen
    states = dict(t.split("=", 1) for t in tasks.group(1).split())
    bad = [n for n, state in states.items() if state in ("ERROR", "failed")]
    bad += [n for n in expect if states.get(n) != "running"]
    seen.update(bad=",".join(bad) or "-", free=int(found.group(1)),
                largest=int(found.group(2)), tasks=len(states),
                modules=re.search("bench: modules (.*)", out).group(1),
                qstr=int(re.search(r"n_total_bytes=(\d+)", out).group(1)),
                names=int(re.search(r"n_qstr=(\d+)", out).group(1)))
    churned = out.find("bench: churn")
    low = re.search(r"bench: low (\d+)", out)
    if churned >= 0 and low:  # c: every MemoryError said in the rounds counts
        seen.update(low=int(low.group(1)), errors=out.count("MemoryError", churned, low.start()))
    seen["ok"] = rc == 0 and not bad and not seen["memory_error"]
    return seen


def smallest_heap(tree, bits, low_k, high_k, step_k=8, good=None, confirm=0):
    """The smallest heap (K, a multiple of step_k) in which the app boots
    and runs (and good(seen) holds, when given), by bisection; None if not
    even high_k. confirm: more runs the size found must pass too (near the
    edge a size passes some runs and fails others); when one fails, the next
    size up is tried so."""
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
    while hi < len(sizes) - 1 and not all(fits(sizes[hi]) for _ in range(confirm)):
        hi += 1
    return sizes[hi]


# Each module's import cost: first what it pulls in (its project
# dependencies), then, in a fresh interpreter with those already imported,
# what importing it alone adds to the heap and to the qstr pool.
MODULES = ["aioctl", "aiojob", "aiolazy", "aiotasks", "aiostatus", "aioclass", "aioservice",
           "aiomanager", "aioconfig", "aioschedule", "journal", "aiolog", "aiogrep",
           "service_logger", "aioservices.services.watcher_service", "aioprompt", "safemode",
           "aioshutdown", "atomicfile", "filelog", "aioservices.services.hello_service",
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
