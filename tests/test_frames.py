"""Frame, FrameDecoder, encode_frame and encode_frame_header (RFC 6455 §5), against both twins.

Expected bytes come from the RFC's own examples (§5.7) or from ``raw_frame`` below, a
deliberately naive encoder written from the §5.2 diagram, never from the code under test.
"""

import array
import os
import pickle
import random
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscodec import Opcode, PayloadTooBig, ProtocolError, _select

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KEY = b"\x37\xfa\x21\x3d"  # the masking key of RFC 6455 §5.7
RESERVED = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]

# Tests of the compiled twin against the pure one (not built under WSCODEC_NO_EXTENSIONS=1).
compiled_only = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twin not built")


def xor(payload, key):
    """RFC 6455 §5.3 masking on Python integers (an oracle independent of wscodec)."""
    n = len(payload)
    keys = int.from_bytes((bytes(key) * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(payload, "little") ^ keys).to_bytes(n, "little")


def raw_frame(opcode, payload, *, fin=True, rsv1=False, rsv2=False, rsv3=False, key=None):
    """A frame built straight from the RFC 6455 §5.2 diagram (minimal length encoding)."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0)
    b0 |= (0x10 if rsv3 else 0) | opcode
    m = 0x80 if key is not None else 0
    n = len(payload)
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126, n >> 8, n & 0xFF])
    else:
        head = bytes([b0, m | 127]) + bytes((n >> (56 - 8 * i)) & 0xFF for i in range(8))
    if key is None:
        return head + payload
    return head + key + xor(payload, key)


def split_feed(decoder, data, cuts):
    frames = []
    last = 0
    for cut in sorted(cuts) + [len(data)]:
        frames += decoder.feed(data[last:cut])
        last = cut
    return frames


# -- RFC 6455 §5.7 examples -------------------------------------------------------------

RFC_EXAMPLES = [
    # (name, bytes, client, expected frames as (opcode, fin, payload), encode args)
    ("unmasked text", bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]), True,
     [(TEXT, True, b"Hello")], [dict(opcode=TEXT, payload=b"Hello")]),
    ("masked text", bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
     False, [(TEXT, True, b"Hello")], [dict(opcode=TEXT, payload=b"Hello", mask=KEY)]),
    ("fragmented text", bytes([0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F]), True,
     [(TEXT, False, b"Hel"), (CONTINUATION, True, b"lo")],
     [dict(opcode=TEXT, payload=b"Hel", fin=False), dict(opcode=CONTINUATION, payload=b"lo")]),
    ("unmasked ping", bytes([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]), True,
     [(PING, True, b"Hello")], [dict(opcode=PING, payload=b"Hello")]),
    ("masked pong", bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
     False, [(PONG, True, b"Hello")], [dict(opcode=PONG, payload=b"Hello", mask=KEY)]),
    ("256 bytes binary", bytes([0x82, 0x7E, 0x01, 0x00]) + bytes(range(256)), True,
     [(BINARY, True, bytes(range(256)))], [dict(opcode=BINARY, payload=bytes(range(256)))]),
    ("64 KiB binary",
     bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]) + bytes(range(256)) * 256, True,
     [(BINARY, True, bytes(range(256)) * 256)],
     [dict(opcode=BINARY, payload=bytes(range(256)) * 256)]),
]


@pytest.mark.parametrize("name,data,client,expected,_", RFC_EXAMPLES, ids=[e[0] for e in RFC_EXAMPLES])
def test_rfc_examples_decode(impl, name, data, client, expected, _):
    frames = impl.frames.FrameDecoder(client=client).feed(data)
    assert [(f.opcode, f.fin, f.payload) for f in frames] == expected
    for f in frames:
        assert type(f.opcode) is Opcode
        assert (f.rsv1, f.rsv2, f.rsv3) == (False, False, False)
        assert type(f.payload) is bytes


@pytest.mark.parametrize("name,data,_,__,calls", RFC_EXAMPLES, ids=[e[0] for e in RFC_EXAMPLES])
def test_rfc_examples_encode(impl, name, data, _, __, calls):
    out = b"".join(
        impl.frames.encode_frame(c.pop("opcode"), c.pop("payload"), **c) for c in map(dict, calls)
    )
    assert out == data


def test_rfc_examples_with_opcode_members(impl):
    assert impl.frames.encode_frame(Opcode.TEXT, b"Hello") == b"\x81\x05Hello"
    assert impl.frames.encode_frame(Opcode.PONG, b"Hello", mask=bytearray(KEY)) == bytes(
        [0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
    )


# -- header violations ------------------------------------------------------------------
# (id, decoder kwargs, the header bytes up to the one that shows the violation, class, code)

M = 0x80  # mask bit
VIOLATIONS = [
    ("rsv2", {}, b"\xa1", ProtocolError, 1002),
    ("rsv3", {}, b"\x91", ProtocolError, 1002),
    ("rsv2 with rsv1 allowed", {"allow_rsv1": True}, b"\xe1", ProtocolError, 1002),
    ("rsv1 not negotiated", {}, b"\xc1", ProtocolError, 1002),
    ("rsv1 not negotiated, client", {"client": True}, b"\xc2", ProtocolError, 1002),
    ("rsv1 on ping", {"allow_rsv1": True}, b"\xc9", ProtocolError, 1002),
    ("rsv1 on close", {"allow_rsv1": True}, b"\xc8", ProtocolError, 1002),
    ("rsv1 on continuation", {"allow_rsv1": True}, b"\xc0", ProtocolError, 1002),
    ("rsv1 on non-final continuation", {"allow_rsv1": True}, b"\x40", ProtocolError, 1002),
    ("fragmented ping", {}, b"\x09", ProtocolError, 1002),
    ("fragmented pong", {}, b"\x0a", ProtocolError, 1002),
    ("fragmented close", {}, b"\x08", ProtocolError, 1002),
    ("unmasked frame to a server", {}, bytes([0x81, 0x05]), ProtocolError, 1002),
    ("unmasked empty frame to a server", {}, bytes([0x82, 0x00]), ProtocolError, 1002),
    ("masked frame to a client", {"client": True}, bytes([0x81, M | 5]), ProtocolError, 1002),
    ("ping over 125, 16-bit", {}, bytes([0x89, M | 126]), ProtocolError, 1002),
    ("close over 125, 64-bit", {}, bytes([0x88, M | 127]), ProtocolError, 1002),
    ("pong over 125, client", {"client": True}, bytes([0x8A, 126]), ProtocolError, 1002),
    ("16-bit length for 125", {}, bytes([0x82, M | 126, 0, 125]), ProtocolError, 1002),
    ("16-bit length for 0", {"client": True}, bytes([0x82, 126, 0, 0]), ProtocolError, 1002),
    ("64-bit length for 65535", {}, bytes([0x82, M | 127]) + (65535).to_bytes(8, "big"),
     ProtocolError, 1002),
    ("64-bit length for 5", {"client": True}, bytes([0x81, 127]) + (5).to_bytes(8, "big"),
     ProtocolError, 1002),
    ("64-bit length top bit", {}, bytes([0x82, M | 127]) + (1 << 63).to_bytes(8, "big"),
     ProtocolError, 1002),
    ("64-bit length all ones", {"max_frame_size": None}, bytes([0x82, M | 127]) + b"\xff" * 8,
     ProtocolError, 1002),
    ("64-bit top bit with a small limit", {"max_frame_size": 10},
     bytes([0x82, M | 127]) + (1 << 63 | 5).to_bytes(8, "big"), ProtocolError, 1002),
    ("non-minimal with a small limit", {"max_frame_size": 10}, bytes([0x82, M | 126, 0, 100]),
     ProtocolError, 1002),
    ("7-bit over the limit", {"max_frame_size": 100}, bytes([0x82, M | 101]), PayloadTooBig, 1009),
    ("ping over the limit", {"max_frame_size": 10}, bytes([0x89, M | 11]), PayloadTooBig, 1009),
    ("close over a zero limit", {"max_frame_size": 0}, bytes([0x88, M | 2]), PayloadTooBig, 1009),
    ("16-bit over the limit", {"max_frame_size": 1000}, bytes([0x82, M | 126, 0x03, 0xE9]),
     PayloadTooBig, 1009),
    ("64-bit over the default limit", {}, bytes([0x82, M | 127]) + (2**20 + 1).to_bytes(8, "big"),
     PayloadTooBig, 1009),
    ("64-bit 2**62 over the default limit", {"client": True},
     bytes([0x82, 127]) + (2**62).to_bytes(8, "big"), PayloadTooBig, 1009),
] + [
    ("reserved opcode %d" % op, {}, bytes([0x80 | op]), ProtocolError, 1002) for op in RESERVED
] + [
    ("reserved opcode %d, not final" % op, {"client": True}, bytes([op]), ProtocolError, 1002)
    for op in RESERVED
]


@pytest.mark.parametrize("kwargs,header,cls,code", [v[1:] for v in VIOLATIONS],
                         ids=[v[0] for v in VIOLATIONS])
def test_violation_raises_on_header_bytes(impl, kwargs, header, cls, code):
    # All at once: the header alone is enough, no payload or mask key is waited for.
    with pytest.raises(cls) as info:
        impl.frames.FrameDecoder(**kwargs).feed(header)
    assert type(info.value) is cls
    assert info.value.close_code == code
    assert "RFC" in str(info.value)
    # One byte at a time: nothing before the deciding byte, the error on it.
    decoder = impl.frames.FrameDecoder(**kwargs)
    for i in range(len(header) - 1):
        assert decoder.feed(header[i : i + 1]) == []
    with pytest.raises(cls) as info:
        decoder.feed(header[-1:])
    assert type(info.value) is cls and info.value.close_code == code


@pytest.mark.parametrize("kwargs,header,cls,code", [v[1:] for v in VIOLATIONS],
                         ids=[v[0] for v in VIOLATIONS])
def test_decoder_is_finished_after_error(impl, kwargs, header, cls, code):
    client = kwargs.get("client", False)
    good = raw_frame(TEXT, b"ok", key=None if client else KEY)
    decoder = impl.frames.FrameDecoder(**kwargs)
    # A frame completed earlier in the same chunk is not returned.
    with pytest.raises(cls):
        decoder.feed(good + header + b"\x00" * 20)
    for later in (good, b"", header):
        with pytest.raises(cls) as info:
            decoder.feed(later)
        assert type(info.value) is cls and info.value.close_code == code


def test_valid_headers_near_the_rules(impl):
    F = impl.frames
    # RSV1 on a data frame that starts a message, once negotiated (RFC 7692).
    frames = F.FrameDecoder(allow_rsv1=True).feed(raw_frame(TEXT, b"x", rsv1=True, key=KEY)
                                                   + raw_frame(BINARY, b"", rsv1=True, fin=False, key=KEY))
    assert [(f.opcode, f.rsv1, f.fin) for f in frames] == [(TEXT, True, True), (BINARY, True, False)]
    # Control frames of exactly 125 bytes; minimal 16-bit (126) and 64-bit (65536) lengths.
    stream = (raw_frame(PING, b"p" * 125, key=KEY) + raw_frame(BINARY, b"a" * 126, key=KEY)
              + raw_frame(BINARY, b"b" * 65535, key=KEY) + raw_frame(BINARY, b"c" * 65536, key=KEY))
    frames = F.FrameDecoder().feed(stream)
    assert [len(f.payload) for f in frames] == [125, 126, 65535, 65536]
    assert frames[3].payload == b"c" * 65536


@pytest.mark.parametrize("limit", [0, 1, 125, 126, 1000, 65536, 70000])
def test_limit_is_inclusive(impl, limit):
    F = impl.frames
    frame = raw_frame(BINARY, b"z" * limit, key=KEY)
    assert F.FrameDecoder(max_frame_size=limit).feed(frame)[0].payload == b"z" * limit
    with pytest.raises(PayloadTooBig) as info:
        F.FrameDecoder(max_frame_size=limit).feed(raw_frame(BINARY, b"z" * (limit + 1), key=KEY)[:14])
    assert info.value.close_code == 1009


def test_default_limit_is_one_mib(impl):
    F = impl.frames
    assert F.FrameDecoder().max_frame_size == 2**20
    head = bytes([0x82, 127]) + (2**20).to_bytes(8, "big")
    assert F.FrameDecoder(client=True).feed(head) == []
    with pytest.raises(PayloadTooBig):
        F.FrameDecoder(client=True).feed(bytes([0x82, 127]) + (2**20 + 1).to_bytes(8, "big"))


def test_decoder_arguments(impl):
    F = impl.frames
    d = F.FrameDecoder(client=True, max_frame_size=None, allow_rsv1=True)
    assert (d.client, d.max_frame_size, d.allow_rsv1) == (True, None, True)
    with pytest.raises(ValueError):
        F.FrameDecoder(max_frame_size=-1)
    with pytest.raises(TypeError):
        F.FrameDecoder(max_frame_size="10")
    with pytest.raises(TypeError):
        F.FrameDecoder(max_frame_size=1.5)
    with pytest.raises(TypeError):
        F.FrameDecoder(True)  # keyword-only
    # A limit beyond any length is accepted.
    assert F.FrameDecoder(max_frame_size=2**100).feed(raw_frame(TEXT, b"hi", key=KEY))[0].payload == b"hi"


# -- unbounded lengths --------------------------------------------------------------------

def test_huge_declared_length_allocates_only_what_arrives(impl):
    F = impl.frames
    decoder = F.FrameDecoder(max_frame_size=None)
    head = bytes([0x82, 0x80 | 127]) + (2**62).to_bytes(8, "big") + KEY
    # PyPy has no tracemalloc: the allocation bound is measured on CPython.
    tracemalloc = pytest.importorskip("tracemalloc")
    tracemalloc.start()
    try:
        assert decoder.feed(head) == []
        assert decoder.feed(b"\x00" * 1000) == []
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # tracemalloc sees every Python allocator call, the compiled twin's bytes objects too
    # (an attempt at 2**62 bytes would have raised MemoryError instead).
    assert peak < 1 << 20, peak
    # Growing with what arrives: another MiB is taken without trouble.
    assert decoder.feed(b"\x00" * (1 << 20)) == []


PAYLOAD_3MIB = random.Random(7).randbytes(3 << 20 | 12345)


@pytest.mark.parametrize("chunk", [65536, 100_003, (1 << 20) + 5])
def test_big_frame_grows_as_it_arrives(impl, chunk):
    # Over 1 MiB declared, unlimited, arriving in pieces: the payload is right at the end.
    F = impl.frames
    stream = raw_frame(BINARY, PAYLOAD_3MIB, key=KEY) + raw_frame(PING, b"!", key=KEY)
    decoder = F.FrameDecoder(max_frame_size=None)
    frames = []
    for i in range(0, len(stream), chunk):
        frames += decoder.feed(stream[i : i + chunk])
    assert _summary(frames) == [(BINARY, True, PAYLOAD_3MIB), (PING, True, b"!")]


MEMORY_ERROR_SCRIPT = """
import resource, sys
from wscodec import PayloadTooBig
import wscodec._frames_%s as frames

decoder = frames.FrameDecoder(max_frame_size=None)
chunk = bytes(4 << 20)
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * resource.getpagesize()
# Room for 64 MiB more address space: a 1 GiB payload cannot be held.
resource.setrlimit(resource.RLIMIT_AS, (size + (64 << 20), resource.RLIM_INFINITY))
decoder.feed(bytes([0x82, 0x80 | 127]) + (1 << 30).to_bytes(8, "big") + b"abcd")
try:
    for _ in range(256):
        decoder.feed(chunk)
except PayloadTooBig as exc:
    first = exc.close_code
else:
    sys.exit("no error")
try:
    decoder.feed(b"\\x81")
except PayloadTooBig as exc:
    print(first, exc.close_code)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS and /proc")
def test_payload_that_does_not_fit_in_memory(impl):
    # A real MemoryError (address space capped in a child process) fails the decoder with
    # 1009, and it stays failed.
    import subprocess

    script = MEMORY_ERROR_SCRIPT % ("c" if impl.kind == "c" else "py")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1009", "1009"]


# -- splitting --------------------------------------------------------------------------

def _mixed_stream(masked):
    """A stream of assorted frames and the frames it must decode to."""
    rng = random.Random(1234)
    key = (lambda: bytes(rng.getrandbits(8) for _ in range(4))) if masked else (lambda: None)
    specs = [
        (TEXT, b"Hello", True), (BINARY, b"", True), (PING, b"", True), (TEXT, b"frag", False),
        (CONTINUATION, b"ment", False), (PONG, b"p" * 125, True), (CONTINUATION, b"ed", True),
        (BINARY, bytes(range(126)), True), (BINARY, bytes(300), True), (CLOSE, b"\x03\xe8bye", True),
        (BINARY, bytes(rng.getrandbits(8) for _ in range(1000)), True), (TEXT, "é€𝄞".encode(), True),
    ]
    stream = b"".join(raw_frame(op, p, fin=fin, key=key()) for op, p, fin in specs)
    return stream, [(op, fin, p) for op, p, fin in specs]


def _summary(frames):
    return [(f.opcode, f.fin, f.payload) for f in frames]


@pytest.mark.parametrize("masked", [True, False])
def test_every_two_way_split(impl, masked):
    stream, expected = _mixed_stream(masked)
    for cut in range(len(stream) + 1):
        decoder = impl.frames.FrameDecoder(client=not masked)
        assert _summary(split_feed(decoder, stream, [cut])) == expected, cut


@pytest.mark.parametrize("masked", [True, False])
def test_one_byte_at_a_time(impl, masked):
    stream, expected = _mixed_stream(masked)
    decoder = impl.frames.FrameDecoder(client=not masked)
    frames = []
    for i in range(len(stream)):
        frames += decoder.feed(stream[i : i + 1])
    assert _summary(frames) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), masked=st.booleans())
