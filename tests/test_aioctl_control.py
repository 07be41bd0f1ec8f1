"""aioctl: stop / start / restart / delete, wildcards, child tasks, memory."""
import pytest


def test_stop_start_with_wildcards(mp):
    r = mp.run_async("""
        from mptest import forever, states
        for n in ("net.service", "hello.service", "hello.service.blink", "world"):
            aioctl.add(forever, name=n)
        await asyncio.sleep_ms(10)
        print(aioctl.stop("*.service"))
        await asyncio.sleep_ms(10)
        print(states())
        print(aioctl.stop("*.service"))  # nothing left to stop
        print(aioctl.start("net*"))
        await asyncio.sleep_ms(10)
        print(states())
        aioctl.stop()
        await asyncio.sleep_ms(10)
        print(states())
    """)
    assert r.rc == 0, r
    assert r.lines == [
        "True",
        "hello.service=stopped hello.service.blink=stopped net.service=stopped world=running",
        "False",
        "True",
        "hello.service=stopped hello.service.blink=stopped net.service=running world=running",
        "hello.service=stopped hello.service.blink=stopped net.service=stopped world=stopped",
    ]


def test_service_children_follow_their_service(mp):
    r = mp.run_async("""
        from mptest import forever, states
        aioctl.add(forever, name="hello.service")
        aioctl.add(forever, name="hello.service.blink")
        aioctl.add(forever, name="hello.serviceX")
        await asyncio.sleep_ms(10)
        aioctl.stop("hello.service")
        await asyncio.sleep_ms(10)
        print(states())
        aioctl.start("hello.service")  # the service's own run adds its children
        await asyncio.sleep_ms(10)
        print(states())
        aioctl.delete("hello.service")
        await asyncio.sleep_ms(10)
        print(states())
    """)
    assert r.rc == 0, r
    assert r.lines == [
        "hello.service=stopped hello.service.blink=stopped hello.serviceX=running",
        "hello.service=running hello.service.blink=stopped hello.serviceX=running",
        "hello.serviceX=running",
    ]


def test_start_reruns_with_edited_args(mp):
    r = mp.run_async("""
        from mptest import returns
        aioctl.add(returns, 1, name="r")
        await asyncio.sleep_ms(10)
        v = aioctl.group().tasks["r"]
        v.args = (2,)
        v.kwargs = {"ms": 3}
        print(aioctl.start("r"), v.state)
        await asyncio.sleep_ms(10)
        print(aioctl.result("r"), v.args, v.kwargs)
        print(aioctl.start("r"), aioctl.start("r"))
    """)
    assert r.rc == 0, r
    assert r.lines == ["True running", "2 (2,) {'ms': 3}", "True False"]


def test_restart_running_and_start_while_stop_pending(mp):
    r = mp.run_async("""
        from mptest import forever, Log
        log = Log()
        aioctl.add(forever, name="a", log=log)
        aioctl.add(forever, name="b", log=log)
        await asyncio.sleep_ms(10)
        first = aioctl.group().tasks["a"].task
        print(aioctl.restart("a"))
        aioctl.stop("b")
        print(aioctl.start("b"))  # the stop is still pending: start follows it
        print(aioctl.group().tasks["b"].state)
        await asyncio.sleep_ms(10)
        print(aioctl.group().tasks["a"].state, aioctl.group().tasks["a"].task is not first)
        print(aioctl.group().tasks["b"].state)
        print(log.lines)
    """)
    assert r.rc == 0, r
    assert r.lines == ["True", "True", "stopping", "running True", "running",
                       "['INFO [a] stopped', 'INFO [b] stopped']"]


