"""Messages (RFC 6455 §5.4-§5.6) and permessage-deflate (RFC 7692), compiled twin of ``_messages_py``.

Same behaviour as the pure twin (same events, exceptions, close codes, at the same point of
the input).  The frame layer is ``_frames_c``'s ``FrameDecoder`` driven through its C entry
point; text is validated with ``_utf8_c``'s incremental kernel; outgoing frames are written
in one buffer with ``_frames_c``'s header writer and ``_mask_c``'s kernel, keys drawn from
the shared batched cryptographic source (RFC 6455 §10.3).
"""

cimport cython
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE, _PyBytes_Resize
from cpython.list cimport PyList_Append
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from wscodec._buffer cimport acquire_read
from wscodec._frames_c cimport Frame, FrameDecoder, draw_key, frame_header, header_size, parse_header, write_header
from wscodec._mask_c cimport MASK_NOGIL_THRESHOLD, mask_copy
from wscodec._utf8_c cimport UTF8_ACCEPT, UTF8_REJECT, Utf8State, utf8_feed, utf8_finish, utf8_init

import types

from wscodec import _deflate
from wscodec._constants import DEFAULT_MAX_MESSAGE_SIZE
from wscodec._deflate_params import PerMessageDeflate
from wscodec._errors import BUSY_MESSAGE, InvalidPayload, PayloadTooBig, ProtocolError
from wscodec._events import BinaryMessage, Close, Ping, Pong, TextMessage, build_close_payload, parse_close_payload
# The plain-Python helpers are shared with the pure twin: argument checks, the zlib stream
# set-up and the limits are not on a hot path, and sharing them keeps the twins identical.
from wscodec._messages_py import (
    DEFLATE_TAIL,
    INFLATE_CHUNK,
    INFLATE_SLICE,
    check_decoder_args,
    check_deflate,
    check_encoder_args,
    frame_limit,
    inflate_window,
    new_compressor,
)

__all__ = [
    "MessageDecoder",
    "MessageEncoder",
    "PerMessageDeflate",
    "TextMessage",
    "BinaryMessage",
    "Ping",
    "Pong",
    "Close",
]

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef enum:
    OP_CONT = 0x0
    OP_TEXT = 0x1
    OP_BINARY = 0x2
    OP_CLOSE = 0x8
    OP_PING = 0x9
    OP_PONG = 0xA


cdef object _ProtocolError = ProtocolError
cdef object _InvalidPayload = InvalidPayload
cdef object _PayloadTooBig = PayloadTooBig
cdef object _TextMessage = TextMessage
cdef object _BinaryMessage = BinaryMessage
cdef object _Ping = Ping
cdef object _Pong = Pong
cdef object _Z_SYNC_FLUSH = _deflate.Z_SYNC_FLUSH
cdef object _incompressible = _deflate.incompressible
cdef Py_ssize_t _SKIP_MIN = _deflate.SKIP_MIN
_DEFAULT_COMPRESSION = _deflate.DEFAULT_COMPRESSION
cdef object _decompressobj = _deflate.decompressobj
cdef bytes _TAIL = DEFLATE_TAIL
cdef Py_ssize_t _CHUNK = INFLATE_CHUNK
cdef Py_ssize_t _SLICE = INFLATE_SLICE
cdef str _AFTER_END = "compressed data after the end of the DEFLATE stream (RFC 7692 §7.2.2)"


# -- events ------------------------------------------------------------------------------
# The events are the plain-Python classes shared with the pure twin, each with a ``data``
# slot.  Building one through its __init__ (a Python call) would cost more than decoding the
# frame, so the decoder allocates the instance with the type's own allocator and stores the
# value in the slot (its offset read once from the slot's member descriptor).  The event only
# ever holds a str or bytes, which cannot form a reference cycle, so like CPython's tuples of
# atomic values it is untracked by the cyclic GC.

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    ctypedef PyObject *(*allocfunc)(PyTypeObject *, Py_ssize_t)
    ctypedef struct AllocType "PyTypeObject":
        allocfunc tp_alloc
    void PyObject_GC_UnTrack(void *op)


cdef Py_ssize_t _slot_offset(object cls, str name) except -1:
    cdef object descr = None
    for klass in cls.__mro__:
        if name in klass.__dict__:
            descr = klass.__dict__[name]
            break
    if type(descr) is not types.MemberDescriptorType:
        raise TypeError("%s.%s is not a slot" % (cls.__name__, name))
    return (<PyMemberDescrObject *><PyObject *>descr).d_member.offset


