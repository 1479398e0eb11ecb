"""permessage-deflate (RFC 7692) in the message layer, against both twins."""

import os
import random
import zlib

import pytest
from _wire import parse_frames, raw_frame
from hypothesis import HealthCheck, given, settings, strategies as st

from wscodec import BinaryMessage, InvalidPayload, PayloadTooBig, Ping, ProtocolError, TextMessage
from wscodec import _select
from wscodec._deflate_params import PerMessageDeflate

#: The twins to compare (only the pure one where nothing is compiled).
TWIN_MODULES = [
    __import__("wscodec._messages_%s" % kind, fromlist=["MessageDecoder"])
    for kind in (["py"] if _select.NO_EXTENSIONS else ["c", "py"])
]

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10
PMD = PerMessageDeflate()
H = bytes.fromhex


def frames_of(data):
    """[(fin, rsv1, opcode, payload)] of unmasked frames (independent parser)."""
    out = []
    for fin, rsv1, opcode, masked, _, payload in parse_frames(data):
        assert not masked
        out.append((fin, rsv1, opcode, payload))
    return out


def client_side(impl, deflate=PMD, **kw):
    """A client's decoder: it reads the server's unmasked frames."""
    return impl.messages.MessageDecoder(client=True, deflate=deflate, **kw)


# -- RFC 7692 §7.2.3 examples ------------------------------------------------------------

HELLO = H("c107f248cdc9c90700")  # §7.2.3.1


def test_7_2_3_1_decode(impl):
    assert client_side(impl).feed(HELLO) == [TextMessage("Hello")]
    # The same compressed bytes sent in two fragments; RSV1 on the first only.
    assert client_side(impl).feed(H("4103f248cd") + H("8004c9c90700")) == [TextMessage("Hello")]


def test_7_2_3_1_encode(impl):
    assert impl.messages.MessageEncoder(deflate=PMD).text("Hello") == HELLO
    # The same compressed bytes in 3-byte fragments, RSV1 on the first.
    assert impl.messages.MessageEncoder(deflate=PMD, fragment_size=3).text("Hello") == H("4103f248cd" "0003c9c907" "800100")


def test_7_2_3_2_shared_window(impl, stdlib_zlib):
    second = H("c105f200110000")
    assert client_side(impl).feed(HELLO + second) == [TextMessage("Hello"), TextMessage("Hello")]
    # zlib's own bytes (other backends' streams differ, and are read above and in
    # test_deflate_backends.py).
    enc = impl.messages.MessageEncoder(deflate=PMD, compression="size")
    assert enc.text("Hello") + enc.text("Hello") == HELLO + second
    # Without context takeover each message stands alone (RFC 7692 §7.1.1.1).
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate(server_no_context_takeover=True))
    assert enc.text("Hello") + enc.text("Hello") == HELLO + HELLO
    # A decoder told the server resets its window cannot resolve the back-reference: 1007.
    dec = client_side(impl, PerMessageDeflate(server_no_context_takeover=True))
    assert dec.feed(HELLO) == [TextMessage("Hello")]
    with pytest.raises(InvalidPayload) as info:
        dec.feed(second)
    assert info.value.close_code == 1007


def test_7_2_3_3_no_compression_block(impl):
    assert client_side(impl).feed(H("c10b000500faff48656c6c6f00")) == [TextMessage("Hello")]


def test_7_2_3_4_bfinal(impl):
    dec = client_side(impl)
    assert dec.feed(H("c108f348cdc9c9070000")) == [TextMessage("Hello")]
    # The stream ended with BFINAL; the next message starts a new one and still decodes.
    assert dec.feed(HELLO) == [TextMessage("Hello")]


def test_data_after_bfinal_in_same_message(impl):
    # A BFINAL block in the first fragment, then more compressed data: refused, not dropped.
    dec = client_side(impl)
    assert dec.feed(H("4107f348cdc9c90700")) == []
    with pytest.raises(InvalidPayload) as info:
        dec.feed(H("8007f248cdc9c90700"))
    assert info.value.close_code == 1007
    # An empty final fragment after it is fine.
    assert client_side(impl).feed(H("4107f348cdc9c90700") + H("8000")) == [TextMessage("Hello")]


