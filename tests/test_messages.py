"""The message layer (RFC 6455 §5.4-§5.6, §7.4) against both twins.

Input streams are built with the small independent frame writer of _wire.py (so
hostile frames the encoders refuse can be written too) and with the encoders under test for
round trips.
"""

import array
import os
import pickle
import struct

import pytest
from _wire import parse_frames, raw_frame
from hypothesis import HealthCheck, given, settings, strategies as st

import wscodec
from wscodec import BinaryMessage, Close, InvalidPayload, PayloadTooBig, Ping, Pong, ProtocolError, TextMessage
from wscodec import _select
from wscodec._deflate_params import PerMessageDeflate

#: The twins to compare in differential tests (only the pure one where nothing is compiled).
TWIN_MODULES = [
    __import__("wscodec._messages_%s" % kind, fromlist=["MessageDecoder"])
    for kind in (["py"] if _select.NO_EXTENSIONS else ["c", "py"])
]

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0, 1, 2, 8, 9, 10


def client_frame(opcode, payload=b"", **kw):
    """A frame as a client sends it (masked), for a server-side decoder."""
    return raw_frame(opcode, payload, key=b"\x37\xfa\x21\x3d", **kw)


def feed_all(decoder, chunks):
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def outcome(decoder, chunks):
    """Events until the first exception, and (class, close code) of that exception or None."""
    events = []
    for chunk in chunks:
        try:
            events.extend(decoder.feed(chunk))
        except ProtocolError as exc:
            return events, (type(exc), exc.close_code)
    return events, None


def raises_code(impl_decoder, data, code, exc_type=ProtocolError):
    with pytest.raises(exc_type) as info:
        impl_decoder.feed(data)
    assert info.value.close_code == code
    return info.value


# -- RFC 6455 §5.7 examples --------------------------------------------------------------


def test_rfc6455_examples(impl):
    M = impl.messages
    client = M.MessageDecoder(client=True)
    assert client.feed(bytes.fromhex("810548656c6c6f")) == [TextMessage("Hello")]
    assert client.feed(bytes.fromhex("010348656c")) == []
    assert client.feed(bytes.fromhex("80026c6f")) == [TextMessage("Hello")]
    assert client.feed(bytes.fromhex("890548656c6c6f")) == [Ping(b"Hello")]
    assert client.feed(b"\x82\x7e\x01\x00" + bytes(256)) == [BinaryMessage(bytes(256))]
    assert client.feed(b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + bytes(65536)) == [BinaryMessage(bytes(65536))]
    server = M.MessageDecoder()
    assert server.feed(bytes.fromhex("818537fa213d7f9f4d5158")) == [TextMessage("Hello")]
    assert server.feed(bytes.fromhex("8a8537fa213d7f9f4d5158")) == [Pong(b"Hello")]


def test_encoder_rfc6455_examples(impl):
    enc = impl.messages.MessageEncoder()
    assert enc.text("Hello") == bytes.fromhex("810548656c6c6f")
    assert enc.ping(b"Hello") == bytes.fromhex("890548656c6c6f")
    assert enc.pong(b"Hello") == bytes.fromhex("8a0548656c6c6f")
    assert enc.binary(bytes(256)) == b"\x82\x7e\x01\x00" + bytes(256)
    assert enc.binary(bytes(65536)) == b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + bytes(65536)
    assert impl.messages.MessageEncoder(fragment_size=3).text("Hello") == bytes.fromhex("010348656c80026c6f")
    assert enc.close() == b"\x88\x02\x03\xe8"
    assert enc.close(None) == b"\x88\x00"
    for method in (enc.text, enc.binary, enc.ping, enc.pong, enc.close):
        out = method() if method in (enc.ping, enc.pong, enc.close) else method("x" if method == enc.text else b"x")
        assert type(out) is bytes


# -- fragmentation (RFC 6455 §5.4) -------------------------------------------------------


