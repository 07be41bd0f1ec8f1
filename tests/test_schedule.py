"""aioschedule: start_in / at / repeat, millisecond timing without drift."""
import re
import time

from conftest import service_file

TICK = """
import time
runs = []
t0 = time.ticks_ms()
async def job():
    runs.append(time.ticks_diff(time.ticks_ms(), t0))
    return len(runs)
"""


def test_start_in_and_repeat_keep_to_the_plan(mp):
    # Runs are due at 200, 500, 800, 1100 ms: counted from the plan, so a
    # busy loop between runs does not push the later ones back.
    r = mp.run_async(TICK.replace("\n", "\n    ") + """
    import aioschedule
    aioctl.enter(job, (), {}, "job", start=False)
    aioschedule.schedule("job", start_in=0.2, repeat=0.3)
    await asyncio.sleep_ms(350)
    busy = time.ticks_add(time.ticks_ms(), 100)
    while time.ticks_diff(busy, time.ticks_ms()) > 0:
        pass  # hog the loop for 100 ms
    await asyncio.sleep_ms(850)
    print(runs)
    print(aioctl.result("job"), aioctl.group().tasks["job"].state)
    """)
    assert r.rc == 0, r
    runs = eval(r.lines[0])
    assert len(runs) == 4, r
    for n, at in enumerate(runs):
        assert abs(at - (200 + 300 * n)) <= 60, runs  # loose here; `make bench` measures it
    assert r.lines[1] == "4 done"


def test_status_shows_scheduled_and_next_run(mp):
    world = service_file("world", kind="schedule.service", body="return 'ran'",
                         attrs="self.schedule = {'start_in': 0.3, 'repeat': 90}")
    mp.services({"world": world})
    r = mp.run_async("""
        aioctl.group().color = False
        aioservice.init(debug=False)
        aioservice.release()  # as main.py does: room for the views
        aioctl.status()
        await asyncio.sleep_ms(400)
        aioctl.status()
        import aioschedule
        print(sorted(aioschedule.schedules()["world.service"].items()))
        # the dicts for tools say it as status() and top() do (trial: "done")
        print(aioctl.info("world.service")[0]["state"],
              aioctl.stats("world.service")["world.service"]["state"])
    """)
    assert r.rc == 0, r
    assert r.lines[3] == "scheduled scheduled", r
    assert re.fullmatch(r"● world.service: status: scheduled; next in 0 s @ \d\d:\d\d:\d\d",
                        r.lines[0]), r
    assert re.fullmatch(r"● world.service: status: scheduled - done @ [-\d]+ [:\d]+; [01] s ago "
                        r"\(ran \d ms\) --> result: 'ran'; next in 00:01:30 @ \d\d:\d\d:\d\d",
                        r.lines[1]), r
    assert r.lines[2] == "[('repeat', 90), ('start_in', 0.3)]"


def test_at_a_time_then_repeat(mp):
    r = mp.run_async(TICK.replace("\n", "\n    ") + """
    import aioschedule
    aioctl.enter(job, (), {}, "soon", start=False)
    aioctl.enter(job, (), {}, "series", start=False)
    now = time.time()
    at = time.localtime(int(now) + 2)
    aioschedule.schedule("soon", at=at)
    # a series that began an hour ago, every 2 s: its next run is within 2 s
    aioschedule.schedule("series", at=time.localtime(int(now) - 3600), repeat=2)
    print(0 < aioschedule.next_run("soon") <= 2000, 0 <= aioschedule.next_run("series") <= 2000)
    await asyncio.sleep_ms(2300)
    print(aioctl.group().tasks["soon"].state, aioctl.group().tasks["series"].state)
    print(aioschedule.next_run("soon"), 0 < aioschedule.next_run("series") <= 2000)
    """, timeout=30)
    assert r.rc == 0, r
    assert r.lines == ["True True", "done done", "None True"]


