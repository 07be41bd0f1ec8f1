"""aioctl views: status lines, debug view, tracebacks, results, info, logs."""
import re

TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def test_status_lines_like_systemctl(mp):
    r = mp.run_async("""
        from mptest import forever, returns, divide, on_stop
        aioctl.group().color = False
        aioctl.add(forever, name="hello.service")
        aioctl.add(returns, 42, name="answer")
        aioctl.add(divide, 0, name="bad")
        aioctl.add(divide, 0, name="net.service")
        aioctl.add(forever, name="quit", on_stop=on_stop)
        await asyncio.sleep_ms(20)
        aioctl.stop("quit")
        await asyncio.sleep_ms(10)
        aioctl.status()
        aioctl.status("hello*")
    """)
    assert r.rc == 0, r
    done = r"@ %s; [01] s ago \(ran \d{1,2} ms\) --> " % TS
    expected = [
        r"● answer: status: done %sresult: 42" % done,
        r"● bad: status: ERROR %sZeroDivisionError: divide by zero" % done,
        r"● hello.service: status: running since %s; [01] s ago" % TS,
        r"● net.service: status: failed %sZeroDivisionError: divide by zero" % done,
        r"● quit: status: stopped %sresult: 'stopped with \(\) \[\]'" % done,
        r"● hello.service: status: running since %s; [01] s ago" % TS,
    ]
    assert len(r.lines) == len(expected), r
    for line, pattern in zip(r.lines, expected):
        assert re.fullmatch(pattern, line), (line, pattern)



def test_a_long_error_is_cut_in_its_status_line_and_whole_in_its_traceback(mp):
    # (trial: int("slow" * 1000) made a status line of 4,200 characters)
    r = mp.run_async("""
        async def parse(text):
            return int(text)
        aioctl.group().color = False
        aioctl.add(parse, "slow" * 1000, name="bad")
        await asyncio.sleep_ms(10)
        aioctl.status()
        aioctl.traceback("bad")
    """)
    assert r.rc == 0, r
    line = [n for n in r.lines if n.startswith("● bad: status: ERROR")]
    assert len(line) == 1 and line[0].endswith("slo...") and len(line[0]) < 220, r.out
    error = line[0].split(" --> ", 1)[1]
    assert len(error) == 120 and error.startswith("ValueError: invalid syntax"), error
    assert len(r.lines[-1]) > 4000 and r.lines[-1].startswith("ValueError: "), r.lines[-1][:80]


def test_status_colours_and_switching_them_off(mp):
    r = mp.run_async("""
        from mptest import forever, divide
        aioctl.add(forever, name="a")
        aioctl.add(divide, 0, name="b")
        await asyncio.sleep_ms(10)
        aioctl.status()
        aioctl.group().color = False
        aioctl.status()
    """)
    assert r.rc == 0, r
    assert r.lines[0].startswith("\x1b[32m●\x1b[0m a: status: running")
    assert r.lines[1].startswith("\x1b[31m●\x1b[0m b: status: ERROR")
    assert "\x1b" not in r.lines[2] + r.lines[3]


def test_durations_and_timestamps(mp):
    r = mp.run("""
        import aioview, time  # how every view says times
        for s in (0, 4, 59, 82, 3600, 86399, 90061, 200000):
            print(aioview.span(s))
        print(aioview.stamp(0)[:4], aioview.stamp(int(time.time()))[:2])
    """)
    assert r.rc == 0, r
    assert r.lines[:8] == ["0 s", "4 s", "59 s", "00:01:22", "01:00:00", "23:59:59",
                           "1 d 01:01:01", "2 d 07:33:20"]
    assert r.lines[8] in ("1970 20", "1969 20")


def test_runs_under_a_second_show_in_ms(mp):
    r = mp.run_async("""
        from mptest import returns
        import aioview
        aioctl.group().color = False
        aioctl.add(returns, 1, 100, name="quick")
        await asyncio.sleep_ms(150)
        aioctl.status()
        print(aioview.duration(0), aioview.duration(999), aioview.duration(1000),
              aioview.duration(61000))
    """)
    assert r.rc == 0, r
    # "0 s ago", or 1 when the end and status() fall either side of a second
    assert re.fullmatch(r"● quick: status: done @ %s; [01] s ago \(ran \d{3} ms\) --> result: 1"
                        % TS, r.lines[0]), r
    assert r.lines[1] == "0 ms 999 ms 1 s 00:01:01"