def test_fragmented_with_interleaved_control_frames(impl):
    dec = impl.messages.MessageDecoder()
    stream = [
        client_frame(TEXT, b"Hel", fin=False),
        client_frame(PING, b"1"),
        client_frame(CONT, b"", fin=False),
        client_frame(PONG, b"2"),
        client_frame(CONT, b"lo"),
        client_frame(BINARY, b"\x00", fin=False),
        client_frame(PING, b"3"),
        client_frame(CONT, b"\x01"),
    ]
    # Control frames come out at once, before the message they interrupt ends.
    assert dec.feed(stream[0] + stream[1]) == [Ping(b"1")]
    assert dec.feed(b"".join(stream[2:])) == [Pong(b"2"), TextMessage("Hello"), Ping(b"3"), BinaryMessage(b"\x00\x01")]


@pytest.mark.parametrize(
    "frames",
    [
        [client_frame(CONT, b"x")],
        [client_frame(CONT, b"x", fin=False)],
        [client_frame(TEXT, b"a"), client_frame(CONT, b"b")],
        [client_frame(TEXT, b"a", fin=False), client_frame(TEXT, b"b")],
        [client_frame(TEXT, b"a", fin=False), client_frame(BINARY, b"b")],
        [client_frame(BINARY, b"a", fin=False), client_frame(TEXT, b"b", fin=False)],
        [client_frame(BINARY, b"a", fin=False), client_frame(PING), client_frame(BINARY, b"b")],
    ],
)
def test_fragmentation_errors(impl, frames):
    dec = impl.messages.MessageDecoder()
    raises_code(dec, b"".join(frames), 1002)


def test_control_frames_pass_frame_rules(impl):
    dec = impl.messages.MessageDecoder()
    # A fragmented control frame is refused by the frame layer (RFC 6455 §5.5).
    raises_code(dec, client_frame(PING, b"x", fin=False), 1002)
    raises_code(impl.messages.MessageDecoder(), client_frame(PING, bytes(126)), 1002)
    raises_code(impl.messages.MessageDecoder(), raw_frame(TEXT, b"x"), 1002)  # unmasked to a server
    raises_code(impl.messages.MessageDecoder(client=True), client_frame(TEXT, b"x"), 1002)


# -- UTF-8 (RFC 6455 §5.6, §8.1) --------------------------------------------------------


def test_invalid_utf8_fails_fast_before_message_end(impl):
    dec = impl.messages.MessageDecoder()
    assert dec.feed(client_frame(TEXT, "é".encode(), fin=False)) == []
    # The bad byte arrives in a non-final fragment: refused now, not at the end.
    raises_code(dec, client_frame(CONT, b"ok\xff", fin=False), 1007, InvalidPayload)


@pytest.mark.parametrize("bad", [b"\xed\xa0", b"\xc0", b"\xf4\x90", b"\xe0\x80", b"\x80", b"\xf5"])
def test_invalid_prefix_refused_in_first_fragment(impl, bad):
    dec = impl.messages.MessageDecoder()
    raises_code(dec, client_frame(TEXT, b"abc" + bad, fin=False), 1007, InvalidPayload)


@pytest.mark.parametrize("text", ["€", "𝄞x", "é" * 5, "a€𝄞é"])
def test_character_split_across_fragments(impl, text):
    raw = text.encode()
    for cut in range(len(raw) + 1):
        for cut2 in range(cut, len(raw) + 1):
            dec = impl.messages.MessageDecoder()
            stream = client_frame(TEXT, raw[:cut], fin=False) + client_frame(CONT, raw[cut:cut2], fin=False)
            stream += client_frame(CONT, raw[cut2:])
            assert dec.feed(stream) == [TextMessage(text)]


@pytest.mark.parametrize("fragmented", [False, True])
def test_text_ending_mid_character(impl, fragmented):
    dec = impl.messages.MessageDecoder()
    if fragmented:
        stream = client_frame(TEXT, b"a\xe2\x82", fin=False) + client_frame(CONT, b"")
    else:
        stream = client_frame(TEXT, b"a\xe2\x82")
    raises_code(dec, stream, 1007, InvalidPayload)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=12), st.lists(st.integers(0, 12), max_size=3))
def test_text_validity_matches_bytes_decode(payload, cuts):
    cuts = sorted(c for c in cuts if c <= len(payload))
    pieces = [payload[a:b] for a, b in zip([0] + cuts, cuts + [len(payload)])]
    stream = b"".join(
        client_frame(TEXT if i == 0 else CONT, p, fin=i == len(pieces) - 1) for i, p in enumerate(pieces)
    )
    try:
        expected = [TextMessage(payload.decode("utf-8"))]
    except UnicodeDecodeError:
        expected = None
    for module in TWIN_MODULES:
        dec = module.MessageDecoder()
        if expected is None:
            with pytest.raises(InvalidPayload):
                dec.feed(stream)
        else:
            assert dec.feed(stream) == expected


