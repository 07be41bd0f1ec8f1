"""The fleet over MQTT (aiomqtt): settings, commands with replies, and the
retained presence and status of every device. The wire protocol is in the
project's README (Fleet)."""
import asyncio
import fnmatch
import json
import os
import socket
import uuid

import aiomqtt

DEFAULTS = {"host": "127.0.0.1", "port": None, "user": None, "password": None, "ca": None,
            "cert": None, "key": None, "prefix": "mpsysd", "timeout": 5.0}
CONFIG = os.path.join("~", ".config", "mpsysd", "cli.json")


class Timeout(Exception):
    """A device did not answer in time."""


class Refused(Exception):
    """The broker could not be reached or refused us."""


def settings(options):
    """Options (a dict; None for unset) over MPSYSD_* environment variables
    over the config file (MPSYSD_CONFIG, or ~/.config/mpsysd/cli.json)."""
    path = options.get("config") or os.environ.get("MPSYSD_CONFIG") or CONFIG
    path = os.path.expanduser(path)
    conf = {}
    if os.path.exists(path):
        with open(path) as f:
            try:
                conf = json.load(f)
            except ValueError as e:
                raise SystemExit("mpsysd: %s: not JSON: %s" % (path, e))
        if not isinstance(conf, dict):
            raise SystemExit("mpsysd: %s: not a JSON object" % path)
    out = {}
    for key, default in DEFAULTS.items():
        value = options.get(key)
        if value is None:
            value = os.environ.get("MPSYSD_" + key.upper())
        if value is None:
            value = conf.get(key, default)
        out[key] = value
    if out["port"] is None:
        out["port"] = 8883 if out["ca"] else 1883
    out["port"] = int(out["port"])
    out["timeout"] = float(out["timeout"])
    return out


def match(pattern, name):
    return pattern is None or fnmatch.fnmatchcase(name, pattern)


class Fleet:
    """One connection to the broker: `async with Fleet(settings) as fleet`."""

    def __init__(self, conf):
        self.conf = conf
        self.prefix = conf["prefix"]
        tls = None
        if conf["ca"]:
            tls = aiomqtt.TLSParameters(ca_certs=conf["ca"], certfile=conf["cert"],
                                        keyfile=conf["key"])
        self.client = aiomqtt.Client(
            conf["host"], conf["port"], username=conf["user"], password=conf["password"],
            identifier="mpsysd-cli-" + uuid.uuid4().hex[:12], tls_params=tls, timeout=10,
            # without it Nagle's algorithm holds each small packet ~40 ms
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self.where = "%s:%s" % (conf["host"], conf["port"])

    async def __aenter__(self):
        try:
            await self.client.__aenter__()
        except aiomqtt.MqttError as e:
            raise Refused("cannot connect to the broker at %s: %s" % (self.where, e))
        return self

    async def __aexit__(self, *exc):
        try:
            await self.client.__aexit__(*exc)
        except aiomqtt.MqttError:
            pass

    def topic(self, device, what):
        return "%s/%s/%s" % (self.prefix, device, what)

    async def command(self, device, op, **args):
        """Send op to device and return its reply (a dict with ok, result or
        error); Timeout when none comes within the timeout."""
        cid = uuid.uuid4().hex[:12]
        await self.client.subscribe(self.topic(device, "reply"), qos=1)
        body = dict(args, id=cid, op=op)
        await self.client.publish(self.topic(device, "cmd"), json.dumps(body), qos=1)
        try:
            async with asyncio.timeout(self.conf["timeout"]):
                async for m in self.client.messages:
                    if m.topic.matches(self.topic(device, "reply")):
                        reply = json.loads(m.payload)
                        if reply.get("id") == cid:
                            return reply
        except TimeoutError:
            raise Timeout("%s did not answer within %g s" % (device, self.conf["timeout"]))
        raise Refused("the broker closed the connection")

    async def send(self, device, body):
        """Publish a raw command payload (str or bytes) to device's cmd topic."""
        await self.client.publish(self.topic(device, "cmd"), body, qos=1)

    async def snapshot(self, quiet=0.3, limit=3.0):
        """{device: {"online": str, "status": dict or None}} from the retained
        topics: what the broker holds, read once (no polling)."""
        devices = {}
        await self.client.subscribe(self.topic("+", "online"), qos=1)
        await self.client.subscribe(self.topic("+", "status"), qos=1)
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        it = aiomqtt_messages(self.client)
        while True:
            left = min(quiet, end - loop.time())
            if left <= 0:
                break
            try:
                m = await asyncio.wait_for(it.__anext__(), left)
            except TimeoutError:
                break
            self.take(devices, m)
        return devices

    def take(self, devices, m):
        """Note message m (presence or status) in devices; the device's name."""
        parts = m.topic.value.split("/")
        if len(parts) != 3 or parts[2] not in ("online", "status"):
            return None
        d = devices.setdefault(parts[1], {"online": "unknown", "status": None})
        if parts[2] == "online":
            d["online"] = m.payload.decode(errors="replace")
        else:
            try:
                d["status"] = json.loads(m.payload)
            except ValueError:
                d["status"] = None
        return parts[1]


def aiomqtt_messages(client):
    return client.messages.__aiter__()
