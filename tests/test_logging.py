"""aiolog, service_logger and Service.add_logger."""
import re

from conftest import service_file


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


LEVELLED = service_file("NAME", params=", psk=''", attrs="self.kwargs = {'loglevel': 'INFO'}",
                        body="""
    self.add_logger(log, level=loglevel)
    self.log.debug("debug line")
    self.log.info("info line")
    self.log.warning("warning line, psk is %s" % psk)
    child = self.log.child("worker")
    child.info("child info")
    child.debug("child debug")
    return "logged"
""").replace("log=None)", "log=None, loglevel='INFO')")


def test_per_service_levels_from_config_and_secrets_masked(mp):
    mp.services({n: LEVELLED.replace("NAME", n).replace("Nameservice", n.title())
                 for n in ("chatty", "quiet")},
                config={"chatty": {"kwargs": {"loglevel": "DEBUG", "psk": "${PSK}"}},
                        "quiet": {"kwargs": {"loglevel": "WARNING"}}},
                env="PSK=hunter2\n")
    r = mp.run_async("""
        import aiolog
        from journal import Journal
        j = Journal(1024)
        aioctl.set_log(j)
        log = aiolog.getLogger("app", stream=j)
        log.setLevel("DEBUG")  # as main.py: each service logger applies its own level
        aioservice.init(debug=False, log=log)
        aioservice.release()  # as main.py does
        await asyncio.sleep_ms(10)
        for line, _ in j.lines():
            print(line.split(" ", 2)[2])
        print(j.buf.find(b"hunter2") >= 0)
        aioctl.group().color = False
        aioctl.status("chatty.service", debug=True)
    """, heap="128K")  # the app's whole logging path and its views, as `make run` has it
    assert r.rc == 0, r
    assert r.lines[:8] == [
        "[app] [DEBUG] [chatty.service] debug line",
        "[app] [INFO] [chatty.service] info line",
        "[app] [WARNING] [chatty.service] warning line, psk is ****",
        "[app] [INFO] [chatty.service.worker] child info",
        "[app] [DEBUG] [chatty.service.worker] child debug",
        "[app] [WARNING] [quiet.service] warning line, psk is ",
        "False",
        "● chatty.service - chatty test service",
    ]
    assert "    ┗━► kwargs: {'log': <Logger>, 'loglevel': 'DEBUG', 'psk': '****'}" in r.lines


# A service whose error quotes its secret (a driver's message may).
LEAKY = service_file("leaky", params=", psk=''", body="""
    await asyncio.sleep_ms(1)
    raise OSError("link refused psk %s" % psk)
""")


def test_an_error_that_quotes_a_secret_shows_it_masked_in_every_view(mp):
    # (trial: the journal masked it, and traceback() and the report did not)
    mp.services({"leaky": LEAKY}, config={"leaky": {"kwargs": {"psk": "${PSK}"}}},
                env="PSK=hunter2\n", watcher=True)
    r = mp.run_async("""
        import aiolog
        from journal import Journal
        j = Journal(1024)
        aioctl.set_log(j)
        aioservice.init(debug=False, log=aiolog.getLogger("app", stream=j))
        aioservice.release()
        await asyncio.sleep_ms(50)
        aioctl.group().color = False
        aioctl.status()
        aioctl.status("leaky.service", debug=True)
        aioctl.traceback("leaky.service")
        aioctl.top()
        print(aioservice.service("watcher").report())
        aioservice.status("leaky")
        aioctl.result_all()
        print("journal", j.buf.find(b"hunter2"))
    """, heap="128K")
    assert r.rc == 0, r
    assert "hunter2" not in r.out, r.out
    assert r.lines[-1] == "journal -1"
    shown = [n for n in r.lines if "link refused psk ****" in n]
    # status, debug view, traceback, report, aioservice.status(), result_all()
    assert len(shown) >= 7, r.out


def test_capped_file_log_rotates_and_tee(mp):
    r = mp.run("""
        import os
        from filelog import FileLog, Tee
        from journal import Journal
        f = FileLog("app.log", max_bytes=100, keep=2)
        j = Journal(512)
        t = Tee(j, f)
        for i in range(12):
            print("line %02d of the file log" % i, file=t)
        f.close()
        print(sorted(n for n in os.listdir(".") if n.startswith("app.log")))
        for n in ("app.log.2", "app.log.1", "app.log"):
            text = open(n).read()
            print(n, len(text) <= 100, text.split("\\n")[0])
        print(len(list(j.lines())))
    """)
    assert r.rc == 0, r
    assert r.lines[0] == "['app.log', 'app.log.1', 'app.log.2']"
    # 24-byte lines, 100 bytes a file: four lines each, the oldest in app.log.2
    assert r.lines[1:4] == ["app.log.2 True line 00 of the file log",
                            "app.log.1 True line 04 of the file log",
                            "app.log True line 08 of the file log"]
    assert r.lines[4] == "12"
