"""wscodec's uvicorn WebSocket protocol (``wscodec.integrations.uvicorn.WSCodecProtocol``).

A real uvicorn server on 127.0.0.1 runs the class on each twin (``impl``), and websockets'
client or a raw socket talks to it.  uvicorn's own protocol tests run against the class in
CI (``.ci/uvicorn.sh``); these cover what that suite does not reach: both twins, the Close
scanner, compression, failures with their close codes, data after a Close in one read.
"""

import asyncio
import os
import random
import socket
import struct

import pytest
from _peers import require
from _raw_frames import raw_frame

uvicorn = require("uvicorn", module_level=True)
require("websockets", module_level=True)

from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from wscodec import _select  # noqa: E402
from wscodec.integrations import uvicorn as integration  # noqa: E402

KEY = b"\x11\x22\x33\x44"


@pytest.fixture
def protocol(impl):
    return integration._protocol_class(impl.uvicorn)


def test_compiled_twin_loaded():
    if _select.NO_EXTENSIONS:
        assert integration.implementation() == "python"
        pytest.skip("compiled twins off (WSCODEC_NO_EXTENSIONS=1 or not CPython)")
    assert integration.implementation() == "c"
    assert integration.WSCodecProtocol._twin.__name__ == "wscodec.integrations._uvicorn_c"
    assert integration.WSCodecProtocol._twin.Connection.__module__ == "wscodec.integrations._uvicorn_c"


def test_uvicorn_imports_the_class_by_its_path():
    async def app(scope, receive, send):  # pragma: no cover
        pass

    config = uvicorn.Config(app, ws="wscodec.integrations.uvicorn:WSCodecProtocol", lifespan="off")
    config.load()
    assert config.ws_protocol_class is integration.WSCodecProtocol
    config = uvicorn.Config(app, ws=integration.WSCodecProtocol, lifespan="off")
    config.load()
    assert config.ws_protocol_class is integration.WSCodecProtocol


# -- the Close scanner ---------------------------------------------------------------------


def _stream(rng, with_close):
    """Masked client frames; returns (bytes, offset just past the Close or -1)."""
    out = b""
    end = -1
    for _ in range(rng.randrange(0, 6)):
        size = rng.choice([0, 1, 125, 126, 200, 65535, 65536, 70000])
        out += raw_frame(rng.choice([1, 2, 9, 10]), os.urandom(size), mask=KEY,
                         length_form=rng.choice([None, None, 1, 2]) if size <= 65535 else None)
    if with_close:
        out += raw_frame(8, struct.pack("!H", 1000) + b"x" * rng.randrange(0, 20), mask=KEY)
        end = len(out)
        out += raw_frame(1, b"after the close", mask=KEY)
    return out, end


@pytest.mark.parametrize("seed", range(40))
def test_close_scanner_finds_the_end_of_the_close_frame_at_any_split(impl, seed):
    rng = random.Random(seed)
    data, end = _stream(rng, with_close=seed % 4 != 0)
    cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randrange(1, 12))))
    scanner = impl.uvicorn.CloseScanner()
    pos = 0
    found = -1
    for cut in cuts + [len(data)]:
        chunk = data[pos:cut]
        at = scanner.scan(chunk)
        if at >= 0:
            found = pos + at
            break
        pos = cut
    assert found == end


def test_close_scanner_byte_by_byte(impl):
    data = raw_frame(1, b"a" * 300, mask=KEY) + raw_frame(8, b"", mask=KEY) + b"junk"
    scanner = impl.uvicorn.CloseScanner()
    results = [scanner.scan(data[i:i + 1]) for i in range(len(data))]
    close_end = len(data) - 4
    assert results.index(1) == close_end - 1
    assert all(r == -1 for r in results[: close_end - 1])


def test_close_scanner_huge_declared_length_is_constant_work(impl):
    # A 64-bit length is skipped by counting, never by reading or allocating.
    head = bytes([0x82, 0xFF]) + struct.pack("!Q", 2**62) + KEY
    scanner = impl.uvicorn.CloseScanner()
    assert scanner.scan(head + b"x" * 1000) == -1
    assert scanner.scan(b"y" * 1000) == -1


# -- a real server ------------------------------------------------------------------------


async def _serve(protocol, app, **config_kw):
    config_kw.setdefault("lifespan", "off")
    config_kw.setdefault("log_level", "warning")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, ws=protocol, http="h11", **config_kw)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), task.result()
        await asyncio.sleep(0.01)
    return server, task, "ws://127.0.0.1:%d" % sock.getsockname()[1]