def _finished(data):
    """``data`` compressed and ended with a BFINAL block (Z_FINISH), as some peers send it."""
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush(zlib.Z_FINISH)


def _as_fragments(compressed, cuts):
    """One binary message whose compressed payload is cut at ``cuts`` (RSV1 on the first)."""
    bounds = [0, *cuts, len(compressed)]
    pieces = [compressed[a:b] for a, b in zip(bounds, bounds[1:])]
    return b"".join(
        raw_frame(BINARY if i == 0 else CONT, p, fin=i == len(pieces) - 1, rsv1=i == 0) for i, p in enumerate(pieces)
    )


def _every_split(compressed):
    """The message in one frame, in two fragments cut at every position, and byte by byte."""
    yield _as_fragments(compressed, [])
    for cut in range(len(compressed) + 1):
        yield _as_fragments(compressed, [cut])
    yield _as_fragments(compressed, list(range(1, len(compressed))))


@pytest.mark.parametrize(
    "after",
    [b"", b"\x00"],
    ids=["nothing", "empty-stored-block-head"],
)
def test_after_bfinal_what_7_2_1_leaves(impl, after):
    """After a BFINAL block a sender following RFC 7692 §7.2.1 leaves the first byte of an
    empty stored block, 0x00 (the §7.2.3.4 example); one that skips the block leaves nothing.
    Both decode, however the message is fragmented."""
    for wire in _every_split(_finished(b"hello") + after):
        assert client_side(impl).feed(wire + HELLO) == [BinaryMessage(b"hello"), TextMessage("Hello")], wire.hex()


@pytest.mark.parametrize(
    "after",
    [
        b"junk",
        b"\x01",  # a BFINAL stored-block header: the start of a second stream
        b"\x00\x00",
        b"\x00\x00\x00\xff\xff",  # the whole empty stored block, tail not removed
        H("f248cdc9c90700"),  # more compressed data (§7.2.3.1 "Hello")
        _finished(b"more"),  # a second complete stream
    ],
    ids=["junk", "bfinal-header", "two-zeros", "whole-stored-block", "compressed", "second-stream"],
)
def test_data_after_bfinal_is_corrupt(impl, after):
    """Anything more after the final block would be dropped unseen: corrupt data, 1007
    (RFC 7692 §7.2.2), in one frame or spread over fragments cut anywhere."""
    for wire in _every_split(_finished(b"hello") + after):
        with pytest.raises(InvalidPayload) as info:
            client_side(impl).feed(wire)
        assert info.value.close_code == 1007, wire.hex()


def test_data_after_bfinal_fails_fast(impl):
    """The fragment carrying data after the end fails at once, before the message ends."""
    dec = client_side(impl)
    assert dec.feed(raw_frame(BINARY, _finished(b"hello") + b"\x00", fin=False, rsv1=True)) == []
    with pytest.raises(InvalidPayload) as info:
        dec.feed(raw_frame(CONT, b"\x00", fin=False))
    assert info.value.close_code == 1007


def test_stream_ending_inside_the_appended_tail(impl):
    """A BFINAL stored-block header as the last byte: the four bytes §7.2.2 appends complete
    an empty final block, nothing is left over, the message is empty.  A fixed-Huffman final
    block ending within those bytes leaves some of them unread: refused (1007)."""
    assert client_side(impl).feed(raw_frame(BINARY, b"\x01", rsv1=True)) == [BinaryMessage(b"")]
    with pytest.raises(InvalidPayload) as info:
        client_side(impl).feed(raw_frame(BINARY, b"\x03", rsv1=True))
    assert info.value.close_code == 1007
    assert client_side(impl).feed(raw_frame(BINARY, b"\x03\x00", rsv1=True)) == [BinaryMessage(b"")]


