"""Leak check for one concern of one twin, run as its own process by tests/test_leaks.py.

    python tests/isolated/leak_check.py <c|python> <concern> <iterations> [<cheap iterations>]

Every case below calls one public API (a success path or one of its error paths) in a loop:
the codec's concerns (mask, utf8, frames, messages, handshake) and the compiled stand-ins for
the host libraries (wsproto, aiohttp, websockets, compat), whose C code counts references by
hand.
A case is marked cheap when one call of the compiled twin takes about 3 us or less (measured:
the success paths of masking, UTF-8 checks, framing and frame decoding); raising an
exception costs more.
A case marked HEAVY (inflating a message of some 100 kB per call) runs at most
HEAVY_ITERATIONS times, with HEAVY_RSS_SLACK: a leaked buffer of that size shows in the
resident size long before, and a leaked reference at any count.
After a warm-up (caches, free lists and interned objects settle), the loop runs
``iterations`` times (``cheap iterations`` for the calls marked cheap) and then checks that

* the number of allocated Python memory blocks (``sys.getallocatedblocks``) did not grow
  (a leaked object per call would add one block per call),
* the resident set size grew by less than RSS_SLACK (a C-level ``malloc`` leaked per call
  would grow it by at least the iteration count times a few bytes),
* the reference counts of the arguments, of the exception classes raised, and of ``None``,
  ``True`` and ``False`` are where they started (a leaked reference is invisible to both
  measures above when it points to an object that is alive anyway).

Exit status 0 and a line per case on stdout when flat; 1 with the offending cases otherwise.
"""

import array
import gc
import os
import resource
import sys
import time
import random
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import wscodec  # noqa: E402
from wscodec import HandshakeError, InvalidPayload, PayloadTooBig, PerMessageDeflate, ProtocolError  # noqa: E402
from wscodec import handshake  # noqa: E402

RSS_SLACK = 4 << 20   # bytes; allocator noise stays well under this
# The HEAVY cases allocate and free some 100 kB per call: the allocator may keep a few MiB of
# that (measured: 4.3 MB on CPython 3.12, pure twin); one such buffer leaked per call would
# grow the resident size by 200 MB over HEAVY_ITERATIONS calls.
HEAVY_RSS_SLACK = 32 << 20
BLOCK_SLACK = 50      # allocated blocks; a per-call leak adds one per iteration
REF_SLACK = 10        # reference counts; a per-call leak adds one per iteration


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


# The package of each module pair that is not the codec's own (see tests/_twins.py).
PACKAGES = {
    "compat": "wscodec.compat",
    "aiohttp": "wscodec.integrations",
    "websockets": "wscodec.integrations",
    "wsproto": "wscodec.integrations",
}


def module(kind, concern):
    return __import__("%s._%s_%s" % (PACKAGES.get(concern, "wscodec"), concern,
                                     "c" if kind == "c" else "py"), fromlist=["_"])