def test_random_splits(impl, data, masked):
    stream, expected = _mixed_stream(masked)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    decoder = impl.frames.FrameDecoder(client=not masked)
    assert _summary(split_feed(decoder, stream, cuts)) == expected


def test_large_frame_in_small_chunks(impl):
    payload = os.urandom(300_000)
    for masked in (True, False):
        stream = raw_frame(BINARY, payload, key=KEY if masked else None) + raw_frame(
            TEXT, b"after", key=KEY if masked else None)
        for chunk in (1000, 4096, 65537):
            decoder = impl.frames.FrameDecoder(client=not masked)
            frames = []
            for i in range(0, len(stream), chunk):
                frames += decoder.feed(stream[i : i + chunk])
            assert _summary(frames) == [(BINARY, True, payload), (TEXT, True, b"after")]


@pytest.mark.parametrize("size,masked,header_size", [
    (0, True, 6), (5, False, 2), (300, True, 8), (300, False, 4), (70000, True, 14)])
def test_partial_frame(impl, size, masked, header_size):
    frame = raw_frame(BINARY, b"q" * size, fin=False, key=KEY if masked else None)
    decoder = impl.frames.FrameDecoder(client=not masked, max_frame_size=None)
    seen = [decoder.partial_frame()]
    for i in range(len(frame) - 1):
        assert decoder.feed(frame[i : i + 1]) == []
        seen.append(decoder.partial_frame())
    assert seen[0] is None
    # Part of the header: what its first byte tells; then the whole header with its length.
    assert seen[1:header_size] == [(BINARY, False, False, None)] * (header_size - 1)
    assert seen[header_size:] == [(BINARY, False, False, size)] * (len(frame) - header_size)
    assert len(decoder.feed(frame[-1:])) == 1
    assert decoder.partial_frame() is None
    # A failed decoder has no frame under way.
    decoder.feed(b"\x81" if masked else b"\x01")
    with pytest.raises(ProtocolError):
        decoder.feed(b"\x00" if masked else b"\x80")
    assert decoder.partial_frame() is None


