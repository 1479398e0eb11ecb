"""websockets end to end with wscodec installed: its own client and server over 127.0.0.1.

websockets' sdist ships no tests, so these exercise what the integration replaces (masking,
``Frame.parse``, ``Frame.serialize``) through real connections: text, binary, fragmented,
compressed, ping/pong, close codes and reasons, oversize frames and protocol errors.
"""

import asyncio
import os

import pytest
from _peers import allow_pure_twin, require
from _raw_frames import raw_frame

websockets = require("websockets", module_level=True)

from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402
from websockets.exceptions import ConnectionClosedError  # noqa: E402
from websockets.frames import Frame  # noqa: E402

import wscodec  # noqa: E402
from wscodec import integrations  # noqa: E402

# The test extra allows websockets>=13; CI runs these tests on 13.x and on the pinned 17.x.
# (The connection's close_code/close_reason properties are 14.0's: tests read the protocol's.)
VERSION = tuple(int(p) for p in websockets.__version__.split(".")[:2])


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    # The pure twin too (install() keeps websockets' own code then: see
    # test_integrations_failsafe.py).
    allow_pure_twin(monkeypatch, "websockets")
    integrations.uninstall()
    assert integrations.install("websockets") == ["websockets"]
    yield
    assert integrations.verify("websockets") == []
    integrations.uninstall()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def with_server(handler, client_fn, **server_kw):
    async with serve(handler, "127.0.0.1", 0, **server_kw) as server:
        port = server.sockets[0].getsockname()[1]
        return await client_fn("ws://127.0.0.1:%d" % port)


def test_patched_names_are_wscodecs_during_a_connection():
    parse, serialize = Frame.__dict__["parse"], Frame.__dict__["serialize"]

    async def client(uri):
        async with connect(uri, compression=None) as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
        return Frame.__dict__["parse"] is parse and Frame.__dict__["serialize"] is serialize

    assert run(with_server(echo, client, compression=None))
    assert parse.__func__.__module__ == "wscodec.integrations.websockets"


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_text_binary_and_sizes(compression):
    messages = [
        "",
        "hello",
        "ünïcødé 速度 🚀" * 50,
        b"",
        b"\x00\xff" * 10,
        os.urandom(125),
        os.urandom(126),
        os.urandom(65535),
        os.urandom(65536),
        os.urandom(700_000),
        "x" * 300_000,
    ]

    async def client(uri):
        got = []
        async with connect(uri, compression=compression, max_size=None) as ws:
            for m in messages:
                await ws.send(m)
                got.append(await ws.recv())
        return got

    got = run(with_server(echo, client, compression=compression, max_size=None))
    assert got == messages
    assert [type(g) for g in got] == [type(m) for m in messages]


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_fragmented_messages(compression):
    parts = ["frag", "mented ", "ünï", "cødé"]
    binary_parts = [os.urandom(n) for n in (1, 1000, 70000)]

    async def client(uri):
        async with connect(uri, compression=compression) as ws:
            await ws.send(iter(parts))
            text = await ws.recv()
            await ws.send(iter(binary_parts))
            data = await ws.recv()
            return text, data

    text, data = run(with_server(echo, client, compression=compression))
    assert text == "".join(parts)
    assert data == b"".join(binary_parts)


def test_ping_pong():
    async def client(uri):
        async with connect(uri) as ws:
            latency = await asyncio.wait_for(await ws.ping(b"payload"), 5)
            return latency

    assert run(with_server(echo, client)) >= 0


@pytest.mark.parametrize(
    "code,reason", [(1000, ""), (1001, "going away"), (3000, "app"), (4999, "ünï" * 10)]
)
def test_close_codes_reach_the_client(code, reason):
    async def handler(ws):
        await ws.recv()
        await ws.close(code, reason)

    async def client(uri):
        async with connect(uri) as ws:
            await ws.send("bye")
            await ws.wait_closed()
            return ws.protocol.close_code, ws.protocol.close_reason

    assert run(with_server(handler, client)) == (code, reason)


