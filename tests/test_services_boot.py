"""aioservice.boot(): core services in dependency order; init() of runtime ones."""
from conftest import service_file


def core(name, ms=50, fail=False, require=None):
    """A core service that notes when it starts and ends, in a shared list."""
    body = """
        import trace
        trace.log.append("start %s")
        await asyncio.sleep_ms(%d)
        %s
        trace.log.append("end %s")
        return "%s ok"
    """ % (name, ms, "raise OSError('%s down')" % name if fail else "", name, name)
    attrs = "self.kwargs = {'require': %r}" % (require,) if require else ""
    return service_file(name, "core.service", body=body, attrs=attrs)


def run_boot(mp, services, config=None, extra="", compiled=False, heap="128K"):
    mp.services(services, config=config, compiled=compiled)
    mp.write("trace.py", "log = []\n")
    return mp.run_async("""
        import trace
        outcome = await aioservice.boot(debug=True)
        print("trace:", trace.log)
        print("outcome:", sorted(outcome.items()))
    """ + extra, heap=heap)


def test_require_chain_runs_in_order_independent_ones_concurrently(mp):
    r = run_boot(mp, {
        "a": core("a", 60),
        "b": core("b", 10, require=["a"]),
        "c": core("c", 10, require=["b"]),
        "d": core("d", 40),
    })
    assert r.rc == 0, r
    assert r.lines[0] == "boot order: a -> b -> c -> d"
    ok = [line for line in r.lines if line.startswith("[ OK ]")]
    assert ok == [
        "[ OK ] Service: d.service from aioservices/services/d_service.py --> 'd ok'",
        "[ OK ] Service: a.service from aioservices/services/a_service.py --> 'a ok'",
        "[ OK ] Service: b.service from aioservices/services/b_service.py --> 'b ok'",
        "[ OK ] Service: c.service from aioservices/services/c_service.py --> 'c ok'",
    ]
    # a and d start together; b waits for a, c for b
    assert r.lines[-2] == ("trace: ['start a', 'start d', 'end d', 'end a', 'start b', "
                           "'end b', 'start c', 'end c']")
    assert r.lines[-1] == ("outcome: [('a', 'done'), ('b', 'done'), ('c', 'done'), "
                           "('d', 'done')]")


def test_failed_requirement_stops_the_chain_not_the_rest(mp):
    r = run_boot(mp, {
        "a": core("a", fail=True),
        "b": core("b", require=["a"]),
        "c": core("c", require=["b"]),
        "d": core("d"),
    }, extra="""
        aioservice.status()
    """)
    assert r.rc == 0, r
    assert "[ ERROR ] aioservices/services/a_service.py: a: failed: OSError: a down" in r.lines
    assert ("[ ERROR ] aioservices/services/b_service.py: b: not started: dependency failed: a"
            in r.lines)
    assert ("[ ERROR ] aioservices/services/c_service.py: c: not started: dependency failed: b"
            in r.lines)
    assert ("[ OK ] Service: d.service from aioservices/services/d_service.py --> 'd ok'"
            in r.lines)
    assert "trace: ['start a', 'start d', 'end d']" in r.lines
    assert ("outcome: [('a', 'failed'), ('b', 'dependency failed: a'), "
            "('c', 'dependency failed: b'), ('d', 'done')]") in r.lines
    assert r.lines[-4:] == [
        "[ ERROR ] aioservices/services/a_service.py: a: failed: OSError: a down",
        "[ ERROR ] aioservices/services/b_service.py: b: not started: dependency failed: a",
        "[ ERROR ] aioservices/services/c_service.py: c: not started: dependency failed: b",
        "[ OK ] Service: d.service from aioservices/services/d_service.py loaded",
    ]