def test_7_2_3_5_two_blocks(impl):
    assert client_side(impl).feed(H("c10df248050000" "00ffffcac9c90700")) == [TextMessage("Hello")]


def test_7_2_3_6_empty_message(impl, stdlib_zlib):
    # An empty message compresses to a single 0x00 byte (an empty fixed-Huffman block) with
    # zlib (isal writes 02 00, an empty fixed-Huffman block then the empty stored block).
    enc = impl.messages.MessageEncoder(deflate=PMD, compression="size")
    assert enc.text("") == H("c10100")
    assert client_side(impl).feed(H("c10100") + H("c100")) == [TextMessage(""), TextMessage("")]
    # Also on a stream that already carried a message.
    out = enc.binary(b"abc") + enc.binary(b"")
    assert client_side(impl).feed(out) == [BinaryMessage(b"abc"), BinaryMessage(b"")]


# -- RSV1 (RFC 7692 §6) ------------------------------------------------------------------


def test_rsv1_only_on_first_fragment(impl):
    enc = impl.messages.MessageEncoder(deflate=PMD, fragment_size=2)
    frames = frames_of(enc.binary(b"x" * 50))
    assert len(frames) > 1
    assert [f[1] for f in frames] == [True] + [False] * (len(frames) - 1)
    assert [f[2] for f in frames] == [BINARY] + [CONT] * (len(frames) - 1)
    frames = frames_of(enc.binary(b"x" * 50, compress=False))
    assert not any(f[1] for f in frames) and b"".join(f[3] for f in frames) == b"x" * 50
    frames = frames_of(enc.ping(b"p") + enc.close())
    assert not any(f[1] for f in frames)


@pytest.mark.parametrize(
    "stream, deflate",
    [
        (H("c107f248cdc9c90700"), None),  # RSV1 without the extension
        (H("4103f248cd") + H("c004c9c90700"), PMD),  # RSV1 on a continuation
        (H("c900"), PMD),  # RSV1 on a control frame
    ],
)
def test_rsv1_refused(impl, stream, deflate):
    with pytest.raises(ProtocolError) as info:
        impl.messages.MessageDecoder(client=True, deflate=deflate).feed(stream)
    assert info.value.close_code == 1002


def test_uncompressed_messages_with_deflate_on(impl):
    dec = client_side(impl)
    assert dec.feed(raw_frame(TEXT, b"plain") + HELLO + raw_frame(BINARY, b"\x00", fin=False)
                    + raw_frame(CONT, b"\x01")) == [TextMessage("plain"), TextMessage("Hello"), BinaryMessage(b"\x00\x01")]


# -- corrupt data and limits -------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"\xff", b"\xff\xff\xff\xff", b"\x07", H("f248cdc9c90700") + b"\xff\xee"])
def test_corrupt_compressed_data(impl, payload):
    with pytest.raises(InvalidPayload) as info:
        client_side(impl).feed(raw_frame(BINARY, payload, rsv1=True))
    assert info.value.close_code == 1007


def test_compressed_text_invalid_utf8(impl):
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    bad = z.compress(b"ok\xff") + z.flush(zlib.Z_SYNC_FLUSH)
    with pytest.raises(InvalidPayload):
        client_side(impl).feed(raw_frame(TEXT, bad[:-4], rsv1=True))
    # Fail fast across compressed fragments: the bad byte is refused when its fragment arrives.
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = z.compress(b"fine ") + z.flush(zlib.Z_SYNC_FLUSH)
    second = z.compress(b"\xed\xa0\x80") + z.flush(zlib.Z_SYNC_FLUSH)
    dec = client_side(impl)
    assert dec.feed(raw_frame(TEXT, first, fin=False, rsv1=True)) == []
    with pytest.raises(InvalidPayload):
        dec.feed(raw_frame(CONT, second, fin=False))


def deflate_raw(data, bits=15):
    z = zlib.compressobj(9, zlib.DEFLATED, -bits)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