def test_close_from_client_reaches_server():
    seen = {}

    async def handler(ws):
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
        seen["code"], seen["reason"] = ws.protocol.close_code, ws.protocol.close_reason

    async def client(uri):
        async with connect(uri) as ws:
            await ws.close(4001, "client done")
        await asyncio.sleep(0.2)

    run(with_server(handler, client))
    assert seen == {"code": 4001, "reason": "client done"}


def test_oversize_message_closes_with_1009():
    async def client(uri):
        async with connect(uri, max_size=None) as ws:
            await ws.send(b"x" * 2000)
            with pytest.raises(ConnectionClosedError):
                await ws.recv()
            return ws.protocol.close_code

    assert run(with_server(echo, client, max_size=1000)) == 1009


def test_oversize_frame_close_reason_is_websockets_own():
    # PayloadTooBig's arguments changed in websockets 14.0; the close reason the server sends
    # is str() of it, and must read as websockets' own on every supported version.
    async def client(uri):
        async with connect(uri, max_size=None, compression=None) as ws:
            await ws.send(b"x" * 2000)
            with pytest.raises(ConnectionClosedError):
                await ws.recv()
            return ws.protocol.close_code, ws.protocol.close_reason

    got = run(with_server(echo, client, max_size=1000, compression=None))
    integrations.uninstall()
    theirs = run(with_server(echo, client, max_size=1000, compression=None))
    assert got == theirs
    expected = (
        "over size limit (2000 > 1000 bytes)"
        if VERSION < (14,)
        else "frame with 2000 bytes exceeds limit of 1000 bytes"
    )
    assert got == (1009, expected)
    integrations.install("websockets")


async def raw_client(uri, frame):
    """A client written by hand: completes the opening handshake (RFC 6455 §4.1), sends the
    bytes ``frame`` as they are, and returns the server's response head and the first frame
    the server sends back."""
    host, port = uri[5:].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (host, wscodec.generate_key())
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    writer.write(frame)
    await writer.drain()
    decoder = wscodec.FrameDecoder(client=True)
    frames = []
    while not frames:
        data = await reader.read(4096)
        assert data
        frames = decoder.feed(data)
    writer.close()
    return head, frames[0]


def test_invalid_utf8_closes_with_1007():
    # A raw client sends a masked text frame with invalid UTF-8; the server must fail the
    # connection with 1007 (RFC 6455 §8.1).
    async def client(uri):
        head, frame = await raw_client(
            uri, wscodec.encode_frame(wscodec.Opcode.TEXT, b"ok\xe4\xb8", mask=True)
        )
        assert head.startswith(b"HTTP/1.1 101")
        return frame

    frame = run(with_server(echo, client))
    assert frame.opcode == 8
    # websockets 13's asyncio server fails the connection with 1011 on the decoding error
    # (with or without wscodec); 14.0 and later send 1007.
    assert int.from_bytes(frame.payload[:2], "big") == (1011 if VERSION < (14,) else 1007)


def test_unmasked_client_frame_is_a_protocol_error():
    # RFC 6455 §5.1: a server must fail the connection on an unmasked frame.
    async def client(uri):
        _, frame = await raw_client(uri, wscodec.encode_frame(wscodec.Opcode.TEXT, b"hello"))
        return frame

    frame = run(with_server(echo, client))
    assert frame.opcode == 8
    assert int.from_bytes(frame.payload[:2], "big") == 1002


