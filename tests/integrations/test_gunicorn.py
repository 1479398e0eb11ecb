"""install("gunicorn") against gunicorn's own WebSocketProtocol, differentially.

The same byte streams (valid and hostile, split anywhere) go into a gunicorn
``WebSocketProtocol`` serving an echo application, once as gunicorn ships it and once with
wscodec installed; what the client would see (every byte written back, in order: echoes,
pongs, close frames and their reasons) and what the application sees (its events, the
disconnect code) must be identical, as must the close code and reason gunicorn records.
"""

import asyncio
import logging
import struct
import warnings

import pytest
from _peers import allow_pure_twin, require
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ws = require("gunicorn.asgi.websocket", module_level=True)

from wscodec import _select, integrations  # noqa: E402
from wscodec.integrations import gunicorn as integration  # noqa: E402

KEY = b"\x01\x02\x03\x04"
LOG = logging.getLogger("test_gunicorn")


def mask(payload, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame(opcode, payload=b"", *, fin=True, rsv=0, masked=True, length_form=None, key=KEY):
    """A client frame built by hand (not by wscodec): ``length_form`` 126/127 forces a
    longer length encoding than the payload needs (non-minimal)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    form = length_form or (n if n < 126 else 126 if n < 65536 else 127)
    if form == 126:
        head = bytes([first, (0x80 if masked else 0) | 126]) + struct.pack("!H", n)
    elif form == 127:
        head = bytes([first, (0x80 if masked else 0) | 127]) + struct.pack("!Q", n)
    else:
        head = bytes([first, (0x80 if masked else 0) | n])
    return head + (key + mask(payload, key) if masked else payload)


class Transport:
    def __init__(self):
        self.written = []
        self.closed = False

    def write(self, data):
        assert type(data) is bytes
        self.written.append(data)

    def close(self):
        self.closed = True

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


async def serve(chunks, max_message_size):
    """Run gunicorn's WebSocketProtocol with an echo app over ``chunks`` then EOF."""
    transport = Transport()
    received = []
    scope = {"type": "websocket", "headers": [(b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==")]}

    async def app(scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            received.append(message)
            if message["type"] == "websocket.disconnect":
                return
            if ws_protocol.closed:
                continue
            if message.get("text") is not None:
                await send({"type": "websocket.send", "text": message["text"]})
            else:
                await send({"type": "websocket.send", "bytes": message["bytes"]})

    ws_protocol = ws.WebSocketProtocol(transport, scope, app, LOG,
                                       max_message_size=max_message_size)
    task = asyncio.ensure_future(ws_protocol.run())
    for _ in range(3):
        await asyncio.sleep(0)
    for chunk in chunks:
        ws_protocol.feed_data(chunk)
        for _ in range(3):
            await asyncio.sleep(0)
    ws_protocol.feed_eof()
    await asyncio.wait_for(task, 10)
    return {
        "written": b"".join(transport.written),
        "received": received,
        "close": (ws_protocol.close_code, ws_protocol.close_reason),
        "transport_closed": transport.closed,
    }


def both(chunks, max_message_size=1 << 20):
    """(gunicorn's result, wscodec's result) for the same input."""
    integrations.uninstall("gunicorn")
    theirs = asyncio.run(serve(chunks, max_message_size))
    assert integrations.install("gunicorn") == ["gunicorn"]
    try:
        ours = asyncio.run(serve(chunks, max_message_size))
    finally:
        integrations.uninstall("gunicorn")
    return theirs, ours


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    allow_pure_twin(monkeypatch, "gunicorn")
    integrations.uninstall()
    yield
    integrations.uninstall()


def test_compiled_twin_loaded():
    # The replacements call wscodec's public kernels: compiled unless extensions are off.
    integrations.patches("gunicorn")
    assert integration.implementation() == ("python" if _select.NO_EXTENSIONS else "c")


def test_patches_are_gunicorns_methods_and_uninstall_restores():
    cls = ws.WebSocketProtocol
    before = {n: cls.__dict__[n] for n in ("_read_frame", "_read_frames", "_unmask",
                                             "_send_frame")}
    assert integrations.install("gunicorn") == ["gunicorn"]
    for name, original in before.items():
        assert cls.__dict__[name] is not original
        assert cls.__dict__[name].__module__ == "wscodec.integrations.gunicorn"
    assert integrations.verify("gunicorn") == []
    integrations.uninstall("gunicorn")
    assert {n: cls.__dict__[n] for n in before} == before


CLOSE_1000 = frame(0x8, struct.pack("!H", 1000))

CASES = {
    "text-binary-close": [frame(0x1, "héllo".encode()), frame(0x2, b"\x00\xff" * 100),
                          CLOSE_1000],
    "sizes": [frame(0x2, (bytes(range(256)) * 300)[:n])
              for n in (0, 1, 125, 126, 511, 512, 65535, 65536, 70000)] + [CLOSE_1000],
    "fragments": [frame(0x1, "frag".encode(), fin=False), frame(0x9, b"ping"),
                  frame(0x0, "mént".encode(), fin=False), frame(0x0, b"ed"), CLOSE_1000],
    "ping-pong-close-reason": [frame(0x9, b"x" * 125), frame(0xA, b"ignored"),
                               frame(0x8, struct.pack("!H", 4001) + "bye ✓".encode())],
    "empty-close": [frame(0x8)],
    "no-close-eof": [frame(0x1, b"abc")],
    "eof-mid-header": [frame(0x2, b"x" * 300)[:3]],
    "eof-mid-payload": [frame(0x2, b"x" * 300)[:100]],
    "rsv": [frame(0x1, b"x", rsv=4)],
    "rsv2": [frame(0x1, b"x", rsv=2)],
    "reserved-opcode": [frame(0x3, b"x")],
    "reserved-control-opcode": [frame(0xB, b"x")],
    "unmasked": [frame(0x1, b"x", masked=False)],
    "non-minimal-16": [frame(0x2, b"hello", length_form=126)],
    "non-minimal-64": [frame(0x2, b"hello" * 30, length_form=127)],
    "length-msb": [bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 63) + KEY],
    "interleaved": [frame(0x1, b"he", fin=False), frame(0x1, b"llo")],
    "interleaved-binary": [frame(0x1, b"he", fin=False), frame(0x2, b"llo")],
    "interleaved-binaries": [frame(0x2, b"he", fin=False), frame(0x2, b"llo")],
    "stray-continuation": [frame(0x0, b"x")],
    "fragmented-control": [frame(0x9, b"x", fin=False)],
    "long-control": [frame(0x9, b"x" * 126)],
    "too-big": [frame(0x2, b"x" * 1001)],
    "too-big-across-fragments": [frame(0x2, b"x" * 600, fin=False), frame(0x0, b"x" * 600)],
    "exactly-the-limit": [frame(0x2, b"x" * 1000), CLOSE_1000],
    "stray-continuation-too-big": [frame(0x0, b"x" * 1001)],
    "invalid-utf8": [frame(0x1, b"\xff\xfe"), CLOSE_1000],
    "invalid-utf8-across-fragments": [frame(0x1, b"\xe4", fin=False), frame(0x0, b"ok"),
                                      CLOSE_1000],
    "utf8-split-across-fragments": [frame(0x1, "中".encode()[:2], fin=False),
                                    frame(0x0, "中".encode()[2:]), CLOSE_1000],
    "close-1-byte": [frame(0x8, b"\x03")],
    "close-1005": [frame(0x8, struct.pack("!H", 1005))],
    "close-bad-reason": [frame(0x8, struct.pack("!H", 1000) + b"\xff")],
    "close-bad-code-and-reason": [frame(0x8, struct.pack("!H", 999) + b"\xff")],
    "frames-after-close": [CLOSE_1000, frame(0x1, b"late")],
    "many-small": [frame(0x1, b"m%d" % i) for i in range(200)] + [CLOSE_1000],
}


# Byte by byte only where the stream is short (the rest are split at their frames).
SPLITS = [(name, split) for name in sorted(CASES) for split in ("whole", "frames", "bytes")
          if split != "bytes" or len(b"".join(CASES[name])) < 5000]


@pytest.mark.parametrize("name, split", SPLITS)
def test_same_as_gunicorn(name, split):
    frames = CASES[name]
    stream = b"".join(frames)
    if split == "whole":
        chunks = [stream]
    elif split == "frames":
        chunks = frames
    else:
        chunks = [stream[i:i + 1] for i in range(len(stream))]
    theirs, ours = both(chunks, max_message_size=1000 if "big" in name or "limit" in name
                        else 1 << 20)
    assert ours == theirs
    # The comparison is not vacuous: gunicorn answered something.
    assert theirs["received"][-1]["type"] == "websocket.disconnect"


def test_echoed_bytes_are_right():
    # Independently of gunicorn: the echo of a masked 70000-byte binary frame is the
    # unmasked payload in one unmasked server frame, then the close reply.
    payload = bytes(range(256)) * 273 + b"xyz"
    integrations.install("gunicorn")
    result = asyncio.run(serve([frame(0x2, payload), CLOSE_1000], 1 << 20))
    written = result["written"]
    accept_end = written.index(b"\r\n\r\n") + 4
    assert written[accept_end:] == (b"\x82\x7f" + struct.pack("!Q", len(payload)) + payload
                                    + b"\x88\x02\x03\xe8")
    assert result["received"][0] == {"type": "websocket.receive", "bytes": payload}


def test_unlimited_message_size():
    # max_message_size=0 is gunicorn's "no limit".
    theirs, ours = both([frame(0x2, b"x" * 70000), CLOSE_1000], max_message_size=0)
    assert ours == theirs
    assert ours["received"][0]["bytes"] == b"x" * 70000


def test_unmask_and_read_frame_keep_gunicorns_contract():
    integrations.install("gunicorn")
    protocol = ws.WebSocketProtocol(Transport(), {}, None, LOG)
    assert protocol._unmask(b"", KEY) == b""
    assert protocol._unmask(mask(b"hello world"), KEY) == b"hello world"
    assert type(protocol._unmask(bytearray(mask(b"abc")), KEY)) is bytes

    async def read():
        protocol.feed_data(frame(0x1, b"one") + frame(0x2, b"two")[:4])
        first = await protocol._read_frame()
        pending = asyncio.ensure_future(protocol._read_frame())
        await asyncio.sleep(0)
        assert not pending.done()
        protocol.feed_data(frame(0x2, b"two")[4:])
        return first, await asyncio.wait_for(pending, 1), len(protocol._buffer)

    assert asyncio.run(read()) == ((0x1, b"one"), (0x2, b"two"), 0)


frame_specs = st.tuples(
    st.sampled_from([0, 1, 2, 0, 1, 2, 3, 8, 9, 10, 11]),
    st.one_of(st.binary(max_size=20), st.text(max_size=10).map(str.encode),
              st.binary(min_size=120, max_size=300)),
    st.booleans(),
    st.sampled_from([0, 0, 0, 0, 0, 1, 4]),
    st.sampled_from([True] * 8 + [False]),
    st.sampled_from([None] * 6 + [126, 127]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame_specs, max_size=8), st.lists(st.integers(1, 400), max_size=6),
       st.sampled_from([0, 200, 1 << 20]))
def test_same_as_gunicorn_on_any_stream(specs, cuts, max_message_size):
    stream = b"".join(frame(op, payload, fin=fin, rsv=rsv, masked=masked, length_form=form)
                      for op, payload, fin, rsv, masked, form in specs)
    chunks, at = [], 0
    for cut in cuts:
        chunks.append(stream[at:at + cut])
        at += cut
    chunks.append(stream[at:])
    theirs, ours = both([c for c in chunks if c], max_message_size)
    assert ours == theirs


def test_a_changed_gunicorn_is_not_patched(monkeypatch):
    # The replacements rely on gunicorn's instance state; without it nothing is patched.
    original_init = ws.WebSocketProtocol.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        del self._wanted

    monkeypatch.setattr(ws.WebSocketProtocol, "__init__", init)
    monkeypatch.setattr(integration, "_built", {})
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert "gunicorn" not in integrations.install()
    said = [str(w.message) for w in record if "gunicorn not installed" in str(w.message)]
    assert len(said) == 1 and "_wanted" in said[0], said
    assert all(issubclass(w.category, integrations.IntegrationWarning) for w in record)
    with pytest.raises(AttributeError, match="_wanted"):
        integrations.install("gunicorn")
    assert "_read_frame" in ws.WebSocketProtocol.__dict__
    assert ws.WebSocketProtocol._read_frame.__module__ == "gunicorn.asgi.websocket"
