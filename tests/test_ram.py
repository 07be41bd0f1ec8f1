"""RAM on a board's terms: the 32-bit build (micropython32) in a 64 KB heap.
What fails still fails well: a service that runs out of memory is the one
that fails, and the others go on."""
import os

import pytest

from conftest import async_script, service_file

pytestmark = pytest.mark.unix_only

HOG = """\
keep = []
while True:  # until MemoryError: a service with a leak
    for i in range(16):
        keep.append(bytearray(256))
    await asyncio.sleep_ms(0)
"""


def run_hog(mp, after):
    mp.services({"hog": service_file("hog", body=HOG), "steady": service_file("steady")},
                config={"hog": {"restart": "no"}}, watcher=True, compiled=True)
    return mp.run(async_script("""
        from heapinfo import heap
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(1500)
        tasks = aioctl.group().tasks
        for name in ("hog.service", "steady.service", "watcher.service"):
            print(name, tasks[name].state)
        print(type(aioctl.result("hog.service")).__name__)
    """ + after), heap="64K", bits=32, compiled=True)


def test_a_service_out_of_memory_is_the_one_that_fails(mp):
    r = run_hog(mp, "")
    assert r.lines[-4:] == ["hog.service failed", "steady.service running",
                            "watcher.service running", "MemoryError"], r


def test_the_memory_of_a_service_that_failed_comes_back(mp):
    # The failed task's record lets go of its coroutine, whose locals (the
    # hog's list) pinned the heap: about 5 KB of 64 KB stayed free.
    r = run_hog(mp, """
        print("free >= 20 KB:", heap()[0] >= 20480)
        aioctl.delete("hog.service")
        print("after delete():", heap()[0] >= 20480)
    """)
    assert r.lines[-2:] == ["free >= 20 KB: True", "after delete(): True"], r


# A service that takes the whole heap and keeps it in a module (so that its
# failure does not give it back): only what the watcher preallocated works.
GREEDY = """\
import runs
runs.n += 1
if runs.n == 1:
    await asyncio.sleep_ms(50)  # the others (the watcher) have started
    spare = [bytearray(%d)]  # room for the task table to record the end (aioctl's part)
    err = ValueError("greedy")
    for size in (1024, 64, 0):  # down to the last 16-byte block
        try:
            while True:
                runs.keep = [runs.keep, bytearray(size)]
        except MemoryError:
            pass
    spare.pop()
    %s
runs.keep = None  # a later run gives the heap back
print("greedy run", runs.n)
while True:
    self.check_in()
    await asyncio.sleep_ms(10)
"""

SPARE = 800  # aioctl's part; the watcher's traceback and report do not fit


def run_greedy(mp, then, config, body="await asyncio.sleep_ms(2500)", spare=SPARE):
    mp.services({"greedy": service_file("greedy", body=GREEDY % (spare, then)),
                 "steady": service_file("steady")},
                config=dict(config, watcher={"kwargs": dict(
                    {"period": 0.01}, **config.get("watcher", {}))}),
                watcher=True, compiled=True)
    mp.write("runs.py", "n = 0\nkeep = []\n")
    return mp.run(async_script("""
        import runs
        aioservice.init(debug=False)
        aioservice.release()
        %s
        print("states", aioctl.group().tasks["greedy.service"].state,
              aioctl.group().tasks["watcher.service"].state)
    """ % body), heap="64K", bits=32, compiled=True, timeout=20)


def test_the_watcher_outlives_an_exhausted_heap_and_restarts_the_greedy_one(mp):
    # It fails holding every byte: the watcher counts it (no traceback fits)
    # and restarts it; the second run gives the heap back.
    r = run_greedy(mp, "raise err",
                   {"greedy": {"restart_delay": 0.05}})
    assert r.rc == 0, r
    assert "greedy run 2" in r.lines, r
    assert r.lines[-1] == "states running running", r


def test_an_exhausted_heap_still_resets_with_report_file_set(mp):
    # err_service_limit 1: the first failure resets, the report is saved if it
    # fits, and the reason always: no hang, status 75.
    r = run_greedy(mp, "raise err", {
        "watcher": {"err_service_limit": 1, "report_file": "report.json"}},
        body="await asyncio.sleep(10)")
    assert r.rc == 75, r
    assert "[ ERROR ] watcher: resetting: " in r.out, r
    with open(os.path.join(mp.workdir, "safemode.reason")) as f:
        assert "greedy" in f.read()


