"""wscodec's compiled aiohttp reader and queue against aiohttp's own, differentially.

The same frame streams (valid and hostile, compressed and not, split anywhere, with the
queue drained at random moments and a small queue limit so that parsing stalls) go into
wscodec's ``WebSocketReader``/``WebSocketDataQueue`` and into aiohttp's pure-Python and
compiled pairs.  Everything observable must match: ``feed_data`` results, queued messages
and their sizes, the queue's byte count, pause/resume calls on the protocol, and the error
(type, text, close code, cause) put on the queue.
"""

import contextlib
import struct
import zlib

import pytest
from _peers import have, require
from _raw_frames import raw_frame, split
from hypothesis import given, settings
from hypothesis import strategies as st

aiohttp = require("aiohttp", module_level=True)

from aiohttp._websocket import reader_py  # noqa: E402
from aiohttp._websocket.models import WebSocketError, WSMsgType  # noqa: E402
from aiohttp.streams import EofStream  # noqa: E402

from wscodec import _select  # noqa: E402

pytestmark = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twins are off")

try:
    from aiohttp._websocket import reader_c
except ImportError:  # aiohttp installed without its extensions
    reader_c = None


# aiohttp's zlib backends: the stdlib, and the alternatives it supports where installed
# (.ci/integrations.sh installs them).  The reader decompresses through whichever is set.
BACKENDS = ["zlib"] + [name for name in ("isal.isal_zlib", "zlib_ng.zlib_ng") if have(name)]


@contextlib.contextmanager
def zlib_backend(name):
    import importlib

    from aiohttp import compression_utils

    saved = compression_utils.ZLibBackend._zlib_backend
    compression_utils.set_zlib_backend(importlib.import_module(name))
    try:
        yield
    finally:
        compression_utils.set_zlib_backend(saved)


@pytest.fixture(scope="module")
def ours():
    from wscodec.integrations import _aiohttp_c

    return _aiohttp_c


class Protocol:
    """The transport side of the flow control: records pause/resume calls."""

    def __init__(self):
        self._reading_paused = False
        self.calls = []

    def pause_reading(self):
        self._reading_paused = True
        self.calls.append("pause")

    def resume_reading(self):
        self._reading_paused = False
        self.calls.append("resume")


