"""Leak check for one concern of one twin, run as its own process by tests/test_leaks.py.

    python tests/isolated/leak_check.py <c|python> <concern> <iterations> [<cheap iterations>]

Every case below calls one public API (a success path or one of its error paths) in a loop.
A case is marked cheap when one call of the compiled twin takes about 3 us or less (measured:
the success paths of masking, UTF-8 checks, framing and frame decoding); raising an
exception costs more.
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
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import wscodec  # noqa: E402
from wscodec import HandshakeError, InvalidPayload, PayloadTooBig, PerMessageDeflate, ProtocolError  # noqa: E402
from wscodec import handshake  # noqa: E402

RSS_SLACK = 4 << 20   # bytes; allocator noise stays well under this
BLOCK_SLACK = 50      # allocated blocks; a per-call leak adds one per iteration
REF_SLACK = 10        # reference counts; a per-call leak adds one per iteration


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def module(kind, concern):
    return __import__("wscodec._%s_%s" % (concern, "c" if kind == "c" else "py"), fromlist=["_"])


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


def cases_messages(m):
    text = "κόσμε " * 20
    raw = text.encode()
    stream = (masked(0x1, raw[:7], fin=False) + masked(0x9, b"p") + masked(0x0, raw[7:])
              + masked(0x2, bytes(500)) + masked(0xA, b"") + masked(0x8, b"\x03\xe8bye"))
    c = zlib.compressobj(wbits=-15)
    deflated = masked(0x1, (c.compress(raw) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], rsv1=True)
    agreement = PerMessageDeflate()
    client_agreement = PerMessageDeflate()

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


CASES = {
    "mask": cases_mask,
    "utf8": cases_utf8,
    "frames": cases_frames,
    "messages": cases_messages,
    "handshake": cases_handshake,
}
WATCHED = (None, True, False, ProtocolError, InvalidPayload, PayloadTooBig, HandshakeError,
           ValueError, TypeError)


# Bounded caches that a case fills over many calls: the pure twin draws masking keys from a
# pool of 1024 (4096 random bytes fetched at once), so its block count moves by up to that
# much depending on where in a batch the loop stops.
POOLED = {"encode_frame random key": 1100}


def check(name, call, args, iterations):
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
    ok = grown_blocks <= POOLED.get(name, BLOCK_SLACK) and grown_rss < RSS_SLACK and not grown_refs
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
        if not check(name, call, args, cheap if is_cheap else iterations):
            failed.append(name)
    if failed:
        print("leaks in: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