# -- limits ------------------------------------------------------------------------------


def test_max_message_size_inclusive(impl):
    M = impl.messages
    dec = M.MessageDecoder(max_message_size=10)
    assert dec.feed(client_frame(BINARY, bytes(10))) == [BinaryMessage(bytes(10))]
    assert dec.feed(client_frame(TEXT, b"a" * 4, fin=False) + client_frame(CONT, b"b" * 6)) == [TextMessage("aaaabbbbbb")]
    raises_code(M.MessageDecoder(max_message_size=10), client_frame(BINARY, bytes(11)), 1009, PayloadTooBig)
    dec = M.MessageDecoder(max_message_size=10)
    dec.feed(client_frame(BINARY, bytes(6), fin=False))
    raises_code(dec, client_frame(CONT, bytes(5)), 1009, PayloadTooBig)
    # Control frames count too.
    raises_code(M.MessageDecoder(max_message_size=3), client_frame(PING, b"abcd"), 1009, PayloadTooBig)
    assert M.MessageDecoder(max_message_size=0).feed(client_frame(TEXT) + client_frame(CLOSE)) == [
        TextMessage(""), Close(None, "")]
    assert M.MessageDecoder(max_message_size=None).feed(client_frame(BINARY, bytes(2 << 20))) == [BinaryMessage(bytes(2 << 20))]


def test_max_message_size_checked_on_declared_length(impl):
    """The fragment that would overflow is refused once its header is in, before its payload."""
    dec = impl.messages.MessageDecoder(max_message_size=1000)
    assert dec.feed(client_frame(BINARY, bytes(600), fin=False)) == []
    header = client_frame(CONT, bytes(500))[:8]  # 2 + 2 length bytes + 4 key
    raises_code(dec, header, 1009, PayloadTooBig)
    # A single frame over the limit: refused at its header too.
    dec = impl.messages.MessageDecoder(max_message_size=1000)
    raises_code(dec, client_frame(TEXT, bytes(1001))[:8], 1009, PayloadTooBig)


def test_constructor_arguments(impl):
    M = impl.messages
    with pytest.raises(TypeError):
        M.MessageDecoder(max_message_size="1")
    with pytest.raises(TypeError):
        M.MessageDecoder(max_message_size=True)
    with pytest.raises(ValueError):
        M.MessageDecoder(max_message_size=-1)
    with pytest.raises(TypeError):
        M.MessageDecoder(deflate="permessage-deflate")
    with pytest.raises(TypeError):
        M.MessageDecoder(1)
    with pytest.raises(TypeError):
        M.MessageEncoder(deflate=True)
    with pytest.raises(ValueError):
        M.MessageEncoder(fragment_size=0)
    with pytest.raises(TypeError):
        M.MessageEncoder(fragment_size=1.5)
    dec = M.MessageDecoder(client=True, max_message_size=5)
    assert dec.client is True and dec.max_message_size == 5 and dec.deflate is None
    assert M.MessageDecoder().max_message_size == 1 << 20
    enc = M.MessageEncoder(client=True, fragment_size=7)
    assert enc.client is True and enc.fragment_size == 7 and enc.deflate is None


# -- Close (RFC 6455 §5.5.1, §7.4) -------------------------------------------------------

VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 5001, 65535]


@pytest.mark.parametrize("code", VALID_CODES)
def test_close_valid_codes(impl, code):
    dec = impl.messages.MessageDecoder()
    assert dec.feed(client_frame(CLOSE, struct.pack("!H", code) + "bye é".encode())) == [Close(code, "bye é")]


@pytest.mark.parametrize("code", INVALID_CODES)
def test_close_invalid_codes(impl, code):
    raises_code(impl.messages.MessageDecoder(), client_frame(CLOSE, struct.pack("!H", code)), 1002)
    with pytest.raises(ValueError):
        impl.messages.MessageEncoder().close(code)