cdef Py_ssize_t _DATA_TEXT = _slot_offset(TextMessage, "data")
cdef Py_ssize_t _DATA_BINARY = _slot_offset(BinaryMessage, "data")
cdef Py_ssize_t _DATA_PING = _slot_offset(Ping, "data")
cdef Py_ssize_t _DATA_PONG = _slot_offset(Pong, "data")


cdef inline object _event(object cls, Py_ssize_t offset, object data):
    cdef PyObject *obj = (<AllocType *><PyObject *>cls).tp_alloc(<PyTypeObject *><PyObject *>cls, 0)
    cdef object ev
    if obj == NULL:
        raise MemoryError()
    ev = <object>obj          # a second reference ...
    Py_DECREF(ev)             # ... dropped: ``ev`` owns the one tp_alloc returned
    Py_INCREF(data)
    (<PyObject **>((<char *>obj) + offset))[0] = <PyObject *>data
    PyObject_GC_UnTrack(obj)
    return ev


cdef object _bad_utf8():
    return _InvalidPayload(1007, "invalid UTF-8 in a text message (RFC 6455 §8.1)")


cdef object _too_big(Py_ssize_t limit):
    return _PayloadTooBig(1009, "message exceeds max_message_size=%d (RFC 6455 §7.4.1)" % limit)


@cython.final
cdef inline Py_ssize_t _grown(Py_ssize_t wanted, Py_ssize_t needed, Py_ssize_t room):
    """The next capacity of an inflated message's buffer: ``wanted`` (double the last), at
    least ``needed`` and at most ``room`` (the output never exceeds the room left)."""
    if wanted > room:
        wanted = room
    return needed if wanted < needed else wanted


cdef PyObject *_new_output(bytes first, Py_ssize_t capacity) except NULL:
    """A new bytes object of ``capacity`` bytes starting with ``first``; the caller owns the
    reference (it grows it with ``_PyBytes_Resize``, which needs the only reference)."""
    cdef object out = PyBytes_FromStringAndSize(NULL, capacity)
    memcpy(PyBytes_AS_STRING(out), PyBytes_AS_STRING(first), PyBytes_GET_SIZE(first))
    Py_INCREF(out)
    return <PyObject *>out


