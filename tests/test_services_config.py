"""services.config and .env: every edge case is one clear line; nothing else stops."""
import json

from conftest import service_file

ECHO = service_file("echo", params=", *args", attrs="self.kwargs = {'greeting': 'default'}",
                    body="return (args, greeting)").replace(
    "async def task(self, *args, log=None)", "async def task(self, *args, greeting='?', log=None)")
OTHER = service_file("other", body="return 'other ok'")


def run_init(mp, config, env=None, extra=""):
    mp.services({"echo": ECHO, "other": OTHER}, config=config, env=env)
    return mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        for n in ("echo", "other"):
            t = n + ".service"
            print(n, aioctl.result(t) if t in aioctl.group().tasks else "not started")
    """ + extra)


def test_args_kwargs_and_env_substitution(mp):
    r = run_init(mp, {"echo": {"args": [1, "${A}"], "kwargs": {"greeting": "hi ${B}!"}}},
                 env="# secrets\nA=alpha\nexport_not=1\nB = 'beta'\n")
    assert r.rc == 0, r
    assert r.lines == ["echo ((1, 'alpha'), 'hi beta!')", "other other ok"]


def test_missing_env_variable_fails_that_service_only(mp):
    r = run_init(mp, {"echo": {"kwargs": {"greeting": "${NOPE}"}}}, env="A=1\n")
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] services.config: echo: ${NOPE} is not set in .env",
                       "echo not started", "other other ok"]



def test_an_entry_for_a_service_with_no_file_is_said_once_and_the_rest_run(mp):
    # a misspelt name in services.config was silent: its service ran with
    # its defaults and nothing said why the entry did nothing
    r = run_init(mp, {"ecko": {"args": [1]}, "gone": {"enabled": False},
                      "echo": {"args": [2]}}, extra="""
        aioservice.init(debug=False)  # again: said once
        print(sorted(aioservice.errors))
    """)
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] services.config: ecko: no file ecko_service.py in "
                       "aioservices/services (a misspelt name?)",
                       "echo ((2,), 'default')", "other other ok", "['ecko']"], r

def test_bad_env_line_is_reported_and_skipped(mp):
    r = run_init(mp, {"echo": {"args": ["${A}"]}}, env="this is not a pair\nA=ok\n")
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] .env: line 1: not KEY=VALUE, skipped",
                       "echo (('ok',), 'default')", "other other ok"]


def test_config_that_is_not_json_runs_defaults_and_stays_untouched(mp):
    broken = '{"echo": {"args": [1, 2]'  # cut off, as after a power cut
    r = run_init(mp, broken, extra="""
        try:
            aioservice.enable("echo")
        except Exception as e:
            print(type(e).__name__, str(e))
    """)
    assert r.rc == 0, r
    line = "services.config: line 1, col 25: no closing '}': not valid JSON; "
    # read at the start, it says what runs; written to, that nothing is written
    assert r.lines == [
        "[ ERROR ] " + line + "services run with their defaults; the file is left as it is",
        "echo ((), 'default')", "other other ok",
        "ConfigError " + line + "nothing is written; the file is left as it is"], r
    assert open(mp.workdir + "/services.config").read() == broken


def test_garbage_bytes_and_wrong_top_level(mp):
    r = run_init(mp, "\x00\xff garbage")
    assert r.rc == 0, r
    assert r.lines[0] == ("[ ERROR ] services.config: line 1, col 1: expected a value: not valid "
                          "JSON; services run with their defaults; the file is left as it is")
    assert r.lines[1:] == ["echo ((), 'default')", "other other ok"]
    r = run_init(mp, "[1, 2]")
    assert r.lines[0] == "[ ERROR ] services.config: must hold a JSON object, not a list"


def test_wrong_shapes_fail_their_service_only(mp):
    cases = [
        ({"args": {"a": 1}}, '"args" must be a list, not an object'),
        ({"kwargs": [1]}, '"kwargs" must be an object, not a list'),
        ({"enabled": "yes"}, '"enabled" must be true/false, not a string'),
        ("on", "entry must be an object, not a string"),
        ({"enable": True}, "unknown key 'enable' (known: enabled, args, kwargs, schedule, "
                           "require, restart, restart_delay, restart_delay_max, max_restarts, "
                           "restart_window, watchdog)"),
        ({"restart": "sometimes"}, '"restart" must be one of on-failure, always, no'),
        ({"restart_delay": "1s"}, '"restart_delay" must be a number >= 0'),
        ({"kwargs": {"nope": 1}}, "cannot start: TypeError: unexpected keyword argument 'nope'"),
    ]
    for entry, problem in cases:
        r = run_init(mp, {"echo": entry})
        assert r.rc == 0, r
        where = ("aioservices/services/echo_service.py" if "cannot start" in problem
                 else "services.config")
        assert r.lines == ["[ ERROR ] %s: echo: %s" % (where, problem),
                           "echo not started", "other other ok"], entry


def test_schedule_problems_are_reported_for_that_service(mp):
    world = service_file("world", kind="schedule.service", body="return 1")
    for schedule, problem in [
        ({"every": 5}, "unknown schedule key 'every' (known: start_in, at, repeat)"),
        ({"repeat": -1}, "schedule repeat must be a number of seconds >= 0"),
        ({"start_in": 1, "at": [2030, 1, 1, 0, 0, 0]}, "schedule takes start_in or at, not both"),
        ({"at": [2020, 1, 1]}, "schedule at must be a time tuple (Y, M, D, h, m, s)"),
        ({"at": [2001, 1, 1, 0, 0, 0]}, "cannot start: ValueError: schedule at (2001, 1, 1, 0, "
                                         "0, 0) is in the past"),
    ]:
        mp.services({"world": world, "other": OTHER},
                    config={"world": {"kwargs": {"schedule": schedule}}})
        r = mp.run_async("""
            aioservice.init(debug=False)
            await asyncio.sleep_ms(10)
            print(sorted(aioctl.group().tasks))
        """)
        assert r.rc == 0, r
        # a plan from services.config is named by it (trial: it named the .py)
        where = ("aioservices/services/world_service.py" if "cannot start" in problem
                 else "services.config")
        assert r.lines == ["[ ERROR ] %s: world: %s" % (where, problem),
                           "['other.service']"], schedule
    # a plan in the service's own code is named by its file
    mp.services({"world": service_file("world", kind="schedule.service", body="return 1",
                                       attrs="self.schedule = {'repaet': 5}"), "other": OTHER},
                config={})
    r = mp.run_async("""
        aioservice.init(debug=False)
    """)
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] aioservices/services/world_service.py: world: unknown "
                       "schedule key 'repaet' (known: start_in, at, repeat)"], r


def test_config_refuses_what_the_boot_would_refuse_and_writes_nothing(mp):
    # (trial) config() wrote restart="sometimes", which the next load refused,
    # and a later config() merged into it: only editing the file got it out
    mp.services({"echo": ECHO, "other": OTHER}, config={"keep": {"args": [7]}}, env="SET=1\n")
    r = mp.run_async("""
        for kw in ({"restart": "sometimes"}, {"restart_delay": "1s"}, {"schedule": 5},
                   {"schedule": {"repeat": "x"}}, {"schedule": {"at": "noon"}}):
            try:
                aioservice.config("echo", True, 2, **kw)
            except ValueError as e:
                print(e)
        try:  # the boot would say it is not set
            aioservice.config("echo", True, psk="${NOT_SET}")
        except ValueError as e:
            print(e)
        print(aioservice.get_config())
        aioservice.config("echo", True, psk="${SET}")
        print(aioservice.get_config("echo"))
    """)
    assert r.rc == 0, r
    assert r.lines == [
        'services.config: echo: "restart" must be one of on-failure, always, no',
        'services.config: echo: "restart_delay" must be a number >= 0',
        'services.config: echo: "schedule" must be an object, not int',
        "services.config: echo: schedule repeat must be a number of seconds >= 0",
        "services.config: echo: schedule at must be a time tuple (Y, M, D, h, m, s)",
        "services.config: echo: ${NOT_SET} is not set in .env",
        "{'keep': {'args': [7]}}",
        "{'enabled': True, 'kwargs': {'psk': '${SET}'}}"], r


def test_config_enable_disable_write_atomically_and_keep_entries(mp):
    mp.services({"echo": ECHO, "other": OTHER},
                config={"other": {"enabled": True, "require": ["x"]}, "keep": {"args": [7]}})
    r = mp.run_async("""
        import os
        aioservice.config("echo", True, 1, 2, greeting="hey")
        aioservice.disable("other")
        try:  # no file: nothing is written for it
            aioservice.enable("new")
        except ValueError as e:
            print(e)
        conf = aioservice.get_config()
        for k in sorted(conf):
            print(k, sorted(conf[k].items()))
        print(aioservice.get_config("echo")["args"])
        print(sorted(f for f in os.listdir(".") if "config" in f))
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        print(sorted(aioctl.group().tasks), aioctl.result("echo.service"))
    """)
    assert r.rc == 0, r
    assert r.lines[0:4] == [
        "aioservices/services: new: no file new_service.py",
        "echo [('args', [1, 2]), ('enabled', True), ('kwargs', {'greeting': 'hey'})]",
        "keep [('args', [7])]",
        "other [('enabled', False), ('require', ['x'])]",
    ]
    assert r.lines[4] == "[1, 2]"
    assert r.lines[5] == "['services.config']"  # no temp file left behind
    assert r.lines[-1] == "['echo.service'] ((1, 2), 'hey')"
    with open(mp.workdir + "/services.config") as f:
        text = f.read()
    assert json.loads(text)["keep"] == {"args": [7]}
    # laid out as a person would: an entry a line, by name (it was all one line)
    assert [line[:8] for line in text.splitlines()] == [
        "{", ' "echo":', ' "keep":', ' "other"', "}"], text


def test_an_unknown_type_is_one_line_that_names_the_types(mp):
    typo = service_file("typo", kind="runtime", body="return 'ran'")
    mp.services({"typo": typo, "other": OTHER})
    r = mp.run_async("""
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        print("typo.service" in aioctl.group().recs, aioctl.result("other.service"))
    """)
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] aioservices/services/typo_service.py: typo: unknown type "
                       "'runtime' (core.service, runtime.service or schedule.service)",
                       "False other ok"], r