def test_close_payload_shapes(impl):
    M = impl.messages
    assert M.MessageDecoder().feed(client_frame(CLOSE)) == [Close(None, "")]
    raises_code(M.MessageDecoder(), client_frame(CLOSE, b"\x03"), 1002)
    raises_code(M.MessageDecoder(), client_frame(CLOSE, b"\x03\xe8\xff"), 1007, InvalidPayload)
    raises_code(M.MessageDecoder(), client_frame(CLOSE, b"\x03\xe8\xed\xa0\x80"), 1007, InvalidPayload)
    assert M.MessageDecoder().feed(client_frame(CLOSE, b"\x03\xe8" + b"r" * 123)) == [Close(1000, "r" * 123)]


@given(st.integers(0, 65535), st.binary(max_size=20))
@settings(max_examples=200, deadline=None)
def test_close_rules_property(code, reason):
    valid_code = 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
    try:
        text = reason.decode()
    except UnicodeDecodeError:
        text = None
    for module in TWIN_MODULES:
        dec = module.MessageDecoder()
        frame = client_frame(CLOSE, struct.pack("!H", code) + reason)
        if not valid_code:
            with pytest.raises(ProtocolError) as info:
                dec.feed(frame)
            assert info.value.close_code == 1002 and type(info.value) is ProtocolError
        elif text is None:
            with pytest.raises(InvalidPayload):
                dec.feed(frame)
        else:
            assert dec.feed(frame) == [Close(code, text)]
            assert module.MessageEncoder().close(code, text) == raw_frame(CLOSE, struct.pack("!H", code) + reason)


def test_encoder_close_arguments(impl):
    enc = impl.messages.MessageEncoder()
    assert enc.close(1000, "é" * 61 + "a") == raw_frame(CLOSE, b"\x03\xe8" + ("é" * 61 + "a").encode())  # 123 bytes
    with pytest.raises(ValueError):
        enc.close(1000, "é" * 62)  # 124 bytes
    with pytest.raises(ValueError):
        enc.close(1000, "a" * 124)
    with pytest.raises(ValueError):
        enc.close(None, "reason without code")
    with pytest.raises(TypeError):
        enc.close("1000")
    with pytest.raises(TypeError):
        enc.close(1000, b"bytes")
    with pytest.raises(ValueError):
        enc.close(1000, "\ud800")


def test_nothing_after_close(impl):
    M = impl.messages
    dec = M.MessageDecoder()
    assert dec.feed(client_frame(CLOSE, b"\x03\xe8")) == [Close(1000, "")]
    assert dec.feed(b"") == []
    raises_code(dec, client_frame(PING), 1002)
    # In the same chunk as the Close, or only part of a frame after it.
    raises_code(M.MessageDecoder(), client_frame(CLOSE) + client_frame(TEXT, b"x"), 1002)
    raises_code(M.MessageDecoder(), client_frame(CLOSE) + b"\x81", 1002)
    dec = M.MessageDecoder()
    dec.feed(client_frame(CLOSE))
    raises_code(dec, b"\x00", 1002)


def test_failed_decoder_keeps_raising(impl):
    for bad, code in [
        (client_frame(CONT, b"x"), 1002),
        (client_frame(TEXT, b"\xff"), 1007),
        (client_frame(TEXT, bytes(11)), 1009),
        (client_frame(TEXT, b"x", rsv2=True), 1002),
    ]:
        dec = impl.messages.MessageDecoder(max_message_size=10)
        first = raises_code(dec, bad, code)
        for _ in range(2):
            again = raises_code(dec, client_frame(TEXT, b"fine"), code)
            assert type(again) is type(first)
        raises_code(dec, b"", code)