def test_missing_requirement_and_cycle_are_named_the_rest_boots(mp):
    r = run_boot(mp, {
        "a": core("a"),
        "needs": core("needs", require=["ghost"]),
        "after": core("after", require=["needs"]),
        "x": core("x", require=["y"]),
        "y": core("y", require=["z"]),
        "z": core("z", require=["x"]),
    }, compiled=True, heap="96K")  # behaviour; the RAM of six services is the bench's
    assert r.rc == 0, r
    out = r.lines
    assert ("[ ERROR ] aioservices/services/needs_service.mpy: needs: not started: "
            "requires missing service: ghost") in out
    assert ("[ ERROR ] aioservices/services/after_service.mpy: after: not started: "
            "dependency failed: needs") in out
    for n in "xyz":
        assert ("[ ERROR ] aioservices/services/%s_service.mpy: %s: not started: "
                "dependency cycle: x -> y -> z -> x" % (n, n)) in out
    assert "boot order: a" in out
    assert "trace: ['start a', 'end a']" in out, r


def test_require_from_config_and_bad_require_shape(mp):
    r = run_boot(mp, {"a": core("a"), "b": core("b"), "c": core("c")},
                 config={"b": {"require": ["a"]}, "c": {"require": "a"}})
    assert r.rc == 0, r
    assert ('[ ERROR ] services.config: c: "require" must be a list of service names'
            in r.lines)
    assert "boot order: a -> b" in r.lines
    assert "trace: ['start a', 'end a', 'start b', 'end b']" in r.lines


def test_init_starts_runtime_services_after_what_they_require(mp):
    mp.services({
        "base": service_file("base"),
        "top": service_file("top", attrs="self.kwargs = {'require': ['base']}"),
        "orphan": service_file("orphan", attrs="self.kwargs = {'require': ['nothere']}"),
        "boom": service_file("boom", kind="core.service", body="raise OSError('no')"),
        "needsboom": service_file("needsboom", attrs="self.require = ['boom']"),
    })
    r = mp.run_async("""
        await aioservice.boot(debug=False)
        started = aioservice.init(debug=False)
        print([s.name for s in started])
        await asyncio.sleep_ms(10)
        print(sorted((n, v.state) for n, v in aioctl.group().tasks.items()))
    """)
    assert r.rc == 0, r
    assert ("[ ERROR ] aioservices/services/orphan_service.py: orphan: not started: "
            "requires missing service: nothere") in r.lines
    assert ("[ ERROR ] aioservices/services/needsboom_service.py: needsboom: not started: "
            "dependency failed: boom") in r.lines
    assert r.lines[-2] == "['base', 'top']"
    assert r.lines[-1] == ("[('base.service', 'running'), ('boom.service', 'failed'), "
                           "('top.service', 'running')]")


def test_no_memory_while_configuring_a_service_is_one_line_that_names_it(mp):
    # A schedule service needs aioschedule while it is configured; here that
    # import runs out of memory (a stand-in module earlier on the path). The
    # line names the file and the service, and the rest boots.
    mp.write("aioschedule.py",
             "raise MemoryError('memory allocation failed, allocating 232 bytes')\n")
    mp.services({
        "tick": service_file("tick", "schedule.service", attrs="self.schedule = {'repeat': 1}"),
        "other": service_file("other"),
    })
    r = mp.run_async("""
        await aioservice.boot(debug=False)
        print([s.name for s in aioservice.init(debug=False)])
    """)
    assert r.rc == 0, r
    assert ("[ ERROR ] aioservices/services/tick_service.py: tick: not configured: "
            "MemoryError: memory allocation failed, allocating 232 bytes") in r.lines, r
    assert r.lines[-1] == "['other']", r


def test_a_boot_and_the_init_after_it_let_go_of_the_managers_code(mp):
    # boot() holds aiocoreboot and aiocore while the core services run, the
    # start phase (aiocore) alone what an init() starts: each goes when done
    r = run_boot(mp, {"a": core("a"), "r": service_file("r")}, extra="""
        import sys
        phases = ("aiocoreboot", "aiocore", "aioimport", "aiodiscover", "aioorder")
        print("after boot:", [m for m in phases if m in sys.modules])
        aioservice.init(debug=False)
        state = aioctl.group().tasks["r.service"].state
        print("after init:", [m for m in phases if m in sys.modules], state)
    """)
    assert r.rc == 0, r
    assert "outcome: [('a', 'done')]" in r.lines, r
    assert r.lines[-2:] == ["after boot: []", "after init: [] running"], r
