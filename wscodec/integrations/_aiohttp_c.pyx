# A compiled stand-in for aiohttp's WebSocket reader (aiohttp._websocket.reader): a
# ``WebSocketReader`` with aiohttp's constructor, ``feed_data``/``feed_eof`` contract,
# messages (``WSMessage`` / ``WSMessageTextBytes``), errors (``WebSocketError`` with
# aiohttp's close codes and texts) and size limits, and the ``WebSocketDataQueue`` it feeds,
# with aiohttp's flow control (pause/resume of the transport, a stalled parse resumed when
# the queue drains).  aiohttp's own classes are the reference (``wscodec.integrations._aiohttp_py``
# re-exports them): the tests run aiohttp's suite and differential checks against them.
#
# aiohttp's compiled reader cimports its own masking kernel, so only a whole reader can
# replace it.  What makes this one faster: a frame whose payload is all in one read is
# unmasked while it is copied out of the read (one pass, SIMD kernel, straight into the
# ``bytes`` that goes into the message) instead of slice -> bytearray -> mask -> bytes; a
# frame that spans reads is unmasked into one growing buffer instead of a list of slices
# joined, copied and masked at the end; messages are built without tuple.__new__'s
# argument parsing; the queue is fed through a C call.
#
# The queue and the reader go together: aiohttp binds both names side by side in
# aiohttp.web_ws and aiohttp.client, and wscodec binds both (a reader also works on any
# queue with aiohttp's Python-level interface, e.g. aiohttp's pure-Python queue).

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyTypeObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memcpy

from wscodec._mask_c cimport MASK_NOGIL_THRESHOLD, mask_copy
from wscodec.integrations._tuples cimport named_tuple3, named_tuple_type


cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

import asyncio
import weakref
from collections import deque

from aiohttp._websocket.models import (
    WS_DEFLATE_TRAILING,
    WebSocketError,
    WSCloseCode,
    WSMessage,
    WSMessageTextBytes,
    WSMsgType,
)
# aiohttp's constants, so the accounting and the log text follow the installed aiohttp.
from aiohttp._websocket.reader_py import MSG_SIZE_OVERHEAD, STALLED_READER_COLLECTED
from aiohttp.compression_utils import TooManyMembersError, ZLibDecompressor
from aiohttp.helpers import _EXC_SENTINEL, set_exception as _set_exception
from aiohttp.log import ws_logger
from aiohttp.streams import EofStream

try:
    from aiohttp._websocket import reader_c as _aiohttp_reader_c
except ImportError:  # aiohttp without its compiled extensions
    _aiohttp_reader_c = None

__all__ = ["WebSocketDataQueue", "WebSocketReader"]

cdef enum:
    # Parser states.
    READ_HEADER = 1
    READ_PAYLOAD_LENGTH = 2
    READ_PAYLOAD_MASK = 3
    READ_PAYLOAD = 4
    # Opcodes (RFC 6455 §5.2); OP_NOT_SET: no fragmented message under way.
    OP_NOT_SET = -1
    OP_CONTINUATION = 0
    OP_TEXT = 1
    OP_BINARY = 2
    OP_CLOSE = 8
    OP_PING = 9
    OP_PONG = 10
    # Whether the message under way is compressed (RFC 7692 §6: RSV1 of its first frame).
    COMPRESSED_NOT_SET = -1
    COMPRESSED_FALSE = 0
    COMPRESSED_TRUE = 1
    # A frame that spans reads is gathered in a buffer that grows with what arrives (at
    # least this much at a time), never to the declared length up front: a header alone
    # must not make the reader allocate (with max_msg_size=0 nothing else bounds it).
    MIN_GROWTH = 65536

cdef Py_ssize_t _MSG_SIZE_OVERHEAD = MSG_SIZE_OVERHEAD
cdef frozenset _ALLOWED_CLOSE_CODES = frozenset(int(code) for code in WSCloseCode)
cdef object _PROTOCOL_ERROR = WSCloseCode.PROTOCOL_ERROR
cdef object _MESSAGE_TOO_BIG = WSCloseCode.MESSAGE_TOO_BIG
cdef object _INVALID_TEXT = WSCloseCode.INVALID_TEXT
cdef object _TEXT = WSMsgType.TEXT
cdef object _BINARY = WSMsgType.BINARY
cdef object _CLOSE = WSMsgType.CLOSE
cdef object _PING = WSMsgType.PING
cdef object _PONG = WSMsgType.PONG
cdef bytes _DEFLATE_TRAILING = WS_DEFLATE_TRAILING
cdef tuple _FED = (False, b"")
cdef tuple _FAILED = (True, b"")
cdef object _EXC_SENTINEL_ = _EXC_SENTINEL

