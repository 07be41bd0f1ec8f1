"""The watcher: restart policies, backoff, start limit, hung services, error
report and limits, the watchdog. Fault injection on a small heap (see HEAP)."""
import json
import os
import re

import pytest

from conftest import async_script, service_file

# A service that fails every run, counting its runs in a shared module.
FLAKY = service_file("flaky", body="""
    import runs
    runs.n += 1
    if runs.n <= 20:  # times of the first runs; a list of all would grow the heap
        runs.flaky.append(time.ticks_ms())
    await asyncio.sleep_ms(1)
    raise ValueError("flaky run %d" % runs.n)
""").replace("import asyncio\n", "import asyncio\nimport time\n")
# A healthy neighbour that counts its loops.
STEADY = service_file("steady", body="""
    import runs
    while True:
        runs.steady += 1
        await asyncio.sleep_ms(5)
""")
# A service whose first run fails, and whose next runs go on.
ONCE = service_file("once", body="""
    import runs
    runs.n += 1
    if runs.n == 1:
        raise ValueError("first run fails")
    while True:
        await asyncio.sleep_ms(10)
""")
RUNS = "n = 0\nflaky = []\nsteady = 0\n"
FAST = {"period": 0.005}  # the watcher looks every 5 ms in these tests


def policy(**services):
    """services.config for a test: each service's restart policy, and a
    watcher that looks every 5 ms."""
    return dict(services, watcher={"kwargs": FAST})


# flaky hits its start limit after 3 restarts in a minute, at once
LIMIT_3 = policy(flaky={"restart_delay": 0.001, "max_restarts": 3, "restart_window": 60})


# The watcher costs 11.8 KB on this 64-bit port; with the manager and the
# services loaded at once it needs a little more than 64 KB here. Objects are
# about twice an ESP32's, so 96 KB is still tighter than a 64 KB board.
HEAP = "96K"


def watch(mp, files, config, body, boot=False, **kw):
    # Services (and this script) compiled to .mpy as a board holds them.
    mp.services(files, config=config, watcher=True, compiled=True)
    mp.write("runs.py", RUNS)
    script = async_script("""
        import runs, gc, time
        aioctl.group().color = False
        %s
        aioservice.init(debug=False)
        aioservice.release()
        w = aioservice.service("watcher")
    """ % ("await aioservice.boot(debug=False)" if boot else "") + body)
    # as main.py: a Ctrl-C (also the unix watchdog thread's) stops the app in order
    script = script.replace("asyncio.run(main())\n", APP_RUN)
    return mp.run(script, compiled=True, heap=HEAP, **kw)


APP_RUN = """\
try:
    asyncio.run(main())
except KeyboardInterrupt:
    asyncio.run(aioservice.shutdown(1))
"""


def test_failed_service_restarts_with_doubling_backoff(mp):
    r = watch(mp, {"flaky": FLAKY, "steady": STEADY}, policy(
        flaky={"restart_delay": 0.02, "restart_delay_max": 0.08, "max_restarts": 50},
    ), """
        await asyncio.sleep_ms(520)
        t = runs.flaky
        print([time.ticks_diff(t[i + 1], t[i]) for i in range(len(t) - 1)])
        print(w.restarts, w.total_errors, runs.steady > 50)
        print(w.errors["flaky"]["ValueError"][0])
    """)
    assert r.rc == 0, r
    gaps = eval(r.lines[0])
    planned = [20, 40, 80, 80, 80]
    assert len(gaps) >= len(planned), gaps
    for gap, delay in zip(gaps, planned):
        assert delay <= gap <= delay + 30, gaps  # +1 ms run, +5 ms watcher period, jitter
    restarts, errors, steady = r.lines[1].split()
    assert int(restarts) == len(gaps) and steady == "True"  # every run after the first
    # each failure is noted on the watcher's next round: the last may still be due
    assert int(errors) in (len(gaps), len(gaps) + 1)