async def _stop(server, task):
    server.should_exit = True
    await asyncio.wait_for(task, 10)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def echo_app(scope, receive, send):
    assert scope["type"] == "websocket"
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await send({"type": "websocket.send", "text": message["text"]})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


@pytest.mark.parametrize("compression", ["deflate", None])
def test_echo(protocol, compression):
    messages = ["", "hello", "中文 and emoji 😀" * 300, b"", b"\x00\xff" * 40000, "x" * 70000]

    async def main():
        server, task, url = await _serve(protocol, echo_app)
        try:
            async with connect(url, compression=compression, max_size=None) as ws:
                negotiated = [type(e).__name__ for e in ws.protocol.extensions]
                assert negotiated == (["PerMessageDeflate"] if compression else [])
                for message in messages:
                    await ws.send(message)
                    assert await ws.recv() == message
                # Fragmented messages are reassembled (RFC 6455 §5.4).
                await ws.send(["frag", "mented"])
                assert await ws.recv() == "fragmented"
                await ws.ping(b"payload")
        finally:
            await _stop(server, task)

    run(main())


def test_compression_off_by_config(protocol):
    async def main():
        server, task, url = await _serve(protocol, echo_app, ws_per_message_deflate=False)
        try:
            async with connect(url) as ws:
                assert ws.protocol.extensions == []
                await ws.send("plain")
                assert await ws.recv() == "plain"
        finally:
            await _stop(server, task)

    run(main())


def test_scope_subprotocol_and_headers(protocol):
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)
        await receive()
        await send({"type": "websocket.accept", "subprotocol": "chat",
                    "headers": [(b"x-extra", b"yes")]})
        message = await receive()
        assert message["type"] == "websocket.disconnect"

    async def main():
        server, task, url = await _serve(protocol, app, root_path="/root")
        try:
            async with connect(url + "/a%20b?q=1", subprotocols=["other", "chat"],
                               additional_headers={"X-Mine": "é"}) as ws:
                assert ws.subprotocol == "chat"
                assert ws.response.headers["x-extra"] == "yes"
                assert ws.response.headers["server"] == "uvicorn"
        finally:
            await _stop(server, task)

    run(main())
    assert seen["type"] == "websocket"
    assert seen["path"] == "/root/a b"
    assert seen["raw_path"] == b"/root/a%20b"
    assert seen["root_path"] == "/root"
    assert seen["query_string"] == b"q=1"
    assert seen["scheme"] == "ws"
    assert seen["subprotocols"] == ["other", "chat"]
    assert seen["client"][0] == "127.0.0.1" and seen["server"][0] == "127.0.0.1"
    assert (b"x-mine", "é".encode("latin-1")) in seen["headers"]
    assert seen["extensions"] == {"websocket.http.response": {}}


@pytest.mark.parametrize(
    "payload, code",
    [
        (raw_frame(1, b"\xff\xfe", mask=KEY), 1007),  # invalid UTF-8 (RFC 6455 §8.1)
        (raw_frame(2, b"x" * 101, mask=KEY), 1009),  # over ws_max_size=100
        (raw_frame(1, b"unmasked"), 1002),  # a client frame must be masked (§5.1)
        (raw_frame(3, b"", mask=KEY), 1002),  # reserved opcode (§5.2)
    ],
    ids=["utf8", "too-big", "unmasked", "opcode"],
)
def test_protocol_errors_close_with_the_decoders_code(protocol, payload, code):
    disconnects = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                disconnects.append(message)
                return

    async def main():
        server, task, url = await _serve(protocol, app, ws_max_size=100)
        try:
            async with connect(url, compression=None) as ws:
                ws.transport.write(payload)
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
                assert info.value.rcvd.code == code
            await asyncio.sleep(0.05)
        finally:
            await _stop(server, task)

    run(main())
    assert disconnects[0]["code"] == code


def test_close_with_data_after_it_in_one_read(protocol):
    # RFC 6455 §1.4: what follows the peer's Close is discarded, not a protocol error.
    disconnects = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                disconnects.append(message)
                return

    async def main():
        server, task, url = await _serve(protocol, app)
        try:
            async with connect(url, compression=None) as ws:
                close = raw_frame(8, struct.pack("!H", 4001) + b"bye", mask=KEY)
                ws.transport.write(raw_frame(1, b"first", mask=KEY) + close + raw_frame(1, b"more", mask=KEY))
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
                assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "bye")
        finally:
            await _stop(server, task)

    run(main())
    assert disconnects == [{"type": "websocket.disconnect", "code": 4001, "reason": "bye"}]