def test_a_run_at_a_time_is_never_before_that_second(mp):
    # rounded down, the wait made the run a fraction of a ms early: its own
    # clock, and the journal's, then read the second before the one asked for.
    # Each run is waited for, so the next is planned just after a second
    # begins, where the tick the sleep starts in took up to 1 ms more.
    r = mp.run_async("""
    import aioschedule, time
    seen = []
    async def job():
        seen.append(time.time())
    for i in range(3):
        aioctl.enter(job, (), {}, "at%d" % i, start=False)
        at = int(time.time()) + 1
        aioschedule.schedule("at%d" % i, at=time.localtime(at))
        for _ in range(60):  # it runs within the next 2 s, on a busy machine too
            if len(seen) > i:
                break
            await asyncio.sleep_ms(50)
        print(seen[-1] >= at)
    """, timeout=30)
    assert r.rc == 0, r
    assert r.lines == ["True"] * 3, r


def test_stop_cancels_the_schedule_unless_asked_not_to(mp):
    r = mp.run_async(TICK.replace("\n", "\n    ") + """
    import aioschedule
    for n in ("a", "b"):
        aioctl.enter(job, (), {}, n, start=False)
        aioschedule.schedule(n, start_in=0.1, repeat=0.1)
    await asyncio.sleep_ms(150)
    print(aioctl.stop("a"), aioctl.group().tasks["a"].state)  # between runs: stopped
    aioctl.stop("b", stop_sch=False)
    print(sorted(aioschedule.schedules()))
    aioctl.start("a")  # runs now, and its schedule goes on
    await asyncio.sleep_ms(10)
    print(aioctl.group().tasks["a"].state, 0 < aioschedule.next_run("a") <= 100)
    aioschedule.cancel()
    print(aioschedule.schedules())
    """)
    assert r.rc == 0, r
    assert r.lines == ["True stopped", "['b']", "done True", "{}"]


def test_start_after_a_stop_runs_once_and_the_plan_goes_on_from_that_run(mp):
    # (trial) start() ran the task, then the resumed plan ran it again
    # start_in later: two runs where one was asked for
    r = mp.run_async(TICK.replace("\n", "\n    ") + """
    import aioschedule
    aioctl.enter(job, (), {}, "rep", start=False)
    aioschedule.schedule("rep", start_in=0.1, repeat=0.6)
    aioctl.enter(job, (), {}, "once", start=False)
    aioschedule.schedule("once", start_in=0.3)
    await asyncio.sleep_ms(150)  # rep has run once; once has not yet
    aioctl.stop("rep"), aioctl.stop("once")
    aioctl.start("rep"), aioctl.start("once")
    await asyncio.sleep_ms(300)  # past both plans' start_in: rep is due 600 ms after its start
    print(len(runs), 0 < aioschedule.next_run("rep") <= 300, aioschedule.next_run("once"))
    print(sorted(aioschedule.schedules()), aioctl.group().tasks["once"].state)
    """)
    assert r.rc == 0, r
    assert r.lines == ["3 True None", "['rep'] done"], r


def test_a_run_still_going_is_not_started_twice(mp):
    r = mp.run_async("""
        import aioschedule
        count = [0]
        async def slow():
            count[0] += 1
            await asyncio.sleep_ms(250)
        aioctl.enter(slow, (), {}, "slow", start=False)
        aioschedule.schedule("slow", start_in=0, repeat=0.1)
        await asyncio.sleep_ms(330)
        print(count[0], aioctl.group().tasks["slow"].state)
    """)
    assert r.rc == 0, r
    assert r.lines == ["2 running"]