def test_thirty_thousand_quick_failures_leave_the_watcher_unharmed(mp):
    # The backoff exponent grew with every failure: 2 ** n became a bignum
    # of a kilobyte by the 9,000th (4 KB by the 30,000th), and the watcher's
    # round failed for room.
    flaky = service_file("flaky", body="raise ValueError('again')")
    mp.services({"flaky": flaky, "steady": service_file("steady")}, config={
        "flaky": {"restart_delay": 0, "max_restarts": 1000000000, "restart_window": 1},
        "watcher": {"kwargs": {"period": 0.005}}}, watcher=True, compiled=True)
    r = mp.run(async_script("""
        aioservice.init(debug=False)
        aioservice.release()
        w = aioservice.service("watcher")
        while w.restarts < 30000:
            await asyncio.sleep_ms(100)
        print("restarts", w.restarts >= 30000, w.unnoted)
    """), heap="64K", bits=32, compiled=True, timeout=90)
    assert r.rc == 0, r
    assert r.lines[-1] == "restarts True 0", r
    assert "[ ERROR ] watcher" not in r.out, r


def test_restarts_and_scheduled_runs_keep_no_control_code_loaded(mp):
    # The control calls (aiotasks, found through aiolazy) are let go of
    # after each call. The watcher's restarts and a schedule's runs come
    # often, so they start a task again with what stays loaded (aiojob),
    # and a service replaces its child task with it too; the child a failed
    # service leaves running is stopped by a call that is let go of.
    flaky = service_file("flaky", body="""
        self.add_ctask(aioctl, self.kid, "kid")
        await asyncio.sleep_ms(30)
        raise ValueError('again')
    """).replace("    @aioctl.aiotask\n    async def task", "    async def kid(self):\n"
                 "        while True:\n            await asyncio.sleep_ms(5)\n\n"
                 "    @aioctl.aiotask\n    async def task")
    tick = service_file("tick", kind="schedule.service", body="return 'ran'",
                        attrs="self.schedule = {'start_in': 0.05, 'repeat': 0.1}")
    mp.services({"flaky": flaky, "tick": tick}, config={
        "flaky": {"restart_delay": 0.05, "restart_delay_max": 0.05, "max_restarts": 1000,
                  "restart_window": 1},
        "watcher": {"kwargs": {"period": 0.02}}}, watcher=True, compiled=True)
    r = mp.run(async_script("""
        import sys
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(300)
        print("at first", [m for m in ("aiolazy", "aiotasks") if m in sys.modules])
        w = aioservice.service("watcher")
        restarts, runs = w.restarts, aioctl.group().recs["tick.service"][aioctl.SINCE]
        await asyncio.sleep_ms(1000)
        print("then", [m for m in ("aiolazy", "aiotasks") if m in sys.modules],
              w.restarts - restarts >= 5,
              aioctl.group().recs["tick.service"][aioctl.SINCE] != runs,
              "flaky.service.kid" in aioctl.group().recs)
    """), heap="64K", bits=32, compiled=True)
    assert r.rc == 0, r
    assert r.lines[-2:] == ["at first []", "then [] True True True"], r


def test_a_delete_or_unload_leaves_no_control_code_loaded_when_the_task_ends(mp):
    # A delete of a running task is carried out when the task ends, after
    # the call that asked for it has let go of its code. That end used to
    # import aiotasks for three lines, and aiotasks' own import of aiolazy
    # stayed: 1 KB held after every unload. A reload gives the watcher's
    # old counts up, the same way.
    mp.services({"churn": service_file("churn")}, watcher=True, compiled=True)
    r = mp.run(async_script("""
        import sys
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(50)
        loaded = lambda: [m for m in ("aiolazy", "aiotasks", "aiotools", "aiomanager",
                                      "aiocore", "aiocoreboot", "aiowatcher") if m in sys.modules]
        aioservice.unload("churn")
        await asyncio.sleep_ms(50)
        print("unload", loaded(), "churn.service" in aioctl.group().recs)
        aioservice.load("churn")

        async def nap():
            await asyncio.sleep(10)

        aioctl.add(nap)
        aioctl.delete("nap")
        await asyncio.sleep_ms(50)
        print("delete", loaded(), "nap" in aioctl.group().recs)
        tracks = aioservice.service("watcher").tracks
        tracked = "churn" in tracks
        aioservice.load("churn")
        print("reload", loaded(), tracked, "churn" in tracks)
    """), heap="64K", bits=32, compiled=True)
    assert r.rc == 0, r
    said = [line for line in r.lines if line.split()[0] in ("unload", "delete", "reload")]
    assert said == ["unload [] False", "delete [] False", "reload [] True False"], r
