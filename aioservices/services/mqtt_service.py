# mqtt: mpsysd's fleet link, bundled and disabled by default. Over an MQTT
# broker (mosquitto) it publishes the device's presence, status and journal,
# and answers commands from the `mpsysd` host CLI. The wire protocol (topics
# and ops) is in README.md#fleet. No op runs code, reads a file by path or
# installs firmware; a bad command gets `ok: false` and a journal line.
# pyright: reportOptionalMemberAccess=false, reportAttributeAccessIssue=false
# (the board stubs miss asyncio.wait_for_ms, tls.SSLContext.verify_mode and str
# into BytesIO; the link's streams and events are made when it runs)
import asyncio
import io
import json
import sys

import aioctl
import aioservice
from aioclass import Service

VERSION = "0.1.0"
READ_ONLY = ("status", "log", "traceback", "report")  # all that P/all/cmd accepts
WRITES = ("start", "stop", "restart", "enable", "disable", "config", "reset")
QUEUE = 4  # commands waiting; more are dropped (and logged)
TEXT = 60  # a task's result as short text


def board_id():
    """A stable id of the board: machine.unique_id() in hex, or the host name."""
    try:
        import binascii
        import machine

        return binascii.hexlify(getattr(machine, "unique_id")()).decode()
    except Exception:
        pass
    try:
        with open("/etc/hostname") as f:
            return f.read().strip() or "mpsysd"
    except OSError:
        return "mpsysd"


def _short(value):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= TEXT else text[:TEXT - 3] + "..."