cdef class MessageDecoder:
    """Incremental message decoder: ``feed(data)`` returns the events completed by ``data``.

    ``client=False`` (a server) expects masked frames.  ``max_message_size`` (inclusive,
    ``None`` for none) bounds every message and control frame, after inflation for
    compressed messages.  ``deflate`` is the negotiated :class:`PerMessageDeflate` or
    ``None``.  Any violation raises :class:`ProtocolError` (or a subclass) carrying the close
    code; the decoder is then finished and every later ``feed()`` raises again.

    Not to be shared: a decoder holds one connection's state and is used by one thread at a
    time.  A ``feed()`` while another is under way raises ``RuntimeError`` (and leaves the
    running one and the decoder's state intact).
    """

    cdef FrameDecoder _frames
    cdef bint _client
    cdef object _max                  # as given: int or None
    cdef Py_ssize_t _limit            # inclusive; PY_SSIZE_T_MAX for none
    cdef object _deflate
    cdef int _opcode                  # of the message being reassembled; 0 when none is open
    cdef bint _compressed
    cdef list _parts
    cdef Py_ssize_t _size             # payload bytes of the open message so far (inflated)
    cdef Utf8State _utf8
    cdef bint _closed
    cdef object _error
    cdef object _inflater
    cdef int _inflate_bits
    cdef bint _inflate_reset
    cdef Py_ssize_t _after_end       # bytes of the open message after the end of its DEFLATE stream
    cdef bint _busy                   # a feed() is under way; another one raises RuntimeError

    def __init__(self, *, client=False, max_message_size=DEFAULT_MAX_MESSAGE_SIZE, deflate=None):
        check_decoder_args(max_message_size, deflate)
        self._client = bool(client)
        self._max = max_message_size
        if max_message_size is None or max_message_size > PY_SSIZE_T_MAX:
            self._limit = PY_SSIZE_T_MAX
        else:
            self._limit = max_message_size
        self._deflate = deflate
        self._frames = FrameDecoder(
            client=self._client,
            max_frame_size=frame_limit(max_message_size, deflate),
            allow_rsv1=deflate is not None,
        )
        self._opcode = 0
        self._compressed = False
        self._parts = []
        self._size = 0
        utf8_init(&self._utf8)
        self._closed = False
        self._error = None
        self._inflater = None
        if deflate is not None:
            self._inflate_bits = inflate_window(deflate, self._client)
            self._inflate_reset = deflate.no_context_takeover(not self._client)

    @property
    def client(self):
        return self._client

    @property
    def max_message_size(self):
        return self._max

    @property
    def deflate(self):
        return self._deflate

    def feed(self, data):
        """Parse ``data`` (any bytes-like object) and return the list of events it completes."""
        cdef Py_buffer view
        cdef list events
        cdef frame_header h
        cdef int state
        # Unmasking a large frame runs without the GIL (from MASK_NOGIL_THRESHOLD), when
        # another thread may call in: a second feed() is a decoder shared between threads,
        # refused before it can touch any state.
        # Test and set in one step, also on free-threaded builds (a no-op with a GIL).
        with cython.critical_section(self):
            if self._busy:
                raise RuntimeError(BUSY_MESSAGE % "MessageDecoder")
            self._busy = True
        if self._error is not None:
            self._busy = False
            raise type(self._error)(self._error.close_code, self._error.reason)
        try:
            acquire_read(data, &view)
            try:
                if self._closed:
                    if view.len:
                        self._fail(_ProtocolError(1002, "data after a Close frame (RFC 6455 §5.5.1)"))
                    return []
                events = []
                state = self._frames.partial_header(&h)
                if state == 0:
                    self._feed_direct(<const unsigned char *>view.buf, view.len, events)
                else:
                    self._feed_resume(<const unsigned char *>view.buf, view.len, state, events)
            finally:
                PyBuffer_Release(&view)
        finally:
            self._busy = False
        return events

    cdef int _feed_frames(self, const unsigned char *data, Py_ssize_t n, list events) except -1:
        """The general path: the frame decoder makes Frame objects, then they are read."""
        cdef list frames = []
        cdef Frame frame
        cdef Py_ssize_t i
        try:
            self._frames.feed_into(data, n, frames)
        except ProtocolError as exc:
            self._error = type(exc)(exc.close_code, exc.reason)   # without the traceback
            raise
        try:
            for i in range(len(frames)):
                frame = <Frame>frames[i]
                self._frame(<int>frame.opcode, frame.fin, frame.rsv1, frame.payload, events)
            self._check_pending()
        except ProtocolError as exc:
            self._fail(exc)
        return 0

    cdef bint _headers_ok(self, const unsigned char *data, Py_ssize_t n) noexcept:
        """True if no header among the frames in ``data`` breaks a frame-layer rule."""
        cdef FrameDecoder fd = self._frames
        cdef frame_header h
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t r
        # hot: begin header scan
        while pos < n:
            r = parse_header(data + pos, n - pos, &h, fd._flags, fd._max_size)
            if r < 0:
                return False
            if r == 0 or <uint64_t>(n - pos - r) < h.length:
                return True
            pos += r + <Py_ssize_t>h.length
        # hot: end
        return True

    cdef int _feed_resume(self, const unsigned char *data, Py_ssize_t n, int state,
                          list events) except -1:
        """A frame is under way in the frame decoder: let it finish that one frame with just
        the bytes it needs, then decode the rest of ``data`` directly.

        Equivalent to giving the whole chunk to the frame decoder: a bad header anywhere in
        the chunk is raised before any frame of the chunk is read.
        """
        cdef FrameDecoder fd = self._frames
        cdef frame_header h
        cdef list frames = []
        cdef Frame frame
        cdef Py_ssize_t k = 0
        cdef Py_ssize_t i
        cdef uint64_t need
        state = fd.partial_header(&h)
        try:
            # The rest of a split header (at most 13 bytes), a byte at a time: the frame
            # decoder parses it (and raises on a violation, as it would on the whole chunk:
            # this frame comes first).
            while state == 1 and k < n:
                fd.feed_into(data + k, 1, frames)
                k += 1
                state = fd.partial_header(&h)
            if state == 2:
                need = h.length - <uint64_t>fd._filled
                if need > <uint64_t>(n - k):
                    fd.feed_into(data + k, n - k, frames)
                    k = n
                else:
                    if not self._headers_ok(data + k + need, n - k - <Py_ssize_t>need):
                        fd.feed_into(data + k, n - k, frames)  # raises, as on the whole chunk
                    fd.feed_into(data + k, <Py_ssize_t>need, frames)
                    k += <Py_ssize_t>need
            elif k < n and not self._headers_ok(data + k, n - k):
                fd.feed_into(data + k, n - k, frames)          # raises, as on the whole chunk
        except ProtocolError as exc:
            self._error = type(exc)(exc.close_code, exc.reason)   # without the traceback
            raise
        try:
            for i in range(len(frames)):
                frame = <Frame>frames[i]
                self._frame(<int>frame.opcode, frame.fin, frame.rsv1, frame.payload, events)
        except ProtocolError as exc:
            self._fail(exc)
        if k < n:
            return self._feed_direct(data + k, n - k, events)
        try:
            self._check_pending()
        except ProtocolError as exc:
            self._fail(exc)
        return 0

    cdef int _feed_direct(self, const unsigned char *data, Py_ssize_t n, list events) except -1:
        """The same result as ``_feed_frames`` when no frame is under way, without Frame objects.

        First every header in ``data`` is checked with the frame layer's own parser; if one
        breaks a rule, the frame decoder is given the chunk so that it raises exactly as it
        would (frames before the bad header are then not returned, as the frame layer pins).
        Otherwise the whole frames are decoded straight from ``data`` and the unfinished one
        at the end, if any, goes to the frame decoder to be buffered.
        """
        cdef FrameDecoder fd = self._frames
        cdef frame_header h
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t end = 0          # end of the last whole frame
        cdef Py_ssize_t r, length
        # hot: begin message frame loop
        while pos < n:
            r = parse_header(data + pos, n - pos, &h, fd._flags, fd._max_size)
            if r < 0:
                return self._feed_frames(data, n, events)
            if r == 0 or <uint64_t>(n - pos - r) < h.length:
                break
            pos += r + <Py_ssize_t>h.length
            end = pos
        pos = 0
        try:  # hot: allow (exception state saved once a call; the handler runs only on an error)
            while pos < end:
                r = parse_header(data + pos, end - pos, &h, fd._flags, fd._max_size)
                length = <Py_ssize_t>h.length
                self._direct_frame(data + pos + r, length, &h, events)
                pos += r + length
            # hot: end
            if end < n:
                fd.feed_into(data + end, n - end, [])
            self._check_pending()
        except ProtocolError as exc:
            self._fail(exc)
        return 0

    cdef int _direct_frame(self, const unsigned char *p, Py_ssize_t n, const frame_header *h,
                           list events) except -1:
        cdef bytes payload
        cdef object text
        cdef unsigned char small[256]
        cdef const unsigned char *src
        cdef unsigned char *dst
        # The common case, a whole uncompressed text message in one frame: unmask into a
        # scratch buffer and decode from there (no intermediate bytes object).
        # hot: begin direct frame
        if (h.opcode == OP_TEXT and h.fin and not h.rsv1 and not self._opcode and not self._closed
                and n <= 256 and n <= self._limit):
            if h.masked:
                mask_copy(small, p, n, h.key, 0)
                src = small
            else:
                src = p
            try:  # hot: allow (exception state saved; the handler runs only on invalid UTF-8)
                text = PyUnicode_DecodeUTF8(<const char *>src, n, NULL)
            except UnicodeDecodeError:  # hot: allow (raises)
                raise _bad_utf8() from None  # hot: allow (raises)
            PyList_Append(events, _event(_TextMessage, _DATA_TEXT, text))  # hot: allow (the event handed out)
            return 0
        payload = PyBytes_FromStringAndSize(NULL, n)  # hot: allow (the frame's payload object)
        dst = <unsigned char *>PyBytes_AS_STRING(payload)  # hot: allow (macro: the object's data pointer)
        if h.masked:
            if n >= MASK_NOGIL_THRESHOLD:
                with nogil:  # hot: allow (the GIL is released once per frame, from 256 KiB on)
                    mask_copy(dst, p, n, h.key, 0)
            else:
                mask_copy(dst, p, n, h.key, 0)
        else:
            memcpy(dst, p, n)
        # hot: end
        return self._frame(h.opcode, h.fin, h.rsv1, payload, events)

    cdef int _fail(self, object exc) except -1:
        # Kept as a copy, without the traceback and context the raised ``exc`` gathers: the
        # caller frames in the one hold the bytes they fed, a UnicodeDecodeError in the other
        # the whole message; a failed decoder must let go of both (as the pure twin does).
        self._error = type(exc)(exc.close_code, exc.reason)
        self._parts = []
        self._inflater = None
        raise exc

    cdef int _frame(self, int opcode, bint fin, bint rsv1, bytes payload, list events) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef int message
        cdef object text
        if self._closed:
            # RFC 6455 §5.5.1: a Close is the last frame of the connection.
            raise _ProtocolError(1002, "frame after a Close frame (RFC 6455 §5.5.1)")
        if opcode >= OP_CLOSE:
            # Control frames may be interleaved with fragments and are delivered at once
            # (RFC 6455 §5.4); the limit covers them too.
            if n > self._limit:
                raise _PayloadTooBig(1009, "control frame of %d bytes exceeds max_message_size=%d" % (n, self._limit))
            if opcode == OP_PING:
                PyList_Append(events, _event(_Ping, _DATA_PING, payload))
            elif opcode == OP_PONG:
                PyList_Append(events, _event(_Pong, _DATA_PONG, payload))
            else:
                PyList_Append(events, parse_close_payload(payload, _ProtocolError, _InvalidPayload))
                self._closed = True
            return 0
        if opcode == OP_CONT:
            if not self._opcode:
                raise _ProtocolError(1002, "continuation frame without a message to continue (RFC 6455 §5.4)")
        else:
            if self._opcode:
                raise _ProtocolError(1002, "new data frame inside a fragmented message (RFC 6455 §5.4)")
            if fin and not rsv1:
                # The common case: a whole uncompressed message in one frame.
                if n > self._limit:
                    raise _too_big(self._limit)
                if opcode == OP_TEXT:
                    try:
                        text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(payload), n, NULL)
                    except UnicodeDecodeError:
                        raise _bad_utf8() from None
                    PyList_Append(events, _event(_TextMessage, _DATA_TEXT, text))
                else:
                    PyList_Append(events, _event(_BinaryMessage, _DATA_BINARY, payload))
                return 0
            self._opcode = opcode
            self._compressed = rsv1
            self._size = 0
        message = self._opcode
        if self._compressed:
            payload = self._inflate(payload, fin)
            n = PyBytes_GET_SIZE(payload)
        elif n > self._limit - self._size:
            raise _too_big(self._limit)
        self._size += n
        if message == OP_TEXT and (self._parts or not fin):
            # RFC 6455 §8.1: fail as soon as invalid UTF-8 is seen, not when the message
            # ends; a character may be split across fragments.
            if utf8_feed(&self._utf8, <const unsigned char *>PyBytes_AS_STRING(payload), n) == UTF8_REJECT:
                raise _bad_utf8()
            if fin:
                if utf8_finish(&self._utf8) != UTF8_ACCEPT:
                    raise _bad_utf8()
                utf8_init(&self._utf8)
        if not fin:
            PyList_Append(self._parts, payload)
            return 0
        self._opcode = 0
        if self._parts:
            PyList_Append(self._parts, payload)
            payload = b"".join(self._parts)
            self._parts = []
        if message == OP_TEXT:
            try:
                text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload), NULL)
            except UnicodeDecodeError:
                raise _bad_utf8() from None
            PyList_Append(events, _event(_TextMessage, _DATA_TEXT, text))
        else:
            PyList_Append(events, _event(_BinaryMessage, _DATA_BINARY, payload))
        return 0

    cdef bytes _inflate(self, bytes payload, bint fin):
        """Inflate one fragment of a compressed message (RFC 7692 §7.2.2), bounded by the limit.

        Input goes to the inflater in slices of at most ``INFLATE_SLICE`` bytes and output
        comes back in pieces of at most ``INFLATE_CHUNK`` bytes, never more than the message
        may still hold plus one (to see it overflow).  A call stopped by the output bound
        returns the input it has not read yet (a copy, at most one slice), which is handed
        over again: the input handed to the inflater stays within the bytes received plus
        ``INFLATE_SLICE`` per ``INFLATE_CHUNK`` of output, and the work is linear.
        """
        cdef object z = self._inflater
        cdef object first = None  # the output while it is one piece
        cdef PyObject *out = NULL  # then all of it, in a bytes object grown in place
        cdef Py_ssize_t capacity = 0
        cdef Py_ssize_t n, pos, produced, room, want, left
        cdef int ours
        cdef bint last, whole
        cdef bytes chunk, rest
        cdef object data, view
        if z is None:
            z = self._inflater = _decompressobj(-self._inflate_bits)
            self._after_end = 0
        n = PyBytes_GET_SIZE(payload)
        if z.eof:
            # A BFINAL block (RFC 7692 §7.2.3.4) ended the stream in an earlier fragment.
            self._check_after_end(n, payload)
            if fin:
                self._inflater = None
            return b""
        ours = 0  # bytes of DEFLATE_TAIL at the end of the slice being inflated
        if fin and n <= _SLICE - 4:
            # RFC 7692 §7.2.2: append 00 00 ff ff; a small payload takes it in the same call.
            payload = payload + _TAIL
            n += 4
            ours = 4
            fin = False  # nothing left to append
            last = True
        else:
            last = fin
        whole = n <= _SLICE
        view = payload if whole else memoryview(payload)
        room = self._limit - self._size
        produced = 0
        pos = 0
        try:
            while True:
                if pos < n:
                    if whole:
                        data = payload
                        pos = n
                    else:
                        data = view[pos:pos + _SLICE]
                        pos += len(data)
                elif fin:
                    data = _TAIL
                    ours = 4
                    fin = False
                else:
                    break
                while True:
                    # Never more than the message may still hold, plus one to see it
                    # overflow (no +1 on an unbounded room: it would wrap).
                    want = room - produced
                    if want >= _CHUNK:
                        want = _CHUNK
                    else:
                        want += 1
                    chunk = z.decompress(data, want)
                    produced += PyBytes_GET_SIZE(chunk)
                    if produced > room:
                        raise _PayloadTooBig(1009, "message exceeds max_message_size=%d after inflation (RFC 7692 §8)" % self._limit)
                    if PyBytes_GET_SIZE(chunk):
                        if out == NULL and first is None:
                            first = chunk
                        else:
                            if out == NULL:
                                # Output in more than one piece is copied once, into a bytes
                                # object that grows in place (realloc), instead of keeping
                                # every piece and joining them: a 64 MiB message then touches
                                # 64 MiB of fresh memory, not 128 (the pieces are freed and
                                # their memory reused at once).  It never holds more than the
                                # room left: produced <= room here.
                                capacity = _grown(2 * PyBytes_GET_SIZE(first), produced, room)
                                out = _new_output(first, capacity)
                                first = None
                            elif produced > capacity:
                                capacity = _grown(2 * capacity, produced, room)
                                _PyBytes_Resize(&out, capacity)
                            memcpy(PyBytes_AS_STRING(<object>out) + produced - PyBytes_GET_SIZE(chunk),
                                   PyBytes_AS_STRING(chunk), PyBytes_GET_SIZE(chunk))
                    data = z.unconsumed_tail
                    if z.eof or (not data and PyBytes_GET_SIZE(chunk) < want):
                        break
                if z.eof:
                    break
        except _deflate.errors as exc:
            Py_XDECREF(out)
            raise _InvalidPayload(1007, "corrupt compressed data: %s (RFC 7692 §7.2.2)" % exc) from None
        except BaseException:
            Py_XDECREF(out)
            raise
        if out != NULL:
            # Shrink to what was written (in place) and hand the reference to ``first``.
            try:
                _PyBytes_Resize(&out, produced)
            except BaseException:
                out = NULL  # _PyBytes_Resize released it
                raise
            first = <object>out
            Py_DECREF(first)
            out = NULL
        self._after_inflate(z, payload, ours, n, pos, last)
        return b"" if first is None else first

    cdef int _after_inflate(self, object z, bytes payload, int ours, Py_ssize_t n, Py_ssize_t pos,
                            bint last) except -1:
        """The end of one ``_inflate`` call: bytes after a final block, and the stream's end."""
        cdef Py_ssize_t left
        cdef bytes rest
        if z.eof:
            # The stream ended (BFINAL, RFC 7692 §7.2.3.4): what follows it in this fragment
            # is the rest of the slice (unused_data) and the slices not handed over yet.
            rest = z.unused_data
            left = PyBytes_GET_SIZE(rest) - ours
            if left < 0:
                if PyBytes_GET_SIZE(rest):
                    # It ended inside the four bytes appended here, leaving some of them.
                    raise _InvalidPayload(1007, _AFTER_END)
                left = 0
            if left:
                self._check_after_end(left + n - pos, rest)
            elif n > pos:
                self._check_after_end(n - pos, payload[pos:pos + 1])
        if last and (self._inflate_reset or z.eof):
            # RFC 7692 §7.1.1: without context takeover the peer starts each message with
            # an empty window.  A stream ended by a BFINAL block (§7.2.3.4) cannot go on.
            self._inflater = None
        return 0

    cdef int _check_after_end(self, Py_ssize_t count, bytes data) except -1:
        """``count`` more bytes of the message after the end of its DEFLATE stream, the first
        of them ``data[0]``.

        RFC 7692 §7.2.1 ends every message on an empty stored block whose last four bytes
        (00 00 ff ff) the sender removes; after a BFINAL block that leaves at most its first
        byte, 0x00 (§7.2.3.4), and a sender that skips the block leaves nothing.  Anything
        more would be compressed data silently dropped: corrupt, 1007 (§7.2.2).
        """
        if not count:
            return 0
        if self._after_end + count > 1 or PyBytes_AS_STRING(data)[0] != 0:
            raise _InvalidPayload(1007, _AFTER_END)
        self._after_end += count
        return 0

    cdef int _check_pending(self) except -1:
        """Checks on the frame whose bytes have started to arrive, once per ``feed``.

        After a Close nothing may follow (RFC 6455 §5.5.1).  A fragment's declared length
        is checked against what the message may still hold before its payload is
        buffered (uncompressed messages; compressed ones are bounded while inflating).
        """
        cdef frame_header h
        cdef int state = self._frames.partial_header(&h)
        cdef int opcode
        cdef uint64_t used
        if state == 0:
            return 0
        if self._closed:
            raise _ProtocolError(1002, "data after a Close frame (RFC 6455 §5.5.1)")
        if self._max is None or state != 2:
            return 0
        opcode = h.opcode
        # Only a frame that is in order here: a continuation of an open uncompressed message,
        # or an uncompressed message's first frame.  (Others fail when they complete.)
        if opcode == OP_CONT:
            if not self._opcode or self._compressed:
                return 0
            used = <uint64_t>self._size
        elif opcode == OP_TEXT or opcode == OP_BINARY:
            if self._opcode or h.rsv1:
                return 0
            used = 0
        else:
            return 0
        if used + h.length > <uint64_t>self._limit:
            raise _too_big(self._limit)
        return 0