# -- encoder -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 7, 125, 126])
@pytest.mark.parametrize("length", [0, 1, 6, 7, 8, 14, 300])
def test_fragment_size(impl, size, length):
    data = os.urandom(length)
    enc = impl.messages.MessageEncoder(fragment_size=size)
    frames = parse_frames(enc.binary(data))
    assert all(len(f[5]) == size for f in frames[:-1])
    assert 0 < len(frames[-1][5]) <= size or length == 0
    assert [f[0] for f in frames] == [False] * (len(frames) - 1) + [True]
    assert [f[2] for f in frames] == [BINARY] + [CONT] * (len(frames) - 1)
    assert b"".join(f[5] for f in frames) == data
    assert len(frames) == max(1, -(-length // size))
    # A UTF-8 character may be split between fragments; the peer reassembles it.
    text = ("é€" * length)[:length]
    out = impl.messages.MessageEncoder(fragment_size=size).text(text)
    assert impl.messages.MessageDecoder(client=True).feed(out) == [TextMessage(text)]


def test_client_masks_with_fresh_keys(impl):
    enc = impl.messages.MessageEncoder(client=True)
    outs = [enc.text("same message") for _ in range(300)]
    frames = [parse_frames(o)[0] for o in outs]
    assert all(f[3] for f in frames) and all(f[5] == b"same message" for f in frames)
    keys = [f[4] for f in frames]
    assert len(set(keys)) >= 295  # 32-bit random keys: collisions are rare
    # Every frame of a fragmented message and every control frame is masked with its own key.
    enc = impl.messages.MessageEncoder(client=True, fragment_size=2)
    frames = parse_frames(enc.binary(b"abcdefgh") + enc.ping(b"p") + enc.pong() + enc.close())
    assert all(f[3] for f in frames)
    assert len({f[4] for f in frames}) == len(frames)
    assert all(not f[3] for f in parse_frames(impl.messages.MessageEncoder().text("x")))


def test_masking_keys_differ_after_fork(impl):
    if not hasattr(os, "fork"):
        return
    enc = impl.messages.MessageEncoder(client=True)
    enc.text("warm up the key batch")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(w, parse_frames(enc.binary(b"x"))[0][4])
        finally:
            os._exit(0)
    os.close(w)
    child_key = os.read(r, 4)
    os.close(r)
    os.waitpid(pid, 0)
    parent_keys = {parse_frames(enc.binary(b"x"))[0][4] for _ in range(8)}
    assert len(child_key) == 4 and child_key not in parent_keys


@pytest.mark.parametrize(
    "data",
    [b"abc", bytearray(b"abc"), memoryview(b"xabcx")[1:4], memoryview(b"aXbXc")[::2], array.array("B", b"abc")],
)
def test_binary_accepts_buffers(impl, data):
    enc = impl.messages.MessageEncoder()
    assert enc.binary(data) == b"\x82\x03abc"
    assert enc.ping(data) == b"\x89\x03abc"
    assert impl.messages.MessageEncoder(deflate=PerMessageDeflate()).binary(data, compress=False) == b"\x82\x03abc"


def test_binary_any_format_is_raw_bytes(impl):
    data = array.array("i", [1, 2, 3])
    assert impl.messages.MessageEncoder().binary(data) == bytes([0x82, len(data.tobytes())]) + data.tobytes()


def test_encoder_argument_errors(impl):
    enc = impl.messages.MessageEncoder()
    with pytest.raises(TypeError):
        enc.text(b"bytes")
    with pytest.raises(TypeError):
        enc.binary("str")
    with pytest.raises(TypeError):
        enc.binary(5)
    with pytest.raises(ValueError):
        enc.ping(bytes(126))
    with pytest.raises(ValueError):
        enc.pong(bytes(126))
    with pytest.raises(ValueError):
        enc.text("\udc80")
    assert enc.ping(bytes(125))[1] == 125
    assert enc.ping("hé") == raw_frame(PING, "hé".encode())


# -- events ------------------------------------------------------------------------------


def test_events_value_semantics():
    assert TextMessage("a") == TextMessage("a") and TextMessage("a") != TextMessage("b")
    assert Ping(b"x") != Pong(b"x") and BinaryMessage(b"x") != Ping(b"x")
    assert Close(1000, "") != Close(None, "")
    assert hash(Close(1000, "x")) == hash(Close(1000, "x"))
    assert repr(TextMessage("hi")) == "TextMessage(data='hi')"
    assert repr(Close(None, "")) == "Close(code=None, reason='')"
    for ev in (TextMessage("a"), BinaryMessage(b"b"), Ping(b""), Pong(b"p"), Close(1001, "bye")):
        assert pickle.loads(pickle.dumps(ev)) == ev
    with pytest.raises(TypeError):
        TextMessage(b"bytes")
    with pytest.raises(TypeError):
        BinaryMessage("str")
    with pytest.raises(TypeError):
        Close("1000")
    assert wscodec.Ping is Ping and wscodec.Close is Close


def test_event_types_from_both_twins(impl):
    events = impl.messages.MessageDecoder().feed(
        client_frame(TEXT, b"t") + client_frame(BINARY, b"b") + client_frame(PING) + client_frame(PONG) + client_frame(CLOSE)
    )
    assert [type(e) for e in events] == [TextMessage, BinaryMessage, Ping, Pong, Close]
    assert type(events[0].data) is str and all(type(e.data) is bytes for e in events[1:4])


def test_feed_does_not_keep_caller_buffer(impl):
    dec = impl.messages.MessageDecoder()
    buf = bytearray(client_frame(TEXT, b"hello", fin=False) + client_frame(CONT, b" world"))
    first = bytearray(buf[:9])
    assert dec.feed(first) == []
    first[:] = b"\x00" * len(first)
    assert dec.feed(memoryview(buf)[9:]) == [TextMessage("hello world")]


def test_feed_argument_types(impl):
    dec = impl.messages.MessageDecoder()
    with pytest.raises(TypeError):
        dec.feed("text")
    with pytest.raises(TypeError):
        dec.feed(None)
    assert dec.feed(array.array("B", client_frame(TEXT, b"ok"))) == [TextMessage("ok")]


# -- whole conversations split anywhere --------------------------------------------------


def conversation(M, client, deflate=None):
    """A conversation as ``client`` writes it, and the events its peer must decode."""
    # One compressing encoder (a compressed stream has one writer); uncompressed messages
    # may come from another.
    frag = M.MessageEncoder(client=client, deflate=deflate, fragment_size=5)
    enc = M.MessageEncoder(client=client)
    parts = [
        (frag.text("Hello"), TextMessage("Hello")),
        (frag.text("fragmented, with é and 𝄞 split"), TextMessage("fragmented, with é and 𝄞 split")),
        (enc.ping(b"are you there"), Ping(b"are you there")),
        (frag.binary(bytes(range(40))), BinaryMessage(bytes(range(40)))),
        (frag.text("Hello"), TextMessage("Hello")),
        (enc.binary(b""), BinaryMessage(b"")),
        (frag.text(""), TextMessage("")),
        (enc.pong(), Pong(b"")),
        (frag.binary(b"z" * 300, compress=False), BinaryMessage(b"z" * 300)),
        (frag.binary(b"z" * 300), BinaryMessage(b"z" * 300)),
    ]
    # A fragmented message with control frames between its fragments (written by hand).
    mask = (lambda op, p, fin: raw_frame(op, p, fin=fin, key=b"\x01\x02\x03\x04")) if client else (
        lambda op, p, fin: raw_frame(op, p, fin=fin))
    parts.append((mask(TEXT, b"inter", False) + mask(PING, b"1", True) + mask(CONT, b"leaved", False)
                  + mask(PONG, b"2", True) + mask(CONT, b"", True),
                  [Ping(b"1"), Pong(b"2"), TextMessage("interleaved")]))
    parts.append((enc.close(1001, "going away"), Close(1001, "going away")))
    data = b"".join(p[0] for p in parts)
    events = []
    for _, ev in parts:
        events.extend(ev if isinstance(ev, list) else [ev])
    return data, events


DEFLATES = [None, PerMessageDeflate(), PerMessageDeflate(True, True, 10, 9)]


@pytest.mark.parametrize("client", [True, False])
@pytest.mark.parametrize("deflate", DEFLATES)
def test_conversation_split_at_every_point(impl, client, deflate):
    M = impl.messages
    data, expected = conversation(M, client, deflate)
    assert M.MessageDecoder(client=not client, deflate=deflate).feed(data) == expected
    for i in range(len(data) + 1):
        dec = M.MessageDecoder(client=not client, deflate=deflate)
        assert feed_all(dec, [data[:i], data[i:]]) == expected, i
    dec = M.MessageDecoder(client=not client, deflate=deflate)
    assert feed_all(dec, [data[i : i + 1] for i in range(len(data))]) == expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(0, 2000), max_size=12), client=st.booleans(), which=st.integers(0, 2))