@pytest.mark.parametrize("fragments", [1, 4])
def test_zip_bomb_bounded(impl, fragments):
    """10 MiB of zeros (about 10 KB compressed) against a 1 MiB limit: 1009, little memory."""
    bomb = deflate_raw(bytes(10 << 20))
    assert len(bomb) < 20000
    step = -(-len(bomb) // fragments)
    pieces = [bomb[i : i + step] for i in range(0, len(bomb), step)]
    stream = b"".join(
        raw_frame(BINARY if i == 0 else CONT, p, fin=i == len(pieces) - 1, rsv1=i == 0) for i, p in enumerate(pieces)
    )
    dec = client_side(impl, max_message_size=1 << 20)
    # PyPy has no tracemalloc: the allocation bound is measured on CPython.
    tracemalloc = pytest.importorskip("tracemalloc")
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooBig) as info:
            dec.feed(stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.close_code == 1009
    assert peak < 4 << 20, peak


def test_inflated_limit_is_inclusive(impl):
    msg = deflate_raw(bytes(1 << 20))
    assert client_side(impl, max_message_size=1 << 20).feed(raw_frame(BINARY, msg, rsv1=True)) == [BinaryMessage(bytes(1 << 20))]
    with pytest.raises(PayloadTooBig):
        client_side(impl, max_message_size=(1 << 20) - 1).feed(raw_frame(BINARY, msg, rsv1=True))
    # Across fragments, the inflated total counts.
    dec = client_side(impl, max_message_size=100)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    a = z.compress(b"a" * 60) + z.flush(zlib.Z_SYNC_FLUSH)
    b = z.compress(b"b" * 41) + z.flush(zlib.Z_SYNC_FLUSH)
    assert dec.feed(raw_frame(TEXT, a, fin=False, rsv1=True)) == []
    with pytest.raises(PayloadTooBig):
        dec.feed(raw_frame(CONT, b[:-4]))


def test_incompressible_message_at_the_limit(impl):
    """Compressed by zlib (memLevel 8, stored blocks), random data grows a little; a message of
    exactly the limit still fits.  wscodec's own encoder sends it uncompressed."""
    data = os.urandom(200_000)
    z = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
    compressed = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert compressed.endswith(b"\x00\x00\xff\xff") and len(compressed) - 4 > len(data)
    wire = raw_frame(BINARY, compressed[:-4], rsv1=True)
    assert client_side(impl, max_message_size=len(data)).feed(wire) == [BinaryMessage(data)]
    wire = impl.messages.MessageEncoder(deflate=PMD).binary(data)
    assert frames_of(wire) == [(True, False, BINARY, data)]
    assert client_side(impl, max_message_size=len(data)).feed(wire) == [BinaryMessage(data)]


Z_FIXED = getattr(zlib, "Z_FIXED", 4)  # zlib.h's value; PyPy's zlib module does not name it


@pytest.mark.parametrize(
    "mem_level, wbits, strategy",
    [(5, 15, zlib.Z_DEFAULT_STRATEGY), (1, 15, zlib.Z_DEFAULT_STRATEGY), (5, 9, Z_FIXED),
     (9, 9, Z_FIXED)],
    ids=["memLevel5", "memLevel1", "fixed-codes-window9", "fixed-codes-memLevel9"],
)
def test_random_message_at_the_limit_from_any_compressor(impl, mem_level, wbits, strategy):
    """A peer's compressor may grow random data by much more than stored blocks of 64 KiB do:
    websockets compresses at memLevel 5 (blocks of 2 KiB: 0.25% more), memLevel 1 stores
    128-byte blocks (4%), and fixed codes spend 9 bits on most bytes (5.5%).  A message of
    exactly the limit still decodes (before, any growth past 1/1024 was refused with 1009)."""
    data = random.Random(mem_level * 100 + wbits).randbytes(100_000)
    z = zlib.compressobj(1, zlib.DEFLATED, -wbits, mem_level, strategy)
    compressed = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert compressed.endswith(b"\x00\x00\xff\xff")
    assert len(compressed) - 4 > len(data) + (len(data) >> 10) + 64  # past the old allowance
    wire = raw_frame(BINARY, compressed[:-4], rsv1=True)
    assert client_side(impl, max_message_size=len(data)).feed(wire) == [BinaryMessage(data)]


# -- context takeover, windows, round trips ----------------------------------------------


@pytest.mark.parametrize(
    "deflate",
    [
        PerMessageDeflate(),
        PerMessageDeflate(server_no_context_takeover=True, client_no_context_takeover=True),
        PerMessageDeflate(server_max_window_bits=9, client_max_window_bits=10),
        PerMessageDeflate(server_max_window_bits=8, client_max_window_bits=8),
        PerMessageDeflate(client_max_window_bits=None),
    ],
)
@pytest.mark.parametrize("client", [True, False])
def test_round_trip_parameters(impl, deflate, client):
    M = impl.messages
    text = "the quick brown fox jumps over the lazy dog " * 40
    # "size": zlib's level 6, which refers back into a 9-bit window across messages (isal's
    # level 1 does not below 12 bits, which is valid but not what this test is about).
    enc = M.MessageEncoder(client=client, deflate=deflate, compression="size")
    dec = M.MessageDecoder(client=not client, deflate=deflate)
    wire = [enc.text(text), enc.text(text), enc.binary(text.encode()[:1000], compress=False), enc.binary(os.urandom(3000))]
    events = dec.feed(b"".join(wire))
    assert [type(e) for e in events] == [TextMessage, TextMessage, BinaryMessage, BinaryMessage]
    assert events[0].data == events[1].data == text
    sizes = [len(w) for w in wire]
    if deflate.window_bits(client) == 8:
        # Huffman coding only (see test_window_8_output_uses_no_back_references).
        assert sizes[0] == sizes[1] < len(text) * 3 // 4
    elif deflate.no_context_takeover(client):
        assert sizes[0] == sizes[1] < len(text) // 4
        if not client:
            assert wire[0] == wire[1]
    else:
        assert sizes[1] < sizes[0] < len(text) // 4  # the second copy refers back into the window


def test_window_8_output_uses_no_back_references(impl):
    """With an 8-bit window agreed, what we send inflates with an 8-bit window."""
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate(server_max_window_bits=8))
    data = b"abcdefgh" * 500 + os.urandom(300) + b"abcdefgh" * 500
    for _ in range(2):
        payload = frames_of(enc.binary(data))[0][3]
        assert zlib.decompressobj(-8).decompress(payload + b"\x00\x00\xff\xff") == data