# -- buffers ----------------------------------------------------------------------------

def test_any_buffer_type(impl):
    frame = raw_frame(TEXT, b"Hello", key=KEY)
    expected = [(TEXT, True, b"Hello")]
    inputs = [frame, bytearray(frame), memoryview(frame), array.array("B", frame),
              memoryview(bytes(x for b in frame for x in (b, 0)))[::2],  # non-contiguous
              memoryview(frame).cast("B", (1, len(frame)))]
    for data in inputs:
        assert _summary(impl.frames.FrameDecoder().feed(data)) == expected
    for bad in ("text", 5, [0x81], None):
        with pytest.raises(TypeError):
            impl.frames.FrameDecoder().feed(bad)


def test_caller_buffer_is_not_kept(impl):
    stream = raw_frame(TEXT, b"first", key=KEY) + raw_frame(BINARY, b"second" * 50, key=KEY)
    cut = len(stream) - 100  # the second frame's payload straddles the feeds
    decoder = impl.frames.FrameDecoder()
    buf = bytearray(stream[:cut])
    frames = decoder.feed(buf)
    buf[:] = b"\xff" * len(buf)  # the caller reuses its buffer at once
    frames += decoder.feed(bytearray(stream[cut:]))
    assert _summary(frames) == [(TEXT, True, b"first"), (BINARY, True, b"second" * 50)]
    # A header split across feeds, the first piece overwritten.
    decoder = impl.frames.FrameDecoder()
    frame = raw_frame(BINARY, b"x" * 300, key=KEY)
    buf = bytearray(frame[:3])
    assert decoder.feed(buf) == []
    buf[:] = b"\x00\x00\x00"
    assert _summary(decoder.feed(memoryview(frame)[3:])) == [(BINARY, True, b"x" * 300)]


