"""A Starlette WebSocket echo app, served by uvicorn on wscodec's protocol class.

    pip install wscodec starlette "uvicorn[standard]"
    uvicorn starlette_echo:app --app-dir examples --ws wscodec.integrations.uvicorn:WSCodecProtocol

Every path is a WebSocket endpoint that echoes text and binary messages.  This is the app the
Autobahn|Testsuite run serves through uvicorn (``tests/e2e/autobahn_run.py --server
uvicorn``); messages may be up to uvicorn's ``--ws-max-size`` (16 MiB by default), which is
what the suite's section 9 sends.  At start-up it prints ``serving on uvicorn (wscodec VERSION,
c|python twin)``.
"""

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect

import wscodec


async def echo(websocket):
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:
                await websocket.send_bytes(message["bytes"])
    except WebSocketDisconnect:
        # The peer closed (or the connection failed) before the echo went out.
        return


@asynccontextmanager
async def lifespan(app):
    print("serving on uvicorn (wscodec %s, %s twin, deflate %s)"
          % (wscodec.__version__, wscodec.IMPLEMENTATION, wscodec.DEFLATE_BACKEND), flush=True)
    yield


app = Starlette(routes=[WebSocketRoute("/{path:path}", echo)], lifespan=lifespan)