def test_ago_and_runtime_grow_with_time(mp):
    r = mp.run_async("""
        from mptest import returns
        import time
        aioctl.group().color = False
        aioctl.add(returns, 1, 2100, name="slow")
        await asyncio.sleep_ms(2300)
        aioctl.status()
    """, timeout=60)
    assert r.rc == 0, r
    assert re.fullmatch(r"● slow: status: done @ %s; [01] s ago \(ran [23] s\) --> result: 1" % TS,
                        r.lines[0]), r


def test_debug_view_of_task_and_toggle(mp):
    r = mp.run_async("""
        from mptest import forever, divide, on_error
        aioctl.group().color = False
        aioctl.add(forever, 1, 2, name="plain", flag=True)
        aioctl.add(divide, 0, name="bad", on_error=on_error)
        await asyncio.sleep_ms(10)
        print(aioctl.debug())
        aioctl.status()
        print(aioctl.debug())
        aioctl.status("plain", debug=True)
    """)
    assert r.rc == 0, r
    out = r.out
    assert r.lines[0] == "True"
    assert "    Task: <Task>" in out
    assert "    ┗━► args: (1, 2)" in out
    assert "    ┗━► kwargs: {'flag': True}" in out
    assert "    ┗━► hook: 'handled ZeroDivisionError'" in out
    # the failed task's real traceback: this test's helper file and line
    assert re.search(r'File ".*mptest.py", line \d+, in divide\nZeroDivisionError', out), out
    assert "False" in r.lines
    assert r.lines[-4].startswith("● plain: status: running since")
    assert r.lines[-3:] == ["    Task: <Task>", "    ┗━► args: (1, 2)",
                            "    ┗━► kwargs: {'flag': True}"]