# -- round trips --------------------------------------------------------------------------

@st.composite
def frame_specs(draw):
    opcode = draw(st.sampled_from([CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG]))
    control = opcode >= 8
    fin = True if control else draw(st.booleans())
    rsv1 = False if control or opcode == CONTINUATION else draw(st.booleans())
    size = draw(st.sampled_from([0, 1, 5, 125] + ([] if control else [126, 127, 65535, 65536, 70000])))
    payload = draw(st.binary(min_size=size, max_size=size)) if size < 200 else bytes(
        draw(st.integers(0, 255)) for _ in range(1)) * size
    mask = draw(st.one_of(st.just(False), st.just(True), st.binary(min_size=4, max_size=4)))
    return opcode, fin, rsv1, payload, mask


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(specs=st.lists(frame_specs(), min_size=1, max_size=4))
def test_encode_decode_round_trip(impl, specs):
    F = impl.frames
    # Group by masking: a server receives masked frames, a client unmasked ones.
    for masked in (False, True):
        group = [s for s in specs if (s[4] is not False) == masked]
        if not group:
            continue
        stream = b""
        for opcode, fin, rsv1, payload, mask in group:
            out = F.encode_frame(opcode, payload, fin=fin, mask=mask, rsv1=rsv1)
            if isinstance(mask, bytes):
                assert out == raw_frame(opcode, payload, fin=fin, rsv1=rsv1, key=mask)
            elif mask is False:
                assert out == raw_frame(opcode, payload, fin=fin, rsv1=rsv1)
            else:
                assert out == raw_frame(opcode, payload, fin=fin, rsv1=rsv1, key=out[len(out) - len(payload) - 4 : len(out) - len(payload)])
            stream += out
        frames = F.FrameDecoder(client=not masked, allow_rsv1=True, max_frame_size=None).feed(stream)
        assert frames == [F.Frame(op, fin, rsv1, False, False, p) for op, fin, rsv1, p, _ in group]