def test_app_close_code_and_reason(protocol):
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4321, "reason": "done here"})

    async def main():
        server, task, url = await _serve(protocol, app)
        try:
            async with connect(url) as ws:
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
                assert (info.value.rcvd.code, info.value.rcvd.reason) == (4321, "done here")
        finally:
            await _stop(server, task)

    run(main())


def test_denial_and_shutdown(protocol):
    async def deny(scope, receive, send):
        await receive()
        if scope["path"] == "/deny":
            await send({"type": "websocket.close"})
            return
        await send({"type": "websocket.http.response.start", "status": 418,
                    "headers": [(b"x-why", b"teapot")]})
        await send({"type": "websocket.http.response.body", "body": b"short", "more_body": True})
        await send({"type": "websocket.http.response.body", "body": b" and stout"})

    async def main():
        server, task, url = await _serve(protocol, deny)
        try:
            with pytest.raises(InvalidStatus) as info:
                async with connect(url + "/deny"):
                    pass  # pragma: no cover
            assert info.value.response.status_code == 403
            with pytest.raises(InvalidStatus) as info:
                async with connect(url + "/teapot"):
                    pass  # pragma: no cover
            response = info.value.response
            assert (response.status_code, response.body) == (418, b"short and stout")
            assert response.headers["x-why"] == "teapot"
            assert response.headers["content-length"] == "15"
        finally:
            await _stop(server, task)

        server, task, url = await _serve(protocol, echo_app)
        async with connect(url) as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            await _stop(server, task)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1012  # service restart (RFC 6455 §7.4.1, IANA)

    run(main())


def test_keepalive_ping_timeout(protocol):
    async def main():
        server, task, url = await _serve(protocol, echo_app, ws_ping_interval=0.05, ws_ping_timeout=0.05)
        try:
            async with connect(url, ping_interval=None) as ws:
                ws.transport.write = lambda data: None  # the client never answers
                with pytest.raises(ConnectionClosed) as info:
                    await asyncio.wait_for(ws.recv(), 5)
                assert (info.value.rcvd.code, info.value.rcvd.reason) == (1011, "keepalive ping timeout")
        finally:
            await _stop(server, task)

    run(main())


def test_reads_pause_until_the_app_receives(protocol):
    # uvicorn's flow control: reads pause while a received message waits for the app.
    release = None
    received = []

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await release.wait()
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            received.append(message["bytes"])

    async def main():
        nonlocal release
        release = asyncio.Event()
        server, task, url = await _serve(protocol, app)
        try:
            async with connect(url, compression=None) as ws:
                await ws.send(b"1")
                await asyncio.sleep(0.1)
                (conn,) = server.server_state.connections
                assert conn.read_paused
                release.set()
                await asyncio.sleep(0.1)
                assert not conn.read_paused
                await ws.send(b"2")
                await asyncio.sleep(0.1)
        finally:
            await _stop(server, task)

    run(main())
    assert received == [b"1", b"2"]


def test_a_burst_of_sends_arrives_in_order_before_the_close(protocol):
    # Frames sent in one event loop iteration are written together; the Close goes after them.
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        for i in range(500):
            await send({"type": "websocket.send", "text": str(i)})
        await send({"type": "websocket.send", "bytes": b"\x00" * 100000})
        await send({"type": "websocket.close", "code": 4000, "reason": "burst done"})

    async def main():
        server, task, url = await _serve(protocol, app)
        try:
            async with connect(url, max_size=None) as ws:
                got = [await ws.recv() for _ in range(501)]
                assert got == [str(i) for i in range(500)] + [b"\x00" * 100000]
                with pytest.raises(ConnectionClosed) as info:
                    await ws.recv()
                assert (info.value.rcvd.code, info.value.rcvd.reason) == (4000, "burst done")
        finally:
            await _stop(server, task)

    run(main())


def test_sends_wait_while_the_peer_does_not_read(protocol):
    # Collected frames reach the transport by FLUSH_AT at the latest, so its flow control
    # (pause_writing) stops a sender that never yields on its own.
    sent = 0

    async def app(scope, receive, send):
        nonlocal sent
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            await send({"type": "websocket.send", "bytes": b"x" * 1000})
            sent += 1

    async def main():
        server, task, url = await _serve(protocol, app, ws_per_message_deflate=False)
        try:
            async with connect(url, compression=None) as ws:
                ws.transport.pause_reading()
                await asyncio.sleep(0.5)
                first = sent
                await asyncio.sleep(0.3)
                assert sent == first  # blocked, not buffering without bound
                assert first < 50_000  # well under 50 MB queued
                ws.transport.resume_reading()
                await asyncio.sleep(0.3)
                assert sent > first
        finally:
            await _stop(server, task)

    run(main())