def test_window_bits_respected(impl):
    """A 9-bit window compressor's output is readable by a 9-bit window inflater."""
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate(server_max_window_bits=9), skip_incompressible=False)
    z = zlib.decompressobj(-9)
    data = os.urandom(2000) * 3
    for _ in range(3):
        payload = frames_of(enc.binary(data))[0][3]
        assert z.decompress(payload + b"\x00\x00\xff\xff") == data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.one_of(st.text(max_size=200), st.binary(max_size=200)), min_size=1, max_size=6),
    st.builds(PerMessageDeflate, st.booleans(), st.booleans(), st.integers(8, 15), st.integers(8, 15)),
    st.one_of(st.none(), st.integers(1, 50)),
    st.booleans(),
)
def test_compressed_round_trip_c_and_pure(impl, messages, deflate, fragment_size, client):
    enc = impl.messages.MessageEncoder(client=client, deflate=deflate, fragment_size=fragment_size)
    wire = b"".join(enc.text(m) if isinstance(m, str) else enc.binary(m) for m in messages)
    expected = [TextMessage(m) if isinstance(m, str) else BinaryMessage(m) for m in messages]
    for module in TWIN_MODULES:
        assert module.MessageDecoder(client=not client, deflate=deflate).feed(wire) == expected
    # Both twins' compressors write the same bytes (same zlib settings), masks aside.
    if not client:
        other = TWIN_MODULES[0 if impl.kind != "c" else -1].MessageEncoder(
            client=client, deflate=deflate, fragment_size=fragment_size)
        assert b"".join(other.text(m) if isinstance(m, str) else other.binary(m) for m in messages) == wire