# -- differential: compiled vs pure on hostile input --------------------------------------

def _outcome(F, kwargs, chunks):
    decoder = F.FrameDecoder(**kwargs)
    frames = []
    try:
        for chunk in chunks:
            frames += decoder.feed(chunk)
    except ProtocolError as exc:
        return ("error", type(exc).__name__, exc.close_code, str(exc), _summary(frames),
                decoder.partial_frame())
    return ("ok", _summary(frames), decoder.partial_frame())


@st.composite
def hostile_streams(draw):
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            parts.append(draw(st.binary(max_size=40)))
        else:
            b0 = draw(st.integers(0, 255))
            masked = draw(st.booleans())
            n = draw(st.sampled_from([0, 3, 125, 126, 127, 200]))
            payload = draw(st.binary(min_size=min(n, 30), max_size=min(n, 30))) * (n // 30 + 1)
            payload = payload[:n]
            frame = bytearray(raw_frame(0, payload, key=KEY if masked else None))
            frame[0] = b0
            if kind == 3 and len(frame) > 2:  # tamper with the length bytes
                frame[draw(st.integers(1, min(len(frame), 10) - 1))] = draw(st.integers(0, 255))
            parts.append(bytes(frame))
    return b"".join(parts)


@compiled_only
@pytest.mark.c_extension
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=hostile_streams(), client=st.booleans(), allow_rsv1=st.booleans(),
       limit=st.sampled_from([None, 0, 10, 125, 200, 2**20]), data=st.data())
