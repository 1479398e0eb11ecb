"""The load client: one connection, pre-built masked frames, ``inflight`` messages at a time.

It is built to cost less per message than any server it drives, so the server is what is
measured: every client frame is built (and masked, and compressed) once, before timing; an
uncompressed echo is checked by comparing each chunk that arrives with the expected byte
stream (one slice and one ``memcmp``, however many messages the chunk holds); a new message
goes out for each echo that completes, several in one ``write``.  uvloop runs it when
installed.  It uses no wscodec code: a wscodec bug cannot make a wrong echo look right.

Every echo is checked: an uncompressed echo must be exactly the server's unmasked frame of
the payload (one unfragmented frame per message, as every server here sends); a compressed
one is parsed and inflated and must give back the payload, with the right opcode.  A wrong
byte raises ``WrongEcho``; the measurement fails rather than counting it.
"""

import asyncio
import base64
import hashlib
import os
import re
import struct
import time
import zlib

from .. import _data

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OFFER = "permessage-deflate; client_no_context_takeover; client_max_window_bits"
#: Longest chunk a read may deliver that the fast check handles in one comparison.
CHUNK = 256 * 1024


class WrongEcho(Exception):
    """The server sent back something other than the echo of what was sent."""


class HandshakeFailed(Exception):
    pass


def server_cpu_ns(pid):
    """CPU time used so far by every thread of process ``pid``, in ns (None if unknown)."""
    if pid is None:
        return None
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total


def _deflate_params(header):
    """The accepted permessage-deflate parameters from a response header value, or None."""
    for offer in header.split(","):
        parts = [p.strip() for p in offer.split(";")]
        if parts[0].lower() != "permessage-deflate":
            continue
        params = {}
        for p in parts[1:]:
            name, _, value = p.partition("=")
            params[name.strip().lower()] = value.strip().strip('"') or None
        return params
    return None


