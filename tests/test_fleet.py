"""The fleet (issue 11): devices (the app on the unix port with the mqtt
service) and the `mpsysd` host CLI, through a real mosquitto with the ACL,
passwords and a TLS listener."""
import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import service_file
from fleet import FAILS, HOST, TICKER, Device, cli, link_heap, wait_for

sys.path.insert(0, HOST)
aiomqtt = pytest.importorskip("aiomqtt")
from broker import Broker  # noqa: E402  (scripts/, on the path through conftest)

pytestmark = pytest.mark.unix_only

USERS = {"admin": "admin-pw", "dev1": "pw-dev1", "dev2": "pw-dev2", "dev3": "pw-dev3",
         "tdev": "pw-tdev", "lost": "pw-lost", "sec": "pw-sec-XYZZY"}
USERS.update({"d%02d" % i: "pw-d%02d" % i for i in range(20)})
SECRET = "tok-SECRET-4242"
PERIODIC = service_file("periodic", params=", period=1", body="""
    while True:
        await asyncio.sleep(period)
""")
SECRETIVE = service_file("secretive", params=", token=None", body="""
    print("secretive has", token)
    while True:
        await asyncio.sleep(1)
""")


@pytest.fixture(scope="module")
def broker(tmp_path_factory, compiled):
    try:
        b = Broker(str(tmp_path_factory.mktemp("broker")), USERS).start()
    except RuntimeError as e:
        pytest.skip(str(e))
    yield b
    b.stop()


