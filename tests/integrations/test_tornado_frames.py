"""tornado's frame reader with wscodec (``WebSocketProtocol13._receive_frame`` as
``wscodec.integrations.tornado`` replaces it) against tornado's own, on the same bytes.

Each case is a byte stream a client could send: valid messages (text, binary, fragmented,
with pings between fragments, every length form, lengths around the buffer thresholds) and
broken ones (reserved bits, fragmented or oversized control frames, a continuation with
nothing to continue, a new message inside a fragmented one, invalid UTF-8, a message over
``max_message_size``).  The stream arrives over a socket pair whole or split into pieces
of several sizes (so a frame's parts are sometimes buffered, sometimes not); the events a
handler sees (messages, pings, pongs, the close), the bytes the protocol writes back, its
close code and reason, whether it aborted and its byte counters must be the same as with
tornado's reader.  Both twins of the masking function are used.
"""

import asyncio
import os
import random
import socket
import struct

import pytest

from _peers import require
from _twins import KINDS, Twin

tornado = require("tornado", module_level=True)
import tornado.iostream  # noqa: E402
import tornado.websocket  # noqa: E402

from wscodec.integrations import tornado as wscodec_tornado  # noqa: E402

# tornado's own reader, whatever install() did elsewhere in this process.
ORIGINAL = tornado.websocket.WebSocketProtocol13.__dict__["_receive_frame"]
if getattr(ORIGINAL, "__module__", "") == wscodec_tornado.__name__:  # pragma: no cover
    raise RuntimeError("tornado's _receive_frame is already replaced at import")

MAX_SIZE = 300_000


def frame(opcode, payload, fin=True, rsv=0, mask=True, length_form=None):
    n = len(payload)
    b0 = (0x80 if fin else 0) | rsv | opcode
    mbit = 0x80 if mask else 0
    form = length_form or (7 if n < 126 else 16 if n < 65536 else 64)
    if form == 7:
        head = struct.pack("!BB", b0, mbit | n)
    elif form == 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if n < 4096 \
        else head + key + _mask(key, payload)


def _mask(key, data):
    k = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(len(data), "big")


def _cases():
    rng = random.Random(1306)
    text = "héllo wörld, 你好 " * 300
    cases = {
        "small text": frame(1, b"hello"),
        "empty text": frame(1, b""),
        "empty binary": frame(2, b""),
        "125": frame(2, bytes(range(125))),
        "126": frame(2, os.urandom(126)),
        "7-bit form for 0": frame(2, b"", length_form=16),
        "64-bit form for 5": frame(2, b"abcde", length_form=64),
        "chinese text": frame(1, text.encode()),
        "65535": frame(2, os.urandom(65535)),
        "65536": frame(2, os.urandom(65536)),
        "200k": frame(2, os.urandom(200_000)),
        "many": b"".join(frame(rng.choice((1, 2)), os.urandom(0) if i % 7 == 0 else
                               ("x" * rng.randrange(1, 3000)).encode()) for i in range(40)),
        "fragmented": frame(1, b"ab", fin=False) + frame(0, b"cd", fin=False)
        + frame(9, b"ping!") + frame(0, "é".encode()),
        "fragmented big": frame(2, os.urandom(70_000), fin=False) + frame(0, os.urandom(100_000)),
        "ping pong": frame(9, b"p1") + frame(10, b"p2") + frame(9, b"") + frame(1, b"after"),
        "close": frame(1, b"x") + frame(8, struct.pack("!H", 1000) + b"bye"),
        "close empty": frame(8, b""),
        "close 1 byte": frame(8, b"\x03"),
        "unmasked": frame(1, b"not masked", mask=False) + frame(2, os.urandom(70_000), mask=False),
        "rsv2": frame(1, b"x", rsv=0x20),
        "rsv1 without deflate": frame(1, b"x", rsv=0x40),
        "fragmented control": frame(9, b"x", fin=False),
        "control 126": frame(9, b"x" * 126),
        "continuation first": frame(0, b"x"),
        "new message inside": frame(1, b"a", fin=False) + frame(2, b"b"),
        "invalid utf8": frame(1, b"\xff\xfe"),
        "invalid utf8 split": frame(1, "é".encode()[:1], fin=False) + frame(0, b"A"),
        "too big": frame(2, os.urandom(MAX_SIZE + 1)),
        "too big header only": frame(2, b"", length_form=64)[:2] + struct.pack("!Q", 1 << 40),
        "too big fragments": frame(2, os.urandom(200_000), fin=False)
        + frame(0, os.urandom(150_000)),
        "unknown opcode": frame(3, b"x") + frame(1, b"y"),
        "truncated payload": frame(2, os.urandom(100_000))[:50_000],
        "truncated header": frame(2, os.urandom(300))[:3],
    }
    return cases