@pytest.mark.unix_only
def test_thousand_failures_heap_flat_then_start_limit(mp):
    r = watch(mp, {"flaky": FLAKY, "steady": STEADY}, {
        "flaky": {"restart_delay": 0, "max_restarts": 2000, "restart_window": 600},
        "watcher": {"kwargs": {"period": 0.001}},
    }, """
        heaps = {}
        while runs.n < 1000:
            await asyncio.sleep_ms(20)
            n = runs.n
            for mark in (200, 1000):
                if n >= mark and mark not in heaps:
                    gc.collect()
                    heaps[mark] = gc.mem_alloc()
        print(heaps[1000] - heaps[200])
        print(w.errors["flaky"]["ValueError"][0] >= 999, len(w.errors["flaky"]))
        print(aioctl.group().tasks["steady.service"].state, runs.steady > 100)
        # now a tight limit: the next failures hit it and the restarts stop
        aioservice.service("flaky").policy.update(max_restarts=2, restart_window=60)
        w.reset_failed("flaky")  # a new count of restarts
        await asyncio.sleep_ms(100)
        n = runs.n
        await asyncio.sleep_ms(100)
        print(runs.n == n, aioservice.service("flaky").limit_hit)
        print(sorted(w.errors["flaky"]))
        aioctl.status("flaky.service")
    """, timeout=120)
    assert r.rc == 0, r
    assert int(r.lines[0]) <= 512, r  # heap flat across 800 failures and restarts
    assert r.lines[1] == "True 1"  # the report is bounded: one kind, counted
    assert r.lines[2] == "running True"  # the neighbour was not disturbed
    assert r.lines[3] == "True True"
    assert r.lines[4] == "['ValueError']"  # bounded: one exception type, counted
    assert r.lines[5].startswith("● flaky.service: status: failed (start-limit-hit) @")


def test_start_limit_cleared_by_start_or_reset_failed(mp):
    r = watch(mp, {"flaky": FLAKY}, LIMIT_3, """
        await asyncio.sleep_ms(150)
        print(runs.n, aioservice.service("flaky").limit_hit)
        aioctl.start("flaky.service")  # a user start allows restarts again
        await asyncio.sleep_ms(150)
        print(runs.n, aioservice.service("flaky").limit_hit)
        w.reset_failed("flaky.service")  # the task's name, as status() shows it, is taken
        print(runs.n, aioservice.service("flaky").limit_hit)  # it starts nothing
        aioctl.start("flaky.service")
        await asyncio.sleep_ms(150)
        print(runs.n)
        print(w.stats()["start_limit_hit"])
        try:  # a misspelt name was silently nothing (trial)
            w.reset_failed("flakey")
        except ValueError as e:
            print(e)
    """)
    assert r.rc == 0, r
    assert r.lines == ["4 True", "8 True", "8 False", "12", "['flaky']",
                       "no service 'flakey'"], r


