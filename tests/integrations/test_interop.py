"""Interop across libraries over 127.0.0.1, wscodec installed on one side, the other, or both.

Each pair exchanges text (with non-ASCII), binary (small and over 64 KiB, so 16- and 64-bit
lengths are crossed) and ends with an application close code and reason; both must arrive
intact.
"""

import asyncio
import contextlib
import os
import threading

import pytest
from _peers import allow_pure_twin, require

from wscodec import integrations

TEXT = "héllo wörld 速度 🚀 " * 20
BINARY_SMALL = bytes(range(256)) * 4
BINARY_LARGE = os.urandom(70_000)
CLOSE_CODE, CLOSE_REASON = 4000, "done ✓"
#: What an echo exchange returns: the messages echoed, then the close frame's code and reason.
ECHOED = [TEXT, BINARY_SMALL, BINARY_LARGE, (CLOSE_CODE, CLOSE_REASON)]

SIDES = ["client", "server", "both"]


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    # Interop of the patched libraries on both twins (install()'s pure-twin policy is tested
    # in test_integrations_failsafe.py).
    allow_pure_twin(monkeypatch)
    integrations.uninstall()
    yield
    integrations.uninstall()


def install_for(side, client_lib, server_lib):
    wanted = {"client": [client_lib], "server": [server_lib], "both": [client_lib, server_lib]}
    names = [n for n in wanted[side] if n is not None]
    # A library with nothing to replace (wsproto on pure twins) is not reported.
    expected = sorted({n for n in names if integrations.patches(n)})
    assert sorted(integrations.install(*names)) == expected


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def websockets_echo(ws):
    """A websockets server handler: echo every message; close with the test's code and
    reason when asked."""
    async for message in ws:
        if message == "close please":
            await ws.close(CLOSE_CODE, CLOSE_REASON)
            return
        await ws.send(message)


@contextlib.contextmanager
def server_thread(start):
    """Run a server on an event loop of its own in a daemon thread, for a blocking client.

    ``start()`` is a coroutine function, run on that loop, that starts the server and returns
    ``(port, stop)``; ``stop()``, a coroutine function, shuts it down when the block ends.
    Yields the port.
    """
    started = threading.Event()
    state = {}

    def serve():
        async def main():
            state["port"], stop = await start()
            state["stop"] = asyncio.Event()
            state["loop"] = asyncio.get_running_loop()
            started.set()
            await state["stop"].wait()
            await stop()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield state["port"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)


def websocket_client_echo(websocket, port):
    """Send the test messages to an echo server with websocket-client, then ask it to close.

    Returns what came back: the echoed messages, then ``(opcode, code, reason)`` of the
    server's close frame.
    """
    ws = websocket.create_connection("ws://127.0.0.1:%d/" % port, timeout=10)
    out = []
    ws.send(TEXT)
    out.append(ws.recv())
    for data in (BINARY_SMALL, BINARY_LARGE):
        ws.send_binary(data)
        out.append(ws.recv())
    ws.send("close please")
    opcode, frame = ws.recv_data_frame(True)
    out.append((opcode, int.from_bytes(frame.data[:2], "big"), frame.data[2:].decode()))
    ws.close()
    ws.shutdown()
    return out


# --- websockets client <-> aiohttp server ------------------------------------------------


def aiohttp_reader_expected(installed):
    """The reader class an aiohttp connection must be using."""
    import aiohttp._websocket.reader as reader

    if installed and integrations.patches("aiohttp"):
        from wscodec.integrations import _aiohttp_c

        return _aiohttp_c.WebSocketReader
    return reader.WebSocketReader


