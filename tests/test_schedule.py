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
    """)
    assert r.rc == 0, r
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