class MqttService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Fleet link: status, logs and commands over MQTT"
        self.type = "runtime.service"
        self.enabled = False
        self.docs = "README.md#fleet"
        self.link = None
        self.device = None
        self.base = ""
        self.all = b""
        self.max_payload = 0
        self.queue = []
        self.qev = None
        self.due = None  # set when a status should go out
        self.after = None  # what to do once the reply is out (config, reset)
        self.commands = self.bad = self.dropped = self.statuses = 0

    def show(self):
        link = self.link
        return "MQTT", "%s %s; commands %d (bad %d); log lines dropped %d" % (
            self.device, "connected" if link and link.up else "not connected", self.commands,
            self.bad, self.dropped)

    def stats(self):
        link = self.link
        return {"device": self.device, "connected": bool(link and link.up),
                "connects": link.connects if link else 0, "commands": self.commands,
                "bad": self.bad, "log_dropped": self.dropped, "statuses": self.statuses}

    @aioctl.aiotask
    async def task(self, host="127.0.0.1", port=None, user=None, password=None, device=None,
                   prefix="mpsysd", keepalive=60, status_period=60, tls=None, log_rate=10,
                   max_payload=2048, log=None, loglevel="INFO"):
        import mqttlink

        self.add_logger(log, level=loglevel)
        self.device = device = device or user or board_id()
        self.base = "%s/%s/" % (prefix, device)
        self.all = ("%s/all/cmd" % prefix).encode()
        ssl = None
        if tls:
            try:
                ssl = mqttlink.tls_context(tls["ca"], tls.get("cert"), tls.get("key"))
            except Exception as e:  # a missing or broken file: one line, and the service fails
                self._say("mqtt: tls: %s: %s" % (type(e).__name__, e))
                raise
        self.qev = asyncio.Event()
        self.due = asyncio.Event()
        self.max_payload = max_payload
        self.link = link = mqttlink.Link(
            device, host, port or (8883 if tls else 1883), user, password, keepalive,
            will=(self.base + "online", b"offline"), ssl=ssl,
            subs=(self.base + "cmd", self.all), on_msg=self._got, on_up=self.due.set,
            max_payload=max_payload, say=self._say)
        jobs = [asyncio.create_task(c) for c in (
            self._statuses(status_period), self._changes(), self._commands(),
            self._logs(log_rate))]
        try:
            await link.run()
        except asyncio.CancelledError:  # an orderly stop: say offline, no will
            try:
                await asyncio.wait_for_ms(link.close(self.base + "online", b"offline"), 1000)
            except Exception:
                pass
            raise
        finally:
            for j in jobs:
                j.cancel()

    def _say(self, line):
        print(line)
        if self.log:
            self.log.warning(line)

    def _got(self, topic, payload):
        # From the link's reader: queue it; the reply may need the reader.
        if len(self.queue) >= QUEUE:
            self.dropped += 1
            if self.log:
                self.log.warning("command dropped: %d already waiting" % QUEUE)
            return
        self.queue.append((topic == self.all, payload))
        self.qev.set()

    # -- status -------------------------------------------------------------

    async def _changes(self):
        t = aioctl.group()
        if t.changed is None:
            t.changed = asyncio.Event()
        while True:
            await t.changed.wait()
            self.due.set()

    async def _statuses(self, period):
        while True:
            try:
                await asyncio.wait_for(self.due.wait(), period)
            except asyncio.TimeoutError:
                pass
            self.due.clear()
            if self.link.up:
                out = io.BytesIO()
                await self.write_status(out)
                self.statuses += 1
                await self.link.publish(self.base + "status", out.getvalue(), True, 1)
                out = None
            await asyncio.sleep(1)  # changes in the next second go out together

    async def write_status(self, out, pattern=None):
        """The status JSON, written piece by piece into out (a stream)."""
        import gc
        import time

        import aioview

        t = aioctl.group()
        w = out.write
        dumps = json.dumps
        gc.collect()
        impl = sys.implementation.version
        w('{"device":%s,"time":%d,"uptime":%d,"mem_free":%d,"mem_alloc":%d,'
          '"platform":%s,"version":"%s","micropython":"%d.%d.%d","tasks":{' % (
              dumps(self.device), aioview.wall_ms() // 1000,
              time.ticks_diff(time.ticks_ms(), t.started) // 1000, gc.mem_free(),
              gc.mem_alloc(), dumps(sys.platform), VERSION, impl[0], impl[1], impl[2]))
        from aiogrep import match

        names = [n for n in t.recs if pattern is None or match(pattern, n)]
        names.sort()
        views = t.tasks
        for i, n in enumerate(names):
            if n not in t.recs:  # gone while we yielded
                continue
            v = views[n]
            state = v.state
            res = v.result
            if state in ("ERROR", "failed") or isinstance(res, Exception):
                res = "%s: %s" % (type(res).__name__, res)
            w('%s%s:{"state":%s,"since":%s,"done_at":%s,"result":%s}' % (
                "," if i else "", dumps(n), dumps(state), dumps(v.since), dumps(v.done_at),
                "null" if res is None else dumps(self.clean(_short(res)))))
            if i % 16 == 15:
                await asyncio.sleep_ms(0)  # a long table does not stall the loop
        w('},"services":{')
        first = True
        for n, svc in sorted(aioservice.registry.items()):
            rec = t.recs.get(n + ".service")
            if hasattr(svc, "exc"):
                state = "not loaded"
            elif rec is None:
                state = "inactive"
            else:
                state = views[n + ".service"].state
            w('%s%s:{"type":%s,"enabled":%s,"state":%s}' % (
                "" if first else ",", dumps(n), dumps(getattr(svc, "type", None)),
                dumps(getattr(svc, "enabled", False)), dumps(state)))
            first = False
        watcher = aioservice.registry.get("watcher")
        errors = getattr(watcher, "total_errors", None)
        if errors is None:
            errors = sum(1 for n in t.recs if views[n].state in ("ERROR", "failed"))
        w('},"errors":%d,"restarts":%d,"problems":%s}' % (
            errors + len(aioservice.errors), getattr(watcher, "restarts", 0),
            dumps([self.clean(x) for x in aioservice.errors.values()])))

    def clean(self, text):
        """text without the secrets the journal knows (passwords, tokens)."""
        import aioview  # (its masking is the views')

        return aioview.masked(text)

    # -- logs ---------------------------------------------------------------

    async def _logs(self, rate):
        from time import ticks_diff, ticks_ms

        j = aioctl.group().log
        if not hasattr(j, "lines"):
            return  # not a journal: nothing to follow without polling
        if j.event is None:
            j.event = asyncio.Event()
        topic = self.base + "log"
        pos = j.head
        window = ticks_ms()
        sent = 0
        while True:
            got = None
            for item in j.lines(pos):  # one line at a time: the ring moves on while we send
                got = item
                break
            if got is None:  # read up to the end: no await since, nothing is missed
                j.event.clear()
                await j.event.wait()
                continue
            line, pos = got
            now = ticks_ms()
            if ticks_diff(now, window) >= 1000:
                window, sent = now, 0
            if sent >= rate or not self.link.up:
                self.dropped += 1
                continue
            sent += 1
            await self.link.publish(topic, line)

    # -- commands -----------------------------------------------------------

    async def _commands(self):
        while True:
            while not self.queue:
                self.qev.clear()
                await self.qev.wait()
            from_all, payload = self.queue.pop(0)
            await self._run(from_all, payload)
            after, self.after = self.after, None
            if after:
                after()

    async def _run(self, from_all, payload):
        self.commands += 1
        cid = None
        try:
            import mqttops  # the ops' code is loaded for a command, then let go

            if payload is None:
                raise mqttops.Bad("payload over max_payload (%d bytes)" % self.max_payload)
            cmd = mqttops.parse(payload)
            cid = cmd.get("id")
            if cid is not None and not isinstance(cid, (str, int)):
                cid = None
                raise mqttops.Bad("`id` must be a string or a number")
            op = cmd.get("op")
            if op is None:
                raise mqttops.Bad("no `op`")
            if op not in READ_ONLY and op not in WRITES:
                raise mqttops.Bad("unknown op %s" % json.dumps(op) if isinstance(op, str)
                          else "`op` must be a string")
            if from_all and (op not in READ_ONLY and not (op == "config" and "set" not in cmd)):
                raise mqttops.Bad("op %s is not accepted for all devices" % op)
            out = io.BytesIO()
            out.write('{"id":%s,"device":%s,"ok":true,"result":' % (
                json.dumps(cid), json.dumps(self.device)))
            if op == "status":
                await self.write_status(out, mqttops.pattern(mqttops.get_name(cmd, False)))
            else:
                out.write(json.dumps(getattr(mqttops, op)(self, cmd)))
            out.write("}")
            if self.log:
                self.log.info("command %s %s from %s" % (
                    op, cmd.get("name") or "", "all" if from_all else "the fleet"))
        except Exception as e:
            self.bad += 1
            self.after = None
            why = str(e) if type(e).__name__ == "Bad" else "%s: %s" % (type(e).__name__, e)
            if self.log:
                self.log.warning("bad command: %s" % why)
            out = io.BytesIO()
            out.write('{"id":%s,"device":%s,"ok":false,"error":%s}' % (
                json.dumps(cid), json.dumps(self.device), json.dumps(self.clean(why))))
        for module in ("mqttops", "aiodiscover"):  # loaded for this command only
            sys.modules.pop(module, None)
        await self.link.publish(self.base + "reply", out.getvalue(), False, 1)

service = MqttService("mqtt")
