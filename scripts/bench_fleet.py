#!/usr/bin/env python3
"""The fleet's numbers for `make bench` (issue 11, section 5): a command's
round trip from the host (the CLI's own code) through mosquitto to a device
(the app on the unix port) and back, p50 and p99; the link's heap once
connected on the 32-bit build; the longest event-loop stall while a status
of 100 tasks is built. Host-side script (CPython)."""
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "host"),
                os.path.join(ROOT, "tests")]
BIN = os.path.join(ROOT, ".build", "bin")
LIB = os.path.join(ROOT, ".build", "mpy")
PATH = ":".join((".frozen", LIB, os.path.join(LIB, "tools", "logging")))
N = 200


STALL = """
import asyncio, io, time, aioctl
from aioservices.services.mqtt_service import service as svc
svc.device = "bench"
gap = [0, 0]
async def idle():
    await asyncio.sleep(3600)
async def monitor():
    last = time.ticks_us()
    while True:
        await asyncio.sleep_ms(0)
        now = time.ticks_us()
        gap[0] = max(gap[0], time.ticks_diff(now, last))
        last = now
async def main():
    for i in range(100):
        aioctl.add(idle, name="task%d" % i)
    m = asyncio.create_task(monitor())
    await asyncio.sleep_ms(50)
    gap[0] = 0
    out = io.BytesIO()
    await svc.write_status(out)
    await asyncio.sleep_ms(0)
    print(gap[0] / 1000, len(out.getvalue()))
    m.cancel()
asyncio.run(main())
"""


def run_mp(code, bits=64, heap="128K"):
    exe = os.path.join(BIN, "micropython32" if bits == 32 else "micropython")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench_fleet_script.py")
        with open(path, "w") as f:
            f.write(code)
        res = subprocess.run([exe, "-X", "heapsize=" + heap, path], cwd=d, capture_output=True,
                             text=True, timeout=60, env=dict(os.environ, MICROPYPATH=PATH))
    if res.returncode:
        raise RuntimeError(res.stderr.strip().splitlines()[-1] if res.stderr else res.stdout)
    return res.stdout.split()


async def round_trips(broker):
    from mpsysd_cli.fleet import Fleet, settings

    conf = settings({"host": "127.0.0.1", "port": broker.port, "user": "admin",
                     "password": "admin-pw", "config": "/nonexistent"})
    times = []
    async with Fleet(conf) as fleet:
        for _ in range(N + 10):
            t0 = time.perf_counter()
            reply = await fleet.command("dev1", "status", name="ticker")
            times.append((time.perf_counter() - t0) * 1000)
            assert reply["ok"], reply
    return sorted(times[10:])


def main():
    from broker import Broker
    from fleet import Device, link_heap

    rows = []
    with tempfile.TemporaryDirectory() as d:
        b = Broker(os.path.join(d, "broker"), {"admin": "admin-pw", "dev1": "pw-dev1"},
                   tls=False).start()
        dev = None
        try:
            dev = Device(os.path.join(d, "dev1"), b, "dev1").start()
            deadline = time.monotonic() + 15
            times = None
            while times is None and time.monotonic() < deadline:
                try:
                    times = asyncio.run(round_trips(b))
                except Exception:
                    time.sleep(0.3)
            if times:
                p50 = statistics.median(times)
                p99 = times[int(len(times) * 0.99) - 1]
                rows.append(("command round trip, host to device and back, p50 (ms)",
                             "%.1f" % p50, "<= 20", p50 <= 20))
                rows.append(("command round trip, p99 (ms)", "%.1f" % p99, "", None))
            else:
                rows.append(("command round trip", "failed", "<= 20", False))
            try:
                heap = int(run_mp(link_heap(b.port, "dev1", "pw-dev1"), bits=32, heap="64K")[-1])
                rows.append(("link heap once connected, 32-bit, code included (B)",
                             str(heap), "<= 10240", heap <= 10240))
            except (RuntimeError, FileNotFoundError) as e:
                rows.append(("link heap, 32-bit: %s" % e, "failed", "<= 10240", False))
        finally:
            if dev:
                dev.stop()
            b.stop()
    try:
        stall, size = run_mp(STALL)
        rows.append(("longest loop stall building a status of 100 tasks (ms; %s B)" % size,
                     "%.2f" % float(stall), "", None))
    except RuntimeError as e:
        rows.append(("loop stall: %s" % e, "failed", "", None))
    print("\nfleet (mosquitto on loopback; device: the app on the 64-bit unix port)")
    width = max(len(r[0]) for r in rows)
    for name, value, target, met in rows:
        print("%s  %-8s %-9s %s" % (name.ljust(width), value, target,
                                    {True: "yes", False: "NO", None: ""}[met]))


if __name__ == "__main__":
    main()