# Both libraries negotiate permessage-deflate by default (websockets offers it, aiohttp's
# server accepts it), so compressed messages cross too; ``compress`` turns it off.
@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("side", SIDES)
def test_websockets_client_aiohttp_server(side, compress):
    require("aiohttp", "websockets")
    from aiohttp import WSMsgType, web
    from websockets.asyncio.client import connect

    install_for(side, "websockets", "aiohttp")
    expected_reader = aiohttp_reader_expected(side != "client")
    seen = {}

    async def handler(request):
        ws = web.WebSocketResponse(max_msg_size=0, compress=compress)
        await ws.prepare(request)
        seen["reader"] = type(ws._parser)
        seen["compress"] = ws.compress
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                if msg.data == "close please":
                    await ws.close(code=CLOSE_CODE, message=CLOSE_REASON.encode())
                    break
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        seen["server_close"] = ws.close_code
        return ws

    async def main():
        app = web.Application()
        app.router.add_get("/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with connect("ws://127.0.0.1:%d/" % port, max_size=None) as ws:
                out = []
                for m in (TEXT, BINARY_SMALL, BINARY_LARGE):
                    await ws.send(m)
                    out.append(await ws.recv())
                await ws.send("close please")
                await ws.wait_closed()
                out.append((ws.close_code, ws.close_reason))
            return out
        finally:
            await runner.cleanup()

    assert run(main()) == ECHOED
    assert seen["reader"] is expected_reader
    assert bool(seen["compress"]) is compress


# --- aiohttp client <-> websockets server ------------------------------------------------


@pytest.mark.parametrize("compress", [15, 0])
@pytest.mark.parametrize("side", SIDES)
def test_aiohttp_client_websockets_server(side, compress):
    aiohttp = require("aiohttp")
    require("websockets")
    from aiohttp import WSMsgType
    from websockets.asyncio.server import serve

    install_for(side, "aiohttp", "websockets")
    expected_reader = aiohttp_reader_expected(side != "server")

    async def main():
        async with serve(websockets_echo, "127.0.0.1", 0, max_size=None) as server:
            port = server.sockets[0].getsockname()[1]
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(
                    "ws://127.0.0.1:%d/" % port, max_msg_size=0, compress=compress
                ) as ws:
                    assert type(ws._parser) is expected_reader
                    assert bool(ws.compress) is bool(compress)  # the server picks the window
                    out = []
                    for m in (TEXT, BINARY_SMALL, BINARY_LARGE):
                        if isinstance(m, str):
                            await ws.send_str(m)
                        else:
                            await ws.send_bytes(m)
                        msg = await ws.receive()
                        assert msg.type == (WSMsgType.TEXT if isinstance(m, str)
                                            else WSMsgType.BINARY)
                        out.append(msg.data)
                    await ws.send_str("close please")
                    msg = await ws.receive()
                    assert msg.type == WSMsgType.CLOSE
                    out.append((msg.data, msg.extra))
                    return out

    assert run(main()) == ECHOED


# --- websocket-client <-> tornado server -------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_websocket_client_tornado_server(side):
    _, websocket = require("tornado", "websocket")
    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil
    import tornado.web
    import tornado.websocket

    install_for(side, "websocket_client", "tornado")

    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message):
            if message == "close please":
                self.close(CLOSE_CODE, CLOSE_REASON)
            else:
                self.write_message(message, binary=isinstance(message, bytes))

    async def start():
        app = tornado.web.Application([("/", Echo)], websocket_max_message_size=1 << 20)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)

        async def stop():
            server.stop()
            await server.close_all_connections()

        return sockets[0].getsockname()[1], stop

    with server_thread(start) as port:
        out = websocket_client_echo(websocket, port)
    assert out == [
        TEXT, BINARY_SMALL, BINARY_LARGE,
        (websocket.ABNF.OPCODE_CLOSE, CLOSE_CODE, CLOSE_REASON),
    ]


# --- wsproto client <-> websockets server ------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_wsproto_client_websockets_server(side):
    require("wsproto", "websockets")
    from websockets.asyncio.server import serve
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import (
        AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage,
    )

    install_for(side, "wsproto", "websockets")

    async def main():
        async with serve(websockets_echo, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            conn = WSConnection(ConnectionType.CLIENT)
            writer.write(conn.send(Request(host="127.0.0.1", target="/")))
            pending = []

            async def next_event():
                while not pending:
                    data = await reader.read(65536)
                    conn.receive_data(data or None)
                    pending.extend(conn.events())
                return pending.pop(0)

            assert isinstance(await next_event(), AcceptConnection)
            out = []
            for m in (TEXT, BINARY_SMALL, BINARY_LARGE):
                event = TextMessage(data=m) if isinstance(m, str) else BytesMessage(data=m)
                writer.write(conn.send(event))
                parts = []
                while True:
                    ev = await next_event()
                    parts.append(ev.data)
                    if ev.message_finished:
                        break
                out.append("".join(parts) if isinstance(m, str) else b"".join(parts))
            writer.write(conn.send(TextMessage(data="close please")))
            ev = await next_event()
            assert isinstance(ev, CloseConnection)
            out.append((ev.code, ev.reason))
            writer.write(conn.send(ev.response()))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            return out

    # wsproto's connection must be created after install() to use wscodec's FrameProtocol.
    assert run(main()) == ECHOED


# --- websocket-client <-> autobahn (asyncio) server --------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_websocket_client_autobahn_server(side):
    _, websocket = require("autobahn", "websocket")
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

    install_for(side, "websocket_client", "autobahn")
    state = {"open": 0}

    class Echo(WebSocketServerProtocol):
        def onOpen(self):
            state["open"] += 1

        def onClose(self, wasClean, code, reason):
            state["open"] -= 1

        def onMessage(self, payload, isBinary):
            if not isBinary and payload == b"close please":
                self.sendClose(CLOSE_CODE, CLOSE_REASON)
            else:
                self.sendMessage(payload, isBinary)

    async def start():
        factory = WebSocketServerFactory()
        factory.protocol = Echo
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)

        async def stop():
            server.close()
            await server.wait_closed()
            # Let the server's connections finish their closing handshake.
            for _ in range(50):
                if not state["open"]:
                    break
                await asyncio.sleep(0.02)

        return server.sockets[0].getsockname()[1], stop

    with server_thread(start) as port:
        out = websocket_client_echo(websocket, port)
    assert out == [
        TEXT, BINARY_SMALL, BINARY_LARGE,
        (websocket.ABNF.OPCODE_CLOSE, CLOSE_CODE, CLOSE_REASON),
    ]