class Plan:
    """The bytes of one case: what the client sends and how the echo is checked."""

    def __init__(self, case, *, websocket=True, client_window_bits=None, seed=0):
        key = _data.payload(4, seed=seed + 1)
        self.case = case
        self.inflight = case.inflight
        if client_window_bits is not None:
            # No context takeover (offered): every message compresses to the same bytes.
            c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED,
                                 -max(9, client_window_bits))
            body = c.compress(case.payload) + c.flush(zlib.Z_SYNC_FLUSH)
            assert body.endswith(b"\x00\x00\xff\xff")
            frame = _data.build_frame(case.opcode, body[:-4], key)
            frame = bytes([frame[0] | 0x40]) + frame[1:]            # RSV1: compressed
        else:
            frame = _data.build_frame(case.opcode, case.payload, key)
        self.frame = frame
        self.compressed = client_window_bits is not None
        # The echo: a raw TCP server returns the client's own bytes, a WebSocket server the
        # unmasked frame (RFC 6455 §5.1: a server never masks).
        echo = frame if not websocket else _data.build_frame(case.opcode, case.payload)
        self.echo = echo
        reps = -(-(len(echo) + CHUNK) // len(echo))
        self.expected = echo * reps
        self.batches = None
        if len(frame) * self.inflight <= 1 << 20:
            self.batches = [frame * k for k in range(self.inflight + 1)]


class EchoClient(asyncio.Protocol):
    def __init__(self, websocket, offer_deflate):
        self.websocket = websocket
        self.offer_deflate = offer_deflate
        loop = asyncio.get_running_loop()
        self.ready = loop.create_future()
        self.drained = None
        self.closed = loop.create_future()
        self.head = b""
        self.plan = None
        self.extensions = None
        self.count = 0              # echoes received and checked
        self.outstanding = 0        # messages sent, echo not complete
        self.sending = False
        self.closing = False        # the closing handshake began: no more echoes
        self.error = None
        self.key = base64.b64encode(os.urandom(16))

    # -- connection and handshake --------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket

            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.websocket:
            self.ready.set_result(None)
            return
        request = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade\r\nSec-WebSocket-Key: " + self.key
                   + b"\r\nSec-WebSocket-Version: 13\r\n")
        if self.offer_deflate:
            request += b"Sec-WebSocket-Extensions: " + OFFER.encode() + b"\r\n"
        transport.write(request + b"\r\n")

    def _handshake(self, data):
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.head) > 65536:
                self._fail(HandshakeFailed("no end of the HTTP response"))
            return
        head, rest = self.head[:end].decode("latin-1"), self.head[end + 4:]
        lines = head.split("\r\n")
        if not re.match(r"HTTP/1\.1 101 ", lines[0]):
            return self._fail(HandshakeFailed("not switched: %r" % lines[0]))
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = (headers[name] + ", " if name in headers else "") + value.strip()
        accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            return self._fail(HandshakeFailed("wrong Sec-WebSocket-Accept"))
        self.extensions = _deflate_params(headers.get("sec-websocket-extensions", ""))
        self.head = None
        self.ready.set_result(None)
        if rest:
            self.data_received(rest)

    # -- the echo loop ---------------------------------------------------------------------

    def start(self, plan, limit=None):
        """Send ``plan.inflight`` messages; from then on, one more for each echo (``limit``:
        no more than that many in all, and ``drained`` resolves when their echoes are in)."""
        self.plan = plan
        self.off = 0
        self.buf = bytearray()
        self.inflater = zlib.decompressobj(-15)
        self.parts = []
        self.sending = True
        self.limit = limit
        first = plan.inflight if limit is None else min(plan.inflight, limit)
        self.sent = first
        self.outstanding = first
        if limit is not None:
            self.drained = asyncio.get_running_loop().create_future()
        self._send(first)

    def _send(self, k):
        plan = self.plan
        if plan.batches is not None and k <= plan.inflight:
            self.transport.write(plan.batches[k])
        else:
            self.transport.writelines([plan.frame] * k)

    def stop(self):
        """Send no more; resolves ``drained`` when the last echo is in."""
        self.sending = False
        self.drained = asyncio.get_running_loop().create_future()
        if self.outstanding == 0 or self.error is not None:
            self._drained()

    def _drained(self):
        if self.drained is not None and not self.drained.done():
            if self.error is not None:
                self.drained.set_exception(self.error)
            else:
                self.drained.set_result(None)

    def _fail(self, exc):
        if self.error is None:
            self.error = exc
        for fut in (self.ready, self.drained):
            if fut is not None and not fut.done():
                fut.set_exception(exc)
        self.sending = False
        self.transport.abort()

    def _done(self, k):
        self.count += k
        if self.sending:
            if self.limit is not None:
                k = min(k, self.limit - self.sent)
            if k > 0:
                self._send(k)
                self.sent += k
        self.outstanding = self.sent - self.count
        if self.outstanding <= 0:
            self._drained()

    def data_received(self, data):
        if self.head is not None and self.websocket:
            return self._handshake(data)
        if self.closing:
            return
        plan = self.plan
        if plan is None:
            return self._fail(WrongEcho("%d bytes before any message was sent" % len(data)))
        if self.error is not None:
            return
        if plan.compressed:
            return self._parse(data)
        # Uncompressed: the stream must be the echo frame repeated, byte for byte.
        off, n, expected = self.off, len(data), plan.expected
        if off + n <= len(expected):
            ok = data == expected[off:off + n]
        else:
            ok, at, step = True, 0, len(expected) - len(plan.echo)
            while ok and at < n:
                piece = data[at:at + step]
                o = (off + at) % len(plan.echo)
                ok = piece == expected[o:o + len(piece)]
                at += step
        if not ok:
            return self._fail(WrongEcho(self._describe(data, off)))
        total = off + n
        size = len(plan.echo)
        self.off = total % size
        if total >= size:
            self._done(total // size)

    def _describe(self, data, off):
        echo = self.plan.echo
        for i, b in enumerate(data):
            if b != echo[(off + i) % len(echo)]:
                return ("echo %d differs at byte %d of its frame (%d bytes): got %#04x, "
                        "expected %#04x" % (self.count + (off + i) // len(echo) + 1,
                                            (off + i) % len(echo), len(echo), b,
                                            echo[(off + i) % len(echo)]))
        return "wrong echo"

    def _parse(self, data):
        """Compressed echoes: frames parsed (RFC 6455 §5.2), inflated (RFC 7692 §7.2.2)."""
        buf = self.buf
        buf += data
        pos, done, n = 0, 0, len(buf)
        case = self.plan.case
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if b1 & 0x80:
                return self._fail(WrongEcho("a server frame is masked"))
            if length == 126:
                if n - pos < 4:
                    break
                length, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if n - pos < head + length:
                break
            payload = bytes(buf[pos + head:pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode >= 8:
                if opcode == 9:                    # a ping: answer it (RFC 6455 §5.5.2)
                    self.transport.write(_data.build_frame(10, payload, b"\0\0\0\0"))
                    continue
                if opcode == 10:
                    continue
                return self._fail(WrongEcho("the server sent opcode %d mid-echo" % opcode))
            if opcode != 0:
                self.opcode, self.rsv1 = opcode, bool(b0 & 0x40)
            self.parts.append(payload)
            if not b0 & 0x80:
                continue
            message = b"".join(self.parts)
            self.parts = []
            if self.rsv1:
                message = self.inflater.decompress(message + b"\x00\x00\xff\xff")
                if self.inflater.eof:              # the peer ended its stream: a new one
                    self.inflater = zlib.decompressobj(-15)
            if self.opcode != case.opcode or message != case.payload:
                return self._fail(WrongEcho(
                    "echo %d: opcode %d, %d bytes; expected opcode %d, %d bytes%s" % (
                        self.count + done + 1, self.opcode, len(message), case.opcode,
                        len(case.payload), "" if len(message) != len(case.payload) else
                        " (same length, other bytes)")))
            done += 1
        del buf[:pos]
        if done:
            self._done(done)

    def connection_lost(self, exc):
        if self.error is None and not self.closing and (self.sending or self.outstanding):
            self._fail(WrongEcho("the server closed the connection (%s)" % (exc,)))
        if not self.closed.done():
            self.closed.set_result(None)


async def measure(port, server_pid, case, *, websocket, warmup, duration, seed=0):
    """Open a connection, echo ``case`` for ``warmup`` then ``duration`` seconds, close.

    Returns the figures of the timed window: messages, seconds, server and client CPU.
    """
    loop = asyncio.get_running_loop()
    offer = case.deflate and websocket
    transport, proto = await loop.create_connection(
        lambda: EchoClient(websocket, offer), "127.0.0.1", port)
    try:
        await asyncio.wait_for(proto.ready, 10)
        bits = None
        if offer:
            params = proto.extensions
            if params is None:
                raise HandshakeFailed("permessage-deflate was not accepted")
            bits = int(params.get("client_max_window_bits") or 15)
        plan = Plan(case, websocket=websocket, client_window_bits=bits, seed=seed)
        proto.start(plan)
        await asyncio.sleep(warmup)
        if proto.error:
            raise proto.error
        count0, t0 = proto.count, time.perf_counter()
        s0, c0 = server_cpu_ns(server_pid), time.process_time()
        await asyncio.sleep(duration)
        count1, t1 = proto.count, time.perf_counter()
        s1, c1 = server_cpu_ns(server_pid), time.process_time()
        proto.stop()
        await asyncio.wait_for(proto.drained, 30)
        if proto.count == 0:
            raise WrongEcho("no echo arrived")
    finally:
        proto.closing = True
        if websocket and proto.error is None and not transport.is_closing():
            transport.write(_data.build_frame(8, struct.pack("!H", 1000), b"\1\2\3\4"))
            try:
                await asyncio.wait_for(asyncio.shield(proto.closed), 2)
            except asyncio.TimeoutError:
                pass
        transport.close()
    messages, seconds = count1 - count0, t1 - t0
    return {
        "messages": messages,
        "seconds": seconds,
        "rate": messages / seconds,
        "server_cpu_s": None if s0 is None or s1 is None else (s1 - s0) / 1e9,
        "client_cpu_s": c1 - c0,
        "checked": proto.count,
    }


async def exchange(port, case, count, *, websocket=True):
    """Echo exactly ``count`` messages of ``case`` on a new connection (for profiles)."""
    loop = asyncio.get_running_loop()
    offer = case.deflate and websocket
    transport, proto = await loop.create_connection(
        lambda: EchoClient(websocket, offer), "127.0.0.1", port)
    try:
        await asyncio.wait_for(proto.ready, 600)
        bits = None
        if offer:
            if proto.extensions is None:
                raise HandshakeFailed("permessage-deflate was not accepted")
            bits = int(proto.extensions.get("client_max_window_bits") or 15)
        proto.start(Plan(case, websocket=websocket, client_window_bits=bits), limit=count)
        await asyncio.wait_for(proto.drained, 3600)
    finally:
        proto.closing = True
        if websocket and proto.error is None and not transport.is_closing():
            transport.write(_data.build_frame(8, struct.pack("!H", 1000), b"\1\2\3\4"))
            try:
                await asyncio.wait_for(asyncio.shield(proto.closed), 60)
            except asyncio.TimeoutError:
                pass
        transport.close()
    return proto.count
