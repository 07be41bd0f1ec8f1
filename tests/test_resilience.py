"""Safe mode, orderly shutdown, Ctrl-C, and faults that leave the rest running."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import LIB, LOGGING, MICROPYTHON, MPLIB, ROOT, service_file

pytestmark = pytest.mark.unix_only


def start_app(mp, main_changes=(), heap="128K"):
    """main.py as `make run` runs it (128 KB here: about 64 KB on a 32-bit
    board), with constants changed for the test; returns the process."""
    with open(os.path.join(ROOT, "main.py")) as f:
        main = f.read()
    for old, new in main_changes:
        assert old in main
        main = main.replace(old, new)
    mp.write("main.py", main)
    env = dict(os.environ, MICROPYPATH=":".join((".frozen", LIB, LOGGING, MPLIB)),
               MPSYSD_PROMPT="off")
    return subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + heap, "main.py"], cwd=mp.workdir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_app(mp, seconds, **kw):
    proc = start_app(mp, **kw)
    try:
        out, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


CORE = service_file("net", kind="core.service", body="await asyncio.sleep_ms(20)\nreturn 'up'")
RUNTIME = service_file("app", body="""
    while True:
        print("app tick")
        await asyncio.sleep_ms(100)
""")


def count(mp):
    with open(os.path.join(mp.workdir, "safemode.count")) as f:
        return int(f.read())


def test_crash_loop_leads_to_safe_mode_and_a_healthy_run_clears_it(mp):
    mp.services({"net": CORE, "app": RUNTIME})
    # three boots that die before they are healthy (killed after 0.5 s)
    for boot in range(1, 4):
        rc, out = run_app(mp, 0.5)
        assert "SAFE MODE" not in out and "app tick" in out, out
        assert count(mp) == boot
    # the fourth boots in safe mode: core services and the prompt only
    rc, out = run_app(mp, 0.8, main_changes=[("HEALTHY_AFTER = 60", "HEALTHY_AFTER = 0.3")])
    assert re.search(r"^SAFE MODE: 3 boots in a row did not run healthy; only core services "
                     r"and the prompt run\. Fix the cause, then `import safemode; "
                     r"safemode\.leave\(\)` to boot normally\.$", out, re.M), out
    assert "[ OK ] Service: net.service" in out and "app tick" not in out
    assert count(mp) == 0  # it stayed up 0.3 s: healthy, so the next boot is normal
    rc, out = run_app(mp, 0.5)
    assert "SAFE MODE" not in out and "app tick" in out


def test_orderly_stops_do_not_lead_to_safe_mode(mp):
    # Three make run / Ctrl-C cycles: none is a crash, so no safe mode.
    mp.services({"net": CORE, "app": RUNTIME})
    for _ in range(4):
        proc = start_app(mp)
        time.sleep(0.4)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert "SAFE MODE" not in out and "app tick" in out, out
        assert proc.returncode == 0, out
        assert count(mp) == 0, out


def test_the_safe_mode_line_names_a_call_that_works_at_the_prompt(mp):
    mp.write("safemode.count", "7")
    r = mp.run("""
        import safemode
        safemode.begin(3)
        line = safemode.line()
        call = line[line.index("`") + 1:line.rindex("`")]
        print(call)
        exec(call, {})  # a prompt's globals hold no safemode: the call imports it
    """)
    assert r.lines == ["import safemode; safemode.leave()"], r
    assert r.rc == 75 and count(mp) == 0, r


def test_leaving_safe_mode_is_one_call(mp):
    mp.write("safemode.count", "7")
    r = mp.run("""
        import safemode
        print(safemode.begin(3))
        safemode.leave()
    """)
    assert r.lines == ["True"], r
    assert r.rc == 75  # a reset: `make run` starts the app again, now normally
    assert count(mp) == 0


def test_torn_count_file_starts_again(mp):
    mp.write("safemode.count", "\x00\x01garbage")
    r = mp.run("import safemode\nprint(safemode.begin(3), safemode.boots)")
    assert r.lines == ["False 1"], r



def test_safemode_keeps_only_what_the_running_app_needs(mp):
    # the boot's count, the line, an orderly stop load safemodex for one call
    mp.write("safemode.count", "4")
    r = mp.run("""
        import sys, safemode
        print(safemode.begin(3), safemode.boots, "safemodex" in sys.modules)
        print(safemode.line()[:39], "atomicfile" in sys.modules)
        safemode.stopped_in_order()
        print(safemode.boots, open("safemode.count").read())
        safemode.healthy()
        print(safemode.boots, open("safemode.count").read(), "safemodex" in sys.modules)
    """)
    assert r.rc == 0, r
    assert r.lines == ["True 5 False", "SAFE MODE: 4 boots in a row did not run False",
                       "4 4", "0 0 False"], r


SHUTDOWN_SERVICES = {
    "base": service_file("base", attrs="self.kwargs = {'on_stop': self.bye}").replace(
        "    @aioctl.aiotask", "    def bye(self, *a, **k):\n        print('stop base')\n"
        "        return 'base down'\n\n    @aioctl.aiotask"),
    "top": service_file("top", attrs="self.kwargs = {'require': ['base'], 'on_stop': self.bye}"
                        ).replace("    @aioctl.aiotask", "    def bye(self, *a, **k):\n"
                                  "        print('stop top')\n        return 'top down'\n\n"
                                  "    @aioctl.aiotask"),
    "polite": service_file("polite", body="""
        while not await aioservice.wait_for_shutdown(0.05):
            pass  # a round of work every 50 ms
        print("polite saw the shutdown")
        return "clean exit"
    """).replace("import aioctl\n", "import aioctl\nimport aioservice\n"),
    "stubborn": service_file("stubborn", body="""
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                pass  # ignores being stopped
    """),
}


def test_shutdown_in_reverse_dependency_order_names_stragglers(mp):
    mp.services(SHUTDOWN_SERVICES)
    r = mp.run_async("""
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(20)
        t0 = time.ticks_ms()
        stragglers = await aioservice.shutdown(0.3)
        took = time.ticks_diff(time.ticks_ms(), t0)
        print(stragglers, 250 < took < 450)
        for n in ("base", "top", "polite"):
            v = aioctl.group().tasks[n + ".service"]
            print(n, v.state, v.result)
    """.replace("aioservice.init", "import time\n        aioservice.init"))
    assert r.rc == 0, r
    lines = r.lines
    assert lines.index("shutdown: stopping top.service") < lines.index("stop top") < \
        lines.index("shutdown: stopping base.service") < lines.index("stop base")
    assert "polite saw the shutdown" in lines
    assert ("[ ERROR ] shutdown: still running after 0.3 s, cancelled: stubborn.service"
            in lines)
    assert lines[-4:] == ["['stubborn.service'] True", "base stopped base down",
                          "top stopped top down", "polite done clean exit"]


def test_a_straggler_does_not_keep_what_it_requires_from_its_on_stop(mp):
    # issue 12, item 5: stubborn requires base and swallows its cancel; base
    # still stops with its on_stop before the timeout ends, and only the
    # straggler is named (not base, nor a task that stops cleanly).
    stubborn = SHUTDOWN_SERVICES["stubborn"].replace(
        "        self.type", "        self.kwargs = {'require': ['base']}\n        self.type")
    mp.services({"base": SHUTDOWN_SERVICES["base"], "stubborn": stubborn})
    r = mp.run_async("""
        import time
        async def clean():
            await asyncio.sleep(60)
        aioservice.init(debug=False)
        aioservice.release()
        aioctl.add(clean)
        await asyncio.sleep_ms(20)
        t0 = time.ticks_ms()
        stragglers = await aioservice.shutdown(0.3)
        print(stragglers, 250 < time.ticks_diff(time.ticks_ms(), t0) < 450)
        for n in ("base.service", "clean"):
            v = aioctl.group().tasks[n]
            print(n, v.state, v.result)
    """)
    assert r.rc == 0, r
    lines = r.lines
    assert lines.count("stop base") == 1, r
    assert lines.index("shutdown: stopping stubborn.service") < \
        lines.index("shutdown: stopping base.service") < lines.index("stop base")
    assert [x for x in lines if "still running" in x] == [
        "[ ERROR ] shutdown: still running after 0.3 s, cancelled: stubborn.service"], r
    assert lines[-3:] == ["['stubborn.service'] True", "base.service stopped base down",
                          "clean stopped None"], r


def test_wait_for_shutdown_times_out_false(mp):
    r = mp.run_async("""
        print(await aioservice.wait_for_shutdown(0.02))
        asyncio.create_task(aioservice.shutdown(1))
        print(await aioservice.wait_for_shutdown(5), aioservice.stopping)
    """)
    assert r.lines == ["False", "True True"], r


def test_ctrl_c_during_boot_stops_in_order(mp):
    slow = service_file("slow", kind="core.service", body="""
        print("slow booting")
        await asyncio.sleep(10)
    """)
    mp.services({"slow": slow, "app": RUNTIME})
    proc = start_app(mp)
    time.sleep(0.6)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert "slow booting" in out, out
    assert "mpsysd: Ctrl-C: stopping the services" in out
    assert "shutdown: stopping slow.service" in out
    assert "app tick" not in out  # the runtime services never started
    assert proc.returncode == 0
    assert "Traceback" not in out


def test_faults_leave_the_rest_running_and_show_in_status_and_journal(mp):
    broken = service_file("needy", attrs="self.kwargs = {'require': ['nothere']}")
    secret = service_file("secret", params=", psk", body="return 'got it'")
    mp.services({"app": RUNTIME, "needy": broken, "secret": secret, "net": CORE},
                config='{"secret": {"kwargs": {"psk": "${MISSING}"}}, "app": {"args": [1]',
                env="OTHER=1\n")
    mp.write("aioservices/services/boom_service.py", "import nothing_here\n")
    show = """import asyncio, aioctl, aioservice
