# mqttlink: a small MQTT 3.1.1 client on asyncio streams, for mpsysd's fleet
# link (aioservices/services/mqtt_service.py). QoS 0 and 1 (a PUBACK is
# awaited; what was not acknowledged is sent again, marked DUP, after a
# reconnect), exact reads, keepalive pings, a last will, user and password,
# TLS through the `tls` module, reconnect with capped backoff. It imports
# neither `network` nor `machine`: bringing the network up is another
# service's job (`require` it), and a link that cannot connect keeps trying
# without stopping anything else.
# pyright: reportOptionalMemberAccess=false, reportAttributeAccessIssue=false
# (the board stubs miss asyncio.wait_for_ms, tls.SSLContext.verify_mode and str
# into BytesIO; the link's streams and events are made when it runs)
# pyright: reportCallIssue=false, reportArgumentType=false
import asyncio
from time import ticks_diff, ticks_ms

from micropython import const

_CONNECT = const(0x10)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBSCRIBE = const(0x82)
_SUBACK = const(0x90)
_DISCONNECT = const(0xE0)
_MAX_PENDING = const(4)  # QoS 1 messages in flight; a fifth publish waits
_CHUNK = const(128)  # how much of a refused (too long) payload is read at a time
_REFUSED = ("", "unacceptable protocol version", "client id rejected", "server unavailable",
            "bad user name or password", "not authorised")


class MQTTError(Exception):
    pass


def tls_context(ca, cert=None, key=None):
    """A client TLS context that verifies the broker against the CA file ca
    (PEM or DER, a path on the device); cert and key for a client certificate."""
    import tls  # pyright: ignore[reportMissingImports]

    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    with open(ca, "rb") as f:
        ctx.load_verify_locations(f.read())
    if cert:
        with open(cert, "rb") as f, open(key, "rb") as g:
            ctx.load_cert_chain(f.read(), g.read())
    return ctx


def _u16(n):
    return bytes((n >> 8, n & 0xFF))


def _b(s):
    return s.encode() if isinstance(s, str) else s