def test_policies_always_no_and_user_stop(mp):
    once = service_file("once", body="import runs\nruns.steady += 1\nreturn 'ok'")
    r = watch(mp, {"once": once, "flaky": FLAKY}, policy(
        once={"restart": "always", "restart_delay": 0.01, "max_restarts": 3},
        flaky={"restart": "no"},
    ), """
        await asyncio.sleep_ms(200)
        print(runs.steady, len(runs.flaky))  # always: 1 run + 3 restarts; no: 1 run
        aioctl.reset_failed = None
        w.reset_failed("once")
        await asyncio.sleep_ms(40)
        aioctl.stop("once.service")  # asked for by the user: never restarted
        n = runs.steady
        await asyncio.sleep_ms(100)
        print(runs.steady == n, aioctl.group().tasks["once.service"].state)
        print(aioctl.group().tasks["flaky.service"].state, w.restarts)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "4 1"
    assert r.lines[1] in ("True stopped", "True done")
    assert r.lines[2].startswith("failed ")


def test_a_clean_end_restarts_after_the_same_delay_each_time(mp):
    # (trial) restart=always doubled the delay after each clean end too: the
    # README says it doubles after each failure
    ends = service_file("ends", body="""
        import runs
        runs.n += 1
        if runs.n <= 20:
            runs.flaky.append(time.ticks_ms())
        return 'ok'
    """).replace("import asyncio\n", "import asyncio\nimport time\n")
    r = watch(mp, {"ends": ends}, policy(
        ends={"restart": "always", "restart_delay": 0.04, "max_restarts": 50},
    ), """
        await asyncio.sleep_ms(300)
        t = runs.flaky
        print([time.ticks_diff(t[i + 1], t[i]) for i in range(len(t) - 1)])
    """)
    assert r.rc == 0, r
    gaps = eval(r.lines[0])
    assert len(gaps) >= 4, gaps  # doubling, the fourth would come after 640 ms
    assert all(40 <= gap <= 70 for gap in gaps), gaps


def test_core_services_restart_only_when_configured(mp):
    core = service_file("coreok", kind="core.service", body="""
        import runs
        runs.flaky.append(1)
        raise OSError("no network")
    """)
    again = core.replace('"coreok"', '"coreagain"').replace("CoreokService", "CoreagainService")
    r = watch(mp, {"coreok": core, "coreagain": again}, policy(
        coreagain={"restart": "on-failure", "restart_delay": 0.01, "max_restarts": 2},
    ), """
        await asyncio.sleep_ms(150)
        for n in ("coreok", "coreagain"):
            print(n, aioctl.group().tasks[n + ".service"].state)
        print(len(runs.flaky), w.restarts)
    """, boot=True)
    assert r.rc == 0, r
    # coreok ran once (core: one-shot); coreagain ran once + 2 configured restarts
    assert [line for line in r.lines if not line.startswith("[ ERROR ]")] == [
        "coreok failed", "coreagain failed", "4 2"]


def test_hung_service_is_stopped_and_restarted_healthy_one_is_not(mp):
    hangs = service_file("hangs", body="""
        import runs
        runs.flaky.append(1)
        await asyncio.sleep(60)  # stuck: never checks in
    """)
    beats = service_file("beats", body="""
        while True:
            self.check_in()
            await asyncio.sleep_ms(20)
    """)
    r = watch(mp, {"hangs": hangs, "beats": beats}, policy(
        hangs={"watchdog": 0.1, "restart_delay": 0.01, "max_restarts": 50},
        beats={"watchdog": 0.1},
    ), """
        from mptest import Log
        await asyncio.sleep_ms(1)  # the watcher's task has set its own logger by now
        w.log = Log()
        await asyncio.sleep_ms(400)
        print(len(runs.flaky) >= 3, sorted(w.errors["hangs"])[0].startswith("hung: no check-in"))
        print(aioctl.group().tasks["beats.service"].state, "beats" in w.errors)
        print([line for line in w.log.lines if "hung" in line][0])
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "True True"
    assert r.lines[1] == "running False"
    assert "hangs: hung: no check-in for" in r.lines[2] and "stopping it" in r.lines[2]


@pytest.mark.unix_only
@pytest.mark.parametrize("limit", [{"max_errors": 3}, {"err_service_limit": 2}])
def test_error_limits_reset_after_saving_the_report(mp, limit):
    r = watch(mp, {"flaky": FLAKY}, {
        "flaky": {"restart_delay": 0.001, "max_restarts": 50},
        "watcher": {"kwargs": dict(FAST, report_file="report.json", **limit)},
    }, """
        await asyncio.sleep_ms(500)
        print("not reset")
    """)
    assert r.rc == 75, r  # safemode.EXIT_RESET: the unix port's machine.reset()
    assert "not reset" not in r.out
    assert "[ ERROR ] watcher: resetting: " in r.out
    with open(os.path.join(mp.workdir, "report.json")) as f:
        saved = json.load(f)
    count = 3 if "max_errors" in limit else 2
    assert saved["stats"]["services"] == {"flaky": {"ValueError": count}}
    assert "ValueError: flaky run %d" % count in saved["report"]
    assert not os.path.exists(os.path.join(mp.workdir, "report.json.tmp"))


@pytest.mark.unix_only
def test_software_watchdog_bites_when_the_loop_is_blocked(mp):
    blocker = service_file("blocker", body="""
        await asyncio.sleep_ms(200)
        t = time.ticks_add(time.ticks_ms(), 1500)
        while time.ticks_diff(t, time.ticks_ms()) > 0:
            pass  # blocks the event loop for 1.5 s
        await asyncio.sleep(60)
    """).replace("import asyncio\n", "import asyncio\nimport time\n")
    r = watch(mp, {"blocker": blocker, "steady": STEADY}, {
        "watcher": {"kwargs": dict(FAST, wdt_timeout=1, max_lag=0.3,
                                   report_file="report.json")},
    }, """
        await asyncio.sleep(5)
        print("not reset")
    """)
    assert r.rc == 76, r  # safemode.EXIT_WATCHDOG
    # the unix watchdog thread bites while the loop is blocked, naming the culprit
    assert re.search(r"watchdog: not fed for 1\d\d\d ms: event loop blocked in "
                     r"blocker.service", r.out), r
    assert os.path.exists(os.path.join(mp.workdir, "report.json"))
    # said once: the watcher, awake again, does not reset a second time over it
    assert r.out.count("resetting:") == 1, r
    with open(os.path.join(mp.workdir, "safemode.reason")) as f:
        assert "blocked in blocker.service" in f.read()


def test_hardware_watchdog_fed_only_while_healthy(mp):
    # A stand-in for a board's machine module: WDT counts its feeds.
    mp.write("machine.py", """
        feeds = []
        class WDT:
            def __init__(self, timeout):
                self.timeout = timeout
            def feed(self):
                import time
                feeds.append(time.ticks_ms())
        def reset():
            raise SystemExit(99)
    """)
    hangs = service_file("hangs", body="""
        import runs
        runs.flaky.append(1)
        if len(runs.flaky) == 1:
            await asyncio.sleep(60)  # the first run hangs
        while True:
            self.check_in()
            await asyncio.sleep_ms(10)
    """)
    r = watch(mp, {"hangs": hangs}, {
        "hangs": {"watchdog": 0.15, "restart_delay": 0.1},
        "watcher": {"kwargs": dict(FAST, wdt_timeout=3)},
    }, """
        import machine
        async def until(check):
            while not check():
                await asyncio.sleep_ms(2)
        await until(lambda: "hangs" in w.errors)  # found hung (it is stopped at once)
        healthy = len(machine.feeds)  # fed while the service checked in (or had time to)
        await until(lambda: len(runs.flaky) == 2)  # hung, stopped, restart after 100 ms
        down = len(machine.feeds) - healthy
        await asyncio.sleep_ms(100)
        after = len(machine.feeds) - healthy - down
        print(w.wdt.timeout, healthy > 10, down <= 1, after > 10)
    """)
    assert r.rc == 0, r
    assert r.lines == ["3000 True True True"]


def test_backoff_starts_again_after_a_healthy_run(mp):
    # Fails twice at once, then runs 150 ms (more than restart_window), then fails.
    moody = service_file("flaky", body="""
        import runs
        runs.n += 1
        runs.flaky.append(time.ticks_ms())
        if runs.n == 3:
            await asyncio.sleep_ms(150)
        raise ValueError("moody %d" % runs.n)
    """).replace("import asyncio\n", "import asyncio\nimport time\n")
    r = watch(mp, {"flaky": moody}, policy(
        flaky={"restart_delay": 0.03, "restart_delay_max": 1, "restart_window": 0.1,
               "max_restarts": 50},
    ), """
        while runs.n < 4:
            await asyncio.sleep_ms(10)
        t = runs.flaky
        print([time.ticks_diff(t[i + 1], t[i]) for i in range(3)])
    """)
    assert r.rc == 0, r
    first, second, after_healthy = eval(r.lines[0])
    assert 30 <= first <= 60 and 60 <= second <= 90  # 30 ms, then doubled
    assert 150 + 30 <= after_healthy <= 150 + 60  # ran 150 ms, then 30 ms again, not 120


def test_watcher_declares_a_healthy_run_for_safe_mode(mp):
    mp.write("safemode.count", "2")
    r = watch(mp, {"steady": STEADY}, {
        "watcher": {"kwargs": dict(FAST, healthy_after=0.1)},
    }, """
        import safemode
        safemode.begin(3)
        print(safemode.boots)
        await asyncio.sleep_ms(250)
        print(safemode.boots, open("safemode.count").read())
    """)
    assert r.rc == 0, r
    assert r.lines == ["3", "0 0"]


def test_user_stop_cancels_a_planned_restart_and_holds(mp):
    r = watch(mp, {"flaky": FLAKY, "steady": STEADY}, {
        "flaky": {"restart_delay": 0.3},
    }, """
        await asyncio.sleep_ms(100)  # flaky failed once; its restart is planned for +300 ms
        print(runs.n, "flaky.service" in aioctl.group().planned)
        aioctl.group().color = False
        aioctl.status("flaky.service", log=False)
        print(aioctl.stop("flaky.service"))
        await asyncio.sleep_ms(700)
        print(runs.n, aioctl.group().tasks["flaky.service"].state, aioctl.group().planned)
        aioctl.traceback("flaky.service")
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "1 True", r
    # about 200 ms left: the plan counts from the watcher's round, a millisecond
    # or two after this script's sleep began, and the sleep may wake that late
    assert re.fullmatch(r"● flaky.service: status: failed @ .* --> ValueError: flaky run 1; "
                        r"restart in (19\d|2\d\d) ms", r.lines[1]), r
    assert r.lines[2:4] == ["True", "1 stopped {}"], r
    assert r.lines[4] == "flaky.service: stopped now; its last failure:", r
    assert r.lines[-1] == "ValueError: flaky run 1", r


def test_a_user_stop_of_a_failed_service_is_not_taken_for_on_stop_failing(mp):
    # asyncmd's services return the exception from on_error; the record kept
    # it beside the failure, and once held as stopped that read as "on_stop
    # raised" (in status, and said by the watcher)
    hooked = FLAKY.replace("    @aioctl.aiotask", "    def on_error(self, e, *args, **kwargs):\n"
                           "        return e\n\n    @aioctl.aiotask")
    r = watch(mp, {"flaky": hooked, "steady": STEADY}, {"flaky": {"restart_delay": 0.3}}, """
        await asyncio.sleep_ms(100)  # flaky failed once; its restart is planned
        print(aioctl.stop("flaky.service"))
        await asyncio.sleep_ms(500)
        aioctl.group().color = False
        aioctl.status("flaky.service", log=False)
    """)
    assert r.rc == 0, r
    assert "on_stop raised" not in r.out, r
    assert re.fullmatch(r"● flaky.service: status: stopped @ .* --> result: None", r.lines[-1]), r


def test_a_load_that_cannot_start_the_service_promises_no_restart(mp):
    # flaky failed and its restart is planned; a load() whose config now
    # requires a missing service does not start it: status must not go on
    # saying "restart in 0 ms", and a load later starts its backoff afresh
    r = watch(mp, {"flaky": FLAKY, "steady": STEADY}, {"flaky": {"restart_delay": 5}}, """
        await asyncio.sleep_ms(100)
        print("planned", "flaky.service" in aioctl.group().planned)
        aioservice.config("flaky", True, require=["ghost"])
        print(aioservice.load("flaky"))
        await asyncio.sleep_ms(300)
        print("planned", "flaky.service" in aioctl.group().planned)
        aioctl.status("flaky.service", log=False)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "planned True", r
    assert "flaky: not started: requires missing service: ghost" in r.out, r
    assert "planned False" in r.lines, r
    assert "restart in" not in r.lines[-1] and "status: failed" in r.lines[-1], r


def test_default_policy_reaches_the_start_limit(mp):
    # No policy in the config: the defaults must end a service that fails at
    # once every time in start-limit-hit (the window covers the burst).
    r = watch(mp, {"flaky": FLAKY, "steady": STEADY}, {}, """
        for _ in range(120):
            await asyncio.sleep_ms(100)
            if aioservice.service("flaky").limit_hit:
                break
        print(runs.n, aioservice.service("flaky").limit_hit, w.restarts)
        aioctl.group().color = False
        aioctl.status("flaky.service", log=False)
        await asyncio.sleep_ms(500)
        print(runs.n, runs.steady > 100)
    """, timeout=60)
    assert r.rc == 0, r
    assert r.lines[0] == "6 True 5", r
    assert "status: failed (start-limit-hit) @" in r.lines[1], r
    assert r.lines[2] == "6 True", r


def test_restart_happens_at_its_planned_delay_not_at_the_next_round(mp):
    # The watcher's round is 0.5 s (the default); a 0.2 s restart delay must
    # not wait for it.
    r = watch(mp, {"flaky": FLAKY}, {
        "flaky": {"restart_delay": 0.2, "restart_delay_max": 0.2, "max_restarts": 10},
    }, """
        while runs.n < 4:
            await asyncio.sleep_ms(20)
        t = runs.flaky
        print([time.ticks_diff(t[i + 1], t[i]) for i in range(len(t) - 1)])
    """)
    assert r.rc == 0, r
    gaps = eval(r.lines[0])
    assert len(gaps) >= 3, r
    # each run lasts 1 ms, then 200 ms of delay; `make bench` measures the precision
    assert all(200 <= g <= 260 for g in gaps), gaps


def test_report_reads_as_lines_with_dates_and_traceback_survives_a_restart(mp):
    r = watch(mp, {"once": ONCE}, {"once": {"restart_delay": 0.02}}, """
        await asyncio.sleep_ms(100)
        print(runs.n, aioctl.group().tasks["once.service"].state)
        print(repr(w.report()))
        aioctl.traceback("once.service")
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "2 running", r
    assert r.lines[1] == "restarts: 1; errors: 1", r
    assert re.fullmatch(r"once: ValueError x1, first \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, "
                        r"last \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r.lines[2]), r
    assert "    ValueError: first run fails" in r.lines, r
    assert "once.service: running now; its last failure:" in r.lines, r
    assert r.lines[-1] == "ValueError: first run fails", r


@pytest.mark.unix_only
@pytest.mark.parametrize("how", ['aioctl.stop("watcher.service")', "aioctl.stop()",
                                 'aioctl.delete("watcher*")'])
def test_stopping_or_deleting_the_watcher_resets_saying_why(mp, how):
    # Supervision never ends silently (issue 12, item 10).
    r = watch(mp, {"steady": STEADY}, policy(), """
        await asyncio.sleep_ms(50)
        %s
        await asyncio.sleep_ms(300)
        print("not reset")
    """ % how)
    assert r.rc == 75, r
    assert "[ ERROR ] watcher: resetting: watcher.service was stopped or deleted" in r.out, r
    with open(os.path.join(mp.workdir, "safemode.reason")) as f:
        assert f.read().startswith("watcher.service was stopped or deleted")


def test_restarting_the_watcher_does_not_reset(mp):
    r = watch(mp, {"steady": STEADY}, policy(), """
        await asyncio.sleep_ms(50)
        aioctl.restart("watcher.service")
        await asyncio.sleep_ms(100)
        print(aioctl.group().tasks["watcher.service"].state)
    """)
    assert r.rc == 0 and r.lines[-1] == "running", r


@pytest.mark.unix_only
def test_a_loop_blocked_forever_bites_and_names_the_task(mp):
    # `while True: pass` in a service: the unix watchdog thread bites as a
    # board's WDT does (issue 12, item 11), in the app as make run starts it.
    from test_resilience import run_app
    blocker = service_file("blocker", body="""
        await asyncio.sleep_ms(300)
        while True:
            pass
    """)
    mp.services({"blocker": blocker, "steady": STEADY}, watcher=True,
                config={"watcher": {"kwargs": {"period": 0.05, "wdt_timeout": 1}}})
    mp.write("runs.py", RUNS)
    rc, out = run_app(mp, 15)
    assert rc == 76, out
    assert re.search(r"resetting: watchdog: not fed for 1\d\d\d ms: event loop blocked in "
                     r"blocker.service", out), out
    assert out.count("resetting:") == 1, out  # the watcher, awake again, does not say it twice
    with open(os.path.join(mp.workdir, "safemode.reason")) as f:
        assert "blocked in blocker.service" in f.read()


def test_a_watched_service_that_hung_with_restart_no_keeps_the_system_unhealthy(mp):
    hangs = service_file("hangs", body="await asyncio.sleep(60)")
    r = watch(mp, {"hangs": hangs}, {
        "hangs": {"watchdog": 0.05, "restart": "no"},
        "watcher": {"kwargs": dict(FAST, wdt_timeout=30)},
    }, """
        await asyncio.sleep_ms(300)
        print(aioctl.group().tasks["hangs.service"].state, w.said, w.healthy_since)
        print(sorted(w.errors["hangs"]))
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "stopped hangs down None", r
    assert r.lines[1] == "['hung: no check-in']", r  # the kind holds no milliseconds



def test_a_watched_services_restart_waits_at_most_half_the_watchdogs_timeout(mp):
    # (trial) while a watched service waits for its restart the watchdog is
    # not fed; the backoff doubled past wdt_timeout, and the device reset
    # though the policy was to restart it
    hangs = service_file("hangs", body="""
        import runs
        runs.flaky.append(time.ticks_ms())
        await asyncio.sleep(60)  # stuck: never checks in
    """).replace("import asyncio\n", "import asyncio\nimport time\n")
    r = watch(mp, {"hangs": hangs}, {
        "hangs": {"watchdog": 0.05, "restart_delay": 5},
        "watcher": {"kwargs": dict(FAST, wdt_timeout=0.4)},
    }, """
        await asyncio.sleep_ms(700)
        gaps = [time.ticks_diff(b, a) for a, b in zip(runs.flaky, runs.flaky[1:])]
        print(len(gaps) >= 2, all(g < 400 for g in gaps), gaps)
        print(aioservice.stopping)
    """)
    assert r.rc == 0, r  # no reset: the watchdog was fed between the waits
    assert r.lines[0].startswith("True True"), r
    assert r.lines[1] == "False", r


def test_an_exception_in_on_stop_is_said_and_counted(mp):
    bad = service_file("bad", attrs="self.kwargs = {'on_stop': self.bye}").replace(
        "    @aioctl.aiotask", "    def bye(self, *a, **k):\n        raise OSError('flush')\n\n"
        "    @aioctl.aiotask")
    r = watch(mp, {"bad": bad}, policy(), """
        await asyncio.sleep_ms(50)
        aioctl.stop("bad.service")
        await asyncio.sleep_ms(50)
        print(w.errors["bad"]["OSError"][0])
    """)
    assert r.rc == 0, r
    assert "[ ERROR ] watcher: bad: on_stop raised OSError: flush" in r.lines, r
    assert r.lines[-1] == "1", r


def test_restart_window_is_wrap_safe_on_32_bit(mp):
    # A service that fails once every 12.4 days: on a 32-bit board ticks_ms
    # wraps every 2^30 ms, and a window start left to age past the tick
    # horizon read as "a moment ago", so the restarts piled up in one window
    # and hit the start limit. Days pass here in steps of one (the watcher
    # ticks in between, as a board's does every 0.5 s).
    once = service_file("once", body="""
        import runs
        runs.n += 1
        while not runs.go:
            await asyncio.sleep_ms(2)
        runs.go = False
        raise ValueError("once in 12 days")
    """)
    mp.services({"once": once}, config={
        "once": {"restart_delay": 0.01, "max_restarts": 3, "restart_window": 10},
        "watcher": {"kwargs": {"period": 0.005}}}, watcher=True, compiled=True)
    mp.write("runs.py", "n = 0\ngo = False\n")
    r = mp.run_async("""
        import runs, time, aioclock
        from aioservices.services import watcher_service
        offset = [0]
        def fake():  # the board's ticks, days ahead (they wrap at 2^30 ms)
            return (time.ticks_ms() + offset[0]) & 0x3FFFFFFF
        aioclock.ticks_ms = watcher_service.ticks_ms = fake
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(50)
        for cycle in range(6):
            for day in range(12):
                offset[0] += 86400000
                await asyncio.sleep_ms(15)
            offset[0] += 34560000  # the rest of 12.4 days
            await asyncio.sleep_ms(15)
            runs.go = True
            await asyncio.sleep_ms(60)
        w = aioservice.service("watcher")
        print(runs.n, w.restarts, aioservice.service("once").limit_hit)
    """, bits=32, heap="64K", compiled=True, timeout=60)
    assert r.rc == 0, r
    assert r.lines[-1] == "7 6 False", r


def test_a_user_stop_of_a_service_stopped_as_hung_holds_and_the_system_stays_healthy(mp):
    # The watcher stopped `hangs` as hung and planned its restart; the user
    # then stops it: no restart comes, and a service the user stopped is not
    # "down" (the watcher went on feeding the watchdog, no reset).
    hangs = service_file("hangs", body="await asyncio.sleep(60)")
    r = watch(mp, {"hangs": hangs, "steady": STEADY}, {
        "hangs": {"watchdog": 0.05, "restart_delay": 0.3},
        "watcher": {"kwargs": dict(FAST, wdt_timeout=0.5)},
    }, """
        while "hangs.service" not in aioctl.group().planned:  # found hung, stopped
            await asyncio.sleep_ms(5)
        print(aioctl.stop("hangs.service"))
        await asyncio.sleep_ms(800)  # past the planned restart and the watchdog's timeout
        print("planned", "hangs.service" in aioctl.group().planned, w.problems)
        aioctl.status("hangs.service", log=False)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "True", r
    assert r.lines[1] == "planned False []", r
    assert re.fullmatch(r"● hangs.service: status: stopped @ .*", r.lines[-1]), r


def test_the_child_tasks_of_a_failed_service_stop_with_it(mp):
    # a service that fails after starting a child: the child does not run on
    # beside a failed (or start-limit-hit) service; the next run adds its own
    parent = service_file("parent", body="""
        import runs
        runs.n += 1
        self.add_ctask(aioctl, self.child, "child")
        await asyncio.sleep_ms(20 if runs.n == 1 else 60000)
        raise ValueError("parent run %d" % runs.n)
    """).replace("    @aioctl.aiotask\n    async def task", "    async def child(self):\n"
                 "        while True:\n            await asyncio.sleep_ms(5)\n\n"
                 "    @aioctl.aiotask\n    async def task")
    r = watch(mp, {"parent": parent, "steady": STEADY}, {"parent": {"restart_delay": 0.3}}, """
        await asyncio.sleep_ms(100)  # failed once; its restart is planned
        tasks = aioctl.group().tasks
        print(tasks["parent.service"].state, tasks["parent.service.child"].state)
        await asyncio.sleep_ms(300)  # restarted: a child of its own again
        print(runs.n, tasks["parent.service"].state, tasks["parent.service.child"].state)
    """)
    assert r.rc == 0, r
    assert r.lines == ["failed stopped", "2 running running"], r


def test_the_watchers_rare_half_is_let_go_of_once_all_is_healthy(mp):
    # aiowatcher (3.7 KB on a board) came in with the first failure, or with
    # a view that asked for stats(), and stayed for good. It goes after 20
    # rounds, 2 s at least, without an error (not at once: a service failing
    # in a loop on a full heap would load it again each time).
    r = watch(mp, {"once": ONCE}, policy(once={"restart_delay": 0.05}), """
        import sys
        await asyncio.sleep_ms(2300)  # 2 s without an error (20 rounds are 100 ms here)
        print("healthy:", runs.n, "aiowatcher" in sys.modules)
        print(w.stats()["services"], "aiowatcher" in sys.modules)
        aioctl.status("watcher.service", debug=True)
        print("viewed:", "aiowatcher" in sys.modules)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "healthy: 2 False", r
    assert r.lines[1] == "{'once': {'ValueError': 1}} False", r  # described, then let go of
    assert any("restarts: 1" in line for line in r.lines[2:-1]), r  # show(), for the view
    assert r.lines[-1] == "viewed: False", r


def test_an_end_the_heap_had_no_room_to_record_is_recorded_and_restarted(mp):
    # When a task ends on a heap so full that not even its record can be
    # rewritten, the record still says running while its asyncio task is
    # over: the service was dead for good, shown as running. The watcher
    # finds such an end on its next tick, records it, and restarts it.
    # (Here the end is lost on purpose: the completion hook is taken away.)
    r = watch(mp, {"flaky": FLAKY, "steady": STEADY}, policy(
        flaky={"restart_delay": 0.05},
    ), """
        task = aioctl.group().recs["flaky.service"][aioctl.TASK]
        task.state = lambda task, er: None  # the completion hook that could not write
        await asyncio.sleep_ms(150)
        print(runs.n > 1, w.restarts > 0, w.errors["flaky"]["ValueError"][0] > 0)
        print(aioctl.group().tasks["flaky.service"].state)
    """)
    assert r.rc == 0, r
    assert r.lines[-2] == "True True True", r
    assert r.lines[-1] in ("running", "failed"), r  # between two runs, or in one


def test_a_load_of_a_misspelt_name_beside_the_watcher_is_one_line(mp):
    # load() cleared the watcher's counts of the name before it knew the
    # name was a service: once reset_failed() refused unknown names, a
    # misspelt load() ended in its traceback. A reload of a tracked service
    # still starts its counts afresh.
    r = watch(mp, {"flaky": FLAKY}, LIMIT_3, """
        await asyncio.sleep_ms(150)
        print(runs.n, aioservice.service("flaky").limit_hit)
        print(aioservice.load("flakey"))
        aioservice.load("flaky")
        await asyncio.sleep_ms(150)
        print(runs.n, aioservice.service("flaky").limit_hit)
    """)
    assert r.rc == 0, r
    assert "Traceback" not in r.out, r
    assert r.lines[0] == "4 True", r
    assert r.lines[-2:] == ["None", "8 True"], r


def test_an_unloaded_service_loads_again_with_no_backoff_from_its_old_runs(mp):
    # unload() then load() with no name kept the watcher's track of the old
    # runs: the first restart of the new code waited the old doubled delay
    # (trial). An unload forgets the track, as a load by name does.
    r = watch(mp, {"flaky": FLAKY}, policy(
        flaky={"restart_delay": 0.02, "restart_delay_max": 5, "max_restarts": 100,
               "restart_window": 60},
    ), """
        await asyncio.sleep_ms(300)  # several failures: the delay has doubled a few times
        print("tracked", "flaky" in w.tracks, w.tracks["flaky"][5] > 2)
        aioservice.unload("flaky")
        print("unloaded", "flaky" in w.tracks)
        aioservice.load()
        before = runs.n
        await asyncio.sleep_ms(100)  # the first restarts come after 20 ms, 40 ms... again
        print("again", runs.n - before >= 2)
    """)
    assert r.rc == 0, r
    assert r.lines[-3:] == ["tracked True True", "unloaded False", "again True"], r


def test_a_restart_that_finds_the_heap_full_is_tried_again(mp):
    # aiojob.relaunch() let go of the planned restart before it made the new
    # task: a MemoryError there lost the restart for good, and the service
    # stayed failed (the bench's greedy soak, now and then). Here the heap
    # is "full" for one launch.
    r = watch(mp, {"flaky": FLAKY}, policy(
        flaky={"restart_delay": 0.01, "restart_delay_max": 0.01, "max_restarts": 1000,
               "restart_window": 60},
    ), """
        real, failed = aioctl.launch, []

        def full(*args):
            if not failed:
                failed.append(1)
                raise MemoryError("memory allocation failed, allocating 48 bytes")
            return real(*args)

        aioctl.launch = full
        n = runs.n
        await asyncio.sleep_ms(300)
        aioctl.launch = real
        print("after", failed, runs.n - n > 3)
    """)
    assert r.rc == 0, r
    assert r.lines[-1] == "after [1] True", r
