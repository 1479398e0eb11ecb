"""The named tuples the compiled integrations build in C are ordinary instances of the host
library's classes: equal to, and hashing like, the same values built the pure way.

wscodec builds wsproto's ``Frame`` and aiohttp's ``WSMessage`` / ``WSMessageTextBytes``
without their Python-level ``__new__`` (``wscodec/integrations/_tuples.pxd``).  CPython 3.14
caches a tuple's hash inside the object and expects "not computed yet" (-1) there after
allocation; a tuple left with the allocator's zero hashes as 0 whatever it holds, so it
compares equal to the pure one but is a different dict key.  Every kind of frame and message
each integration creates is checked here, on every CPython the tests run on.
"""

import copy
import gc
import pickle
import struct
import zlib

import pytest
from _peers import require
from _raw_frames import raw_frame

from wscodec import _select

pytestmark = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twins are off")

KEY = b"\x37\xfa\x21\x3d"


def check_like_pure(obj, cls):
    """``obj`` (built by wscodec) behaves as ``cls(*obj)`` (built by the NamedTuple's own
    constructor) does: type, equality, hash, dict and set membership, copies."""
    pure = cls(*obj)
    assert type(obj) is cls
    assert obj == pure and obj == tuple(obj) and not obj != pure
    # The hash of the items, not whatever the allocator left in the object.
    assert hash(obj) == hash(pure) == hash(tuple(obj))
    assert hash(obj) == hash(obj)     # the cached hash, once computed, is the same
    assert {pure: "found"}[obj] == "found" and obj in {pure}
    assert repr(obj) == repr(pure)
    assert obj._asdict() == pure._asdict()
    assert copy.copy(obj) == pure and pickle.loads(pickle.dumps(obj)) == pure
    # Tracked by the garbage collector, as tuple.__new__ leaves a subclass instance.
    assert gc.is_tracked(obj) == gc.is_tracked(pure)


# == wsproto ===============================================================================

def wsproto_frames(proto_cls, client, chunks):
    proto = proto_cls(client, [])
    out = []
    for chunk in chunks:
        proto.receive_bytes(chunk)
        out.extend(proto.received_frames())
    return out


def wsproto_streams():
    """``(name, client, chunks)``: one stream per path of ``_wsproto_c`` that builds a Frame."""
    m = KEY
    text = "κόσμε wörld".encode()
    yield "binary", False, [raw_frame(2, b"\x00\x01binary", mask=m)]
    yield "empty binary", False, [raw_frame(2, b"", mask=m)]
    yield "text in one frame", False, [raw_frame(1, text, mask=m)]
    yield "text in fragments", False, [raw_frame(1, text[:3], fin=False, mask=m),
                                       raw_frame(0, text[3:], mask=m)]
    yield "binary in fragments", False, [raw_frame(2, b"ab", fin=False, mask=m),
                                         raw_frame(0, b"cd", mask=m)]
    # A frame whose payload arrives in two reads: two partial frames (frame_finished False).
    frame = raw_frame(2, bytes(range(200)), mask=m)
    yield "binary split across reads", False, [frame[:50], frame[50:]]
    frame = raw_frame(1, text * 10, mask=m)
    yield "text split across reads", False, [frame[:40], frame[40:]]
    yield "ping", False, [raw_frame(9, b"ping", mask=m)]
    yield "pong", False, [raw_frame(10, b"", mask=m)]
    yield "close with code", False, [raw_frame(8, struct.pack("!H", 1001) + b"bye", mask=m)]
    yield "close with a private code", False, [raw_frame(8, struct.pack("!H", 4000), mask=m)]
    yield "close without code", False, [raw_frame(8, b"", mask=m)]
    yield "client: unmasked binary", True, [raw_frame(2, b"server says")]


@pytest.mark.parametrize("name, client, chunks", list(wsproto_streams()),
                         ids=[s[0] for s in wsproto_streams()])
def test_wsproto_frames_are_plain_frames(name, client, chunks):
    require("wsproto")
    from wsproto.frame_protocol import Frame, FrameProtocol

    from wscodec.integrations._wsproto_c import FrameProtocol as Fast

    ours = wsproto_frames(Fast, client, chunks)
    theirs = wsproto_frames(FrameProtocol, client, chunks)
    assert ours and ours == theirs
    for frame, reference in zip(ours, theirs):
        check_like_pure(frame, Frame)
        # And like the frame wsproto's own FrameProtocol built from the same bytes (wsproto
        # before 1.3 hands some payloads out as a bytearray, which has no hash).
        if not any(isinstance(item, bytearray) for item in reference):
            assert hash(frame) == hash(reference)


# == aiohttp ===============================================================================

class Protocol:
    _reading_paused = False

    def pause_reading(self):
        self._reading_paused = True

    def resume_reading(self):
        self._reading_paused = False


def deflated(data):
    c = zlib.compressobj(wbits=-15)
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]   # RFC 7692 §7.2.1


def aiohttp_messages(pair, stream, *, compress=False, decode_text=True):
    Queue, Reader = pair
    queue = Queue(Protocol(), 2 ** 16, loop=None)
    reader = Reader(queue, 0, compress=compress, decode_text=decode_text)
    assert reader.feed_data(stream) == (False, b"")
    out = []
    while queue._buffer:
        coro = queue.read()
        try:
            coro.send(None)
        except StopIteration as stop:
            out.append(stop.value)
    return out


def aiohttp_streams():
    """``(name, stream, options)``: one stream per path of ``_aiohttp_c`` that builds a
    message, masked and not."""
    text = "κόσμε wörld".encode()
    for m in (KEY, None):
        kind = "masked" if m else "unmasked"
        yield kind + " text", raw_frame(1, text, mask=m), {}
        yield kind + " text as bytes", raw_frame(1, text, mask=m), {"decode_text": False}
        yield kind + " text in fragments", (raw_frame(1, text[:3], fin=False, mask=m)
                                            + raw_frame(0, text[3:], mask=m)), {}
        yield kind + " binary", raw_frame(2, b"\x00binary", mask=m), {}
        yield kind + " compressed binary", raw_frame(2, deflated(b"z" * 300), rsv=4,
                                                     mask=m), {"compress": True}
        yield kind + " ping", raw_frame(9, b"ping", mask=m), {}
        yield kind + " pong", raw_frame(10, b"", mask=m), {}
        yield kind + " close with code", raw_frame(8, struct.pack("!H", 1000) + b"bye",
                                                   mask=m), {}
        yield kind + " close without code", raw_frame(8, b"", mask=m), {}


def normal(msg):
    # aiohttp's own reader hands masked control payloads over as bytearray; wscodec's as bytes.
    return tuple(bytes(v) if isinstance(v, bytearray) else v for v in msg)


@pytest.mark.parametrize("name, stream, options", list(aiohttp_streams()),
                         ids=[s[0] for s in aiohttp_streams()])
def test_aiohttp_messages_are_plain_messages(name, stream, options):
    require("aiohttp")
    from aiohttp._websocket import reader_py

    from wscodec.integrations import _aiohttp_c

    ours = aiohttp_messages((_aiohttp_c.WebSocketDataQueue, _aiohttp_c.WebSocketReader),
                            stream, **options)
    theirs = aiohttp_messages((reader_py.WebSocketDataQueue, reader_py.WebSocketReader),
                              stream, **options)
    assert ours and [normal(m) for m in ours] == [normal(m) for m in theirs]
    for msg, reference in zip(ours, theirs):
        assert type(msg) is type(reference)
        check_like_pure(msg, type(reference))
