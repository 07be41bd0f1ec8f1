"""aiolog, service_logger and Service.add_logger."""
import re


def test_aiolog_lines_and_levels(mp):
    r = mp.run("""
        import aiolog, io
        s = io.StringIO()
        log = aiolog.getLogger("app", stream=s)
        log.debug("hidden")
        log.info("up %d", 1)
        log.setLevel("WARNING")
        log.info("hidden too")
        log.error("bad")
        print(s.getvalue(), end="")
        print(aiolog.getLogger("app") is log, aiolog.level_of("debug"))
        try:
            aiolog.level_of("LOUD")
        except ValueError as e:
            print(e)
    """)
    assert r.rc == 0, r
    ts = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    assert re.fullmatch(ts + r" \[app\] \[INFO\] up 1", r.lines[0]), r
    assert re.fullmatch(ts + r" \[app\] \[ERROR\] bad", r.lines[1]), r
    assert r.lines[2:] == ["True 10", "unknown log level 'LOUD'"]


def test_add_logger_prefix_and_own_level(mp):
    r = mp.run("""
        import aiolog, io
        from aioclass import Service

        class Calls:  # the method interface of micropython-lib's logging.Logger
            def __init__(self):
                self.seen = []
            def __getattr__(self, level):
                return lambda msg: self.seen.append((level, msg))

        for base in (Calls(), aiolog.getLogger("root", stream=io.StringIO())):
            s = Service("hello")
            log = s.add_logger(base, level="WARNING")
            log.info("not shown")
            log.warning("careful %s", "now")
            log.error("broken")
            log.setLevel("DEBUG")
            log.debug("details")
            print(s.log is log, base.seen if isinstance(base, Calls) else base.stream.getvalue())
        plain = Service("raw")
        print(plain.add_logger(None) is None, plain.add_logger(base, service_logger=False) is base)
    """)
    assert r.rc == 0, r
    assert r.lines[0] == ("True [('warning', '[hello.service] careful now'), "
                          "('error', '[hello.service] broken'), "
                          "('debug', '[hello.service] details')]")
    assert "[root] [WARNING] [hello.service] careful now" in r.out
    assert "[root] [ERROR] [hello.service] broken" in r.out
    assert "not shown" not in r.out
    assert r.lines[-1] == "True True"