async def show():  # once the app has booted and started its services
    while "app.service" not in aioctl.group().recs:
        await asyncio.sleep_ms(20)
    aioctl.log("ERROR")
    aioservice.status()
asyncio.create_task(show())
aiomain.run("""
    rc, out = run_app(mp, 1.5, main_changes=[("aiomain.run(", show)])
    # each fault, once on the console when it happened...
    assert re.search(r"^\[ ERROR \] services.config: line 1, col 66: .*: not valid JSON", out,
                     re.M), out
    assert re.search(r"^\[ ERROR \] aioservices/services/boom_service.py: boom: not loaded: "
                     r"ImportError: no module named 'nothing_here'", out, re.M)
    assert re.search(r"^\[ ERROR \] aioservices/services/needy_service.py: needy: not "
                     r"started: requires missing service: nothere", out, re.M)
    # ...in the journal...
    assert re.search(r"\[mpsysd\] \[ERROR\] services.config: line 1, col 66: .*: not valid JSON",
                     out)
    assert re.search(r"\[mpsysd\] \[ERROR\] aioservices/services/boom_service.py", out)
    # ...and in aioservice.status(), while the rest runs
    assert "[ OK ] Service: app.service from aioservices/services/app_service.py loaded" in out
    assert "[ OK ] Service: net.service from aioservices/services/net_service.py loaded" in out
    assert "app tick" in out


# issue 12, item 4: main.py's start-up guards.

def test_a_boot_that_raises_is_one_line_and_the_prompt_still_comes_up(mp):
    # The manager's import fails as on a board whose heap is gone: boot()
    # and init() each raise MemoryError; the app says so in one line each,
    # goes on, and the prompt answers.
    from test_prompt import Terminal

    mp.write("aiomanager.py", """
        raise MemoryError("memory allocation failed, allocating 4096 bytes")
    """)
    term = Terminal(mp)
    try:
        seen = term.expect(r"^mpsysd> ")
        term.ask("1 + 1", r"^2$")
    finally:
        term.close()
    errors = [x for x in seen.splitlines() if "[ ERROR ]" in x]
    assert errors == [
        "[ ERROR ] mpsysd: %s failed: MemoryError: memory allocation failed, allocating "
        "4096 bytes; the app goes on with what started" % step for step in ("boot", "init")
    ], seen
    assert "Traceback" not in seen


WDT_STAND_IN = """
    import sys
    made = []
    class WDT:
        def __init__(self, timeout):
            self.n = len(made)
            made.append(self)
            print("armed %d %d %s" % (self.n, timeout, "aioctl" in sys.modules))
        def feed(self):
            if self.n == 0:
                print("fed 0")
"""


def test_the_watchdog_is_armed_before_the_app_loads_and_fed_until_the_watcher_runs(mp):
    # A board's machine.WDT (a stand-in here): main.py arms it before it
    # imports the app, and feeds it while the loop runs, until the watcher
    # (which arms and feeds it by its own rules) runs.
    mp.write("machine.py", WDT_STAND_IN)
    fast = [("BOOT_WDT_MS = 8000", "BOOT_WDT_MS = 400")]
    mp.services({"app": RUNTIME})
    rc, out = run_app(mp, 1.5, main_changes=fast)
    lines = out.splitlines()
    assert lines[0] == "armed 0 400 False", out
    assert lines.count("fed 0") >= 5, out  # every 100 ms: no watcher takes over
    mp.services({"app": RUNTIME}, watcher=True)
    rc, out = run_app(mp, 1.5, main_changes=fast)
    lines = out.splitlines()
    assert lines[0] == "armed 0 400 False", out
    assert "fed 0" in lines and "armed 1 10000 True" in lines, out
    assert "fed 0" not in lines[lines.index("armed 1 10000 True"):], out


def test_ctrl_c_without_heap_for_the_orderly_stop_still_ends_cleanly(mp):
    # The orderly stop cannot load (a stand-in aioshutdown raises MemoryError
    # at import, as it does when a service holds the whole heap): the tasks
    # are cancelled all the same, their on_stop runs, and the app exits 0.
    # The watcher is stopped as well, and takes it for a stop, not a failure.
    mp.services({"app": RUNTIME.replace(
        "    @aioctl.aiotask", "    def on_stop(self, *a, **k):\n        print('app on_stop')\n\n"
        "    @aioctl.aiotask").replace('self.type = "runtime.service"',
                                    'self.type = "runtime.service"\n        '
                                    'self.kwargs = {"on_stop": self.on_stop}')}, watcher=True)
    mp.write("aioshutdown.py", "raise MemoryError('memory allocation failed')\n")
    proc = start_app(mp)
    time.sleep(0.6)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=15)
    assert "app tick" in out, out
    assert "mpsysd: no memory for an orderly stop; the tasks are cancelled" in out, out
    assert "app on_stop" in out, out
    assert "resetting" not in out, out  # it said "watcher.service was stopped", and reset
    assert proc.returncode == 0 and "Traceback" not in out, out


def test_slow_on_stops_past_the_timeout_are_named(mp):
    def slow(name):
        return service_file(name, attrs="self.kwargs = {'on_stop': self.bye}").replace(
            "    @aioctl.aiotask", "    def bye(self, *a, **k):\n        import time\n"
            "        time.sleep(0.6)\n        return 'late'\n\n    @aioctl.aiotask")
    mp.services({"a": slow("a"), "b": slow("b")})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(20)
        await aioservice.shutdown(1)
    """)
    assert r.rc == 0, r
    line = [x for x in r.lines if "over its 1 s timeout" in x]
    assert len(line) == 1, r
    assert line[0].startswith("[ ERROR ] shutdown: took 1"), r
    assert "slow to stop: b.service (6" in line[0] and ", a.service (6" in line[0], r