def deflated(data):
    """``data`` as one permessage-deflate message body (RFC 7692 §7.2.1: sync flush, the
    trailing 00 00 FF FF removed)."""
    c = zlib.compressobj(wbits=-15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def normal(value):
    # aiohttp hands masked control payloads over as bytearray, unmasked ones as bytes;
    # wscodec always as bytes.  The values must be equal.
    return bytes(value) if isinstance(value, (bytes, bytearray)) else value


def describe(exc):
    if exc is None:
        return None
    return (
        type(exc).__name__,
        str(exc),
        getattr(exc, "code", None),
        type(exc.__cause__).__name__ if exc.__cause__ is not None else None,
    )


def take(queue):
    """One ``await queue.read()`` on a queue known not to wait (non-empty or at EOF)."""
    coro = queue.read()
    try:
        coro.send(None)
    except StopIteration as stop:
        return ("msg", type(stop.value).__name__, tuple(normal(v) for v in stop.value))
    except (EofStream, WebSocketError, Exception) as exc:  # noqa: B014
        return ("raised", describe(exc))
    raise AssertionError("read() waited on a non-empty queue")


def run(pair, chunks, drains, *, limit, max_msg_size, compress, decode_text):
    Queue, Reader = pair
    proto = Protocol()
    queue = Queue(proto, limit, loop=None)
    reader = Reader(queue, max_msg_size, compress=compress, decode_text=decode_text)
    log = []
    for chunk, drain in zip(chunks, drains):
        result = reader.feed_data(chunk)
        log.append(("fed", result[0], bytes(result[1])))
        for _ in range(drain):
            if not queue._buffer and not queue.is_eof():
                break
            log.append(take(queue))
        log.append(("state", queue._size, len(queue._buffer), list(proto.calls),
                    describe(queue.exception())))
    # Drain everything left, then the end of the stream.
    reader.feed_eof()
    for _ in range(len(queue._buffer) + 1):
        log.append(take(queue))
    log.append(("end", queue._size, list(proto.calls)))
    return log


payloads = st.one_of(
    st.text(max_size=60).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.binary(min_size=126, max_size=400),
    st.integers(0, 300).map(lambda n: b"x" * n),
)

frame_specs = st.tuples(
    # Mostly valid opcodes, some reserved ones.
    st.sampled_from([0, 0, 1, 1, 2, 2, 8, 9, 10, 3, 11]),
    st.booleans(),                                      # fin
    st.sampled_from([0, 0, 0, 4, 2, 1]),                # rsv bits
    st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
    payloads,
    st.booleans(),                                      # deflate the payload
    st.sampled_from([None, None, None, 1, 2]),          # length encoding (non-minimal too)
)

close_payloads = st.one_of(
    st.just(b""),
    st.binary(min_size=1, max_size=1),
    st.tuples(st.sampled_from([1000, 1001, 1002, 1005, 1006, 1011, 1015, 999, 2999, 3000,
                               4999, 5000, 65535]),
              st.text(max_size=20)).map(
        lambda t: struct.pack("!H", t[0]) + t[1].encode("utf-8", "surrogatepass")),
    st.binary(min_size=2, max_size=30),
)


def frames_of(item):
    kind = item[0]
    if kind == "message":
        _, opcode, parts, mask, deflate = item
        body = b"".join(parts)
        if deflate:
            # Compress the whole message, then cut it where the fragments were cut
            # (RFC 7692 §6.1: RSV1 on the first frame only).
            whole = deflated(body)
            sizes = [len(p) for p in parts]
            parts, at = [], 0
            for i, n in enumerate(sizes):
                end = len(whole) if i == len(sizes) - 1 else min(len(whole), at + n)
                parts.append(whole[at:end])
                at = end
        out = b""
        for i, part in enumerate(parts):
            out += raw_frame(opcode if i == 0 else 0, part, fin=i == len(parts) - 1,
                             rsv=4 if deflate and i == 0 else 0, mask=mask)
        return out
    if kind == "control":
        _, opcode, payload, mask = item
        return raw_frame(opcode, payload, mask=mask)
    opcode, fin, rsv, mask, payload, deflate, form = item[1]
    if deflate:
        payload = deflated(payload)
    return raw_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask, length_form=form)


masks = st.one_of(st.none(), st.binary(min_size=4, max_size=4))
items = st.one_of(
    st.tuples(st.just("message"), st.sampled_from([1, 2]),
              st.lists(payloads, min_size=1, max_size=3), masks, st.booleans()),
    st.tuples(st.just("message"), st.sampled_from([1, 2]),
              st.lists(payloads, min_size=1, max_size=3), masks, st.booleans()),
    st.tuples(st.just("control"), st.sampled_from([9, 10]), st.binary(max_size=125), masks),
    st.tuples(st.just("hostile"), frame_specs),
)


def build(items, closing):
    out = b"".join(frames_of(item) for item in items)
    if closing is not None:
        out += raw_frame(8, closing[0], mask=closing[1])
    return out


def pairs(ours):
    out = [("python", (reader_py.WebSocketDataQueue, reader_py.WebSocketReader))]
    if reader_c is not None:
        out.append(("compiled", (reader_c.WebSocketDataQueue, reader_c.WebSocketReader)))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=200, deadline=None)