cdef PyTypeObject *_MESSAGE_TYPE = named_tuple_type(WSMessage, 3)
cdef PyTypeObject *_TEXT_BYTES_TYPE = named_tuple_type(WSMessageTextBytes, 3)


cdef inline bytes _unmasked(const unsigned char *src, Py_ssize_t n, bint masked,
                            const unsigned char *key):
    """A new ``bytes`` holding ``src[:n]``, unmasked with ``key`` when ``masked``."""
    # hot: begin aiohttp unmask
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)  # hot: allow (the frame's payload object)
    cdef unsigned char *dst = <unsigned char *>PyBytes_AS_STRING(out)  # hot: allow (macro: the object's data pointer)
    if masked:
        if n >= MASK_NOGIL_THRESHOLD:
            # Long payloads: other threads run meanwhile (both buffers are ours alone).
            with nogil:  # hot: allow (the GIL is released once a frame, from 256 KiB on)
                mask_copy(dst, src, n, key, 0)
        else:
            mask_copy(dst, src, n, key, 0)
    elif n:
        memcpy(dst, src, n)
    # hot: end
    return out


cdef int _header_error(unsigned char b0, unsigned char b1, bint compress) except -1:
    """The error for the first two bytes of a frame that ``_check_header`` refused, the
    first rule broken in aiohttp's order."""
    cdef int opcode = b0 & 0xF
    # RSV bits must be 0 unless an extension gives them a meaning; RSV1 is
    # permessage-deflate's "compressed" bit (RFC 6455 §5.2, RFC 7692 §6).
    if (b0 & 0x30) or ((b0 & 0x40) and not compress):
        raise WebSocketError(_PROTOCOL_ERROR, "Received frame with non-zero reserved bits")
    if not (opcode <= OP_BINARY or OP_CLOSE <= opcode <= OP_PONG):
        raise WebSocketError(_PROTOCOL_ERROR, "Unexpected opcode=%d" % opcode)
    # Control frames are never fragmented and carry at most 125 bytes (§5.5).
    if not (b0 & 0x80):
        raise WebSocketError(_PROTOCOL_ERROR, "Received fragmented control frame")
    raise WebSocketError(
        _PROTOCOL_ERROR, "Control frame payload cannot be larger than 125 bytes"
    )


cdef class WebSocketDataQueue:
    """aiohttp's ``WebSocketDataQueue(protocol, limit, *, loop)``: the messages a reader
    produced, waiting for ``read()``; pauses the transport above ``2 * limit`` bytes
    (payload sizes plus a fixed overhead per message) and resumes it below."""

    cdef readonly Py_ssize_t _size
    cdef public object _protocol
    cdef readonly Py_ssize_t _limit
    cdef object _loop
    cdef bint _eof
    cdef object _waiter
    cdef object _exception
    cdef public object _buffer
    cdef object _get_buffer
    cdef object _put_buffer
    # A weak reference to the reader that stopped parsing because the queue was full.
    cdef readonly object _stalled_reader

    def __init__(self, protocol, limit, *, loop):
        self._size = 0
        self._protocol = protocol
        self._limit = limit * 2
        self._loop = loop
        self._eof = False
        self._waiter = None
        self._exception = None
        self._buffer = deque()
        self._get_buffer = self._buffer.popleft
        self._put_buffer = self._buffer.append
        self._stalled_reader = None

    def is_eof(self):
        return self._eof

    def exception(self):
        return self._exception

    def set_exception(self, exc, exc_cause=_EXC_SENTINEL):
        self._eof = True
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            _set_exception(waiter, exc, exc_cause)

    cdef int _release_waiter(self) except -1:
        waiter = self._waiter
        if waiter is None:
            return 0
        self._waiter = None
        if not waiter.done():
            waiter.set_result(None)
        return 0

    def feed_eof(self):
        self._eof = True
        self._release_waiter()
        self._exception = None  # break reference cycles

    cpdef void feed_data(self, object data, Py_ssize_t size) except *:
        self._size += size + _MSG_SIZE_OVERHEAD
        self._put_buffer((data, size))
        self._release_waiter()
        if self._size > self._limit and not self._protocol._reading_paused:
            self._protocol.pause_reading()

    async def read(self):
        if not self._buffer and not self._eof:
            if self._waiter is not None:
                raise RuntimeError("WebSocketDataQueue.read() is already being awaited")
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            except (asyncio.CancelledError, asyncio.TimeoutError):
                self._waiter = None
                raise
        return self._read_from_buffer()

    cdef object _read_from_buffer(self):
        cdef Py_ssize_t size
        if self._buffer:
            data, size = self._get_buffer()
            self._size -= size + _MSG_SIZE_OVERHEAD
            if self._stalled_reader is not None and self._size <= self._limit // 2:
                # Resume parsing at the low-water mark (not at once), so draining a
                # full queue re-parses the stalled tail once per batch of messages.
                reader = self._stalled_reader()
                if reader is not None:
                    reader.feed_data(b"")
                else:
                    # The reader died while stalled (its owner dropped it): deliver what
                    # is queued, then report the misuse instead of waiting forever.
                    self._stalled_reader = None
                    ws_logger.warning(STALLED_READER_COLLECTED)
                    if self._exception is None:
                        self.set_exception(RuntimeError(STALLED_READER_COLLECTED))
            # While a parse is stalled its unparsed tail holds the backlog: reading more
            # from the socket would only move it there.
            if (
                self._stalled_reader is None
                and self._size < self._limit
                and self._protocol._reading_paused
            ):
                self._protocol.resume_reading()
            return data
        if self._exception is not None:
            raise self._exception
        raise EofStream