def test_compiled_and_pure_agree(c_twin, py_twin, stream, client, allow_rsv1, limit, data):
    kwargs = dict(client=client, allow_rsv1=allow_rsv1, max_frame_size=limit)
    whole = _outcome(c_twin.frames, kwargs, [stream])
    assert whole == _outcome(py_twin.frames, kwargs, [stream])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    chunks = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)])]
    split_c = _outcome(c_twin.frames, kwargs, chunks)
    assert split_c == _outcome(py_twin.frames, kwargs, chunks)
    # However split, the same verdict and the same frames (those returned before an error).
    if whole[0] == "ok":
        assert split_c[:2] == whole[:2]
    else:
        assert split_c[:4] == whole[:4]


@compiled_only
@pytest.mark.c_extension
def test_compiled_and_pure_agree_on_random_bytes(c_twin, py_twin):
    rng = random.Random(99)
    for _ in range(400):
        stream = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 64)))
        for kwargs in ({}, {"client": True}, {"allow_rsv1": True, "max_frame_size": 50}):
            assert _outcome(c_twin.frames, kwargs, [stream]) == _outcome(py_twin.frames, kwargs, [stream])


# -- encode_frame -------------------------------------------------------------------------

def test_encode_lengths_are_minimal(impl):
    enc = impl.frames.encode_frame
    assert enc(BINARY, b"a" * 125)[:2] == b"\x82\x7d"
    assert enc(BINARY, b"a" * 126)[:4] == b"\x82\x7e\x00\x7e"
    assert enc(BINARY, b"a" * 65535)[:4] == b"\x82\x7e\xff\xff"
    assert enc(BINARY, b"a" * 65536)[:10] == b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
    assert enc(TEXT, b"", fin=False) == b"\x01\x00"
    assert enc(TEXT, b"x", rsv1=True) == b"\xc1\x01x"
    assert enc(CLOSE, b"") == b"\x88\x00"


def test_encode_any_buffer(impl):
    enc = impl.frames.encode_frame
    for payload in (bytearray(b"Hello"), memoryview(b"Hello"), array.array("B", b"Hello"),
                    memoryview(b"HXeXlXlXoX")[::2]):
        assert enc(TEXT, payload) == b"\x81\x05Hello"
        assert enc(TEXT, payload, mask=memoryview(KEY)) == bytes(
            [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])


