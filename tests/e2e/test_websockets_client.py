"""The websockets library's client against the example echo server, with and without
permessage-deflate: echoes, fragmented messages, ping/pong and the closing handshake."""

import asyncio
import random

import pytest


@pytest.fixture
def websockets_client(missing):
    try:
        from websockets.asyncio.client import connect
    except ImportError:
        missing("the websockets package is not installed")
    return connect


def _messages():
    rng = random.Random(6455)
    return [
        "",
        "héllo wörld",
        "你好，世界 😀🎉",
        b"",
        bytes(range(256)),
        "".join(chr(rng.choice([0x41, 0x3B1, 0x4E2D, 0x1F600]) + rng.randrange(20)) for _ in range(40000)),
        rng.randbytes(300_000),  # incompressible: deflate output larger than the input
        b"abc" * 100_000,  # very compressible
    ]


@pytest.mark.parametrize("compression", ["deflate", None], ids=["deflate", "no-compression"])
def test_echo_ping_close(websockets_client, echo_server, compression):
    async def main():
        async with websockets_client(
            echo_server.ws_url + "any/path?x=1",
            compression=compression,
            max_size=None,
            proxy=None,
            ping_interval=None,
        ) as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
            if compression:
                assert extensions is not None and extensions.startswith("permessage-deflate")
            else:
                assert extensions is None
            assert ws.response.headers["Server"].startswith("wscodec-echo/")

            for message in _messages():
                await ws.send(message)
                echo = await asyncio.wait_for(ws.recv(), 10)
                assert type(echo) is type(message)
                assert echo == message

            # A fragmented message comes back whole (RFC 6455 §5.4).
            await ws.send(["frag", "mented ", "✓"])
            assert await asyncio.wait_for(ws.recv(), 10) == "fragmented ✓"
            await ws.send([b"\x00" * 70_000, b"\x01", b""])
            assert await asyncio.wait_for(ws.recv(), 10) == b"\x00" * 70_000 + b"\x01"

            # §5.5.2-§5.5.3: each ping is answered with a pong carrying the same data
            # (websockets resolves the waiter only for a pong whose payload matches).
            for payload in (b"", b"ping-1", bytes(range(125))):
                pong = await ws.ping(payload)
                await asyncio.wait_for(pong, 10)

            # Pings interleaved with a fragmented message (§5.4: control frames may be
            # injected in the middle of a fragmented message).
            waiter = await ws.ping(b"mid")
            await ws.send(["a" * 1000, "b" * 1000])
            await asyncio.wait_for(waiter, 10)
            assert await asyncio.wait_for(ws.recv(), 10) == "a" * 1000 + "b" * 1000

            await ws.close(4321, "bye ✓")
        # §5.5.1: the server echoed our status code and reason.
        assert ws.close_code == 4321
        assert ws.close_reason == "bye ✓"

    asyncio.run(main())


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4999])
def test_close_codes_are_echoed(websockets_client, echo_server, code):
    async def main():
        async with websockets_client(echo_server.ws_url, proxy=None, ping_interval=None) as ws:
            await ws.send("last")
            assert await ws.recv() == "last"
            await ws.close(code, "")
        assert ws.close_code == code
        assert ws.close_reason == ""

    asyncio.run(main())
