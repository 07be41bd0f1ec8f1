"""`mpsysd`: see and control mpsysd devices through an MQTT broker.

    mpsysd devices                      every device, online or not, last seen
    mpsysd status [DEVICE] [PATTERN]    tasks and services (all devices: retained)
    mpsysd log DEVICE [-f] [GREP]       journal lines; -f follows them
    mpsysd start|stop|restart DEVICE NAME
    mpsysd config DEVICE NAME [--set k=v ...]
    mpsysd report DEVICE                the watcher's error report
    mpsysd top                          a live view of the fleet

Broker, credentials and TLS: options, else MPSYSD_HOST, MPSYSD_PORT,
MPSYSD_USER, MPSYSD_PASSWORD, MPSYSD_CA, MPSYSD_CERT, MPSYSD_KEY,
MPSYSD_PREFIX, MPSYSD_TIMEOUT, else the JSON file MPSYSD_CONFIG
(~/.config/mpsysd/cli.json) with those keys in lower case.
Exit status: 0 done, 1 the device said no, 2 usage or broker, 3 no answer.
"""
import argparse
import asyncio
import fnmatch
import json
import sys
import time

from mpsysd_cli.fleet import Fleet, Refused, Timeout, settings

DOT = "\u25cf"


def parser():
    p = argparse.ArgumentParser(prog="mpsysd", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--ca", help="CA file: TLS, the broker's certificate verified")
    p.add_argument("--cert", help="client certificate (TLS)")
    p.add_argument("--key", help="client key (TLS)")
    p.add_argument("--prefix")
    p.add_argument("--timeout", type=float, help="seconds to wait for a device (5)")
    p.add_argument("--config", help="a JSON file of these settings")
    p.add_argument("--json", action="store_true", help="JSON output, for scripts")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("devices", help="every device: online or offline, last seen")
    s = sub.add_parser("status", help="tasks and services")
    s.add_argument("device", nargs="?")
    s.add_argument("pattern", nargs="?")
    s = sub.add_parser("log", help="journal lines")
    s.add_argument("device")
    s.add_argument("grep", nargs="?", default="")
    s.add_argument("-f", "--follow", action="store_true")
    s.add_argument("-n", "--lines", type=int, default=20)
    for op in ("start", "stop", "restart", "traceback"):
        s = sub.add_parser(op, help="%s a task or service" % op)
        s.add_argument("device")
        s.add_argument("name")
    for op in ("enable", "disable"):
        s = sub.add_parser(op, help="%s a service in services.config" % op)
        s.add_argument("device")
        s.add_argument("name")
    s = sub.add_parser("config", help="a service's config; --set changes it and restarts it")
    s.add_argument("device")
    s.add_argument("name")
    s.add_argument("--set", nargs="+", metavar="K=V", default=[],
                   help="enabled=true, args=[1,2], or a kwarg: period=5 name=text")
    s = sub.add_parser("report", help="the watcher's error report")
    s.add_argument("device")
    s = sub.add_parser("reset", help="reset the device")
    s.add_argument("device")
    sub.add_parser("top", help="a live view of the fleet (q quits)")
    return p


def parse_set(pairs):
    """k=v pairs as a config `set`: enabled and args at the top, the rest kwargs."""
    out = {}
    for pair in pairs:
        key, eq, text = pair.partition("=")
        if not eq or not key:
            raise SystemExit("mpsysd: --set %s: expected KEY=VALUE" % pair)
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if key in ("enabled", "args", "kwargs"):
            out[key] = value
        else:
            out.setdefault("kwargs", {})[key] = value
    return out


def stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def ago(t):
    if not t:
        return "never"
    s = int(time.time() - t)
    return "%d s ago" % s if s < 120 else "%d min ago" % (s // 60)


def print_status(device, st, pattern=None):
    print("%s: up %s s; heap %s B free, %s B used; errors %s; restarts %s" % (
        device, st.get("uptime"), st.get("mem_free"), st.get("mem_alloc"), st.get("errors"),
        st.get("restarts")))
    for name, t in sorted(st.get("tasks", {}).items()):
        if pattern and not fnmatch.fnmatchcase(name, pattern):
            continue
        line = "%s %s: status: %s" % (DOT, name, t["state"])
        if t.get("done_at"):
            line += " @ %s" % stamp(t["done_at"])
        elif t.get("since"):
            line += " since %s" % stamp(t["since"])
        if t.get("result") is not None:
            line += " --> %s" % t["result"]
        print(line)
    for p in st.get("problems", []):
        print("[ ERROR ] " + p)


def devices_rows(devices):
    rows = []
    for name in sorted(devices):
        d = devices[name]
        st = d["status"] or {}
        rows.append({"device": name, "online": d["online"], "last_seen": st.get("time"),
                     "uptime": st.get("uptime"), "mem_free": st.get("mem_free"),
                     "tasks": len(st.get("tasks", {})), "errors": st.get("errors")})
    return rows


async def follow(fleet, device, grep):
    pats = ["*%s*" % grep] if grep else []
    await fleet.client.subscribe(fleet.topic(device, "log"), qos=0)
    async for m in fleet.client.messages:
        if m.topic.matches(fleet.topic(device, "log")):
            line = m.payload.decode(errors="replace")
            if not pats or fnmatch.fnmatchcase(line, pats[0]):
                print(line, flush=True)


def say_reply(args, reply):
    """Print a reply; returns the exit status."""
    if args.json:
        print(json.dumps(reply))
        return 0 if reply.get("ok") else 1
    if not reply.get("ok"):
        print("mpsysd: %s: %s" % (reply.get("device"), reply.get("error")), file=sys.stderr)
        return 1
    res = reply.get("result")
    dev = reply.get("device")
    if args.cmd == "status":
        print_status(dev, res, None)
    elif args.cmd == "log":
        for line in res:
            print(line)
    elif args.cmd in ("start", "stop", "restart"):
        print("%s: %s: %s" % (dev, args.cmd, ", ".join(res)))
    elif args.cmd == "report":
        print(res.get("report") or "no watcher on %s" % dev)
        print("link: " + json.dumps(res.get("link")))
    elif args.cmd == "traceback":
        print(res or "%s: no traceback" % args.name)
    else:
        print(json.dumps(res, indent=1) if not isinstance(res, str) else res)
    return 0


async def run(args, conf):
    async with Fleet(conf) as fleet:
        if args.cmd == "devices" or (args.cmd == "status" and not args.device):
            devices = await fleet.snapshot()
            if args.cmd == "devices":
                rows = devices_rows(devices)
                if args.json:
                    print(json.dumps(rows))
                    return 0
                print("%-20s %-8s %-20s %8s %9s %6s %6s" % (
                    "DEVICE", "STATE", "LAST SEEN", "UPTIME", "HEAP FREE", "TASKS", "ERRORS"))
                for r in rows:
                    print("%-20s %-8s %-20s %8s %9s %6s %6s" % (
                        r["device"], r["online"], ago(r["last_seen"]), r["uptime"],
                        r["mem_free"], r["tasks"], r["errors"]))
                return 0
            if args.json:
                print(json.dumps({n: d["status"] for n, d in devices.items()}))
                return 0
            for name in sorted(devices):
                if devices[name]["status"]:
                    print_status(name, devices[name]["status"], args.pattern)
            return 0
        if args.cmd == "status":
            extra = {"name": args.pattern} if args.pattern else {}
            return say_reply(args, await fleet.command(args.device, "status", **extra))
        if args.cmd == "log":
            reply = await fleet.command(args.device, "log", grep=args.grep, lines=args.lines)
            code = say_reply(args, reply)
            if args.follow and code == 0:
                await follow(fleet, args.device, args.grep)
            return code
        if args.cmd == "config":
            extra = {"set": parse_set(args.set)} if args.set else {}
            return say_reply(args, await fleet.command(args.device, "config", name=args.name,
                                                       **extra))
        if args.cmd in ("report", "reset"):
            return say_reply(args, await fleet.command(args.device, args.cmd))
        return say_reply(args, await fleet.command(args.device, args.cmd, name=args.name))


def main(argv=None):
    p = parser()
    args, extra = p.parse_known_args(argv)
    if extra and len(extra) == 1 and getattr(args, "grep", 0) in (None, ""):
        args.grep = extra[0]  # `log DEVICE -f GREP`: the grep after the option
    elif extra:
        p.error("unrecognized arguments: " + " ".join(extra))
    conf = settings({k: getattr(args, k) for k in
                     ("host", "port", "user", "password", "ca", "cert", "key", "prefix",
                      "timeout", "config")})
    if args.cmd == "top":
        from mpsysd_cli.top import FleetTop

        FleetTop(conf).run()
        return 0
    try:
        return asyncio.run(run(args, conf))
    except Timeout as e:
        print("mpsysd: %s" % e, file=sys.stderr)
        return 3
    except Refused as e:
        print("mpsysd: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