class Link:
    """One MQTT connection, kept up by run(). on_msg(topic, payload) is called
    (synchronously, from the reader) for each message on a subscribed topic;
    payload is None when it was longer than max_payload (it is not kept)."""

    def __init__(self, client_id, host, port=1883, user=None, password=None, keepalive=60,
                 will=None, ssl=None, subs=(), on_msg=None, on_up=None, max_payload=2048,
                 say=print, delay_max=30):
        self.cid = _b(client_id)
        self.host, self.port = host, port
        self.user, self.password = user, password
        self.ka = keepalive
        self.will = will  # (topic, message): published retained, QoS 1, if we vanish
        self.ssl = ssl
        self.subs = subs  # topics subscribed at each connect (QoS 1)
        self.on_msg = on_msg
        self.on_up = on_up  # called after each connect
        self.max_payload = max_payload
        self.say = say  # where a connection problem is told (one line)
        self.delay_max = max(1, min(delay_max, keepalive // 2))  # s; back within 2 keepalives
        self.up = False
        self.pending = {}  # packet id -> (topic, message, retain): QoS 1 not acked yet
        self.pid = 0
        self.ev = asyncio.Event()  # pulsed on a PUBACK, a connect, a disconnect
        self.lock = asyncio.Lock()  # one packet at a time on the wire
        self.r = self.w = None
        self.rx = 0  # ticks_ms of the last packet from the broker
        self.dead = False  # the pinger found the broker silent
        self.said = None  # the last problem told, so that a retry is not told again
        self.connects = 0

    def _pulse(self):
        self.ev.set()
        self.ev.clear()

    # -- sending ------------------------------------------------------------

    def _head(self, kind, n):
        out = bytearray(5)
        out[0] = kind
        i = 1
        while True:
            b = n & 0x7F
            n >>= 7
            out[i] = b | 0x80 if n else b
            i += 1
            if not n:
                return out[:i]

    async def _send(self, *parts):
        async with self.lock:
            w = self.w
            if w is None:
                raise OSError("not connected")
            # one write per packet: small writes each make a TCP segment, and
            # Nagle's algorithm with delayed ACKs then holds the next one ~40 ms
            w.write(b"".join(parts))
            await w.drain()

    async def _pub(self, topic, msg, retain, qos, pid, dup=False):
        t = _b(topic)
        msg = _b(msg)
        flags = _PUBLISH | (8 if dup else 0) | (qos << 1) | (1 if retain else 0)
        n = 2 + len(t) + (2 if qos else 0) + len(msg)
        if qos:
            await self._send(self._head(flags, n), _u16(len(t)), t, _u16(pid), msg)
        else:
            await self._send(self._head(flags, n), _u16(len(t)), t, msg)

    def _track(self, topic, msg, retain):
        self.pid = self.pid % 65535 + 1
        self.pending[self.pid] = (topic, msg, retain)
        return self.pid

    async def publish(self, topic, msg, retain=False, qos=0):
        """Publish msg (str or bytes). QoS 0: dropped (False) while the link
        is down. QoS 1: returns once the broker has it, however many
        reconnects that takes."""
        if not qos:
            if not self.up:
                return False
            try:
                await self._pub(topic, msg, retain, 0, 0)
            except OSError:
                return False
            return True
        while len(self.pending) >= _MAX_PENDING:
            await self.ev.wait()
        pid = self._track(topic, msg, retain)
        if self.up:
            try:
                await self._pub(topic, msg, retain, 1, pid)
            except OSError:
                pass  # sent again after the reconnect
        while pid in self.pending:
            await self.ev.wait()
        return True

    # -- receiving ----------------------------------------------------------

    async def _reader(self):
        r = self.r
        while True:
            kind = (await r.readexactly(1))[0]
            n = shift = 0
            while True:
                c = (await r.readexactly(1))[0]
                n |= (c & 0x7F) << shift
                shift += 7
                if not c & 0x80:
                    break
                if shift > 21:
                    raise MQTTError("bad packet length")
            self.rx = ticks_ms()
            t = kind & 0xF0
            if t == _PUBLISH:
                await self._incoming(kind, n)
            elif n:
                data = await r.readexactly(n)
                if t == _PUBACK:
                    self.pending.pop(data[0] << 8 | data[1], None)
                    self._pulse()
                elif t == _SUBACK and 0x80 in data[2:]:
                    self._tell("subscription refused by the broker (its ACL)")

    async def _incoming(self, kind, n):
        r = self.r
        data = await r.readexactly(2)
        tlen = data[0] << 8 | data[1]
        topic = await r.readexactly(tlen)
        n -= 2 + tlen
        qos = (kind >> 1) & 3
        pid = 0
        if qos:
            data = await r.readexactly(2)
            pid = data[0] << 8 | data[1]
            n -= 2
        payload = None
        if n <= self.max_payload:
            payload = await r.readexactly(n) if n else b""
        else:
            while n:  # read and let go, never held whole
                k = min(n, _CHUNK)
                await r.readexactly(k)
                n -= k
        if qos:
            await self._send(b"\x40\x02", _u16(pid))
        if self.on_msg:
            self.on_msg(topic, payload)

    async def _pinger(self, rt):
        ka = self.ka * 1000
        while True:
            await asyncio.sleep_ms(ka // 2)
            try:
                if ticks_diff(ticks_ms(), self.rx) > ka + ka // 2:  # no answer to our pings
                    raise OSError("broker silent")
                await self._send(b"\xc0\x00")
            except OSError:
                self.dead = True
                rt.cancel()
                return

    # -- connecting ---------------------------------------------------------

    async def _handshake(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port, ssl=self.ssl)
        try:  # TCP_NODELAY: a PUBACK then a reply must not wait for a delayed ACK (40 ms)
            self.w.s.setsockopt(6, 1, 1)
        except Exception:  # a TLS socket or a port without it
            pass
        flags = 0x02  # clean session: subscriptions are made again at each connect
        n = 10 + 2 + len(self.cid)
        parts = [b"\x00\x04MQTT\x04", None, _u16(self.ka), _u16(len(self.cid)), self.cid]
        if self.will:
            topic, msg = _b(self.will[0]), _b(self.will[1])
            flags |= 0x04 | 0x08 | 0x20  # a will, QoS 1, retained
            parts += [_u16(len(topic)), topic, _u16(len(msg)), msg]
            n += 4 + len(topic) + len(msg)
        for bit, value in ((0x80, self.user), (0x40, self.password)):
            if value:
                v = _b(value)
                flags |= bit
                parts += [_u16(len(v)), v]
                n += 2 + len(v)
        parts[1] = bytes((flags,))
        await self._send(self._head(_CONNECT, n), *parts)
        ack = await self.r.readexactly(4)
        if ack[0] != 0x20:
            raise MQTTError("no CONNACK from the broker")
        if ack[3]:
            raise MQTTError("connection refused: " + (
                _REFUSED[ack[3]] if ack[3] < len(_REFUSED) else "code %d" % ack[3]))
        self.rx = ticks_ms()

    async def _subscribe(self):
        if not self.subs:
            return
        body = [_u16(1)]
        n = 2
        for t in self.subs:
            t = _b(t)
            body += [_u16(len(t)), t, b"\x01"]
            n += 3 + len(t)
        await self._send(self._head(_SUBSCRIBE, n), *body)

    def _tell(self, line):
        line = " ".join(line.split())  # mbedtls' messages hold newlines
        if line != self.said:
            self.said = line
            self.say(line)

    def _close(self):
        self.up = False
        w, self.r, self.w = self.w, None, None
        if w is not None:
            try:
                w.close()
            except OSError:
                pass
        self._pulse()

    async def run(self):
        """Connect and stay connected, forever: a lost or refused connection
        is told once (until it changes) and tried again after 0.5 s, 1 s,
        2 s... up to delay_max."""
        delay = 500
        where = "%s:%d" % (self.host, self.port)
        while True:
            rt = pt = None
            try:
                await asyncio.wait_for_ms(self._handshake(), 10000)
                self.up = True
                self.connects += 1
                self.said = None
                delay = 500
                self.dead = False
                rt = asyncio.create_task(self._reader())
                pt = asyncio.create_task(self._pinger(rt))
                await self._subscribe()
                for pid, (topic, msg, retain) in list(self.pending.items()):
                    await self._pub(topic, msg, retain, 1, pid, dup=True)
                if self.will:  # QoS 1 without waiting here: the reader takes the PUBACK
                    topic = self.will[0]
                    await self._pub(topic, b"online", True, 1, self._track(topic, b"online", True))
                self._pulse()
                if self.on_up:
                    self.on_up()
                try:
                    await rt
                except asyncio.CancelledError:
                    if not self.dead:
                        raise
                raise MQTTError("connection lost" if not self.dead else "no answer to pings")
            except Exception as e:
                why = "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__
                if isinstance(e, asyncio.TimeoutError):
                    why = "no answer in 10 s"
                elif isinstance(e, EOFError):
                    why = "connection lost"
                self._tell("mqtt: %s: %s; trying again" % (where, why))
            finally:
                for t in (rt, pt):
                    if t is not None:
                        t.cancel()
                self._close()
            await asyncio.sleep_ms(delay)
            delay = min(delay * 2, self.delay_max * 1000)

    async def close(self, topic=None, msg=None):
        """Orderly end: publish msg to topic (retained, QoS 0) and DISCONNECT,
        so that the broker does not send the will."""
        if self.up:
            try:
                if topic is not None:
                    await self._pub(topic, msg, True, 0, 0)
                await self._send(bytes((_DISCONNECT, 0)))
            except OSError:
                pass
        self._close()