@pytest.fixture
def devices(tmp_path):
    made = []

    def make(broker, name, **kw):
        d = Device(str(tmp_path / name), broker, name, **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.kill()


def online(broker, *names):
    def check():
        r = cli(broker, "--json", "devices")
        rows = {row["device"]: row for row in json.loads(r.stdout or "[]")}
        return all(rows.get(n, {}).get("online") == "online" for n in names) and rows
    return wait_for(check, what="%s online" % ", ".join(names))


def reply(broker, *args, ok=True):
    r = cli(broker, "--json", *args)
    assert r.returncode in (0, 1), r
    out = json.loads(r.stdout)
    assert out["ok"] is ok, out
    return out


def test_status_and_every_op_end_to_end_through_the_cli(broker, devices):
    d = devices(broker, "dev1", services={"ticker": TICKER, "fails": FAILS,
                                          "periodic": PERIODIC}).start()
    online(broker, "dev1")
    r = cli(broker, "devices")
    assert r.returncode == 0 and "dev1" in r.stdout and "online" in r.stdout, r
    # the retained status of every device, then the device's own answer
    r = cli(broker, "status")
    assert "dev1: up" in r.stdout and "ticker.service: status: running" in r.stdout, r
    st = reply(broker, "status", "dev1")
    assert st["ok"] and st["device"] == "dev1"
    res = st["result"]
    for key in ("device", "time", "uptime", "mem_free", "mem_alloc", "platform", "version",
                "tasks", "services", "errors", "restarts"):
        assert key in res, key
    assert res["services"]["ticker"] == {"type": "runtime.service", "enabled": True,
                                         "state": "running"}
    assert set(res["tasks"]["ticker.service"]) == {"state", "since", "done_at", "result"}
    assert list(reply(broker, "status", "dev1", "tick*")["result"]["tasks"]) == \
        ["ticker.service"]
    # stop, start, restart by service name or task pattern
    assert reply(broker, "stop", "dev1", "ticker")["result"] == ["ticker.service"]
    assert reply(broker, "status", "dev1", "ticker")["result"]["tasks"]["ticker.service"][
        "state"] == "stopped"
    assert reply(broker, "start", "dev1", "tick*")["result"] == ["ticker.service"]
    assert reply(broker, "restart", "dev1", "ticker")["ok"]
    assert reply(broker, "status", "dev1", "ticker")["result"]["tasks"]["ticker.service"][
        "state"] == "running"
    r = cli(broker, "stop", "dev1", "mqtt")
    assert r.returncode == 1 and "carries this link" in r.stderr, r
    # log with grep, traceback, report
    lines = reply(broker, "log", "dev1", "command", "-n", "3")["result"]
    assert 0 < len(lines) <= 3 and all("command" in x for x in lines), lines
    wait_for(lambda: "ValueError" in (reply(broker, "traceback", "dev1", "fails")["result"]
                                      or ""), what="the traceback of fails")
    r = cli(broker, "traceback", "dev1", "fails")
    assert "fails on purpose" in r.stdout, r
    rep = reply(broker, "report", "dev1")["result"]
    assert "fails" in rep["report"] and rep["watcher"]["errors"] >= 1, rep
    # enable, disable, config: written atomically, applied by a restart
    assert reply(broker, "disable", "dev1", "periodic")["result"]["enabled"] is False
    assert reply(broker, "enable", "dev1", "periodic")["result"]["enabled"] is True
    before = reply(broker, "status", "dev1", "periodic")["result"]["tasks"][
        "periodic.service"]["since"]
    time.sleep(1.1)
    r = cli(broker, "config", "dev1", "periodic", "--set", "period=2")
    assert r.returncode == 0 and '"period": 2' in r.stdout, r
    with open(os.path.join(d.folder, "services.config")) as f:
        assert json.load(f)["periodic"]["kwargs"] == {"period": 2}
    wait_for(lambda: reply(broker, "status", "dev1", "periodic")["result"]["tasks"][
        "periodic.service"]["since"] > before, what="periodic restarted")
    assert reply(broker, "config", "dev1", "periodic")["result"]["kwargs"] == {"period": 2}
    conf = reply(broker, "config", "dev1", "mqtt")["result"]
    assert conf["kwargs"]["password"] == "****", conf
    # a device that does not answer: one line, non-zero
    r = cli(broker, "--timeout", "1", "status", "nobody")
    assert r.returncode == 3 and r.stderr.strip() == \
        "mpsysd: nobody did not answer within 1 s", r
    assert d.proc.poll() is None, d.output()


async def raw_commands(broker, device, payloads, topic=None):
    """Publish each payload (bytes) to device's cmd topic (or topic) and
    return the replies, in order."""
    got = []
    async with aiomqtt.Client("127.0.0.1", broker.port, username="admin",
                              password=USERS["admin"]) as c:
        await c.subscribe("mpsysd/%s/reply" % device, qos=1)
        for p in payloads:
            await c.publish(topic or "mpsysd/%s/cmd" % device, p, qos=1)
            async with asyncio.timeout(5):
                async for m in c.messages:
                    got.append(json.loads(m.payload))
                    break
    return got


def test_bad_payloads_are_answered_ok_false_and_logged(broker, devices):
    d = devices(broker, "dev2").start()
    online(broker, "dev2")
    bad = [b"not json", b'{"id": "a1"}', b'{"id": "a2", "op": "fly"}',
           b'{"id": "a3", "op": "stop", "name": 5}', b'{"id": "a4", "op": "log", "lines": 0}',
           b'{"id": "a5", "op": "config", "name": "ticker", "set": {"code": "x"}}',
           b'{"id": "a6", "op": "stop", "name": "nothing*"}', b"[1, 2]",
           b'{"id": "a7", "op": "status", "pad": "' + b"x" * 3000 + b'"}',
           b'{"id": "a8", "op": "status",}']
    replies = asyncio.run(raw_commands(broker, "dev2", bad))
    assert [r["ok"] for r in replies] == [False] * len(bad), replies
    assert [r["id"] for r in replies] == [None, "a1", "a2", "a3", "a4", "a5", "a6", None,
                                          None, None]
    errors = [r["error"] for r in replies]
    assert errors[0] == "not JSON" and errors[1] == "no `op`" and "unknown op" in errors[2]
    assert "over max_payload (2048 bytes)" in errors[8], errors
    assert all("\n" not in e for e in errors)
    # P/all/cmd takes the read-only ops only
    replies = asyncio.run(raw_commands(broker, "dev2", [
        b'{"id": "w", "op": "stop", "name": "ticker"}', b'{"id": "r", "op": "status"}'],
        topic="mpsysd/all/cmd"))
    assert replies[0]["ok"] is False and "not accepted for all devices" in replies[0]["error"]
    assert replies[1]["ok"] is True
    lines = reply(broker, "log", "dev2", "bad command", "-n", "50")["result"]
    assert len(lines) == len(bad) + 1, lines
    st = reply(broker, "status", "dev2")["result"]
    assert st["tasks"]["ticker.service"]["state"] == "running"
    assert d.proc.poll() is None


def test_tls_listener_with_the_ca_and_a_wrong_ca_and_password(broker, devices, tmp_path):
    # mbedtls takes its buffers (40 KB in one block) from this port's heap; a
    # board's mbedtls has the system heap
    d = devices(broker, "tdev", tls={"ca": broker.path("ca.crt")}, heap="512K").start()
    online(broker, "tdev")
    r = cli(broker, "status", "tdev", tls=True)
    assert r.returncode == 0 and "ticker.service: status: running" in r.stdout, r
    d.stop()
    # another CA: the broker's certificate is refused; one line, retried
    from broker import make_ca

    other = make_ca(str(tmp_path), "other")
    ticking = service_file("tocker", body="""
        while True:
            print("tock")
            await asyncio.sleep_ms(300)
    """)
    w = devices(broker, "dev3", tls={"ca": other}, services={"tocker": ticking},
                heap="512K").start()
    p = devices(broker, "lost", password="wrong", services={"tocker": ticking}).start()
    time.sleep(4)
    for dev, why in ((w, "certificate"), (p, "connection refused")):
        out = dev.output()
        problems = [x for x in out.splitlines() if x.startswith("mqtt: ")]
        assert len(problems) == 1 and why in problems[0] and "trying again" in problems[0], out
        assert out.count("tock") >= 10 and dev.proc.poll() is None, out
    r = cli(broker, "--json", "devices")
    assert not {"dev3", "lost"} & {row["device"] for row in json.loads(r.stdout)}


COUNTER = service_file("counter", body="""
    link = aioservice.service("mqtt").link
    while not link.up:
        await asyncio.sleep_ms(50)
    n = 0
    while True:
        n += 1
        await link.publish("mpsysd/dev1/count", str(n), qos=1)
        await asyncio.sleep_ms(100)
""").replace("import aioctl\n", "import aioctl\nimport aioservice\n")


def test_broker_restart_devices_come_back_and_qos1_is_not_lost(tmp_path, devices, compiled):
    b = Broker(str(tmp_path / "b2"), {"admin": "admin-pw", "dev1": "pw-dev1"},
               tls=False).start()
    try:
        d = devices(b, "dev1", services={"counter": COUNTER}).start()
        seen = []

        async def subscriber():
            while True:  # back as soon as the broker is: what the device resends is seen
                try:
                    async with aiomqtt.Client("127.0.0.1", b.port, username="admin",
                                              password="admin-pw") as c:
                        await c.subscribe("mpsysd/dev1/count", qos=1)
                        async for m in c.messages:
                            seen.append(int(m.payload))
                except aiomqtt.MqttError:
                    await asyncio.sleep(0.05)

        async def scenario():
            task = asyncio.create_task(subscriber())
            await asyncio.to_thread(online, b, "dev1")
            await asyncio.sleep(1.5)
            b.stop()  # the broker goes away for 2 s
            await asyncio.sleep(2)
            before = max(seen)
            b.start()
            t0 = time.monotonic()
            await asyncio.to_thread(online, b, "dev1")
            back = time.monotonic() - t0
            await asyncio.sleep(1.5)
            task.cancel()
            return before, back

        before, back = asyncio.run(scenario())
        assert back < 8, back  # two keepalives (4 s)
        assert max(seen) > before + 5, seen
        assert sorted(set(seen)) == list(range(seen[0], max(seen) + 1)), seen
        assert d.proc.poll() is None
    finally:
        b.stop()


def test_a_killed_device_is_offline_by_its_will(broker, devices):
    d = devices(broker, "dev3").start()
    online(broker, "dev3")
    d.kill()
    wait_for(lambda: {r["device"]: r["online"] for r in json.loads(
        cli(broker, "--json", "devices").stdout)}.get("dev3") == "offline",
        what="dev3 offline")


def test_a_device_cannot_command_or_read_another(broker, devices):
    devices(broker, "dev1").start()
    online(broker, "dev1")
    r = cli(broker, "--timeout", "1.5", "stop", "dev1", "ticker", user="dev2")
    assert r.returncode == 3 and "did not answer" in r.stderr, r
    r = cli(broker, "--json", "devices", user="dev2")
    assert "dev1" not in r.stdout, r
    assert reply(broker, "status", "dev1", "ticker")["result"]["tasks"]["ticker.service"][
        "state"] == "running"


def test_secrets_never_in_any_payload(broker, devices):
    d = devices(broker, "sec", services={"secretive": SECRETIVE})
    d.config["secretive"] = {"enabled": True, "kwargs": {"token": "${TOKEN}"}}
    d.write_config()
    with open(os.path.join(d.folder, ".env"), "a") as f:
        f.write("TOKEN=%s\n" % SECRET)
    payloads = []

    async def spy(seconds):
        async with aiomqtt.Client("127.0.0.1", broker.port, username="admin",
                                  password=USERS["admin"]) as c:
            await c.subscribe("mpsysd/#", qos=1)
            try:
                async with asyncio.timeout(seconds):
                    async for m in c.messages:
                        payloads.append(bytes(m.payload))
            except TimeoutError:
                pass

    async def both():
        task = asyncio.create_task(spy(12))
        await asyncio.sleep(0.5)
        d.start()
        await asyncio.to_thread(online, broker, "sec")
        for args in (("status", "sec"), ("log", "sec", "-n", "200"), ("config", "sec", "mqtt"),
                     ("config", "sec", "secretive"), ("report", "sec"),
                     ("traceback", "sec", "secretive"), ("restart", "sec", "secretive")):
            await asyncio.to_thread(cli, broker, *args)
        await task

    asyncio.run(both())
    assert len(payloads) > 10
    assert "secretive has " + SECRET in d.output()  # the service has it...
    for p in payloads:  # ...no payload does
        assert SECRET.encode() not in p and USERS["sec"].encode() not in p, p


def test_twenty_devices_seen_by_mpsysd_devices(broker, devices):
    names = ["d%02d" % i for i in range(20)]
    for n in names:
        devices(broker, n, services={}).start()
    rows = online(broker, *names)
    assert set(names) <= set(rows)
    r = cli(broker, "devices")
    assert r.returncode == 0 and sum(" online " in x for x in r.stdout.splitlines()) >= 20


def test_top_headless_picks_a_device_and_restarts_a_service(broker, devices):
    from mpsysd_cli.fleet import settings
    from mpsysd_cli.top import FleetTop
    from textual.widgets import DataTable, RichLog

    devices(broker, "dev2").start()
    online(broker, "dev2")
    conf = settings({"host": "127.0.0.1", "port": broker.port, "user": "admin",
                     "password": USERS["admin"], "config": "/nonexistent"})

    async def drive():
        app = FleetTop(conf)
        async with app.run_test(size=(140, 40)) as pilot:
            # the broker it looks at: what `mpsysd` beside it needs
            assert app.sub_title == "127.0.0.1:%d as admin" % broker.port
            for _ in range(100):
                await pilot.pause(0.05)
                if "dev2" in app.devices and (app.devices["dev2"]["status"] or {}).get("tasks"):
                    break
            dev = app.query_one("#devices", DataTable)
            dev.focus()
            for _ in range(40):
                if app.picked == "dev2":
                    break
                await pilot.press("down")
                await pilot.pause(0.02)
            assert app.picked == "dev2", app.picked
            assert app.devices["dev2"]["online"] == "online"
            tasks = app.query_one("#tasks", DataTable)
            assert tasks.row_count >= 3
            await pilot.click("#tasks")
            for _ in range(10):
                if app.task_name() == "ticker.service":
                    break
                await pilot.press("down")
                await pilot.pause(0.02)
            assert app.task_name() == "ticker.service"
            await pilot.press("r")
            out = app.query_one("#out", RichLog)
            for _ in range(100):
                await pilot.pause(0.05)
                if any("restart ticker.service: ok" in str(line) for line in out.lines):
                    break
            text = "\n".join(str(line.text) for line in out.lines)
            assert "dev2 restart ticker.service: ok" in text, text
            await pilot.press("l")
            for _ in range(100):
                await pilot.pause(0.05)
                text = "\n".join(str(line.text) for line in out.lines)
                if "[ticker.service] stopped" in text:
                    break
            assert "[ticker.service] stopped" in text, text
            assert dev.row_count >= 1
            await pilot.press("ctrl+c")  # `make fleet` promises Ctrl-C stops it all
            await pilot.pause(0.2)
            assert not app.is_running

    asyncio.run(drive())


def test_link_heap_once_connected_on_the_32_bit_build(broker, mp):
    res = mp.run(link_heap(broker.port, "d00", USERS["d00"]), heap="64K", bits=32)
    assert res.rc == 0, res
    used = int(res.out.split("link heap ")[1])
    assert used <= 10 * 1024, used


def test_log_follow_and_reset_through_the_cli(broker, devices):
    # `mpsysd log DEVICE -f GREP` prints the journal lines as they come;
    # the reset op resets the device (on the unix port: exit status 75,
    # which `make run` takes as a reset and starts the app again).
    d = devices(broker, "dev1", services={"ticker": TICKER, "fails": FAILS}).start()
    online(broker, "dev1")
    env = dict(os.environ, MPSYSD_HOST="127.0.0.1", MPSYSD_PORT=str(broker.port),
               MPSYSD_USER="admin", MPSYSD_PASSWORD=broker.users["admin"], PYTHONPATH=HOST)
    env.pop("MPSYSD_CONFIG", None)
    follow = subprocess.Popen([sys.executable, "-m", "mpsysd_cli", "log", "dev1", "-f",
                               "command"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.5)  # subscribed by now
        reply(broker, "restart", "dev1", "ticker")  # the device logs each command

        def restart_line():  # the log op's own line may come first: it matches too
            line = follow.stdout.readline()
            assert line, follow.poll()  # the follower ended
            return line if "restart" in line else None

        line = wait_for(restart_line, what="the restart command's line")
        assert "command" in line and "ticker" in line, line
    finally:
        follow.kill()
        follow.wait()
    assert reply(broker, "reset", "dev1")["result"] == "resetting"
    assert d.proc.wait(10) == 75, d.output()