@given(
    specs=st.lists(items, max_size=6),
    closing=st.one_of(st.none(), st.tuples(close_payloads,
                                           st.one_of(st.none(), st.just(b"\x01\x02\x03\x04")))),
    cuts=st.lists(st.integers(0, 5000), max_size=8),
    drains=st.lists(st.integers(0, 3), min_size=20, max_size=20),
    limit=st.sampled_from([1, 64, 300, 2 ** 16]),
    max_msg_size=st.sampled_from([0, 0, 1, 50, 126, 200, 4 * 2 ** 20]),
    compress=st.booleans(),
    decode_text=st.booleans(),
)
def test_same_as_aiohttp(ours, backend, specs, closing, cuts, drains, limit, max_msg_size,
                         compress, decode_text):
    with zlib_backend(backend):
        same_as_aiohttp(ours, specs, closing, cuts, drains, limit, max_msg_size, compress,
                        decode_text)


def same_as_aiohttp(ours, specs, closing, cuts, drains, limit, max_msg_size, compress,
                    decode_text):
    data = build(specs, closing)
    chunks = split(data, cuts)
    drains = (drains * (len(chunks) // len(drains) + 1))[: len(chunks)]
    kwargs = dict(limit=limit, max_msg_size=max_msg_size, compress=compress,
                  decode_text=decode_text)
    got = run((ours.WebSocketDataQueue, ours.WebSocketReader), chunks, drains, **kwargs)
    for name, pair in pairs(ours):
        assert got == run(pair, chunks, drains, **kwargs), name
    # Our reader on aiohttp's pure-Python queue behaves the same too, and so does it on
    # aiohttp's compiled queue (which it hands to aiohttp's reader).
    assert got == run((reader_py.WebSocketDataQueue, ours.WebSocketReader), chunks, drains,
                      **kwargs)
    if reader_c is not None:
        assert got == run((reader_c.WebSocketDataQueue, ours.WebSocketReader), chunks,
                          drains, **kwargs)


@settings(max_examples=40, deadline=None)
@given(
    size=st.sampled_from([126, 65535, 65536, 200_000, 1 << 20]),
    mask=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
    cuts=st.lists(st.integers(0, 2 << 20), max_size=12),
    opcode=st.sampled_from([1, 2]),
)
def test_large_frames_split_anywhere(ours, size, mask, cuts, opcode):
    """Frames spanning many reads (the gathering path), unmasked at every phase."""
    payload = (b"0123456789abcdef\xc3\xa9" * (size // 18 + 1))[:size]
    if opcode == 1:
        payload = payload.decode("utf-8", "ignore").encode()
    data = raw_frame(opcode, payload, mask=mask) + raw_frame(2, b"tail", mask=mask)
    chunks = split(data, cuts)
    drains = [1] * len(chunks)
    kwargs = dict(limit=2 ** 16, max_msg_size=0, compress=False, decode_text=True)
    got = run((ours.WebSocketDataQueue, ours.WebSocketReader), chunks, drains, **kwargs)
    assert got == run((reader_py.WebSocketDataQueue, reader_py.WebSocketReader), chunks,
                      drains, **kwargs)
    messages = [entry for entry in got if entry[0] == "msg"]
    expected = payload.decode() if opcode == 1 else payload
    assert messages[0][2] == (WSMsgType(opcode), expected, "")


def test_every_split_of_a_masked_text_frame(ours):
    payload = "héllo wörld, ".encode() * 11
    data = raw_frame(1, payload, mask=b"\x9a\x0b\x3c\x7d") + raw_frame(8, b"\x03\xe8bye")
    for cut in range(len(data) + 1):
        for cut2 in (cut, min(len(data), cut + 3)):
            chunks = split(data, [cut, cut2])
            kwargs = dict(limit=2 ** 16, max_msg_size=0, compress=False, decode_text=True)
            got = run((ours.WebSocketDataQueue, ours.WebSocketReader), chunks,
                      [0] * len(chunks), **kwargs)
            assert got == run((reader_py.WebSocketDataQueue, reader_py.WebSocketReader),
                              chunks, [0] * len(chunks), **kwargs)
            assert ("msg", "WSMessage", (WSMsgType.TEXT, payload.decode(), "")) in got
            assert ("msg", "WSMessage", (WSMsgType.CLOSE, 1000, "bye")) in got


def test_huge_declared_length_allocates_nothing_up_front(ours):
    """A header claiming 2**62 bytes (no size limit) buffers only what arrives."""
    import tracemalloc

    queue = ours.WebSocketDataQueue(Protocol(), 2 ** 16, loop=None)
    reader = ours.WebSocketReader(queue, 0, compress=False, decode_text=True)
    tracemalloc.start()
    try:
        assert reader.feed_data(b"\x82\x7f" + struct.pack("!Q", 2 ** 62) + b"a" * 1000) == (
            False, b"")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    # Past Py_ssize_t: aiohttp's "message too big" with its text.
    queue = ours.WebSocketDataQueue(Protocol(), 2 ** 16, loop=None)
    reader = ours.WebSocketReader(queue, 0, compress=False, decode_text=True)
    assert reader.feed_data(b"\x82\x7f" + b"\xff" * 8) == (True, b"")
    exc = queue.exception()
    assert isinstance(exc, WebSocketError) and exc.code == 1009
    assert str(exc) == "Message size %d exceeds limit %d" % (2 ** 64 - 1, 2 ** 63 - 1)


def test_constructor_arguments(ours):
    queue = ours.WebSocketDataQueue(Protocol(), 10, loop=None)
    with pytest.raises(ValueError):
        ours.WebSocketReader(queue, -1, compress=False, decode_text=True)
    with pytest.raises(TypeError):
        ours.WebSocketReader(queue, None, compress=False, decode_text=True)
    # Non-bytes data (proactor loops pass bytearray) is accepted as bytes.
    reader = ours.WebSocketReader(queue, 0, compress=False, decode_text=False)
    assert reader.feed_data(bytearray(b"\x81\x02hi")) == (False, b"")
    msg = take(queue)
    assert msg == ("msg", "WSMessageTextBytes", (WSMsgType.TEXT, b"hi", ""))


def test_reentrant_feed_is_refused(ours):
    """A feed_data() while another one runs (a reader shared between threads) is refused
    with RuntimeError, which ends the stream like any reader failure."""

    class Reentrant(ours.WebSocketDataQueue):
        def feed_data(self, data, size):
            super().feed_data(data, size)
            with pytest.raises(RuntimeError, match="already running"):
                self.reader.feed_data(b"\x81\x00")
            self.refused = True

    queue = Reentrant(Protocol(), 2 ** 16, loop=None)
    queue.reader = ours.WebSocketReader(queue, 0, compress=False, decode_text=True)
    assert queue.reader.feed_data(b"\x81\x02hi") == (False, b"")
    assert queue.refused
    assert take(queue) == ("msg", "WSMessage", (WSMsgType.TEXT, "hi", ""))


@pytest.mark.parametrize("collected", [False, True])
def test_stalled_reader_resumes_or_reports_its_loss(ours, collected):
    """Over the high-water mark the reader parks the rest of a read; draining the queue
    resumes it, and a reader collected meanwhile is reported after the queued messages, as
    aiohttp's pure-Python pair does."""
    import gc

    def scenario(Queue, Reader):
        proto = Protocol()
        queue = Queue(proto, 1, loop=None)
        reader = Reader(queue, 0, compress=False, decode_text=True)
        assert reader.feed_data(b"\x82\x01x" * 6) == (False, b"")
        log = [("state", queue._size, len(queue._buffer), list(proto.calls),
                queue._stalled_reader is not None)]
        if collected:
            del reader
            gc.collect()
        for _ in range(8):
            log.append(take(queue))
        log.append(("end", queue._size, list(proto.calls)))
        return log

    got = scenario(ours.WebSocketDataQueue, ours.WebSocketReader)
    assert got[0][-1] is True  # it did stall
    assert got == scenario(reader_py.WebSocketDataQueue, reader_py.WebSocketReader)
    messages = [entry for entry in got if entry[0] == "msg"]
    assert len(messages) == (1 if collected else 6)