def test_delete_running_and_finished(mp):
    r = mp.run_async("""
        from mptest import forever, returns, on_stop
        aioctl.add(forever, name="run", on_stop=on_stop)
        aioctl.add(returns, 1, name="fin1")
        aioctl.add(returns, 2, name="fin2")
        await asyncio.sleep_ms(10)
        aioctl.delete("run", "fin*")
        print(sorted(aioctl.group().tasks))
        await asyncio.sleep_ms(10)
        print(sorted(aioctl.group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines == ["['run']", "[]"]


def test_task_stops_itself_by_name_others_first(mp):
    r = mp.run_async("""
        from mptest import forever, states
        async def boss():
            await asyncio.sleep_ms(5)
            aioctl.stop("w*")   # wildcard: the caller is spared
            aioctl.stop("boss")  # its own name: it ends, stopped
            print("not reached")
        aioctl.add(forever, name="w1")
        aioctl.add(boss, name="boss")
        aioctl.add(forever, name="w2")
        await asyncio.sleep_ms(30)
        print(states())
    """)
    assert r.rc == 0, r
    assert r.lines == ["boss=stopped w1=stopped w2=stopped"]


def test_stop_all_spares_the_caller(mp):
    r = mp.run_async("""
        from mptest import forever, states
        async def prompt():
            await asyncio.sleep_ms(5)
            aioctl.stop()
            await asyncio.sleep_ms(5)
            print("prompt still here")
        aioctl.add(forever, name="x")
        aioctl.add(prompt, name="prompt")
        await asyncio.sleep_ms(30)
        print(states())
    """)
    assert r.rc == 0, r
    assert r.lines == ["prompt still here", "prompt=done x=stopped"]


@pytest.mark.unix_only
def test_thousand_stop_start_cycles_heap_flat(mp):
    r = mp.run_async("""
        from mptest import managed, heap, on_stop
        for i in range(5):
            aioctl.add(managed, i, name="t%d" % i, on_stop=on_stop)
        await asyncio.sleep_ms(10)
        samples = []
        for cycle in range(1000):
            aioctl.stop("t*")
            await asyncio.sleep_ms(0)
            aioctl.start("t*")
            await asyncio.sleep_ms(0)
            if cycle % 250 == 249:
                samples.append(heap())
        print(samples)
        print(max(samples) - min(samples))
        print(" ".join(aioctl.group().tasks[n].state for n in aioctl.select()))
    """, timeout=120)
    assert r.rc == 0, r
    growth = int(r.lines[1])
    assert growth <= 256, r  # flat: no per-cycle retention
    assert r.lines[2] == "running running running running running"


def test_wildcard_matching(mp):
    r = mp.run("""
        from aiogrep import match
        cases = [("*", ""), ("*", "abc"), ("a*", "abc"), ("*c", "abc"), ("a*c", "ac"),
                 ("a*b*c", "aXbYc"), ("a*b*c", "acb"), ("*.service", "hello.service"),
                 ("*.service", "hello.service.child"), ("h*o.s*e", "hello.service"),
                 ("abc", "abc"), ("abc", "abcd"), ("a**c", "abc"), ("*b*", "b")]
        print(" ".join("1" if match(p, n) else "0" for p, n in cases))
    """)
    assert r.rc == 0, r
    assert r.lines == ["1 1 1 1 1 1 0 1 0 1 1 0 1 1"]


def test_tasks_mapping_and_reset(mp):
    r = mp.run_async("""
        from mptest import forever
        aioctl.add(forever, name="a")
        aioctl.add(forever, name="b")
        t = aioctl.group().tasks
        print(len(t), "a" in t, "z" in t, sorted(t.keys()), sorted(n for n, v in t.items()))
        print(sorted(t), t["a"].name, t["a"].func is forever)
        try:
            t["z"]
        except KeyError:
            print("KeyError")
        aioctl.reset()
        print(len(aioctl.group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines == ["2 True False ['a', 'b'] ['a', 'b']", "['a', 'b'] a True", "KeyError", "0"]


def test_a_rerun_stops_a_child_that_still_runs_as_start_does(mp):
    # aiojob.rerun (the watcher's restarts, a schedule's runs) starts a
    # finished task with nothing to load; a child task of it that still
    # runs is stopped first, by start().
    r = mp.run_async("""
        import sys, aiojob
        from mptest import forever, returns
        class Unloadable:  # stands in for the control calls: using them fails
            def __getattr__(self, attr):
                raise ImportError("the control calls were needed")
        aioctl.add(returns, 1, name="p.service")
        aioctl.add(forever, name="p.service.kid")
        await asyncio.sleep_ms(20)
        tasks = aioctl.group().tasks
        print(tasks["p.service"].state, tasks["p.service.kid"].state)
        print(aiojob.rerun("p.service"))  # its child runs: start() stops it
        await asyncio.sleep_ms(20)
        print(tasks["p.service"].state, tasks["p.service.kid"].state)
        sys.modules["aiotasks"] = Unloadable()
        print(aiojob.rerun("p.service"), aiojob.rerun("p.service.kid"))
        del sys.modules["aiotasks"]
        await asyncio.sleep_ms(20)
        print(tasks["p.service"].state, tasks["p.service.kid"].state)
    """)
    assert r.rc == 0, r
    assert r.lines == ["done running", "True", "done stopped", "True True", "done running"], r