def expect(exc_type, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except exc_type:
        return
    raise AssertionError("%r did not raise %s" % (call, exc_type.__name__))


KEY = b"\x37\xfa\x21\x3d"
HELLO_MASKED = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"   # RFC 6455 §5.7
HELLO = b"\x81\x05Hello"


def masked(opcode, payload, fin=True, rsv1=False):
    n = len(payload)
    first = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    if n < 126:
        head = first + bytes([0x80 | n])
    elif n < 65536:
        head = first + bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = first + bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + KEY + bytes(b ^ KEY[i & 3] for i, b in enumerate(payload))


def cases_mask(m):
    data = bytes(range(256)) * 4
    small = b"0123456789abcdef"
    buf = bytearray(data)
    strided = memoryview(bytearray(data))[::2]
    arr = array.array("B", small)
    ro = memoryview(data)
    yield "apply_mask 16 B", True, (small, KEY), lambda: m.apply_mask(small, KEY)
    yield "apply_mask 1 KiB", True, (data,), lambda: m.apply_mask(data, KEY)
    yield "apply_mask strided view", False, (strided,), lambda: m.apply_mask(strided, KEY)
    yield "apply_mask array", True, (arr,), lambda: m.apply_mask(arr, KEY)
    yield "apply_mask bad key ValueError", False, (small,), lambda: expect(ValueError, m.apply_mask, small, b"abc")
    yield "apply_mask str TypeError", False, (), lambda: expect(TypeError, m.apply_mask, "text", KEY)
    yield "mask_inplace", True, (buf,), lambda: m.mask_inplace(buf, KEY, 3)
    yield "mask_inplace read-only TypeError", False, (ro,), lambda: expect(TypeError, m.mask_inplace, ro, KEY)
    yield "mask_inplace offset ValueError", False, (buf,), lambda: expect(ValueError, m.mask_inplace, buf, KEY, -1)


def cases_utf8(m):
    good = "κόσμε wörld €😀".encode() * 8
    bad = good + b"\xed\xa0\x80"
    view = memoryview(bytearray(good))
    v = m.Utf8Validator()
    yield "validate_utf8 valid", True, (good,), lambda: m.validate_utf8(good)
    yield "validate_utf8 invalid", True, (bad,), lambda: m.validate_utf8(bad)
    yield "validate_utf8 view", True, (view,), lambda: m.validate_utf8(view)
    yield "validate_utf8 TypeError", False, (), lambda: expect(TypeError, m.validate_utf8, 12)

    def incremental():
        v.validate(good[:5])
        v.validate(good[5:], final=True)
        v.validate(bad)
        v.reset()

    yield "Utf8Validator", True, (good, bad, v), incremental
    yield "Utf8Validator TypeError", False, (v,), lambda: expect(TypeError, v.validate, "text")


def cases_frames(m):
    stream = HELLO_MASKED + masked(0x9, b"ping") + masked(0x2, bytes(300))
    unmasked = HELLO

    def decode():
        d = m.FrameDecoder()
        d.feed(stream[:3])
        d.feed(stream[3:20])
        return d.feed(stream[20:])

    def fail(data, exc_type=ProtocolError, **kw):
        def run():
            d = m.FrameDecoder(**kw)
            expect(exc_type, d.feed, data)
            expect(exc_type, d.feed, HELLO_MASKED)    # a failed decoder raises again
        return run

    yield "FrameDecoder split stream", True, (stream,), decode
    yield "FrameDecoder unmasked from client", False, (unmasked,), fail(unmasked)
    yield "FrameDecoder reserved opcode", False, (), fail(b"\x83\x80" + KEY)
    yield "FrameDecoder too big", False, (), fail(masked(0x2, bytes(200)), PayloadTooBig, max_frame_size=100)
    yield "FrameDecoder 64-bit top bit", False, (), fail(b"\x82\xff" + b"\x80" + bytes(7) + KEY)
    yield "FrameDecoder TypeError", False, (), lambda: expect(TypeError, m.FrameDecoder().feed, "text")
    yield "encode_frame", True, (), lambda: m.encode_frame(1, b"Hello")
    yield "encode_frame masked key", True, (), lambda: m.encode_frame(2, bytes(300), mask=KEY)
    yield "encode_frame random key", True, (), lambda: m.encode_frame(2, b"Hello", mask=True)
    yield "encode_frame ValueError", False, (), lambda: expect(ValueError, m.encode_frame, 9, bytes(200))
    yield "encode_frame TypeError", False, (), lambda: expect(TypeError, m.encode_frame, 1, "text")
    yield "encode_frame_header", True, (), lambda: m.encode_frame_header(2, 70000, mask=KEY)
    yield "encode_frame_header ValueError", False, (), lambda: expect(ValueError, m.encode_frame_header, 2, 2**63)
    yield "encode_frame_header TypeError", False, (), lambda: expect(TypeError, m.encode_frame_header, 2, 5, mask=True)
    yield "Frame", False, (), lambda: (m.Frame(1, True, payload=b"ab") == m.Frame(1, True, payload=b"ab"), repr(m.Frame(2)))


#: The third value of a case (beside True for cheap and False): at most HEAVY_ITERATIONS calls.
HEAVY = "heavy"
HEAVY_ITERATIONS = 2_000


def cases_messages(m):
    text = "κόσμε " * 20
    raw = text.encode()
    stream = (masked(0x1, raw[:7], fin=False) + masked(0x9, b"p") + masked(0x0, raw[7:])
              + masked(0x2, bytes(500)) + masked(0xA, b"") + masked(0x8, b"\x03\xe8bye"))
    c = zlib.compressobj(wbits=-15)
    deflated = masked(0x1, (c.compress(raw) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv1=True)
    agreement = PerMessageDeflate()
    client_agreement = PerMessageDeflate()
    # 140 kB of hex digits (about 2:1, so more than one 64 KiB input slice): inflated over
    # several calls into the compiled twin's output buffer, which grows in place (and is
    # released on the error paths below).
    big = random.Random(3).randbytes(70_000).hex().encode()
    cb = zlib.compressobj(wbits=-15)
    big_stream = cb.compress(big) + cb.flush(zlib.Z_SYNC_FLUSH)
    big_deflated = masked(0x2, big_stream[:-4], rsv1=True)
    big_corrupt = masked(0x2, big_stream + b"\xff\xff", rsv1=True)  # then a reserved block type

    def decode():
        d = m.MessageDecoder()
        d.feed(stream[:9])
        return d.feed(stream[9:])

    def inflate():
        d = m.MessageDecoder(deflate=agreement)
        return d.feed(deflated) + d.feed(deflated)

    def fail(data, exc_type, **kw):
        def run():
            d = m.MessageDecoder(**kw)
            expect(exc_type, d.feed, data)
            expect(exc_type, d.feed, HELLO_MASKED)
        return run

    enc = m.MessageEncoder()
    # A server's encoder: a client's would draw masking keys from the key pool (see
    # "encode_frame random key") and blur the count.
    enc_deflate = m.MessageEncoder(deflate=client_agreement, fragment_size=100)
    yield "MessageDecoder events", False, (stream,), decode
    yield "MessageDecoder deflate", False, (deflated, agreement), inflate
    yield "MessageDecoder deflate in pieces", HEAVY, (big_deflated, agreement), lambda: m.MessageDecoder(
        deflate=agreement).feed(big_deflated)
    yield "MessageDecoder deflate in pieces too big", HEAVY, (), fail(
        big_deflated, PayloadTooBig, deflate=agreement, max_message_size=100_000)
    yield "MessageDecoder deflate in pieces corrupt", HEAVY, (), fail(big_corrupt, InvalidPayload, deflate=agreement)
    yield "MessageDecoder invalid UTF-8", False, (), fail(masked(0x1, b"\xff"), InvalidPayload)
    yield "MessageDecoder too big", False, (), fail(masked(0x2, bytes(200)), PayloadTooBig, max_message_size=100)
    yield "MessageDecoder bad continuation", False, (), fail(masked(0x0, b"x"), ProtocolError)
    yield "MessageDecoder bad close code", False, (), fail(masked(0x8, b"\x03\xed"), ProtocolError)
    yield "MessageDecoder after close", False, (), fail(masked(0x8, b"") + HELLO_MASKED, ProtocolError)
    yield "MessageDecoder corrupt deflate", False, (agreement,), fail(
        masked(0x1, b"\xff\xff\xff", rsv1=True), InvalidPayload, deflate=agreement)
    yield "MessageEncoder", False, (enc,), lambda: (enc.text("hé"), enc.binary(b"x" * 10), enc.ping(),
                                                   enc.pong(b"p"), enc.close(1001, "bye"))
    yield "MessageEncoder deflate", False, (enc_deflate,), lambda: (enc_deflate.text(text), enc_deflate.binary(raw))
    yield "MessageEncoder TypeError", False, (enc,), lambda: expect(TypeError, enc.text, b"bytes")
    yield "MessageEncoder ValueError", False, (enc,), lambda: expect(ValueError, enc.ping, bytes(200))


def cases_handshake(_):
    key = "dGhlIHNhbXBsZSBub25jZQ=="   # RFC 6455 §1.3
    request = [("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
               ("Sec-WebSocket-Protocol", "chat, superchat"),
               ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")]
    response = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), ("Sec-WebSocket-Protocol", "chat")]
    bad_version = [(n, "8" if n == "Sec-WebSocket-Version" else v) for n, v in request]
    yield "accept_key", False, (key,), lambda: handshake.accept_key(key)
    yield "generate_key", False, (), handshake.generate_key
    yield "validate_request", False, (request,), lambda: handshake.validate_request(request)
    yield "validate_request HandshakeError", False, (bad_version,), lambda: expect(
        HandshakeError, handshake.validate_request, bad_version)
    yield "build_response", False, (key,), lambda: handshake.build_response(key, subprotocol="chat",
                                                                             extensions=PerMessageDeflate())
    yield "build_request", False, (), lambda: handshake.build_request("example.com", "/chat", key,
                                                                       subprotocols=["chat"])
    yield "validate_response", False, (response,), lambda: handshake.validate_response(
        101, response, key, subprotocols=["chat"])
    yield "validate_response HandshakeError", False, (response,), lambda: expect(
        HandshakeError, handshake.validate_response, 400, response, key)
    yield "PerMessageDeflate.from_header", False, (), lambda: PerMessageDeflate.from_header(
        "permessage-deflate; server_max_window_bits=10").to_header()
    yield "PerMessageDeflate.from_header ValueError", False, (), lambda: expect(
        ValueError, PerMessageDeflate.from_header, "permessage-deflate; bogus")


# == the host libraries' compiled stand-ins ==================================================
# Their pure twins are mostly the host library's own code (wsproto's FrameProtocol, aiohttp's
# reader), so tests/test_leaks.py runs the wsproto and aiohttp cases for the compiled twin
# only.  Each case drives the paths that count references by hand: frames and messages built
# as NamedTuples in C (integrations/_tuples.pxd), payloads unmasked into new objects, and the
# errors raised on the way.


def cases_wsproto(m):
    from wsproto.extensions import PerMessageDeflate as WsprotoDeflate
    from wsproto.frame_protocol import CloseReason, ParseFailed

    text = "κόσμε wörld".encode()
    stream = (masked(0x1, text) + masked(0x1, text[:3], fin=False) + masked(0x9, b"ping")
              + masked(0x0, text[3:]) + masked(0x2, bytes(300)) + masked(0xA, b"")
              + masked(0x8, b"\x03\xe8bye"))
    spanning = masked(0x2, bytes(range(200)))
    c = zlib.compressobj(wbits=-15)
    deflated = masked(0x1, (c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv1=True)

    def receive(data, *cuts, extensions=()):
        def run():
            proto = m.FrameProtocol(False, list(extensions))
            out = []
            at = 0
            for cut in cuts + (len(data),):
                proto.receive_bytes(data[at:cut])
                out.extend(proto.received_frames())
                at = cut
            return out
        return run

    def deflate_receive():
        ext = WsprotoDeflate()
        ext.accept("permessage-deflate")
        return receive(deflated + deflated, extensions=[ext])()

    def fail(data):
        def run():
            proto = m.FrameProtocol(False, [])
            proto.receive_bytes(data)
            expect(ParseFailed, list, proto.received_frames())
            proto.receive_bytes(HELLO_MASKED)
            assert list(proto.received_frames()) == []   # a failed stream stays finished
        return run

    server = m.FrameProtocol(False, [])
    client = m.FrameProtocol(True, [])

    def send(proto):
        def run():
            proto.send_data(b"binary")
            proto.send_data("text é", fin=False)
            proto.send_data("more")
            proto.send_data(bytearray(300))
            proto.ping(b"p")
            proto.pong()
            return proto.close(CloseReason.GOING_AWAY, "bye")
        return run

    def deflate_send():
        ext = WsprotoDeflate()
        ext.accept("permessage-deflate")
        proto = m.FrameProtocol(False, [ext])
        return proto.send_data("text " * 20), proto.send_data(b"bin")

    yield "FrameProtocol frames", False, (stream,), receive(stream, 9, 40)
    yield "FrameProtocol frame across reads", False, (spanning,), receive(spanning, 2, 50, 120)
    yield "FrameProtocol permessage-deflate", False, (deflated,), deflate_receive
    yield "FrameProtocol server send", False, (server,), send(server)
    yield "FrameProtocol client send", False, (client,), send(client)
    yield "FrameProtocol deflate send", False, (), deflate_send
    yield "FrameProtocol send TypeError", False, (server,), lambda: expect(TypeError, server.send_data, 12)
    yield "FrameProtocol control ValueError", False, (server,), lambda: expect(ValueError, server.ping, bytes(200))
    yield "FrameProtocol reserved opcode", False, (ParseFailed,), fail(b"\x83\x80" + KEY)
    yield "FrameProtocol unmasked from client", False, (ParseFailed,), fail(HELLO)
    yield "FrameProtocol non-minimal length", False, (ParseFailed,), fail(b"\x82\xfe\x00\x05" + KEY)
    yield "FrameProtocol reserved bit", False, (ParseFailed,), fail(masked(0x2, b"x", rsv1=True))
    yield "FrameProtocol invalid UTF-8", False, (ParseFailed,), fail(masked(0x1, b"\xff"))
    yield "FrameProtocol invalid UTF-8 fragment", False, (ParseFailed,), fail(
        masked(0x1, b"ok", fin=False) + masked(0x0, b"\xed\xa0\x80"))
    yield "FrameProtocol bad continuation", False, (ParseFailed,), fail(masked(0x0, b"x"))
    yield "FrameProtocol bad close code", False, (ParseFailed,), fail(masked(0x8, b"\x03\xed"))
    yield "FrameProtocol bad close reason", False, (ParseFailed,), fail(masked(0x8, b"\x03\xe8\xff"))


def cases_aiohttp(m):
    from aiohttp._websocket import reader_py
    from aiohttp._websocket.models import WebSocketError
    from aiohttp.streams import EofStream

    class Protocol:
        _reading_paused = False

        def pause_reading(self):
            self._reading_paused = True

        def resume_reading(self):
            self._reading_paused = False

    protocol = Protocol()
    text = "κόσμε wörld".encode()
    c = zlib.compressobj(wbits=-15)
    body = (c.compress(text * 20) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    stream = (masked(0x1, text) + masked(0x1, text[:3], fin=False) + masked(0x9, b"ping")
              + masked(0x0, text[3:]) + masked(0x2, bytes(300)) + HELLO + masked(0xA, b"")
              + masked(0x1, body, rsv1=True) + masked(0x8, b"\x03\xe8bye") + masked(0x8, b""))
    spanning = masked(0x2, bytes(range(256)) * 2)

    def drain(queue):
        out = []
        while True:
            coro = queue.read()
            try:
                coro.send(None)
            except StopIteration as stop:
                out.append(stop.value)
            except EofStream:
                return out
            else:
                raise AssertionError("read() waited")

    def feed(data, *cuts, limit=2 ** 16, queue_cls=m.WebSocketDataQueue, **options):
        def run():
            queue = queue_cls(protocol, limit, loop=None)
            reader = m.WebSocketReader(queue, 0, compress=True, decode_text=True, **options) \
                if not options else m.WebSocketReader(queue, 0, **options)
            at = 0
            for cut in cuts + (len(data),):
                assert reader.feed_data(data[at:cut]) == (False, b"")
                at = cut
            reader.feed_eof()
            return drain(queue)
        return run

    def fail(data, max_msg_size=0, error=WebSocketError):
        def run():
            queue = m.WebSocketDataQueue(protocol, 2 ** 16, loop=None)
            reader = m.WebSocketReader(queue, max_msg_size, compress=True, decode_text=True)
            assert reader.feed_data(data)[0] is True
            assert reader.feed_data(HELLO_MASKED)[0] is True    # a failed reader stays failed
            expect(error, drain, queue)
        return run

    def stalled():
        # A queue over its limit stops the parse; reading it resumes the reader.
        queue = m.WebSocketDataQueue(protocol, 1, loop=None)
        reader = m.WebSocketReader(queue, 0, compress=False, decode_text=True)
        reader.feed_data(stream[:200])
        out = drain_some(queue, 20)
        del reader
        return out

    def drain_some(queue, n):
        out = []
        for _ in range(n):
            if not queue._buffer:
                break
            coro = queue.read()
            try:
                coro.send(None)
            except StopIteration as stop:
                out.append(stop.value)
        return out

    yield "WebSocketReader messages", False, (stream,), feed(stream, 9, 40)
    yield "WebSocketReader text as bytes", False, (stream,), feed(stream[:60], compress=False,
                                                                 decode_text=False)
    yield "WebSocketReader frame across reads", False, (spanning,), feed(spanning, 2, 100, 300)
    yield "WebSocketReader aiohttp's queue", False, (stream,), feed(
        stream, queue_cls=reader_py.WebSocketDataQueue)
    yield "WebSocketReader stalled and resumed", False, (stream,), stalled
    yield "WebSocketReader reserved opcode", False, (WebSocketError,), fail(b"\x83\x80" + KEY)
    yield "WebSocketReader reserved bit", False, (WebSocketError,), fail(b"\xa2\x80" + KEY)
    yield "WebSocketReader invalid UTF-8", False, (WebSocketError,), fail(masked(0x1, b"\xff"))
    yield "WebSocketReader too big", False, (WebSocketError,), fail(masked(0x2, bytes(200)),
                                                                    max_msg_size=100)
    yield "WebSocketReader 64-bit length", False, (WebSocketError,), fail(b"\x82\xff" + b"\x80" + bytes(7) + KEY)
    yield "WebSocketReader bad continuation", False, (WebSocketError,), fail(masked(0x0, b"x"))
    yield "WebSocketReader bad close code", False, (WebSocketError,), fail(masked(0x8, b"\x03\xed"))
    yield "WebSocketReader bad close reason", False, (WebSocketError,), fail(masked(0x8, b"\x03\xe8\xff"))
    # aiohttp lets the zlib error through (its own reader does the same).
    yield "WebSocketReader corrupt deflate", False, (zlib.error,), fail(
        masked(0x1, b"\xff\xff\xff", rsv1=True), error=zlib.error)
    yield "WebSocketReader ValueError", False, (), lambda: expect(
        ValueError, m.WebSocketReader, m.WebSocketDataQueue(protocol, 1, loop=None), -1, False, True)


def cases_websockets(m):
    payload = bytes(range(256))
    frame = masked(0x2, payload)
    plain = b"\x82\x7e\x01\x00" + payload

    def take(data, header, masked_):
        def run():
            buf = bytearray(data)
            return m.take_payload(buf, header, len(payload), masked_)
        return run

    yield "take_payload masked", True, (frame,), take(frame, 4, True)
    yield "take_payload unmasked", True, (plain,), take(plain, 4, False)
    yield "take_payload ValueError", False, (frame,), lambda: expect(
        ValueError, m.take_payload, bytearray(frame[:10]), 4, len(payload), True)
    yield "build_frame masked", True, (payload,), lambda: m.build_frame(0x82, payload, KEY)
    yield "build_frame unmasked 70000", True, (), lambda: m.build_frame(0x82, bytes(70000), None)
    yield "build_frame view", True, (), lambda: m.build_frame(0x81, memoryview(payload)[::2], KEY)
    yield "build_frame ValueError", False, (payload,), lambda: expect(ValueError, m.build_frame, 0x82, payload, b"abc")
    yield "build_frame TypeError", False, (), lambda: expect(TypeError, m.build_frame, 0x81, "text", KEY)


def cases_compat(m):
    data = bytes(range(256)) * 4
    good = "κόσμε wörld €😀".encode() * 8
    bad = good + b"\xed\xa0\x80"
    masker = m.createXorMasker(KEY, len(data))
    null = m.XorMaskerNull()
    v = m.Utf8Validator()

    def chunks():
        masker.reset()
        masker.process(data[:7])
        masker.process(memoryview(data)[7:])
        return masker.pointer()

    def validate():
        v.reset()
        v.validate(good[:5])
        v.validate(good[5:])
        v.validate(bad)
        return v.validate(b"after")

    yield "websocket_mask", True, (data,), lambda: m.websocket_mask(KEY, data)
    yield "abnf_mask str", True, (), lambda: m.abnf_mask("abcd", "latin-1 text")
    yield "abnf_mask None", True, (), lambda: m.abnf_mask(KEY, None)
    yield "XorMaskerSimple", True, (masker, data), chunks
    yield "createXorMasker", True, (), lambda: m.createXorMasker(KEY).process(b"abc")
    yield "XorMaskerNull", True, (null, data), lambda: null.process(data)
    yield "Utf8Validator", True, (v, good, bad), validate
    yield "websocket_mask ValueError", False, (data,), lambda: expect(ValueError, m.websocket_mask, b"abc", data)
    yield "websocket_mask TypeError", False, (), lambda: expect(TypeError, m.websocket_mask, KEY, 12)
    yield "XorMaskerSimple ValueError", False, (), lambda: expect(ValueError, m.XorMaskerSimple, b"abcde")
    yield "Utf8Validator TypeError", False, (), lambda: expect(TypeError, m.Utf8Validator().validate, 12)


CASES = {
    "mask": cases_mask,
    "utf8": cases_utf8,
    "frames": cases_frames,
    "messages": cases_messages,
    "handshake": cases_handshake,
    "wsproto": cases_wsproto,
    "aiohttp": cases_aiohttp,
    "websockets": cases_websockets,
    "compat": cases_compat,
}
WATCHED = (None, True, False, ProtocolError, InvalidPayload, PayloadTooBig, HandshakeError,
           ValueError, TypeError)


# Bounded caches that a case fills over many calls: the pure twin draws masking keys from a
# pool of 1024 (4096 random bytes fetched at once), so its block count moves by up to that
# much depending on where in a batch the loop stops.
POOLED = {"encode_frame random key": 1100}


def check(name, call, args, iterations, rss_slack=RSS_SLACK):
    watched = WATCHED + tuple(args)
    warmup = max(1000, iterations // 20)
    for _ in range(warmup):
        call()
    gc.collect()
    refs = [sys.getrefcount(o) for o in watched]
    blocks = sys.getallocatedblocks()
    rss0 = rss()
    start = time.perf_counter()
    for _ in range(iterations):
        call()
    elapsed = time.perf_counter() - start
    gc.collect()
    grown_blocks = sys.getallocatedblocks() - blocks
    grown_rss = rss() - rss0
    after = [sys.getrefcount(o) for o in watched]
    # A reference leaked per call moves a count by the number of iterations; the loop's own
    # bookkeeping moves None's or a bool's by a few at most.
    grown_refs = [(repr(o)[:40], a - r) for o, r, a in zip(watched, refs, after) if abs(a - r) > REF_SLACK]
    ok = grown_blocks <= POOLED.get(name, BLOCK_SLACK) and grown_rss < rss_slack and not grown_refs
    print("%-4s %-44s %8d calls %7.2f s  blocks %+6d  rss %+8d  %s%s" % (
        "ok" if ok else "LEAK", name, iterations, elapsed, grown_blocks, grown_rss,
        "refs %r" % grown_refs if grown_refs else "", ""), flush=True)
    return ok


def main():
    kind, concern, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cheap = int(sys.argv[4]) if len(sys.argv) > 4 else iterations
    mod = None if concern == "handshake" else module(kind, concern)
    if mod is not None and kind == "c":
        assert mod.__name__.endswith("_c"), mod
    failed = []
    for name, is_cheap, args, call in CASES[concern](mod):
        if is_cheap is HEAVY:
            ok = check(name, call, args, min(iterations, HEAVY_ITERATIONS), HEAVY_RSS_SLACK)
        else:
            ok = check(name, call, args, cheap if is_cheap else iterations)
        if not ok:
            failed.append(name)
    if failed:
        print("leaks in: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
