"""Helpers of the fleet tests: devices (the app on the unix port, with the
mqtt service enabled) and the host CLI run as a command."""
import json
import os
import shutil
import subprocess
import sys
import time

from conftest import LIB, LOGGING, MICROPYTHON, MICROPYTHON32, MPLIB, ROOT, service_file

HOST = os.path.join(ROOT, "host")
TICKER = service_file("ticker", body="""
    while True:
        await asyncio.sleep_ms(200)
""")
FAILS = service_file("fails", body="""
    await asyncio.sleep_ms(50)
    raise ValueError("fails on purpose")
""", attrs="self.enabled = True")


# The link's heap once connected (issue 11, section 5), on the unix port:
# a script for the test and for `make bench`. It prints "link heap N".
LINK_HEAP = """
import gc, asyncio
gc.collect(); a0 = gc.mem_alloc()
import mqttlink
async def main():
    link = mqttlink.Link(%(d)r, "127.0.0.1", %(port)d, %(d)r, %(pw)r, keepalive=10,
                         will=("mpsysd/%(d)s/online", "offline"),
                         subs=("mpsysd/%(d)s/cmd", "mpsysd/all/cmd"), on_msg=lambda t, p: None)
    t = asyncio.create_task(link.run())
    while not link.up:
        await asyncio.sleep_ms(20)
    for i in range(3):
        await link.publish("mpsysd/%(d)s/status", "{}", qos=1)
    gc.collect()
    print("link heap", gc.mem_alloc() - a0)
    await link.close("mpsysd/%(d)s/online", "offline")
    t.cancel()
asyncio.run(main())
"""


def link_heap(port, device, password):
    """LINK_HEAP for device, its password and the broker's port."""
    return LINK_HEAP % {"d": device, "port": port, "pw": password}


class Device:
    """The app (main.py) in its own folder, as a board runs it, with the
    link to broker as user name (its password from .env)."""

    def __init__(self, folder, broker, name, password=None, services=None, tls=None,
                 extra=None, bits=64, heap="192K", keepalive=4):
        self.folder, self.name, self.proc = folder, name, None
        self.bits, self.heap = bits, heap
        os.makedirs(os.path.join(folder, "aioservices", "services"), exist_ok=True)
        for rel in ("__init__.mpy", "services/__init__.mpy", "services/watcher_service.mpy",
                    "services/mqtt_service.mpy"):
            shutil.copy(os.path.join(LIB, "aioservices", rel),
                        os.path.join(folder, "aioservices", rel))
        shutil.copy(os.path.join(ROOT, "main.py"), folder)
        for svc, source in (services if services is not None else {"ticker": TICKER}).items():
            with open(os.path.join(folder, "aioservices", "services", svc + "_service.py"),
                      "w") as f:
                f.write(source)
        kwargs = {"host": "127.0.0.1", "port": broker.port, "user": name,
                  "password": "${MQTT_PASSWORD}", "keepalive": keepalive,
                  "status_period": 30}
        if tls:
            kwargs.update(port=broker.tls_port, tls=tls)
        kwargs.update(extra or {})
        self.config = {"mqtt": {"enabled": True, "kwargs": kwargs}}
        self.write_config()
        with open(os.path.join(folder, ".env"), "w") as f:
            f.write("MQTT_PASSWORD=%s\n" % (password or broker.users[name]))

    def write_config(self):
        with open(os.path.join(self.folder, "services.config"), "w") as f:
            json.dump(self.config, f)

    def start(self):
        env = dict(os.environ, MICROPYPATH=":".join((".frozen", LIB, LOGGING, MPLIB)),
                   MPSYSD_PROMPT="off")
        exe = MICROPYTHON32 if self.bits == 32 else MICROPYTHON
        self.out = open(os.path.join(self.folder, "stdout.txt"), "w")
        self.proc = subprocess.Popen([exe, "-X", "heapsize=" + self.heap, "main.py"],
                                     cwd=self.folder, env=env, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        return self

    def output(self):
        with open(os.path.join(self.folder, "stdout.txt")) as f:
            return f.read()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        """Ctrl-C: the app stops in order."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def cli(broker, *args, timeout=20, user="admin", tls=False):
    """Run `mpsysd ARGS` (the host CLI) against broker; returns the
    CompletedProcess (text)."""
    env = dict(os.environ, MPSYSD_HOST="127.0.0.1",
               MPSYSD_PORT=str(broker.tls_port if tls else broker.port),
               MPSYSD_USER=user, MPSYSD_PASSWORD=broker.users[user],
               PYTHONPATH=HOST)
    env.pop("MPSYSD_CONFIG", None)
    if tls:
        env["MPSYSD_CA"] = broker.path("ca.crt")
    return subprocess.run([sys.executable, "-m", "mpsysd_cli"] + list(args), env=env,
                          capture_output=True, text=True, timeout=timeout)


def wait_for(check, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("no %s within %s s" % (what, timeout))
