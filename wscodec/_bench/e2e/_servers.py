"""The echo servers, one registry entry each.

Every entry is a small echo application written the way that library's documentation writes
one: a handler that receives each whole message and sends it back, text as text and binary as
binary.  Each runs in its own process (``_serve``), started with or without
``wscodec.integrations.install()``, on a listening socket the process made itself.

Adding a server is one decorated coroutine::

    @server("hypercorn", requires=("hypercorn",), title="hypercorn (wsproto)")
    async def _hypercorn(sock):
        ...                       # start serving on ``sock``; return once it accepts

The coroutine starts the server on ``sock`` (bound to 127.0.0.1, listening) and returns once
it accepts connections; the process then runs its event loop until told to stop.  Options:

* ``wscodec=False``: the server has nothing wscodec can patch (a reference such as picows, or
  the raw TCP ceiling): it is measured once per round, not with and without.
* ``deflate=False``: it cannot negotiate permessage-deflate; the compressed cases skip it.
* ``websocket=False``: not a WebSocket server (raw TCP): the client skips the handshake and
  expects its own frames back, byte for byte.
* ``command=f``: a server with its own command line (gunicorn, daphne): ``f(port, with_wscodec)``
  returns the argv to run; it must listen on ``127.0.0.1:port``.  The coroutine is then unused.
"""

import asyncio
import importlib.util

SERVERS = {}


class Server:
    def __init__(self, name, start, *, requires, title, wscodec, deflate, websocket, command):
        self.name = name
        self.start = start
        self.requires = requires
        self.title = title or name
        self.wscodec = wscodec
        self.deflate = deflate
        self.websocket = websocket
        self.command = command

    def missing(self):
        """The required modules that do not import here (empty when the server can run)."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def variants(self):
        """``(False, True)``: without and with wscodec; ``(False,)`` for a reference."""
        return (False, True) if self.wscodec else (False,)


def server(name, *, requires=(), title=None, wscodec=True, deflate=True, websocket=True,
           command=None):
    """Register the decorated ``async def start(sock)`` as server ``name``."""
    def register(start):
        SERVERS[name] = Server(name, start, requires=tuple(requires), title=title,
                               wscodec=wscodec, deflate=deflate, websocket=websocket,
                               command=command)
        return start
    return register


# Keep-alive pings are off where a library sends them by default (websockets, uvicorn): an
# unsolicited ping in the middle of the echo stream is not an echo.
# Every library's limit is raised to the same 16 MiB, so the 1 MiB case fits everywhere
# (websockets' default limit is exactly 1 MiB) and no server refuses what another accepts.
MAX_SIZE = 16 * 1024 * 1024


@server("raw-tcp", title="raw TCP echo (ceiling)", wscodec=False, websocket=False)
async def _raw_tcp(sock):
    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    await asyncio.get_running_loop().create_server(Echo, sock=sock)


@server("websockets", requires=("websockets",))
async def _websockets(sock):
    from websockets.asyncio.server import serve

    async def echo(ws):
        async for message in ws:
            await ws.send(message)

    await serve(echo, sock=sock, max_size=MAX_SIZE, ping_interval=None).__aenter__()


@server("aiohttp", requires=("aiohttp",))
async def _aiohttp(sock):
    from aiohttp import WSMsgType, web

    async def echo(request):
        ws = web.WebSocketResponse(max_msg_size=MAX_SIZE)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()


@server("tornado", requires=("tornado",))
async def _tornado(sock):
    import tornado.httpserver
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def get_compression_options(self):
            return {}           # accept permessage-deflate when offered (off by default)

        def on_message(self, message):
            self.write_message(message, binary=isinstance(message, bytes))

    app = tornado.web.Application([("/", Echo)], websocket_max_message_size=MAX_SIZE)
    tornado.httpserver.HTTPServer(app).add_sockets([sock])


@server("wsproto", requires=("wsproto",), title="wsproto (minimal asyncio server)")
async def _wsproto(sock):
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Message, Ping,
                                Request, TextMessage)
    from wsproto.extensions import PerMessageDeflate

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport
            self.ws = WSConnection(ConnectionType.SERVER)
            self.parts = []

        def data_received(self, data):
            ws = self.ws
            ws.receive_data(data)
            out = []
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    # wsproto hands over what has arrived; the echo is the whole message.
                    self.parts.append(event.data)
                    if event.message_finished:
                        parts, self.parts = self.parts, []
                        data = parts[0] if len(parts) == 1 else (
                            "" if isinstance(event, TextMessage) else b"").join(parts)
                        out.append(ws.send(Message(data=data)))
                elif isinstance(event, Request):
                    out.append(ws.send(AcceptConnection(extensions=[PerMessageDeflate()])))
                elif isinstance(event, Ping):
                    out.append(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    out.append(ws.send(event.response()))
                    self.transport.write(b"".join(out))
                    self.transport.close()
                    return
            if out:
                self.transport.write(b"".join(out))

        def eof_received(self):
            return False

    await asyncio.get_running_loop().create_server(Echo, sock=sock)


@server("picows", requires=("picows",), title="picows (reference, no UTF-8 checks)",
        wscodec=False, deflate=False)
async def _picows(sock):
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):
        def on_ws_frame(self, transport, frame):
            if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
                transport.send(frame.msg_type, frame.get_payload_as_memoryview())
            elif frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    await ws_create_server(lambda request: Echo(), sock=sock, max_frame_size=MAX_SIZE)


_running = []      # tasks of servers that run as a task (kept referenced)


# -- ASGI servers: one echo application, several servers and protocol classes -------------


async def asgi_echo(scope, receive, send):
    """The ASGI echo application every ASGI server entry runs."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        return
    await receive()                                     # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return                                      # websocket.disconnect
        text = message.get("text")
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": message["bytes"]})


def uvicorn_server(name, ws, *, title=None, requires=(), wscodec=True):
    """Register uvicorn with the WebSocket protocol ``ws`` (a name uvicorn knows, or a class
    or ``"module:Class"``), on the asyncio loop and h11, as every other server here runs."""
    @server(name, requires=("uvicorn",) + tuple(requires), title=title or "uvicorn --ws %s" % ws,
            wscodec=wscodec)
    async def start(sock):
        import uvicorn

        config = uvicorn.Config(asgi_echo, ws=ws, loop="none", http="h11", lifespan="off",
                                log_level="warning", access_log=False, ws_max_size=MAX_SIZE,
                                ws_ping_interval=None)
        instance = uvicorn.Server(config)
        _running.append(asyncio.ensure_future(instance.serve(sockets=[sock])))
        while not instance.started:
            if _running[-1].done():
                _running[-1].result()           # raises what stopped it
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
    return start


uvicorn_server("uvicorn-sansio", "websockets-sansio", requires=("websockets",))
uvicorn_server("uvicorn-wsproto", "wsproto", requires=("wsproto",))
# wscodec's own protocol class: nothing for install() to patch, so measured once, beside the
# two above (its speedup is its figure over uvicorn-sansio's, uvicorn's default).
uvicorn_server("uvicorn-wscodec", "wscodec.integrations.uvicorn:WSCodecProtocol",
               title="uvicorn --ws wscodec.integrations.uvicorn:WSCodecProtocol", wscodec=False)