def test_the_overview_loads_only_its_own_half_and_each_view_lets_go(mp):
    # status() is the view looked at most: it loads aiostatus alone; the
    # debug view and traceback() bring aiostatusx. A result's repr, which
    # the views call while they print, sees what is loaded at that moment.
    r = mp.run_async("""
        import sys
        class Result:
            def __repr__(self):
                print([m for m in ("aiostatus", "aiostatusx") if m in sys.modules])
                return "r"
        async def gives():
            return Result()
        aioctl.group().color = False
        aioctl.add(gives, name="g")
        await asyncio.sleep_ms(10)
        aioctl.status()
        aioctl.status("g", debug=True)
        aioctl.traceback("g")
        print("after", [m for m in sys.modules if m.startswith("aiostatus")])
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "['aiostatus']", r
    assert r.lines[1].startswith("● g: status: done @ ") and r.lines[1].endswith("result: r"), r
    assert r.lines[2] == "['aiostatus', 'aiostatusx']", r
    assert r.lines[-2:] == ["g: no traceback (done)", "after []"], r


def test_debug_view_of_a_service_with_children(mp):
    # A registry with the aioservice interface (the real one is aioservice.py).
    mp.write("aioservice.py", """
        class Hello:
            name = "hello"
            info = "Hello example v1.0"
            type = "runtime.service"
            docs = "https://example.org/hello"
            def __repr__(self):
                return "Service: hello.service from aioservices/services/hello_service.py"
            def show(self):
                return "Stats", "loops: 3"
        def service(name):
            return Hello() if name == "hello" else None
    """)
    r = mp.run_async("""
        import aioservice
        from mptest import forever, returns
        aioctl.group().color = False
        aioctl.add(forever, 2, 5, name="hello.service")
        aioctl.add(returns, "ok", name="hello.service.child")
        await asyncio.sleep_ms(10)
        aioctl.status(debug=True)
        print(aioctl.group().tasks["hello.service.child"].service.name)
        aioservice.Hello.info = ""  # a service without info: its first line ends at its name
        aioctl.status("hello.service", debug=True)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "● hello.service - Hello example v1.0"
    assert r.lines[1] == ("    Loaded: Service: hello.service from "
                          "aioservices/services/hello_service.py")
    assert re.fullmatch(r"    Active: status: running since %s; [01] s ago" % TS, r.lines[2])
    assert r.lines[3:6] == ["    Type: runtime.service", "    Docs: https://example.org/hello",
                            "    Stats: loops: 3"]
    assert r.lines[7:10] == ["    ┗━► args: (2, 5)", "    ┗━► kwargs: {}", "    ┗━► child tasks:"]
    assert r.lines[10].startswith("        ● hello.service.child: status: done @")
    assert r.lines[10].endswith("--> result: 'ok'")
    assert r.lines[11] == "hello"  # the child is not listed twice: once, as a child
    assert sum(line.startswith("        ● hello.service.child") for line in r.lines[:11]) == 1
    assert r.lines[12] == "● hello.service", r  # (trial: it read "● hello.service -")


def test_traceback_names_file_and_line(mp):
    mp.write("failing.py", """
        import asyncio
        async def work(x):
            await asyncio.sleep_ms(1)
            raise ValueError("bad value %d" % x)
    """)
    r = mp.run_async("""
        import failing
        from mptest import returns
        aioctl.add(failing.work, 7, name="w")
        aioctl.add(failing.work, 8, name="w2")
        aioctl.add(returns, 1, name="ok")
        await asyncio.sleep_ms(10)
        aioctl.traceback("w")
        aioctl.traceback("ok")
        aioctl.group().color = False
        aioctl.traceback("w*")
    """)
    assert r.rc == 0, r
    assert re.search(r'File ".*failing.py", line 5, in work\nValueError: bad value 7\n', r.out)
    assert "ok: no traceback (done)" in r.lines
    assert "● w: status:" not in r.out and "● w:" in r.lines and "● w2:" in r.lines
    assert "ValueError: bad value 8" in r.lines


def test_result_all_and_info_for_tools(mp):
    r = mp.run_async("""
        from mptest import forever, returns, divide
        aioctl.add(returns, [1, 2], name="a")
        aioctl.add(divide, 0, name="b")
        aioctl.add(forever, name="c")
        await asyncio.sleep_ms(10)
        aioctl.result_all()
        print(aioctl.result_all(as_dict=True)["a"])
        for d in aioctl.info():
            print(sorted(d.items()))
        print(len(aioctl.info("c")))
    """)
    assert r.rc == 0, r
    assert r.lines[:4] == ["a --> [1, 2]", "b --> ZeroDivisionError('divide by zero',)",
                           "c --> None", "[1, 2]"]
    a, b, c = r.lines[4:7]
    assert re.fullmatch(r"\[\('done_at', \d+\), \('name', 'a'\), \('result', \[1, 2\]\), "
                        r"\('since', \d+\), \('state', 'done'\)\]", a)
    assert "('error', 'ZeroDivisionError: divide by zero')" in b and "('state', 'ERROR')" in b
    assert "('done_at', None)" in c and "('state', 'running')" in c
    assert r.lines[7] == "1"


def test_log_grep_on_a_stringio_and_task_status_shows_its_lines(mp):
    r = mp.run_async("""
        import io
        from mptest import forever
        aioctl.log()
        s = io.StringIO()
        aioctl.set_log(s)
        s.write("[hello.service] started\\n[world.service] tick\\n")
        s.write("[hello.service.blink] on\\n[hello.serviceX] other\\n")
        # the watcher names a service without .service (trial: status left them out)
        s.write("[watcher.service] hello: restart 1\\n[watcher.service] hellos: hung\\n")
        aioctl.log("world")
        print("--")
        aioctl.log(["blink", "tick"])
        print("--")
        aioctl.log("hello*started")
        print("--")
        try:  # a number is not text to look for: one line says so
            aioctl.log(5)
        except TypeError as e:
            print(e)
        aioctl.group().color = False
        aioctl.add(forever, name="hello.service")
        aioctl.status("hello.service")
    """)
    assert r.rc == 0, r
    lines = r.lines
    assert lines[0] == "no log stream: call aioctl.set_log(stream) first"
    assert lines[1:9] == ["[world.service] tick", "--", "[world.service] tick",
                          "[hello.service.blink] on", "--", "[hello.service] started", "--",
                          "grep for text (a string, or a list of them): not 5"]
    assert lines[9].startswith("● hello.service: status: running")
    assert lines[10:] == ["[hello.service] started", "[hello.service.blink] on",
                          "[watcher.service] hello: restart 1"]


def test_follow_a_log_file_as_it_grows(mp):
    r = mp.run_async("""
        async def writer():
            for i in range(6):
                with open("app.log", "a") as f:
                    f.write("[%s] line %d\\n" % ("a" if i % 2 else "b", i))
                await asyncio.sleep_ms(60)
        open("app.log", "w").write("[a] old line\\n")
        aioctl.set_log("app.log")
        aioctl.add(aioctl.follow, "[a]", name="follow")
        await asyncio.sleep_ms(20)
        await writer()
        await asyncio.sleep_ms(250)
        aioctl.stop("follow")
        await asyncio.sleep_ms(10)
        print(aioctl.group().tasks["follow"].state)
    """, timeout=30)
    assert r.rc == 0, r
    assert r.lines == ["[a] line 1", "[a] line 3", "[a] line 5", "stopped"]


def test_status_of_a_journal_like_stream_delegates(mp):
    r = mp.run_async("""
        class Journal:
            def cat(self, grep):
                print("cat", grep)
            async def follow(self, grep):
                print("follow", grep)
        aioctl.set_log(Journal())
        aioctl.log("x")
        await aioctl.follow("y")
    """)
    assert r.rc == 0, r
    assert r.lines == ["cat x", "follow y"]


def test_top_counts_broken_and_scheduled_services_for_what_they_are(mp):
    from conftest import service_file

    world = service_file("world", kind="schedule.service", body="return 'ran'",
                         attrs="self.schedule = {'start_in': 0, 'repeat': 60}")
    mp.services({"world": world, "broken": "x = 1 / 0\n",
                 "runs": service_file("runs")})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(50)
        aioctl.top()
    """)
    assert r.rc == 0, r
    assert r.lines[-2] == "tasks: 2 (running 1, scheduled 1)", r
    assert r.lines[-1] == "services: 2 loaded, 0 not running, 1 not loaded; errors: 1", r


def test_an_exception_in_on_stop_shows_in_status(mp):
    r = mp.run_async("""
        from mptest import forever
        def bad_stop(*a, **k):
            raise OSError("flush failed")
        aioctl.group().color = False
        aioctl.add(forever, name="w", on_stop=bad_stop)
        await asyncio.sleep_ms(10)
        aioctl.stop("w")
        await asyncio.sleep_ms(10)
        aioctl.status("w", log=False)
    """)
    assert r.rc == 0, r
    assert r.lines[0].startswith("● w: status: stopped @ "), r
    assert r.lines[0].endswith("--> result: None; on_stop raised OSError: flush failed"), r


def test_top_shows_the_largest_free_block_which_is_what_runs_out(mp):
    # On a board's heap, free bytes in pieces are not room for a module's
    # code: top() says the largest block too. Its measure is checked against
    # the tests' own (heapinfo) in the same heap, with the same code loaded.
    r = mp.run("""
import aioctl, aiotop, gc
from heapinfo import heap
keep = [bytearray(900) for i in range(30)]
keep = keep[1::2]  # the others go: holes of 900 B between the kept ones
aioctl.top()
gc.collect()
print(aiotop.largest(gc.mem_free()).split()[0], *heap())  # "3646 B"
""", heap="48K", bits=32)
    assert r.rc == 0, r
    found = re.match(r"mpsysd: up 0 s; heap \d+ B used, (\d+) B free \(largest block (\d+) B\); "
                     r"loop lag not measured$", r.lines[0])
    assert found, r
    said, free, largest = (int(v) for v in r.lines[-1].split())
    assert abs(said - largest) <= 16, r  # each bisects to a 16-byte block
    assert largest < free, r  # the holes: free is not all in one piece
