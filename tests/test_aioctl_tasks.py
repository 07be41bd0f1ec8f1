"""aioctl: adding tasks, naming, results, hooks and failure paths."""


def test_add_names_plain_decorated_and_taken(mp):
    r = mp.run_async("""
        from mptest import forever, managed, returns
        print(aioctl.add(forever))
        print(aioctl.add(forever))
        print(aioctl.add(forever))
        print(aioctl.add(returns, 1, name="job"))
        print(aioctl.add(managed, 1, _id="svc"))
        await asyncio.sleep_ms(20)
        print(sorted(aioctl.group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines == ["forever", "forever@1", "forever@2", "job", "svc",
                       "['forever', 'forever@1', 'forever@2', 'job', 'svc']"]


def test_states_and_results(mp):
    r = mp.run_async("""
        from mptest import forever, returns, divide, states
        aioctl.add(forever, name="run")
        aioctl.add(returns, 42, name="ok")
        aioctl.add(divide, 0, name="bad")
        await asyncio.sleep_ms(30)
        print(states())
        print(aioctl.result("ok"), repr(aioctl.result("bad")), aioctl.result("run"))
        v = aioctl.group().tasks["ok"]
        print(v.args, v.kwargs, v.done_at >= v.since, v.task.done())
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "bad=ERROR ok=done run=running"
    assert r.lines[1] == "42 ZeroDivisionError('divide by zero',) None"
    assert r.lines[2] == "(42,) {} True True"


def test_decorated_method_with_hooks_consumed(mp):
    # The seed's convention: a Service-like class whose task is an @aiotask method.
    r = mp.run_async("""
        class Hello:
            def on_stop(self, *args, **kwargs):
                return "stop %r %r" % (args, sorted(kwargs))

            def on_error(self, e, *args, **kwargs):
                return "error %s %r" % (type(e).__name__, args)

            @aioctl.aiotask
            async def task(self, n, s, log=None):
                await asyncio.sleep_ms(s)
                if n == 0:
                    raise ValueError("n is zero")
                while True:
                    await asyncio.sleep_ms(s)

        h = Hello()
        hooks = {"on_stop": h.on_stop, "on_error": h.on_error}
        aioctl.add(h.task, 1, 5, name="a.service", log=None, **hooks)
        aioctl.add(h.task, 0, 5, name="b.service", **hooks)
        await asyncio.sleep_ms(30)
        aioctl.stop("a.service")
        await asyncio.sleep_ms(10)
        for n in ("a.service", "b.service"):
            v = aioctl.group().tasks[n]
            print(n, v.state, repr(v.result), repr(v.extra))
    """)
    assert r.rc == 0, r
    # on_stop gets the task's args and kwargs without the hooks; its value is the result
    assert r.lines[0] == "a.service stopped \"stop (1, 5) ['log']\" None"
    # on_error's value is kept beside the exception, which is the result
    assert r.lines[1] == "b.service failed ValueError('n is zero',) 'error ValueError (0, 5)'"


def test_calling_decorated_gives_a_job_add_runs_once(mp):
    r = mp.run_async("""
        from mptest import managed, on_stop
        job = managed(3, on_stop=on_stop, _id="x")
        print(type(job).__name__, job.on_stop is on_stop)
        name = aioctl.add(job, name="once")
        await asyncio.sleep_ms(10)
        aioctl.stop(name)
        await asyncio.sleep_ms(10)
        print(aioctl.group().tasks[name].state, aioctl.result(name))
        try:
            aioctl.start(name)
        except ValueError as e:
            print("ValueError:", e)
        # awaiting a job directly runs its coroutine
        async def short():
            return 7
        print(await aioctl.aiotask(short)(on_error=print))
    """)
    assert r.rc == 0, r
    assert r.lines == [
        "Job True",
        "stopped stopped with () []",
        "ValueError: once was added as a coroutine object, which runs once; add its function "
        "to start it again",
        "7",
    ]


def test_bad_input_to_add(mp):
    r = mp.run_async("""
        from mptest import returns
        def not_async(x):
            return x
        for bad in ((not_async, 1), (returns,), (returns, 1, 2, 3)):
            try:
                aioctl.add(*bad)
            except TypeError as e:
                print("TypeError")
        print(len(aioctl.group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines == ["TypeError", "TypeError", "TypeError", "0"]


def test_exceptions_in_hooks_are_recorded_and_loop_survives(mp):
    r = mp.run_async("""
        from mptest import forever, divide, returns
        def bad_stop(*a, **k):
            raise RuntimeError("on_stop broke")
        def bad_error(e, *a, **k):
            raise OSError(5)
        aioctl.add(forever, name="s", on_stop=bad_stop)
        aioctl.add(divide, 0, name="e", on_error=bad_error)
        await asyncio.sleep_ms(20)
        aioctl.stop("s")
        await asyncio.sleep_ms(10)
        for n in ("s", "e"):
            v = aioctl.group().tasks[n]
            print(n, v.state, repr(v.result), repr(v.extra))
        aioctl.add(returns, "alive", name="after")
        await asyncio.sleep_ms(10)
        print(aioctl.result("after"))
    """)
    assert r.rc == 0, r
    assert r.lines == [
        "s stopped None RuntimeError('on_stop broke',)",
        "e ERROR ZeroDivisionError('divide by zero',) OSError(5,)",
        "alive",
    ]


def test_failure_and_stop_are_logged_to_log_kwarg(mp):
    r = mp.run_async("""
        from mptest import forever, divide, Log
        log = Log()
        aioctl.add(divide, 0, name="bad", log=log)
        aioctl.add(forever, name="f", log=log)
        await asyncio.sleep_ms(20)
        aioctl.stop("f")
        await asyncio.sleep_ms(10)
        print("\\n".join(log.lines))
    """)
    assert r.rc == 0, r
    assert r.lines == ["ERROR [bad] ZeroDivisionError: divide by zero", "INFO [f] stopped"]


def test_cancellation_propagates_into_awaited_code(mp):
    # asyncio semantics: stop() cancels inside nested awaits, finally blocks
    # run, and a task that swallows the cancel and returns is done, not stopped.
    r = mp.run_async("""
        async def inner(trace):
            try:
                await asyncio.sleep(60)
            finally:
                trace.append("inner finally")
        async def outer(trace):
            try:
                await inner(trace)
            except asyncio.CancelledError:
                trace.append("outer saw cancel")
                raise
        async def stubborn():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                return "swallowed"
        trace = []
        aioctl.add(outer, trace, name="o")
        aioctl.add(stubborn, name="s")
        await asyncio.sleep_ms(10)
        aioctl.stop("o")
        aioctl.stop("s")
        await asyncio.sleep_ms(10)
        print(trace)
        print(aioctl.group().tasks["o"].state, aioctl.group().tasks["s"].state, aioctl.result("s"))
    """)
    assert r.rc == 0, r
    assert r.lines == ["['inner finally', 'outer saw cancel']", "stopped done swallowed"]


def test_unknown_names_say_so_in_one_line(mp):
    r = mp.run_async("""
        from mptest import forever
        aioctl.add(forever, name="alpha")
        aioctl.add(forever, name="beta")
        for call in (aioctl.stop, aioctl.start, aioctl.restart, aioctl.result, aioctl.status,
                     aioctl.traceback, aioctl.delete):
            print(call("nope"))
        print(aioctl.status("nonexist*"))
        print(sorted(aioctl.group().recs))
    """)
    assert r.rc == 0, r
    said = "aioctl: no task matches 'nope'; tasks: alpha, beta"
    assert r.lines == [said, "False", said, "False", said, "False", said, "None", said, "None",
                       said, "None", said, "None",
                       "aioctl: no task matches 'nonexist*'; tasks: alpha, beta", "None",
                       "['alpha', 'beta']"]



def test_start_or_restart_without_a_name_is_refused_and_starts_nothing(mp):
    # (trial) start(None) and restart(None) acted on every task: one-shot
    # services ran again, stopped ones started, the watcher restarted.
    # stop(None) stops all but the caller, as the README says; "*" is all.
    r = mp.run_async("""
        from mptest import forever, returns
        aioctl.add(returns, 1, name="once")
        aioctl.add(forever, name="held")
        await asyncio.sleep_ms(10)
        aioctl.stop("held")
        await asyncio.sleep_ms(10)
        for call in (aioctl.start, aioctl.restart):
            try:
                call(None)
            except TypeError as e:
                print(e)
        await asyncio.sleep_ms(10)
        v = aioctl.group().tasks
        print(v["once"].state, v["held"].state)
        print(aioctl.start("*"))
        await asyncio.sleep_ms(10)
        print(v["held"].state)
    """)
    assert r.rc == 0, r
    said = "a task is named by a string, such as 'hello.service': not None"
    assert r.lines[:2] == [said, said]
    assert r.lines[2:] == ["done stopped", "True", "running"]  # the stop held till "*"


def test_a_service_named_without_its_suffix_is_pointed_to(mp):
    # aioctl.stop("hello") said only that nothing matches (trial): a
    # service's task is "hello.service", the name services.config uses
    r = mp.run_async("""
        from mptest import forever
        aioctl.add(forever, name="hello.service")
        print(aioctl.stop("hello"))
    """)
    assert r.rc == 0, r
    assert r.lines == ["aioctl: no task matches 'hello'; tasks: hello.service; a service's "
                       "task is 'hello.service'", "False"], r


def test_a_misspelt_call_is_one_line_that_points_to_help_and_loads_nothing(mp):
    r = mp.run_async("""
        import sys
        for module, name in ((aioctl, "stauts"), (aioservice, "stauts")):
            try:
                getattr(module, name)()
            except AttributeError as e:
                print(e)
        print([m for m in ("aiostatus", "aioview", "aiotools", "aiomanager") if m in sys.modules])
    """)
    assert r.rc == 0, r
    assert r.lines == ["aioctl has no 'stauts'; help(aioctl) lists its calls",
                       "aioservice has no 'stauts'; help(aioservice) lists its calls", "[]"], r


def test_tasks_gives_joinable_awaitables(mp):
    r = mp.run_async("""
        from mptest import returns, divide, forever
        aioctl.add(returns, "a", 10, name="a")
        aioctl.add(returns, "b", 30, name="b")
        aioctl.add(divide, 0, 20, name="c")
        aioctl.add(forever, name="d")
        async def stop_d():
            await asyncio.sleep_ms(40)
            aioctl.stop("d")
        asyncio.create_task(stop_d())
        print(await asyncio.gather(*aioctl.tasks()))
        print(aioctl.tasks())
    """)
    assert r.rc == 0, r
    assert r.lines == ["['a', 'b', ZeroDivisionError('divide by zero',), None]", "[]"]


def test_decorated_functions_name_their_tasks(mp):
    # An @aiotask function was named after its wrapper (`call`, `call@1`).
    r = mp.run_async("""
        from mptest import managed, forever

        class Svc:
            @aioctl.aiotask
            async def blink(self, n):
                await asyncio.sleep_ms(50)

        print(aioctl.add(managed, 1), aioctl.add(managed, 2), aioctl.add(managed(3)))
        print(aioctl.add(Svc().blink, 1), aioctl.add(forever))
        print(aioctl.enter(managed, (4,), {}, start=False))
        print(aioctl.add(managed, 5, _id="mine"), aioctl.add(managed, 6, name="given"))
        await asyncio.sleep_ms(10)
        print(" ".join("%s=%s" % (n, aioctl.group().tasks[n].state) for n in aioctl.select()))
    """)
    assert r.rc == 0, r
    assert r.lines == [
        "managed managed@1 managed@2",
        "blink forever",
        "managed@3",
        "mine given",
        "blink=running forever=running given=running managed=running managed@1=running "
        "managed@2=running managed@3=scheduled mine=running",
    ]


def test_a_task_named_by_a_number_is_refused_and_the_table_stays_whole(mp):
    # name=5 was taken, and then every view and the shutdown failed on it
    r = mp.run_async("""
        from mptest import forever
        aioctl.add(forever, name="ok")
        try:
            aioctl.add(forever, name=5)
        except TypeError as e:
            print(e)
        await asyncio.sleep_ms(10)
        print(aioctl.select())
        aioctl.group().color = False
        aioctl.status()
    """)
    assert r.rc == 0, r
    assert r.lines[:2] == ["a task is named by a string, such as 'hello.service': not 5",
                           "['ok']"], r
    assert len(r.lines) == 3 and r.lines[2].startswith("● ok: status: running since"), r


def test_what_is_not_a_coroutine_is_refused_once_and_named(mp):
    # aioctl.add(calls.append, 1) ran the function twice before refusing it,
    # and aioctl.add(5) said "None is not a coroutine function"
    r = mp.run_async("""
        calls = []
        for func, args in ((calls.append, (1,)), (5, ())):
            try:
                aioctl.add(func, *args)
            except TypeError as e:
                print(e)
        print(calls, aioctl.select())
    """)
    assert r.rc == 0, r
    assert r.lines[0].startswith("<bound_method") and \
        r.lines[0].endswith("is not a coroutine function"), r
    assert r.lines[1:] == ["5 is not a coroutine function", "[1] []"], r


def test_a_plain_function_or_a_builtin_is_refused_without_being_called(mp):
    # aioctl.add(print, "CALLED") printed CALLED before refusing print: a
    # machine.reset would have reset the board (trial)
    r = mp.run_async("""
        def plain(*args):
            print("plain ran")
        for func, kw in ((print, {}), (print, {"name": "p"}), (plain, {}), (plain, {"name": "q"})):
            try:
                aioctl.add(func, "CALLED", **kw)
            except TypeError as e:
                print(str(e).endswith(" is not a coroutine function"))
        print(aioctl.select())
    """)
    assert r.rc == 0, r
    assert r.lines == ["True"] * 4 + ["[]"], r