# -- a real peer's bytes -----------------------------------------------------------------


def _websockets_ext(remote_nct=False, local_nct=False, remote_bits=15, local_bits=15):
    pd = pytest.importorskip("websockets.extensions.permessage_deflate")
    return pd.PerMessageDeflate(remote_nct, local_nct, remote_bits, local_bits)


@pytest.mark.parametrize("nct", [False, True])
def test_websockets_output_decodes(impl, nct):
    from websockets.frames import Frame, Opcode

    ext = _websockets_ext(remote_nct=nct, local_nct=nct)
    texts = ["Hello", "Hello", "héllo wörld " * 50, ""]
    wire = b"".join(Frame(Opcode.TEXT, t.encode()).serialize(mask=True, extensions=[ext]) for t in texts)
    wire += Frame(Opcode.BINARY, bytes(5000)).serialize(mask=True, extensions=[ext])
    dec = impl.messages.MessageDecoder(deflate=PerMessageDeflate(nct, nct))
    assert dec.feed(wire) == [TextMessage(t) for t in texts] + [BinaryMessage(bytes(5000))]


@pytest.mark.parametrize("nct", [False, True])
def test_our_output_decodes_in_websockets(impl, nct):
    from websockets.frames import Frame, Opcode
    from websockets.streams import StreamReader

    ext = _websockets_ext(remote_nct=nct, local_nct=nct)
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate(nct, nct))
    texts = ["Hello", "Hello", "héllo wörld " * 50, ""]
    reader = StreamReader()
    reader.feed_data(b"".join(enc.text(t) for t in texts) + enc.binary(bytes(5000)))
    got = []
    for _ in range(len(texts) + 1):
        parser = Frame.parse(reader.read_exact, mask=False, max_size=None, extensions=[ext])
        try:
            next(parser)
        except StopIteration as stop:
            frame = stop.value
        got.append(frame.data.decode() if frame.opcode == Opcode.TEXT else bytes(frame.data))
    assert got == texts + [bytes(5000)]


def test_control_frames_never_compressed(impl):
    enc = impl.messages.MessageEncoder(deflate=PMD)
    assert enc.ping(b"hello") == raw_frame(PING, b"hello")
    assert client_side(impl).feed(enc.ping(b"x") + enc.text("Hello")) == [Ping(b"x"), TextMessage("Hello")]


def _wsproto_server():
    pytest.importorskip("wsproto")
    from wsproto.extensions import PerMessageDeflate as WsprotoDeflate
    from wsproto.frame_protocol import FrameProtocol

    ext = WsprotoDeflate()
    ext.accept("permessage-deflate")  # the client's offer, as a server accepts it
    return FrameProtocol(client=False, extensions=[ext])


def test_wsproto_output_decodes(impl):
    server = _wsproto_server()
    texts = ["Hello", "Hello", "héllo " * 100]
    wire = b"".join(server.send_data(t, fin=True) for t in texts) + server.send_data(bytes(3000), fin=True)
    dec = impl.messages.MessageDecoder(client=True, deflate=PMD)
    assert dec.feed(wire) == [TextMessage(t) for t in texts] + [BinaryMessage(bytes(3000))]


def test_our_output_decodes_in_wsproto(impl):
    server = _wsproto_server()
    enc = impl.messages.MessageEncoder(client=True, deflate=PMD, fragment_size=7)
    texts = ["Hello", "Hello there, in fragments", ""]
    server.receive_bytes(b"".join(enc.text(t) for t in texts) + enc.binary(bytes(3000)))
    messages, current = [], []
    for frame in server.received_frames():
        current.append(frame.payload)
        if frame.message_finished:
            joined = "".join(current) if isinstance(current[0], str) else b"".join(current)
            messages.append(joined)
            current = []
    assert messages == texts + [bytes(3000)]