cdef inline bytes _raw(object data):
    cdef Py_buffer view
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, str):
        raise TypeError("binary data must be a bytes-like object, not str")
    acquire_read(data, &view)
    try:
        return PyBytes_FromStringAndSize(<const char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef bytes _control(object data):
    cdef bytes raw
    if isinstance(data, str):
        raw = (<str>data).encode("utf-8")
    else:
        raw = _raw(data)
    if PyBytes_GET_SIZE(raw) > 125:
        raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % PyBytes_GET_SIZE(raw))
    return raw


cdef bytes _frames_out(int opcode, const unsigned char *p, Py_ssize_t n, Py_ssize_t size,
                       bint mask, bint rsv1):
    """All frames of one message in one ``bytes``: fragments of ``size`` bytes (``size`` <= 0:
    one frame).  RFC 6455 §5.4: the first carries the opcode (and RSV1, RFC 7692 §6), the
    others are continuations; FIN on the last one only."""
    cdef Py_ssize_t count, total, pos, take, i
    cdef bytes out
    cdef unsigned char *dst
    cdef unsigned char key[4]
    cdef unsigned char first
    if size <= 0 or n <= size:
        size = n if n > 0 else 1
    count = (n + size - 1) // size if n else 1
    total = n
    # hot: begin fragment encode
    for i in range(count):
        take = size if i < count - 1 else n - size * (count - 1)
        total += header_size(<uint64_t>take, mask)
    out = PyBytes_FromStringAndSize(NULL, total)  # hot: allow (the message's one bytes object)
    dst = <unsigned char *>PyBytes_AS_STRING(out)  # hot: allow (macro: the object's data pointer)
    pos = 0
    for i in range(count):
        take = size if i < count - 1 else n - pos
        first = <unsigned char>(opcode if i == 0 else OP_CONT)
        if i == count - 1:
            first |= 0x80
        if rsv1 and i == 0:
            first |= 0x40
        if mask:
            draw_key(key)
            dst += write_header(dst, first, <uint64_t>take, key)
            mask_copy(dst, p + pos, take, key, 0)
        else:
            dst += write_header(dst, first, <uint64_t>take, NULL)
            memcpy(dst, p + pos, take)
        dst += take
        pos += take
    # hot: end
    return out