@pytest.mark.parametrize("call,exc", [
    (lambda e: e(PING, b"", fin=False), ValueError),
    (lambda e: e(CLOSE, b"", fin=False), ValueError),
    (lambda e: e(PONG, b"x" * 126), ValueError),
    (lambda e: e(PING, b"x" * 126, mask=True), ValueError),
    (lambda e: e(3, b""), ValueError),
    (lambda e: e(11, b""), ValueError),
    (lambda e: e(16, b""), ValueError),
    (lambda e: e(-1, b""), ValueError),
    (lambda e: e(2**70, b""), ValueError),
    (lambda e: e(TEXT, b"", mask=b"abc"), ValueError),
    (lambda e: e(TEXT, b"", mask=b"abcde"), ValueError),
    (lambda e: e(TEXT, b"", mask=b""), ValueError),
    (lambda e: e(PING, b"", rsv1=True), ValueError),
    (lambda e: e(CONTINUATION, b"", rsv1=True), ValueError),
    (lambda e: e(TEXT, "Hello"), TypeError),
    (lambda e: e(TEXT, "Hello", mask=True), TypeError),
    (lambda e: e(TEXT, 5), TypeError),
    (lambda e: e(TEXT, None), TypeError),
    (lambda e: e(TEXT, b"", mask="abcd"), TypeError),
    (lambda e: e(TEXT, b"", mask=1234), TypeError),
    (lambda e: e(1.0, b""), TypeError),
    (lambda e: e("1", b""), TypeError),
    (lambda e: e(TEXT, b"", True), TypeError),  # fin is keyword-only
])
def test_encode_errors(impl, call, exc):
    with pytest.raises(exc):
        call(impl.frames.encode_frame)


def test_encode_masked_with_random_key(impl):
    enc = impl.frames.encode_frame
    payload = bytes(range(200))
    keys = []
    for _ in range(1100):  # more than one batch of 1024 keys
        out = enc(BINARY, payload, mask=True)
        assert out[:4] == b"\x82\xfe\x00\xc8"
        key = out[4:8]
        assert xor(out[8:], key) == payload
        keys.append(key)
    # 32-bit keys from a strong source: a handful of repeats at most, never a pattern.
    assert len(set(keys)) > 1090
    assert len({k[0] for k in keys}) > 200


# -- encode_frame_header --------------------------------------------------------------------

HEADER_LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 65537, 2**32, 2**63 - 1]


@pytest.mark.parametrize("length", HEADER_LENGTHS)
@pytest.mark.parametrize("opcode,fin,rsv1", [(BINARY, True, False), (TEXT, False, True),
                                             (CONTINUATION, True, False)])
@pytest.mark.parametrize("key", [None, KEY])
def test_header_is_the_head_of_the_rfc_frame(impl, length, opcode, fin, rsv1, key):
    # raw_frame's header part: the whole frame of an empty payload, with the length field
    # built for `length` (so lengths beyond any buffer are checked too).
    head = raw_frame(opcode, b"", fin=fin, rsv1=rsv1)[:1]
    m = 0x80 if key is not None else 0
    if length < 126:
        head += bytes([m | length])
    elif length < 65536:
        head += bytes([m | 126]) + length.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + length.to_bytes(8, "big")
    head += key or b""
    kwargs = {"fin": fin, "rsv1": rsv1}
    if key is not None:
        kwargs["mask"] = key
    assert impl.frames.encode_frame_header(opcode, length, **kwargs) == head


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=300) | st.sampled_from([125, 126, 65535, 65536, 70001]).map(os.urandom),
       opcode=st.sampled_from([CONTINUATION, TEXT, BINARY]), fin=st.booleans(),
       key=st.none() | st.binary(min_size=4, max_size=4))
def test_header_plus_payload_is_encode_frame(impl, payload, opcode, fin, key):
    # The zero-copy way to send: the header, then the payload as it is (masked by the caller).
    header = impl.frames.encode_frame_header(opcode, len(payload), fin=fin,
                                             mask=key if key is not None else False)
    body = payload if key is None else xor(payload, key)
    expected = raw_frame(opcode, payload, fin=fin, key=key)
    assert header + body == expected
    assert impl.frames.encode_frame(opcode, payload, fin=fin, mask=key or False) == expected


