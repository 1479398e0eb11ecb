"""A FastAPI app whose WebSockets run on wscodec, served by uvicorn.

    pip install wscodec fastapi "uvicorn[standard]"
    uvicorn fastapi_app:app --app-dir examples --ws wscodec.integrations.uvicorn:WSCodecProtocol

The one flag, ``--ws wscodec.integrations.uvicorn:WSCodecProtocol``, swaps uvicorn's WebSocket
protocol for wscodec's (``uvicorn.run(app, ws=WSCodecProtocol)`` does the same from Python).
The app is plain FastAPI: nothing in it knows about wscodec.  permessage-deflate is
negotiated when the client offers it, as with uvicorn's own classes
(``--ws-per-message-deflate false`` turns it off).

* ``GET /`` serves the demo page (``examples/index.html``): open it in a browser and it runs
  a round trip (Chinese and emoji text, binary, a 70,000-character text, a 200,000-byte
  compressed binary) and a closing handshake against ``/echo``.
* ``/echo`` echoes every text and binary message.

At start-up it prints ``serving on uvicorn (wscodec VERSION, c|python twin)``.
"""

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

import wscodec

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "index.html")


@asynccontextmanager
async def lifespan(app):
    print("serving on uvicorn (wscodec %s, %s twin)" % (wscodec.__version__, wscodec.IMPLEMENTATION), flush=True)
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/")
async def page():
    with open(PAGE, encoding="utf-8") as f:
        return HTMLResponse(f.read())


@app.websocket("/echo")
async def echo(websocket: WebSocket):
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
        return