cdef class WebSocketReader:
    """aiohttp's ``WebSocketReader(queue, max_msg_size, compress, decode_text)``.

    ``feed_data(data)`` parses what it can and returns ``(False, b"")``; after a protocol
    error (put on the queue as a ``WebSocketError``) it returns ``(True, ...)`` for this and
    every later call.  ``max_msg_size`` 0 means no limit.
    """

    cdef object __weakref__
    cdef object _weak_self
    cdef readonly object queue
    cdef WebSocketDataQueue _q          # ``queue`` when it is ours (C calls), else None
    cdef Py_ssize_t _max_msg_size
    cdef bint _decode_text
    cdef bint _compress
    cdef object _exc
    cdef bytearray _partial             # data frames of the message under way
    cdef int _state
    cdef int _opcode                    # opcode of the fragmented message under way
    cdef bint _frame_fin                # FIN of the last data frame
    cdef int _frame_opcode
    cdef int _compressed
    cdef bint _has_mask
    cdef unsigned char _mask[4]
    cdef int _len_flag
    cdef Py_ssize_t _to_read            # payload bytes of the current frame still to come
    cdef bytes _tail                    # unparsed bytes (a partial header, or a stall)
    cdef bytearray _gather              # a frame spanning reads, unmasked as it arrives
    cdef Py_ssize_t _gathered
    cdef object _decompressobj
    cdef object _delegate               # aiohttp's own reader, for aiohttp's compiled queue
    cdef bint _busy                     # a feed_data() is under way

    def __init__(self, queue, max_msg_size, compress, decode_text):
        max_msg_size = int(max_msg_size)
        if max_msg_size < 0:
            raise ValueError("max_msg_size must be >= 0 (0: no limit), not %d" % max_msg_size)
        self.queue = queue
        self._q = queue if isinstance(queue, WebSocketDataQueue) else None
        self._delegate = None
        self._busy = False
        if (
            self._q is None
            and _aiohttp_reader_c is not None
            and isinstance(queue, _aiohttp_reader_c.WebSocketDataQueue)
        ):
            # aiohttp's compiled queue (or a subclass: code that re-binds the queue name
            # alone, as some of aiohttp's tests do) keeps its stall slot private to
            # aiohttp's reader, so that queue gets aiohttp's reader.
            self._delegate = _aiohttp_reader_c.WebSocketReader(
                queue, max_msg_size, compress=compress, decode_text=decode_text
            )
        self._max_msg_size = max_msg_size
        self._compress = bool(compress)
        self._decode_text = bool(decode_text)
        self._weak_self = weakref.ref(self)
        self._exc = None
        self._partial = bytearray()
        self._state = READ_HEADER
        self._opcode = OP_NOT_SET
        self._frame_fin = False
        self._frame_opcode = OP_NOT_SET
        self._compressed = COMPRESSED_NOT_SET
        self._has_mask = False
        self._len_flag = 0
        self._to_read = 0
        self._tail = b""
        self._gather = None
        self._gathered = 0
        self._decompressobj = None

    def feed_eof(self):
        self.queue.feed_eof()

    cpdef tuple feed_data(self, object data):
        if self._delegate is not None:
            return self._delegate.feed_data(data)
        # Proactor loops hand over bytearrays; the contract is bytes.
        if type(data) is not bytes:
            data = bytes(data)
        if self._exc is not None:
            return (True, data)
        # Long payloads are unmasked without the GIL, when another thread may call in: a
        # second feed_data() is a reader shared between threads, refused before it can touch
        # any state.
        if self._busy:
            raise RuntimeError(
                "WebSocketReader.feed_data() is already running; a reader belongs to one "
                "connection and is not to be shared between threads"
            )
        self._busy = True
        try:
            self._feed_data(<bytes>data)
        except Exception as exc:
            self._exc = exc
            _set_exception(self.queue, exc)
            return _FAILED
        finally:
            self._busy = False
        return _FED

    # -- the queue, ours through C, any other through its Python attributes -------------

    cdef inline bint _queue_full(self) except -1:
        if self._q is not None:
            return self._q._size > self._q._limit
        return self.queue._size > self.queue._limit

    cdef inline int _put(self, object msg, Py_ssize_t size) except -1:
        if self._q is not None:
            self._q.feed_data(msg, size)
        else:
            self.queue.feed_data(msg, size)
        return 0

    cdef inline int _set_stalled(self, object reader) except -1:
        if self._q is not None:
            self._q._stalled_reader = reader
        else:
            self.queue._stalled_reader = reader
        return 0

    # -- frames (RFC 6455 §5.2) ---------------------------------------------------------

    cdef int _feed_data(self, bytes data) except -1:
        cdef const unsigned char *buf
        cdef Py_ssize_t pos = 0, n
        cdef bytes payload

        self._set_stalled(None)
        if PyBytes_GET_SIZE(self._tail):
            data = self._tail + data
            self._tail = b""
        buf = <const unsigned char *>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)

        # hot: begin aiohttp frame loop
        while True:
            if pos < n and self._queue_full():
                # Over the high-water mark with bytes left: keep them and wait for the
                # queue to drain (it calls feed_data(b"") then).  Only with bytes left,
                # so a read ending on a frame boundary never leaves an empty stall.
                self._set_stalled(self._weak_self)  # hot: allow (the reader stalls: once a call at most)
                break
            # One step per part of the frame, each moving ``pos`` past what it read and
            # ``_state`` to the next part; False: the rest of its part has not arrived.
            if self._state == READ_HEADER and not self._read_header(buf, &pos, n):
                break
            if self._state == READ_PAYLOAD_LENGTH and not self._read_length(buf, &pos, n):
                break
            if self._state == READ_PAYLOAD_MASK and not self._read_mask(buf, &pos, n):
                break
            if self._state == READ_PAYLOAD:
                if self._gather is None and self._to_read <= n - pos:
                    # The whole payload is in this read: unmask it on the way out.
                    payload = _unmasked(buf + pos, self._to_read, self._has_mask, self._mask)  # hot: allow (the frame's payload object)
                    pos += self._to_read
                    self._to_read = 0
                else:
                    payload = self._read_spanning(buf, &pos, n)  # hot: allow (a payload across reads: None until complete)
                    if payload is None:
                        break
                self._handle_frame(payload)
                self._state = READ_HEADER
        # hot: end

        self._tail = data[pos:n] if pos < n else b""
        return 0

    cdef inline bint _read_header(self, const unsigned char *buf, Py_ssize_t *pos,
                                  Py_ssize_t n) except -1:
        """The first two bytes: FIN, RSV1-3, opcode, MASK and the 7-bit length."""
        cdef unsigned char b0, b1
        cdef bint fin, rsv1
        cdef int opcode
        # hot: begin aiohttp header
        if n - pos[0] < 2:
            return False
        b0 = buf[pos[0]]
        b1 = buf[pos[0] + 1]
        pos[0] += 2
        fin = b0 >> 7
        rsv1 = (b0 >> 6) & 1
        opcode = b0 & 0xF
        self._check_header(b0, b1)
        # Only data frames touch the compression state: control frames may come between
        # fragments (§5.4) and are never compressed (RFC 7692 §6.1; RSV1 on them is
        # tolerated, as aiohttp does, for peers that set it).  RSV1 is set on a message's
        # first frame only.
        if opcode <= 7:
            if self._frame_fin or self._compressed == COMPRESSED_NOT_SET:
                self._compressed = COMPRESSED_TRUE if rsv1 else COMPRESSED_FALSE
            elif rsv1:
                raise WebSocketError(  # hot: allow (raises)
                    _PROTOCOL_ERROR, "Received frame with non-zero reserved bits"
                )
            self._frame_fin = fin
        self._frame_opcode = opcode
        self._has_mask = b1 >> 7
        self._len_flag = b1 & 0x7F
        self._state = READ_PAYLOAD_LENGTH
        # hot: end
        return True

    cdef inline int _check_header(self, unsigned char b0, unsigned char b1) except -1:
        """What the first two bytes alone can break (§5.2, §5.5); ``_header_error`` says
        which rule."""
        cdef int opcode = b0 & 0xF
        # hot: begin aiohttp header checks
        if (
            (b0 & 0x30) or ((b0 & 0x40) and not self._compress)
            or not (opcode <= OP_BINARY or OP_CLOSE <= opcode <= OP_PONG)
            or (opcode > 7 and (not (b0 & 0x80) or (b1 & 0x7F) > 125))
        ):
            return _header_error(b0, b1, self._compress)
        # hot: end
        return 0

    cdef inline bint _read_length(self, const unsigned char *buf, Py_ssize_t *pos,
                                  Py_ssize_t n) except -1:
        """The payload length: the 7-bit value, or the 16- or 64-bit one after it."""
        cdef unsigned long long frame_len
        cdef int i
        # hot: begin aiohttp length
        if self._len_flag == 126:
            if n - pos[0] < 2:
                return False
            self._to_read = (buf[pos[0]] << 8) | buf[pos[0] + 1]
            pos[0] += 2
        elif self._len_flag == 127:
            if n - pos[0] < 8:
                return False
            frame_len = 0
            for i in range(8):
                frame_len = (frame_len << 8) | buf[pos[0] + i]
            if frame_len > <unsigned long long>PY_SSIZE_T_MAX:
                return self._frame_too_big(frame_len)
            self._to_read = <Py_ssize_t>frame_len
            pos[0] += 8
        else:
            self._to_read = self._len_flag
        if self._max_msg_size and self._frame_opcode <= OP_BINARY:
            self._check_size()
        self._state = READ_PAYLOAD_MASK if self._has_mask else READ_PAYLOAD
        # hot: end
        return True

    cdef inline int _check_size(self) except -1:
        """Refuse an oversized data frame before buffering any of it.  aiohttp's rule: the
        message so far plus this frame must stay below the limit."""
        # hot: begin aiohttp size check
        if self._to_read >= self._max_msg_size - PyByteArray_GET_SIZE(self._partial):  # hot: allow (macro: the partial message's size)
            return self._frame_too_big(self._to_read)
        # hot: end
        return 0

    cdef int _frame_too_big(self, unsigned long long frame_len) except -1:
        """The error for a data frame the size limit refuses (or no Py_ssize_t can hold)."""
        raise WebSocketError(
            _MESSAGE_TOO_BIG,
            "Message size %d exceeds limit %d" % (
                <object>frame_len + PyByteArray_GET_SIZE(self._partial),
                self._max_msg_size or PY_SSIZE_T_MAX,
            ),
        )

    cdef inline bint _read_mask(self, const unsigned char *buf, Py_ssize_t *pos,
                                Py_ssize_t n) except -1:
        """The 4-byte masking key (§5.3)."""
        # hot: begin aiohttp mask key
        if n - pos[0] < 4:
            return False
        memcpy(self._mask, buf + pos[0], 4)
        pos[0] += 4
        self._state = READ_PAYLOAD
        # hot: end
        return True

    cdef bytes _read_spanning(self, const unsigned char *buf, Py_ssize_t *pos, Py_ssize_t n):
        """A payload that spans reads, gathered (unmasked) as it arrives; None until all of
        it has."""
        cdef Py_ssize_t avail = n - pos[0]
        cdef Py_ssize_t take
        # hot: begin aiohttp payload
        if self._gather is None:
            # Nothing of the payload yet: nothing to allocate.
            if avail:
                self._start_gather(buf + pos[0], avail)
                pos[0] = n
            return None  # hot: allow (no payload yet)
        take = self._to_read if self._to_read < avail else avail
        self._gather_from(buf + pos[0], take)
        pos[0] += take
        if self._to_read:
            return None  # hot: allow (no payload yet)
        # hot: end
        return self._gathered_payload()

    cdef int _start_gather(self, const unsigned char *src, Py_ssize_t avail) except -1:
        """The first ``avail`` bytes of a payload that spans reads: a buffer with room for
        them plus as much again (at least MIN_GROWTH), capped at the declared length."""
        cdef Py_ssize_t cap = avail * 2 if avail > MIN_GROWTH // 2 else MIN_GROWTH
        if cap > self._to_read:
            cap = self._to_read
        self._gather = bytearray(cap)
        self._gathered = 0
        return self._gather_from(src, avail)

    cdef bytes _gathered_payload(self):
        """The gathered payload as ``bytes``; the buffer is dropped."""
        cdef bytes payload = PyBytes_FromStringAndSize(
            PyByteArray_AS_STRING(self._gather), self._gathered
        )
        self._gather = None
        self._gathered = 0
        return payload

    cdef int _gather_from(self, const unsigned char *src, Py_ssize_t take) except -1:
        """Append ``src[:take]`` (unmasked) to the frame being gathered; ``take`` is at most
        ``_to_read``, so the buffer never outgrows the declared length."""
        # hot: begin aiohttp gather
        cdef Py_ssize_t size = PyByteArray_GET_SIZE(self._gather)  # hot: allow (macro: the gather buffer's size)
        cdef Py_ssize_t need = self._gathered + take
        cdef Py_ssize_t total = self._gathered + self._to_read
        cdef Py_ssize_t grown
        if need > size:
            grown = size * 2 if size < total - size else total
            if grown < need:
                grown = need
            PyByteArray_Resize(self._gather, grown)  # hot: allow (growing the gather buffer)
        cdef unsigned char *dst = <unsigned char *>PyByteArray_AS_STRING(self._gather)  # hot: allow (macro: the gather buffer's data pointer)
        cdef Py_ssize_t at = self._gathered
        cdef const unsigned char *key = self._mask
        if self._has_mask:
            # The key's phase continues where the previous read stopped (§5.3).
            if take >= MASK_NOGIL_THRESHOLD:
                with nogil:  # hot: allow (the GIL is released once a read, from 256 KiB on)
                    mask_copy(dst + at, src, take, key, at)
            else:
                mask_copy(dst + at, src, take, key, at)
        elif take:
            memcpy(dst + self._gathered, src, take)
        self._gathered = need
        self._to_read -= take
        # hot: end
        return 0

    # -- messages (RFC 6455 §5.4-5.6) ---------------------------------------------------

    cdef inline int _handle_frame(self, bytes payload) except -1:
        if self._frame_opcode <= OP_BINARY:
            return self._handle_data_frame(payload)
        if self._frame_opcode == OP_CLOSE:
            return self._handle_close(payload)
        self._put(
            named_tuple3(_MESSAGE_TYPE, _PING if self._frame_opcode == OP_PING else _PONG,
                         payload, ""),
            PyBytes_GET_SIZE(payload),
        )
        return 0

    cdef inline int _handle_data_frame(self, bytes payload) except -1:
        """A fragment is kept; the final frame completes the message (§5.4)."""
        cdef int opcode = self._frame_opcode
        cdef bint has_partial
        cdef bytes message
        if opcode == OP_CONTINUATION and self._opcode == OP_NOT_SET:
            raise WebSocketError(
                _PROTOCOL_ERROR, "Continuation frame for non started message"
            )
        if not self._frame_fin:
            return self._keep_fragment(opcode, payload)

        # aiohttp tells a pending message by its gathered bytes (so an empty first
        # fragment does not count); the same rule here.
        has_partial = PyByteArray_GET_SIZE(self._partial) > 0
        if opcode == OP_CONTINUATION:
            opcode = self._opcode
            self._opcode = OP_NOT_SET
        elif has_partial:
            raise WebSocketError(
                _PROTOCOL_ERROR,
                "The opcode in non-fin frame is expected to be zero, got %r" % opcode,
            )
        message = self._joined(payload) if has_partial else payload
        if self._compressed:
            message = self._inflated(message)
        return self._deliver(opcode, message)

    cdef inline int _keep_fragment(self, int opcode, bytes payload) except -1:
        """A non-final data frame: the first one names the message's opcode."""
        if opcode != OP_CONTINUATION:
            # A new message may not start inside a fragmented one (§5.4).
            if self._opcode != OP_NOT_SET:
                raise WebSocketError(
                    _PROTOCOL_ERROR,
                    "The opcode in non-fin frame is expected to be zero, got %r" % opcode,
                )
            self._opcode = opcode
        self._partial += payload
        return 0

    cdef bytes _joined(self, bytes payload):
        """The fragments kept so far, then ``payload``, in one ``bytes``; clears them."""
        cdef Py_ssize_t plen = PyByteArray_GET_SIZE(self._partial)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef bytes merged = PyBytes_FromStringAndSize(NULL, plen + n)
        cdef char *dst = PyBytes_AS_STRING(merged)
        memcpy(dst, PyByteArray_AS_STRING(self._partial), plen)
        memcpy(dst + plen, PyBytes_AS_STRING(payload), n)
        del self._partial[:]
        return merged

    cdef bytes _inflated(self, bytes message):
        """permessage-deflate: the message decompressed once it is complete, with the 4
        bytes the sender stripped put back (RFC 7692 §7.2.2), within the size limit."""
        if self._decompressobj is None:
            self._decompressobj = ZLibDecompressor(suppress_deflate_header=True)
        # One byte past the limit tells "exactly at the limit" from "over it".
        try:
            message = self._decompressobj.decompress_sync(
                message + _DEFLATE_TRAILING,
                self._max_msg_size + 1 if self._max_msg_size else 0,
            )
        except TooManyMembersError as exc:
            raise WebSocketError(
                _MESSAGE_TOO_BIG, "Compressed message has too many deflate members"
            ) from exc
        if self._max_msg_size and PyBytes_GET_SIZE(message) > self._max_msg_size:
            raise WebSocketError(
                _MESSAGE_TOO_BIG,
                "Decompressed message exceeds size limit %d" % self._max_msg_size,
            )
        return message

    cdef inline int _deliver(self, int opcode, bytes message) except -1:
        """A complete text or binary message, onto the queue."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(message)
        if opcode != OP_TEXT:
            self._put(named_tuple3(_MESSAGE_TYPE, _BINARY, message, ""), n)
        elif not self._decode_text:
            self._put(named_tuple3(_TEXT_BYTES_TYPE, _TEXT, message, ""), n)
        else:
            # Text must be UTF-8 (§5.6, §8.1).
            try:
                text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(message), n, NULL)
            except UnicodeDecodeError as exc:
                raise WebSocketError(_INVALID_TEXT, "Invalid UTF-8 text message") from exc
            self._put(named_tuple3(_MESSAGE_TYPE, _TEXT, text, ""), n)
        return 0

    cdef inline int _handle_close(self, bytes payload) except -1:
        """A close payload is empty or a 2-byte code then UTF-8 text (§5.5.1, §7.4)."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(payload)
        cdef int close_code
        if n >= 2:
            close_code = (p[0] << 8) | p[1]
            if close_code < 3000 and close_code not in _ALLOWED_CLOSE_CODES:
                raise WebSocketError(_PROTOCOL_ERROR, "Invalid close code: %d" % close_code)
            try:
                reason = PyUnicode_DecodeUTF8(<const char *>p + 2, n - 2, NULL)
            except UnicodeDecodeError as exc:
                raise WebSocketError(_INVALID_TEXT, "Invalid UTF-8 text message") from exc
            self._put(named_tuple3(_MESSAGE_TYPE, _CLOSE, close_code, reason), 0)
        elif n:
            # aiohttp's text shows the payload as it held it: a bytearray when masked, and
            # the FIN of the last data frame.
            raise WebSocketError(
                _PROTOCOL_ERROR,
                "Invalid close frame: %s %d %r" % (
                    self._frame_fin, OP_CLOSE,
                    bytearray(payload) if self._has_mask else payload,
                ),
            )
        else:
            self._put(named_tuple3(_MESSAGE_TYPE, _CLOSE, 0, ""), 0)
        return 0