@pytest.mark.parametrize("call,exc", [
    (lambda e: e(PING, 0, fin=False), ValueError),
    (lambda e: e(PONG, 126), ValueError),
    (lambda e: e(CLOSE, 2**40), ValueError),
    (lambda e: e(3, 0), ValueError),
    (lambda e: e(16, 0), ValueError),
    (lambda e: e(PING, 0, rsv1=True), ValueError),
    (lambda e: e(CONTINUATION, 0, rsv1=True), ValueError),
    (lambda e: e(BINARY, -1), ValueError),
    (lambda e: e(BINARY, 2**63), ValueError),
    (lambda e: e(BINARY, 2**64 + 5), ValueError),
    (lambda e: e(BINARY, 0, mask=b"abc"), ValueError),
    (lambda e: e(BINARY, 0, mask=True), TypeError),
    (lambda e: e(BINARY, 0, mask="abcd"), TypeError),
    (lambda e: e(BINARY, 0, mask=1234), TypeError),
    (lambda e: e(BINARY, 1.0), TypeError),
    (lambda e: e(BINARY, "5"), TypeError),
    (lambda e: e(BINARY, b"hello"), TypeError),
    (lambda e: e(BINARY, None), TypeError),
    (lambda e: e("2", 0), TypeError),
    (lambda e: e(BINARY, 0, True), TypeError),  # fin is keyword-only
])
def test_header_errors(impl, call, exc):
    with pytest.raises(exc):
        call(impl.frames.encode_frame_header)


def test_header_length_takes_any_integer(impl):
    class Size(int):
        pass

    class Index:
        def __index__(self):
            return 300

    enc = impl.frames.encode_frame_header
    assert enc(BINARY, Size(300)) == enc(BINARY, 300) == enc(BINARY, Index()) == b"\x82\x7e\x01\x2c"
    assert enc(BINARY, True) == b"\x82\x01"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_does_not_reuse_the_parents_keys(impl):
    enc = impl.frames.encode_frame
    enc(TEXT, b"", mask=True)  # the parent now holds a batch of keys
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            os.write(write_end, enc(TEXT, b"", mask=True)[2:6] + enc(TEXT, b"", mask=True)[2:6])
        finally:
            os._exit(0)
    os.close(write_end)
    parent = enc(TEXT, b"", mask=True)[2:6] + enc(TEXT, b"", mask=True)[2:6]
    child = b""
    while len(child) < 8:
        chunk = os.read(read_end, 8)
        if not chunk:
            break
        child += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    assert len(child) == 8
    assert child != parent
    assert child[:4] != parent[:4]


# -- Frame ----------------------------------------------------------------------------------

def test_frame_value_semantics(impl):
    Frame = impl.frames.Frame
    a = Frame(Opcode.TEXT, True, False, False, False, b"Hello")
    b = Frame(1, payload=bytearray(b"Hello"))
    assert a == b and hash(a) == hash(b)
    assert a.opcode is Opcode.TEXT and type(b.payload) is bytes
    assert a != Frame(Opcode.TEXT, False, payload=b"Hello")
    assert a != Frame(Opcode.BINARY, payload=b"Hello")
    assert a != Frame(Opcode.TEXT, rsv1=True, payload=b"Hello")
    assert a != Frame(Opcode.TEXT, payload=b"Hellx")
    assert a != (Opcode.TEXT, True, False, False, False, b"Hello")
    assert len({a, b, Frame(Opcode.PING)}) == 2
    assert pickle.loads(pickle.dumps(a)) == a
    # Decoded frames equal constructed ones.
    assert impl.frames.FrameDecoder(client=True).feed(b"\x81\x05Hello") == [a]


def test_frame_repr(impl):
    Frame = impl.frames.Frame
    assert repr(Frame(Opcode.TEXT, payload=b"Hello")) == (
        "Frame(opcode=Opcode.TEXT, fin=True, rsv1=False, rsv2=False, rsv3=False, payload=b'Hello')")
    long = repr(Frame(Opcode.BINARY, payload=b"a" * 1000))
    assert "1000 bytes" in long and len(long) < 200


def test_frame_is_immutable(impl):
    f = impl.frames.Frame(Opcode.PING, payload=b"x")
    for name in ("opcode", "fin", "rsv1", "rsv2", "rsv3", "payload"):
        with pytest.raises(AttributeError):
            setattr(f, name, None)
    with pytest.raises(AttributeError):
        f.extra = 1
    with pytest.raises(AttributeError):
        del f.payload
    with pytest.raises(AttributeError):
        f.__init__(Opcode.PONG, payload=b"y")
    assert (f.opcode, f.payload) == (Opcode.PING, b"x")


def test_frame_constructor_checks(impl):
    Frame = impl.frames.Frame
    with pytest.raises(ValueError):
        Frame(3)
    with pytest.raises(ValueError):
        Frame(16)
    with pytest.raises(TypeError):
        Frame("TEXT")
    with pytest.raises(TypeError):
        Frame(Opcode.TEXT, payload="text")