CASES = _cases()
SPLITS = [None, 1, 7, 1000, 65536 + 13]


class Handler:
    def __init__(self):
        self.events = []

    def on_message(self, message):
        self.events.append(("message", type(message).__name__, message))

    def on_ping(self, data):
        self.events.append(("ping", data))

    def on_pong(self, data):
        self.events.append(("pong", data))

    def on_ws_connection_close(self, code=None, reason=None):
        self.events.append(("connection close", code, reason))

    def log_exception(self, *exc_info):
        self.events.append(("exception", repr(exc_info[1])))


async def _run(receive_frame, data, split):
    a, b = socket.socketpair()
    stream = tornado.iostream.IOStream(a)
    handler = Handler()
    proto = tornado.websocket.WebSocketProtocol13(
        handler, False, tornado.websocket._WebSocketParams(max_message_size=MAX_SIZE)
    )
    proto.stream = stream
    b.setblocking(False)
    loop = asyncio.get_running_loop()

    async def send():
        # At most some 200 pieces: the long cases split at the short sizes would take long.
        step = max(split or len(data), len(data) // 200, 1)
        try:
            for i in range(0, len(data), step):
                await loop.sock_sendall(b, data[i : i + step])
                await asyncio.sleep(0)
            await asyncio.sleep(0.01)
            b.shutdown(socket.SHUT_WR)
        except OSError:  # the reader closed the connection (an abort)
            pass

    sender = asyncio.ensure_future(send())
    error = None
    try:
        while not proto.client_terminated:
            await asyncio.wait_for(receive_frame(proto), 10)
    except tornado.iostream.StreamClosedError:
        error = "stream closed"
    await sender
    await asyncio.sleep(0.01)
    written = b""
    try:
        while True:
            chunk = b.recv(1 << 20)
            if not chunk:
                break
            written += chunk
    except OSError:  # nothing more (BlockingIOError), or the reader reset the connection
        pass
    if proto._waiting is not None:
        stream.io_loop.remove_timeout(proto._waiting)
    stream.close()
    b.close()
    return {
        "events": handler.events,
        "error": error,
        "written": written,
        "close": (proto.close_code, proto.close_reason),
        "terminated": (proto.client_terminated, proto.server_terminated),
        "counters": (proto._wire_bytes_in, proto._message_bytes_in, proto._wire_bytes_out),
        "stream closed": stream.closed(),
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("split", SPLITS, ids=lambda s: "whole" if s is None else "split%d" % s)
@pytest.mark.parametrize("case", list(CASES))
def test_same_as_tornado(kind, split, case):
    replaced = wscodec_tornado._make_receive_frame(Twin(kind).compat.websocket_mask)
    data = CASES[case]
    expected = asyncio.run(_run(ORIGINAL, data, split))
    got = asyncio.run(_run(replaced, data, split))
    assert got == expected
    # The case did something: a message, or the protocol ended the connection.
    assert expected["events"] or expected["terminated"] != (False, False) or expected["error"]


def test_install_replaces_the_reader():
    from wscodec import integrations

    kept = wscodec_tornado.implementation() == "python" and wscodec_tornado.speedups()
    try:
        if kept:
            # Pure twins only, tornado's compiled speedup loaded: nothing is replaced, the
            # reader included (install() reports why with an IntegrationWarning).
            with pytest.warns(integrations.IntegrationWarning):
                assert integrations.install("tornado") == []
            assert tornado.websocket.WebSocketProtocol13.__dict__["_receive_frame"] is ORIGINAL
            return
        assert integrations.install("tornado") == ["tornado"]
        fn = tornado.websocket.WebSocketProtocol13._receive_frame
        assert fn.__module__ == wscodec_tornado.__name__
        assert integrations.verify("tornado") == []
    finally:
        integrations.uninstall("tornado")
    assert tornado.websocket.WebSocketProtocol13.__dict__["_receive_frame"] is ORIGINAL