def test_parse_errors_and_eof_match_websockets_own():
    # The replacement parse raises what websockets' own does, from the same bytes.
    from websockets.exceptions import PayloadTooBig, ProtocolError
    from websockets.streams import StreamReader

    integrations.uninstall()
    original = Frame.__dict__["parse"]
    integrations.install("websockets")
    ours = Frame.__dict__["parse"]

    def outcome(parse, data, eof, *, mask, max_size=None):
        reader = StreamReader()
        reader.feed_data(data)
        if eof:
            reader.feed_eof()
        gen = parse.__get__(None, Frame)(reader.read_exact, mask=mask, max_size=max_size)
        try:
            next(gen)
        except StopIteration as stop:
            f = stop.value
            return ("frame", f.opcode, bytes(f.data), f.fin, f.rsv1, f.rsv2, f.rsv3)
        except (ProtocolError, PayloadTooBig, EOFError) as exc:
            return ("error", type(exc), str(exc))
        return ("pending",)

    masked = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
    samples = [
        (masked, True), (masked[:1], True), (masked[:5], True), (masked[:7], False),
        (b"\x83\x80abcd", True), (b"\x81\x05hello", True), (b"\x81\x05hello", False),
        (b"\x89\xfe\x00\x7eabcd" + b"x" * 126, True), (b"\x09\x80abcd", True),
        (b"\xc1\x80abcd", True), (b"\x82\xfe\x01\x00abcd" + b"y" * 256, True),
        (b"\x82\xff" + (70000).to_bytes(8, "big") + b"abcd" + b"z" * 70000, True),
    ]
    for data, mask in samples:
        for eof in (False, True):
            for max_size in (None, 100):
                assert outcome(ours, data, eof, mask=mask, max_size=max_size) == outcome(
                    original, data, eof, mask=mask, max_size=max_size
                ), (data[:12], mask, eof, max_size)


def _drive(parse, chunks, *, mask, max_size):
    """Run ``parse`` the way websockets' Protocol does: one generator per frame, stepped
    after every chunk; then end the stream.  Returns what came out, in order."""
    from websockets.exceptions import PayloadTooBig, ProtocolError
    from websockets.streams import StreamReader

    reader = StreamReader()
    out = []
    gen = None
    for chunk in list(chunks) + [None]:
        if chunk is None:
            reader.feed_eof()
        else:
            reader.feed_data(chunk)
        while True:
            if gen is None:
                gen = parse.__get__(None, Frame)(reader.read_exact, mask=mask, max_size=max_size)
            try:
                next(gen)
            except StopIteration as stop:
                f = stop.value
                out.append(("frame", f.opcode, bytes(f.data), f.fin, f.rsv1, f.rsv2, f.rsv3))
                gen = None
                continue
            except (ProtocolError, PayloadTooBig, EOFError) as exc:
                out.append(("error", type(exc), str(exc)))
                return out
            break
    return out


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mask=st.booleans(),
    frames=st.lists(
        st.tuples(
            st.sampled_from(list(range(16))),
            st.one_of(st.binary(max_size=130), st.binary(min_size=300, max_size=70000)),
            st.booleans(),
            st.sampled_from([0, 0, 0, 4, 2]),
            st.sampled_from([True, True, True, False]),   # masked as the side expects
            st.sampled_from([0, 0, 1, 2]),                 # length form (non-minimal too)
        ),
        max_size=5,
    ),
    cuts=st.lists(st.integers(0, 80000), max_size=6),
    max_size=st.sampled_from([None, 128, 100000]),
)
def test_parse_matches_websockets_own_on_any_split(mask, frames, cuts, max_size):
    integrations.uninstall()
    original = Frame.__dict__["parse"]
    integrations.install("websockets")
    ours = Frame.__dict__["parse"]
    stream = b"".join(
        raw_frame(op, payload, fin=fin, rsv=rsv, mask=os.urandom(4) if (right == mask) else None,
                  length_form=form)
        for op, payload, fin, rsv, right, form in frames
    )
    bounds = sorted({0, len(stream), *[c % (len(stream) + 1) for c in cuts]})
    chunks = [stream[a:b] for a, b in zip(bounds, bounds[1:])]
    assert _drive(ours, chunks, mask=mask, max_size=max_size) == _drive(
        original, chunks, mask=mask, max_size=max_size
    )