def test_conversation_random_splits(impl, cuts, client, which):
    M = impl.messages
    deflate = DEFLATES[which]
    data, expected = conversation(M, client, deflate)
    cuts = sorted(c % (len(data) + 1) for c in cuts)
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    assert feed_all(M.MessageDecoder(client=not client, deflate=deflate), chunks) == expected


message_strategy = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=300)),
    st.tuples(st.just("binary"), st.binary(max_size=300)),
    st.tuples(st.just("ping"), st.binary(max_size=125)),
    st.tuples(st.just("pong"), st.binary(max_size=125)),
)
deflate_strategy = st.one_of(
    st.none(),
    st.builds(PerMessageDeflate, st.booleans(), st.booleans(), st.integers(8, 15), st.integers(8, 15)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    messages=st.lists(st.tuples(message_strategy, st.booleans()), max_size=8),
    client=st.booleans(),
    deflate=deflate_strategy,
    fragment_size=st.one_of(st.none(), st.integers(1, 64)),
    cuts=st.lists(st.integers(0, 5000), max_size=6),
)
def test_round_trip(impl, messages, client, deflate, fragment_size, cuts):
    M = impl.messages
    enc = M.MessageEncoder(client=client, deflate=deflate, fragment_size=fragment_size)
    wire = []
    expected = []
    for (kind, data), compress in messages:
        if kind == "text":
            wire.append(enc.text(data, compress=compress))
            expected.append(TextMessage(data))
        elif kind == "binary":
            wire.append(enc.binary(data, compress=compress))
            expected.append(BinaryMessage(data))
        elif kind == "ping":
            wire.append(enc.ping(data))
            expected.append(Ping(data))
        else:
            wire.append(enc.pong(data))
            expected.append(Pong(data))
    wire.append(enc.close(1000, "done"))
    expected.append(Close(1000, "done"))
    data = b"".join(wire)
    cuts = sorted(c % (len(data) + 1) for c in cuts)
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    # Either twin decodes either twin's output.
    for other in TWIN_MODULES:
        dec = other.MessageDecoder(client=not client, deflate=deflate, max_message_size=None)
        assert feed_all(dec, chunks) == expected


# -- differential: compiled vs pure on hostile streams ----------------------------------

hostile_frame = st.builds(
    lambda op, fin, rsv1, rsv2, payload, masked, key: raw_frame(
        op, payload, fin=fin, rsv1=rsv1, rsv2=rsv2, key=key if masked else None
    ),
    st.sampled_from([0, 0, 1, 1, 2, 2, 3, 8, 9, 10, 11]),
    st.booleans(),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([False] * 15 + [True]),
    st.one_of(
        st.binary(max_size=20),
        st.text(max_size=10).map(str.encode),
        st.sampled_from([b"\x03\xe8", b"\x03\xe8ok", b"\x03\xed", b"\x0b\xb8\xff", b"\x03", b"\xed\xa0\x80",
                         b"\xf2\x48\xcd\xc9\xc9\x07\x00", b"\xff\xff\x00", bytes(130), b"\xe2\x82"]),
    ),
    st.sampled_from([True] * 9 + [False]),
    st.binary(min_size=4, max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(
    frames=st.lists(hostile_frame, max_size=8),
    cuts=st.lists(st.integers(0, 400), max_size=5),
    deflate=st.sampled_from([None, PerMessageDeflate()]),
    limit=st.sampled_from([None, 8, 64, 1 << 20]),
    junk=st.binary(max_size=3),
)
def test_differential_hostile_streams(frames, cuts, deflate, limit, junk):
    C, P = TWIN_MODULES[0], TWIN_MODULES[-1]

    data = b"".join(frames) + junk
    cuts = sorted(c % (len(data) + 1) for c in cuts)
    chunks = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    got_c = outcome(C.MessageDecoder(deflate=deflate, max_message_size=limit), chunks)
    got_p = outcome(P.MessageDecoder(deflate=deflate, max_message_size=limit), chunks)
    assert got_c == got_p
    # Fed whole, the events are a prefix of the chunked run's, and any failure is the same
    # kind of failure unless an earlier frame's message-level error pre-empts it.
    whole = outcome(P.MessageDecoder(deflate=deflate, max_message_size=limit), [data])
    if got_p[1] is None:
        assert whole == got_p
    else:
        assert whole[1] is not None
        assert got_p[0][: len(whole[0])] == whole[0]


def test_decoded_events_behave_like_constructed_ones(impl):
    events = impl.messages.MessageDecoder().feed(
        client_frame(TEXT, b"t") + client_frame(BINARY, b"b") + client_frame(PING, b"i") + client_frame(PONG, b"o"))
    expected = [TextMessage("t"), BinaryMessage(b"b"), Ping(b"i"), Pong(b"o")]
    assert events == expected
    assert [hash(e) for e in events] == [hash(e) for e in expected]
    assert [repr(e) for e in events] == [repr(e) for e in expected]
    assert pickle.loads(pickle.dumps(events)) == expected
    events[0].data = "changed"
    assert events[0] == TextMessage("changed")


def test_no_leak_over_many_messages(impl):
    import gc
    # PyPy has no tracemalloc: the bound is measured on CPython.
    tracemalloc = pytest.importorskip("tracemalloc")

    wire = b"".join(client_frame(op, b"x" * 100) for op in (TEXT, BINARY, PING, PONG)) * 500

    def run():
        dec = impl.messages.MessageDecoder()
        for _ in range(5):
            assert len(dec.feed(wire)) == 2000

    run()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            run()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, grown


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=64), cut=st.integers(0, 64), client=st.booleans(),
       deflate=st.sampled_from([None, PerMessageDeflate()]))
def test_differential_random_bytes(data, cut, client, deflate):
    """Arbitrary bytes: both twins give the same events or the same failure, never a crash."""
    chunks = [data[:cut], data[cut:]]
    results = [outcome(m.MessageDecoder(client=client, deflate=deflate, max_message_size=16), chunks)
               for m in TWIN_MODULES]
    assert results[0] == results[-1]


def test_frame_error_in_chunk_takes_precedence(impl):
    """The frame layer refuses a chunk with a bad header before any frame in it is read
    (pinned: frames completed earlier in the same chunk are not returned)."""
    chunk = client_frame(TEXT, b"\xff") + client_frame(TEXT, b"x", rsv2=True)
    exc = raises_code(impl.messages.MessageDecoder(), chunk, 1002)
    assert type(exc) is ProtocolError
    chunk = client_frame(TEXT, b"fine") + client_frame(CONT, b"x") + raw_frame(TEXT, b"unmasked")
    exc = raises_code(impl.messages.MessageDecoder(), chunk, 1002)
    assert "mask" in str(exc)
    # Split so that the bad UTF-8 arrives first: then it is what fails.
    dec = impl.messages.MessageDecoder()
    raises_code(dec, client_frame(TEXT, b"\xff"), 1007, InvalidPayload)


@pytest.mark.parametrize("size", [0, 1, 125, 255, 256, 257, 1000, 70000])
@pytest.mark.parametrize("masked", [True, False])
def test_text_sizes_in_one_chunk(impl, size, masked):
    text = ("aé€𝄞" * size)[:size]
    raw = text.encode()
    frame = raw_frame(TEXT, raw, key=b"\x01\x02\x03\x04" if masked else None)
    dec = impl.messages.MessageDecoder(client=not masked, max_message_size=None)
    assert dec.feed(frame * 3 + frame[:1]) == [TextMessage(text)] * 3
    assert dec.feed(frame[1:]) == [TextMessage(text)]
    bad = raw_frame(TEXT, raw + b"\xc3", key=b"\x01\x02\x03\x04" if masked else None)
    raises_code(impl.messages.MessageDecoder(client=not masked), bad, 1007, InvalidPayload)


def test_limit_above_maxsize_refuses_what_no_message_can_hold(impl):
    # max_message_size beyond what any bytes object can hold (2**64): a fragment whose
    # declared length takes the message past sys.maxsize is refused with 1009 before it is
    # buffered (RFC 6455 §7.4.1), by both twins with the same text.  The pure twin used to
    # compare with the unclamped limit and wait for 8 EiB.
    wire = raw_frame(2, b"x" * 10, fin=False) + bytes([0x80, 127]) + struct.pack("!Q", (1 << 63) - 1)
    d = impl.messages.MessageDecoder(client=True, max_message_size=1 << 64)
    with pytest.raises(PayloadTooBig) as info:
        d.feed(wire)
    assert info.value.close_code == 1009
    assert str(info.value) == "message exceeds max_message_size=%d (RFC 6455 §7.4.1)" % ((1 << 63) - 1)