@cython.final
cdef class MessageEncoder:
    """Turns messages into frames: each method returns the ``bytes`` to send.

    ``client=True`` masks every frame with a fresh key from a cryptographic source (RFC 6455
    §5.3, §10.3).  ``deflate`` is the negotiated :class:`PerMessageDeflate` (or ``None``);
    ``fragment_size=N`` splits data messages so that every fragment but the last carries
    exactly ``N`` payload bytes.

    With ``deflate``, ``compression`` trades speed for size: ``"speed"`` (the default),
    ``"balanced"``, ``"size"`` (zlib's level 6 output), or a zlib level 0-9; the deflate backend
    follows from it (``wscodec._deflate.COMPRESSION_PRESETS``, docs/compression.md).
    ``skip_incompressible=True`` (the default) sends a message of 1 KiB or more uncompressed when
    compressing it does not pay (random or already compressed data; RFC 7692 §6 lets each
    message choose); ``compress=False`` on ``text()``/``binary()`` skips one message.
    """

    cdef bint _client
    cdef object _deflate
    cdef object _fragment_size
    cdef Py_ssize_t _size             # 0: no fragmentation
    cdef object _compressor
    cdef bint _compress_reset
    cdef object _compression
    cdef bint _skip

    def __init__(self, *, client=False, deflate=None, fragment_size=None,
                 compression=_DEFAULT_COMPRESSION, skip_incompressible=True):
        check_encoder_args(deflate, fragment_size, compression, skip_incompressible)
        self._client = bool(client)
        self._deflate = deflate
        self._fragment_size = fragment_size
        self._size = 0 if fragment_size is None else min(fragment_size, PY_SSIZE_T_MAX)
        self._compressor = None
        self._compression = compression
        self._skip = skip_incompressible
        if deflate is not None:
            self._compress_reset = deflate.no_context_takeover(self._client)

    @property
    def client(self):
        return self._client

    @property
    def deflate(self):
        return self._deflate

    @property
    def fragment_size(self):
        return self._fragment_size

    @property
    def compression(self):
        return self._compression

    @property
    def skip_incompressible(self):
        return self._skip

    def text(self, data, compress=True):
        """A text message (RFC 6455 §5.6); ``data`` is a ``str``, sent as UTF-8."""
        cdef bytes raw
        if not isinstance(data, str):
            raise TypeError("text() takes a str, not %s" % type(data).__name__)
        raw = (<str>data).encode("utf-8")
        return self._message(OP_TEXT, raw, compress)

    def binary(self, data, compress=True):
        """A binary message (RFC 6455 §5.6); ``data`` is any bytes-like object."""
        cdef Py_buffer view
        if type(data) is bytes or (compress and self._deflate is not None):
            return self._message(OP_BINARY, _raw(data), compress)
        if isinstance(data, str):
            raise TypeError("binary data must be a bytes-like object, not str")
        # Uncompressed: frame straight from the caller's buffer, no intermediate copy.
        acquire_read(data, &view)
        try:
            return _frames_out(OP_BINARY, <const unsigned char *>view.buf, view.len, self._size,
                               self._client, False)
        finally:
            PyBuffer_Release(&view)

    def ping(self, data=b""):
        """A Ping frame (RFC 6455 §5.5.2); at most 125 bytes of ``data``."""
        cdef bytes raw = _control(data)
        return _frames_out(OP_PING, <const unsigned char *>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw),
                           0, self._client, False)

    def pong(self, data=b""):
        """A Pong frame (RFC 6455 §5.5.3); at most 125 bytes of ``data``."""
        cdef bytes raw = _control(data)
        return _frames_out(OP_PONG, <const unsigned char *>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw),
                           0, self._client, False)

    def close(self, code=1000, reason=""):
        """A Close frame (RFC 6455 §5.5.1); ``code=None`` sends an empty payload."""
        cdef bytes raw = build_close_payload(code, reason)
        return _frames_out(OP_CLOSE, <const unsigned char *>PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw),
                           0, self._client, False)

    cdef bytes _message(self, int opcode, bytes payload, object compress):
        cdef bint rsv1 = False
        cdef bytes compressed
        if compress and self._deflate is not None:
            compressed = self._compress(payload)
            if compressed is not None:
                payload = compressed
                rsv1 = True
        return _frames_out(opcode, <const unsigned char *>PyBytes_AS_STRING(payload), PyBytes_GET_SIZE(payload),
                           self._size, self._client, rsv1)

    cdef bytes _compress(self, bytes payload):
        """The compressed payload, or ``None`` to send this message uncompressed."""
        cdef object z
        cdef bytes out
        cdef bint skip = self._skip and PyBytes_GET_SIZE(payload) >= _SKIP_MIN
        if skip and _incompressible(payload):
            # RFC 7692 §6: a message may go uncompressed (RSV1 unset); the compressor has not
            # seen it, so its window still matches the peer's.
            return None
        z = self._compressor
        if z is None:
            z = self._compressor = new_compressor(self._deflate, self._client, self._compression)
        # RFC 7692 §7.2.1: compress, flush to a byte boundary with an empty stored block,
        # and remove its 00 00 ff ff tail.
        out = z.compress(payload) + z.flush(_Z_SYNC_FLUSH)
        if out.endswith(_TAIL):
            out = out[:PyBytes_GET_SIZE(out) - 4]
        if self._compress_reset:
            # RFC 7692 §7.1.1: no context takeover, every message starts with an empty window.
            self._compressor = None
        if skip and PyBytes_GET_SIZE(out) >= PyBytes_GET_SIZE(payload):
            # Compressing did not pay: send it uncompressed.  The compressor's window now holds
            # a message the peer's will not, so the next message starts a new one (an empty
            # window refers to nothing, which the peer's inflater reads whatever it holds).
            self._compressor = None
            return None
        return out