def test_ctrl_c_during_a_blocking_call_stops_that_service_with_its_on_stop(mp):
    blocker = service_file("blocker", attrs="self.kwargs = {'on_stop': self.bye}", body="""
        await asyncio.sleep_ms(300)
        print("blocking")
        import time
        time.sleep(5)  # a call that blocks the loop: Ctrl-C lands in it
    """).replace("    @aioctl.aiotask", "    def bye(self, *a, **k):\n"
                 "        print('blocker on_stop')\n        return 'bye'\n\n    @aioctl.aiotask")
    mp.services({"blocker": blocker, "app": RUNTIME})
    proc = start_app(mp)
    deadline = time.monotonic() + 10
    out = ""
    while "blocking" not in out and time.monotonic() < deadline:
        out += proc.stdout.readline()
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=15)
    out += rest
    assert "blocker on_stop" in out, out
    assert proc.returncode == 0 and "Traceback" not in out, out


@pytest.mark.parametrize("share", ["1 / 32", "0"])
def test_the_app_collects_garbage_each_share_of_the_heap_main_py_sets(mp, share):
    # GC_EVERY: a collection after each 1/32 of the heap allocated keeps
    # garbage from settling between what stays (larger free blocks later);
    # 0 leaves MicroPython's default, a collection when the heap is full.
    mp.services({"gauge": service_file("gauge", body="""
        import gc
        print("threshold", gc.threshold(), gc.mem_free() + gc.mem_alloc())
        await asyncio.sleep_ms(50)
    """)})
    rc, out = run_app(mp, 1.5, main_changes=[("GC_EVERY = 1 / 32", "GC_EVERY = " + share)])
    found = re.search(r"^threshold (-?\d+) (\d+)$", out, re.M)
    assert found, out
    threshold, heap = int(found.group(1)), int(found.group(2))
    if share == "0":
        assert threshold == -1, out
    else:  # MicroPython keeps it in GC blocks (32 bytes on this 64-bit build)
        assert heap // 32 - 32 < threshold <= heap // 32, out