def test_delete_cancels_the_schedule(mp):
    r = mp.run_async("""
        import aioschedule
        async def job():
            return 1
        aioctl.enter(job, (), {}, "job", start=False)
        aioschedule.schedule("job", start_in=0.05, repeat=0.05)
        aioctl.delete("job")
        await asyncio.sleep_ms(120)
        print(aioschedule.schedules(), sorted(aioctl.group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines == ["{} []"]  # no timer left to fail on a missing task


def test_next_run_shows_the_second_the_run_falls_in(mp):
    """The `@ hh:mm:ss` of the next run is the second the run happens in
    (it was one second late), for several fractions of a second."""
    r = mp.run_async("""
        import aioschedule, aiostatus, time
        aioctl.group().color = False
        ran = {}

        async def job(n):
            ran[n] = time.time_ns() // 1000000

        for n, start_in in enumerate((0.25, 0.5, 0.75, 1.1)):
            aioctl.enter(job, (n,), {}, "j%d" % n, start=False)
            aioschedule.schedule("j%d" % n, start_in=start_in)
            aioctl.status("j%d" % n)
        await asyncio.sleep_ms(1300)
        print(ran)
    """)
    assert r.rc == 0, r
    ran = eval(r.lines[-1])
    for n, text in enumerate(r.lines[:4]):
        shown = re.search(r"@ (\d\d):(\d\d):(\d\d)$", text).groups()
        local = time.localtime(ran[n] // 1000)
        second = lambda t: "%02d:%02d:%02d" % (t.tm_hour, t.tm_min, t.tm_sec)  # noqa: E731
        late = time.localtime(ran[n] // 1000 - 1)  # the run itself may be a few ms late
        assert ":".join(shown) == second(local) or (
            ran[n] % 1000 < 30 and ":".join(shown) == second(late)), (text, ran[n])


# A simulated clock for the 32-bit build, where ticks_ms wraps every 2^30 ms
# (12.4 days) and ticks_add refuses 2^29 ms or more: the schedule's timer
# sleeps through aioclock.sleep_ms, which moves the ticks (wrapping as a
# board's do) and the wall clock on, so that weeks pass in a moment. One
# timer at a time: each of its sleeps is the time that passes.
FAKE_CLOCK = """
import time, aioclock
now = [0]  # simulated ms since the script began
tick = [time.ticks_add(0, -90000)]  # the ticks wrap 90 s in (and every 12.4 days)
wall = [time.mktime((2000, 1, 1, 0, 0, 0, 0, 0))]  # a board's unset clock
aioclock.ticks_ms = lambda: tick[0]
aioclock.clock = lambda: wall[0] + now[0] // 1000

def advance(ms):
    tick[0] = time.ticks_add(tick[0], ms)
    now[0] += ms

async def fake_sleep_ms(ms):
    await asyncio.sleep_ms(0)  # what is due now runs first
    advance(ms)

aioclock.sleep_ms = fake_sleep_ms
"""


def test_a_weekly_schedule_runs_every_week_across_tick_wraps_on_32_bit(mp):
    # issue 12, item 8: a first run 8 days ahead, then every week (604800 s):
    # more than the tick horizon, past three wraps; runs keep to the plan.
    r = mp.run_async(FAKE_CLOCK + """
import aioschedule
runs = []
async def job():
    runs.append(now[0])
aioctl.enter(job, (), {}, "weekly", start=False)
aioschedule.schedule("weekly", start_in=8 * 86400, repeat=604800)
print(aioschedule.next_run("weekly"))
while len(runs) < 3:
    await asyncio.sleep_ms(0)
print([ms / 86400000 for ms in runs], aioctl.group().tasks["weekly"].state)
print((now[0] + aioschedule.next_run("weekly") - runs[-1]) // 1000,
      sorted(aioschedule.schedules()))  # the next, a week after the last
""", bits=32, heap="64K")
    assert r.rc == 0, r
    assert r.lines == ["691200000", "[8.0, 15.0, 22.0] done", "604800 ['weekly']"], r


def test_a_window_kept_with_clamp_survives_the_tick_wrap_on_32_bit(mp):
    # issue 12, item 8: a window start compared with ticks_diff 12.4 days
    # later reads as 5 s old; clamped every round (as a supervisor would),
    # it reads as at least the window.
    r = mp.run_async(FAKE_CLOCK + """
stamp = clamped = tick[0]
for _ in range((2 ** 30 + 5000) // 60000):  # a round a minute
    advance(60000)
    clamped = aioclock.clamp(clamped, 10000)
advance((2 ** 30 + 5000) % 60000)
clamped = aioclock.clamp(clamped, 10000)
print(now[0] == 2 ** 30 + 5000, time.ticks_diff(tick[0], stamp),
      time.ticks_diff(tick[0], clamped))
""", bits=32, heap="64K")
    assert r.rc == 0, r
    assert r.lines == ["True 5000 10000"], r


def test_at_schedules_follow_the_wall_clock_when_it_is_set_on_32_bit(mp):
    # issue 12, item 9: a board boots at 2000-01-01; an `at` 26 years ahead
    # is planned without OverflowError; NTP then sets the clock to 02:50 on
    # the day: the timer sees it within a minute and runs at 03:00, then
    # daily. aioschedule.replan() applies a later change at once.
    r = mp.run_async(FAKE_CLOCK + """
import aioschedule
runs = []
async def job():
    runs.append(now[0])
aioctl.enter(job, (), {}, "nightly", start=False)
aioschedule.schedule("nightly", at=(2026, 1, 2, 3, 0, 0), repeat=86400)
print(aioschedule.next_run("nightly") // (365 * 86400000))  # years
while now[0] < 300000:  # five minutes pass; then NTP sets the clock
    await asyncio.sleep_ms(0)
wall[0] = time.mktime((2026, 1, 2, 2, 50, 0, 0, 0)) - now[0] // 1000
synced = now[0]
while len(runs) < 2:
    await asyncio.sleep_ms(0)
print([(ms - synced) // 1000 for ms in runs], time.localtime(wall[0] + runs[1] // 1000)[:6])
print((aioschedule.next_run("nightly") + 1800000) // 3600000)  # hours
wall[0] += 3600  # the clock moves an hour on
print(aioschedule.replan(), (aioschedule.next_run("nightly") + 1800000) // 3600000)
""", bits=32, heap="64K")
    assert r.rc == 0, r
    assert r.lines == ["26", "[600, 87000] (2026, 1, 3, 3, 0, 0)", "24", "1 23"], r


def test_the_rare_half_is_let_go_of_after_each_call(mp):
    # aioschedule stays imported while schedules exist; planning, a user's
    # stop and start, and the checks load aioschedulex for one call only.
    r = mp.run_async("""
        import sys, aioschedule
        async def job():
            return 1
        aioctl.enter(job, (), {}, "job", start=False)
        aioschedule.schedule("job", start_in=0.05, repeat=0.05)
        print("aioschedulex" in sys.modules)
        try:
            aioschedule.check({"every": 5})
        except ValueError as e:
            print(e)
        aioctl.stop("job")
        print(sorted(aioschedule.schedules()), "aioschedulex" in sys.modules)
        aioctl.start("job")
        await asyncio.sleep_ms(80)
        print(aioschedule.next_run("job") is not None, aioschedule.replan(),
              "aioschedulex" in sys.modules)
    """)
    assert r.rc == 0, r
    assert r.lines == ["False", "unknown schedule key 'every' (known: start_in, at, repeat)",
                       "[] False", "True 0 False"], r



def test_stopping_an_unscheduled_task_loads_nothing_of_the_schedules(mp):
    # While any schedule exists, a stop or delete of a task without one
    # (every unload at the prompt does one) used to load the schedules' rare
    # half to find no match: a load peak for nothing. Here the rare half
    # cannot load: only the scheduled task's stop needs it.
    mp.write("aioschedulex.py", "raise ImportError('the rare half was loaded')\n")
    r = mp.run_async("""
        import aioschedule
        async def job():
            return 1
        async def loop():
            while True:
                await asyncio.sleep_ms(10)
        aioctl.enter(job, (), {}, "job", start=False)
        aioschedule._timers["job"] = [None, 0, {}, 0, None]  # as schedule() leaves it
        aioctl.add(loop, name="loop")
        aioctl.add(loop, name="loop.service.kid")
        await asyncio.sleep_ms(20)
        print(aioctl.stop("loop"), aioctl.delete("loop.service.kid"))
        await asyncio.sleep_ms(20)
        print(aioctl.group().tasks["loop"].state, "loop.service.kid" in aioctl.group().recs)
        for name in ("job", "job.service.x", "jo"):
            try:
                print(name, aioctl.stop(name))
            except ImportError as e:
                print(name, e)
    """)
    assert r.rc == 0, r
    said = [line for line in r.lines if not line.startswith("aioctl: no task matches")]
    assert said == ["True None", "stopped False", "job the rare half was loaded",
                    "job.service.x False", "jo False"], r
