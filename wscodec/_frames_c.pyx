# cython: embedsignature.format=clinic
"""Frame decoding and encoding (RFC 6455 §5), compiled twin of ``_frames_py``.

The header rules live in ``parse_header`` (``_frames_c.pxd``), shared with other compiled
modules.  Payloads are unmasked in one pass straight into the ``bytes`` object handed to the
caller; a frame that arrives in pieces grows that object geometrically as its bytes come, so
the memory it holds follows the bytes that have arrived, never the length its header declares.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE, _PyBytes_Resize
from cpython.buffer cimport PyBuffer_Release
from cpython.list cimport PyList_Append
from cpython.long cimport PyLong_Check
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset

from wscodec._buffer cimport acquire_read
from wscodec._mask_c cimport MASK_NOGIL_THRESHOLD, mask_copy, read_key

import os

from wscodec._constants import DEFAULT_MAX_FRAME_SIZE, OPCODE_BY_VALUE
from wscodec._errors import BUSY_MESSAGE, PayloadTooBig, ProtocolError

__all__ = ["Frame", "FrameDecoder", "encode_frame", "encode_frame_header"]

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX
    # The bytes data of a raw pointer, without Cython's reference counting around a cast.
    char *_bytes_data "PyBytes_AS_STRING" (PyObject *o) noexcept nogil

cdef tuple _OPCODES = OPCODE_BY_VALUE
cdef object _PayloadTooBig = PayloadTooBig
cdef object _ProtocolError = ProtocolError

# A frame whose payload does not arrive in one piece is gathered in a bytes object that
# holds only what has arrived, rounded up: nothing before its first payload byte, then
# max(bytes present, GROW_FROM) capped at the declared length, doubling (capped likewise)
# whenever the next bytes do not fit.  So a header alone costs nothing whatever length it
# declares, the buffer never exceeds max(2 x payload bytes received, GROW_FROM), and growing
# moves each byte at most once on average (the sizes moved sum to less than the final size):
# total work stays linear.  A frame of at most GROW_FROM bytes gets its final size at once.
cdef Py_ssize_t GROW_FROM = 4096


# -- masking keys -------------------------------------------------------------------------
# RFC 6455 §5.3, §10.3: each frame's key must be unpredictable, from a strong source.
# os.urandom costs ~0.8 us per call, so keys are drawn 1024 at a time and handed out 4 bytes
# per frame.  A forked child discards the batch it inherited, so parent and child never send
# the same keys.

cdef enum:
    POOL_SIZE = 4096

cdef unsigned char _pool[POOL_SIZE]
cdef Py_ssize_t _pool_pos = POOL_SIZE
cdef object _pool_guard = object()     # critical section on free-threaded builds
cdef object _urandom = os.urandom


cdef int draw_key(unsigned char *key) except -1:
    """Copy the next 4-byte masking key from the batch into ``key``, refilling it if empty."""
    global _pool_pos
    cdef bytes fresh
    with cython.critical_section(_pool_guard):
        if _pool_pos <= POOL_SIZE - 4:
            memcpy(key, _pool + _pool_pos, 4)
            _pool_pos += 4
            return 0
    # Outside the critical section: os.urandom may block.
    fresh = _urandom(POOL_SIZE)
    with cython.critical_section(_pool_guard):
        memcpy(_pool, PyBytes_AS_STRING(fresh), POOL_SIZE)
        memcpy(key, _pool, 4)
        _pool_pos = 4
    return 0


def _discard_keys():
    """Forget the batch of keys (run in a forked child: the parent will use them)."""
    global _pool_pos
    memset(_pool, 0, POOL_SIZE)
    _pool_pos = POOL_SIZE


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_discard_keys)


# -- opcodes ------------------------------------------------------------------------------

cdef int _opcode_value(object opcode) except -1:
    """``opcode`` (an int) as a defined opcode's value; TypeError / ValueError otherwise."""
    cdef long value
    if not PyLong_Check(opcode):
        raise TypeError("opcode must be an int, not %s" % type(opcode).__name__)
    try:
        value = opcode
    except OverflowError:
        value = -1
    if value < 0 or value > 15:
        raise ValueError("opcode must be in 0..15, got %r" % (opcode,))
    if (RESERVED_OPCODES >> value) & 1:
        raise ValueError("opcode %d is reserved (RFC 6455 §5.2)" % value)
    return value


# -- Frame --------------------------------------------------------------------------------

cdef object _opcode_member(object opcode):
    """The ``Opcode`` member for ``opcode`` (an int); TypeError / ValueError otherwise."""
    return <object>PyTuple_GET_ITEM(_OPCODES, _opcode_value(opcode))


cdef bytes _payload_bytes(object payload):
    if type(payload) is bytes:
        return payload
    if isinstance(payload, str):
        raise TypeError("payload must be a bytes-like object, not str")
    return memoryview(payload).tobytes()


@cython.final
@cython.freelist(64)
@cython.no_gc
cdef class Frame:
    """One WebSocket frame (RFC 6455 §5.2): ``opcode`` (an ``Opcode``), the ``fin``,
    ``rsv1``, ``rsv2``, ``rsv3`` bits, and ``payload`` (bytes, already unmasked).

    Immutable, equal by value, hashable.
    """
    # no_gc: a Frame only refers to an Opcode member and a bytes object, so it can never be
    # part of a reference cycle; untracked, ten thousand frames held in a list cost the
    # garbage collector nothing.

    def __init__(self, opcode, fin=True, rsv1=False, rsv2=False, rsv3=False, payload=b""):
        if self.payload is not None:
            raise AttributeError("Frame objects are immutable")
        self.opcode = _opcode_member(opcode)
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.payload = _payload_bytes(payload)

    def __eq__(self, other):
        if type(other) is not Frame:
            return NotImplemented
        cdef Frame o = <Frame>other
        return (
            self.opcode is o.opcode
            and self.fin == o.fin
            and self.rsv1 == o.rsv1
            and self.rsv2 == o.rsv2
            and self.rsv3 == o.rsv3
            and self.payload == o.payload
        )

    def __hash__(self):
        return hash((self.opcode, self.fin, self.rsv1, self.rsv2, self.rsv3, self.payload))

    def __repr__(self):
        return _frame_repr(self.opcode, self.fin, self.rsv1, self.rsv2, self.rsv3, self.payload)

    def __reduce__(self):
        return (Frame, (int(self.opcode), self.fin, self.rsv1, self.rsv2, self.rsv3, self.payload))


def _frame_repr(opcode, fin, rsv1, rsv2, rsv3, payload):
    if len(payload) <= 64:
        shown = repr(payload)
    else:
        shown = "%r...<%d bytes>" % (payload[:48], len(payload))
    return "Frame(opcode=Opcode.%s, fin=%r, rsv1=%r, rsv2=%r, rsv3=%r, payload=%s)" % (
        opcode.name, fin, rsv1, rsv2, rsv3, shown
    )


cdef inline Frame _make_frame(const frame_header *h, bytes payload):
    cdef Frame f = Frame.__new__(Frame)
    f.opcode = <object>PyTuple_GET_ITEM(_OPCODES, h.opcode)
    f.fin = h.fin
    f.rsv1 = h.rsv1
    f.rsv2 = h.rsv2
    f.rsv3 = h.rsv3
    f.payload = payload
    return f


# -- errors -------------------------------------------------------------------------------

cdef object header_error(Py_ssize_t code, const frame_header *h, object max_frame_size):
    """The exception for a negative ``parse_header`` result (messages cite the RFC rule)."""
    if code == ERR_RSV2:
        return _ProtocolError(1002, "RSV2 is set but no extension defining it was negotiated (RFC 6455 §5.2)")
    if code == ERR_RSV3:
        return _ProtocolError(1002, "RSV3 is set but no extension defining it was negotiated (RFC 6455 §5.2)")
    if code == ERR_OPCODE:
        return _ProtocolError(1002, "reserved opcode 0x%X (RFC 6455 §5.2)" % h.opcode)
    if code == ERR_RSV1:
        return _ProtocolError(1002, "RSV1 is set but no extension defining it was negotiated (RFC 6455 §5.2)")
    if code == ERR_RSV1_CONTROL:
        return _ProtocolError(1002, "RSV1 is set on a control frame (RFC 7692 §6)")
    if code == ERR_RSV1_CONTINUATION:
        return _ProtocolError(1002, "RSV1 is set on a continuation frame (RFC 7692 §6)")
    if code == ERR_CONTROL_FIN:
        return _ProtocolError(1002, "control frame with FIN clear: control frames must not be fragmented (RFC 6455 §5.5)")
    if code == ERR_UNMASKED:
        return _ProtocolError(1002, "unmasked frame from the client: client-to-server frames must be masked (RFC 6455 §5.1)")
    if code == ERR_MASKED:
        return _ProtocolError(1002, "masked frame from the server: server-to-client frames must not be masked (RFC 6455 §5.1)")
    if code == ERR_CONTROL_LENGTH:
        return _ProtocolError(1002, "control frame payload longer than 125 bytes (RFC 6455 §5.5)")
    if code == ERR_LENGTH_TOP_BIT:
        return _ProtocolError(1002, "64-bit payload length has its most significant bit set (RFC 6455 §5.2)")
    if code == ERR_NON_MINIMAL:
        return _ProtocolError(1002, "payload length %d is not in its minimal encoding (RFC 6455 §5.2)" % h.length)
    if code == ERR_TOO_BIG:
        if max_frame_size is None:
            return _PayloadTooBig(1009, "frame payload of %d bytes is larger than this platform can hold (RFC 6455 §7.4.1)" % h.length)
        return _PayloadTooBig(1009, "frame payload of %d bytes exceeds max_frame_size=%d (RFC 6455 §7.4.1)" % (h.length, max_frame_size))
    return _ProtocolError(1002, "invalid frame header (RFC 6455 §5.2)")  # not reached


# -- decoder ------------------------------------------------------------------------------

cdef inline bytes _unmasked(const unsigned char *src, Py_ssize_t n, const frame_header *h):
    """A new bytes object holding the ``n`` payload bytes at ``src``, unmasked in one pass."""
    cdef bytes out
    cdef unsigned char *dst
    # hot: begin unmask payload
    if not h.masked:
        return PyBytes_FromStringAndSize(<const char *>src, n)  # hot: allow (the frame's payload object)
    out = PyBytes_FromStringAndSize(NULL, n)  # hot: allow (the frame's payload object)
    dst = <unsigned char *>PyBytes_AS_STRING(out)  # hot: allow (macro: the object's data pointer)
    if n >= MASK_NOGIL_THRESHOLD:
        with nogil:  # hot: allow (the GIL is released once per frame, from 256 KiB on)
            mask_copy(dst, src, n, h.key, 0)
    else:
        mask_copy(dst, src, n, h.key, 0)
    # hot: end
    return out


@cython.final
cdef class FrameDecoder:
    """Incremental frame parser: ``feed(data)`` returns the frames completed by ``data``.

    ``client=False`` (a server) requires masked frames, ``client=True`` unmasked ones
    (RFC 6455 §5.1).  ``max_frame_size`` is the inclusive payload limit (``None``: none);
    ``allow_rsv1`` accepts RSV1 on data frames that start a message (permessage-deflate).
    Any violation raises ``ProtocolError``; the decoder is then finished and every later
    ``feed()`` raises again.

    Not to be shared: a decoder holds one connection's state and is used by one thread at a
    time.  A ``feed()`` while another is under way raises ``RuntimeError`` (and leaves the
    running one and the decoder's state intact).
    """

    def __cinit__(self):
        self._max_size = DEFAULT_MAX_FRAME_SIZE
        self._max_frame_size = DEFAULT_MAX_FRAME_SIZE

    def __init__(self, *, client=False, max_frame_size=DEFAULT_MAX_FRAME_SIZE, allow_rsv1=False):
        cdef object limit
        self._flags = (HEADER_CLIENT if client else 0) | (HEADER_ALLOW_RSV1 if allow_rsv1 else 0)
        if max_frame_size is None:
            limit = PY_SSIZE_T_MAX
        else:
            if not PyLong_Check(max_frame_size):
                raise TypeError("max_frame_size must be an int or None, not %s" % type(max_frame_size).__name__)
            if max_frame_size < 0:
                raise ValueError("max_frame_size must be >= 0, got %r" % (max_frame_size,))
            # A payload must also fit a bytes object.
            limit = min(max_frame_size, PY_SSIZE_T_MAX)
            max_frame_size = int(max_frame_size)
        self._max_size = limit
        self._max_frame_size = max_frame_size
        self._hlen = 0
        self._in_payload = False
        Py_XDECREF(self._buf)
        self._buf = NULL
        self._error = None

    def __dealloc__(self):
        Py_XDECREF(self._buf)
        self._buf = NULL

    @property
    def client(self):
        return bool(self._flags & HEADER_CLIENT)

    @property
    def allow_rsv1(self):
        return bool(self._flags & HEADER_ALLOW_RSV1)

    @property
    def max_frame_size(self):
        return self._max_frame_size

    def feed(self, data):
        """Parse ``data`` (any bytes-like object) and return the list of frames it completes."""
        cdef Py_buffer view
        cdef list out = []
        # One feed at a time per decoder, also on free-threaded builds (a no-op with a GIL).
        with cython.critical_section(self):
            # The critical section does not cover the GIL-free unmasking of a large payload
            # (another thread may enter then): a second feed() while one is under way is a
            # decoder shared between threads, refused loudly before it can touch any state.
            if self._busy:
                raise RuntimeError(BUSY_MESSAGE % "FrameDecoder")
            if self._error is not None:
                self._raise_again()
            self._busy = True
            try:
                if type(data) is bytes:
                    self.feed_into(<const unsigned char *>PyBytes_AS_STRING(data), len(<bytes>data), out)
                    return out
                acquire_read(data, &view)
                try:
                    self.feed_into(<const unsigned char *>view.buf, view.len, out)
                finally:
                    PyBuffer_Release(&view)
            finally:
                self._busy = False
        return out

    def partial_frame(self):
        """What is known of the frame whose bytes have started to arrive: ``None`` when no
        byte of an unfinished frame is held, else ``(opcode, fin, rsv1, length)`` with
        ``opcode`` an int and ``length`` ``None`` until the whole header is in."""
        cdef frame_header h
        cdef int state
        memset(&h, 0, sizeof(h))
        state = self.partial_header(&h)
        if state == 0:
            return None
        return (h.opcode, bool(h.fin), bool(h.rsv1), h.length if state == 2 else None)

    cdef int partial_header(self, frame_header *h) noexcept:
        """0: no unfinished frame (or the decoder failed); 1: part of its header is in, and
        ``h.opcode``, ``h.fin``, ``h.rsv1`` are set; 2: its header is complete, ``*h`` holds it
        all and its payload is arriving."""
        if self._error is not None:
            return 0
        if self._in_payload:
            h[0] = self._h
            return 2
        if self._hlen:
            # The bytes held broke no rule, so this only reads them (result 0: incomplete).
            parse_header(self._hbuf, self._hlen, h, self._flags, self._max_size)
            return 1
        return 0

    cdef int _raise_again(self) except -1:
        raise type(self._error)(self._error.close_code, self._error.reason)

    cdef int _fail(self, object exc) except -1:
        # Kept as a copy: the raised ``exc`` gathers a traceback whose caller frames hold
        # the bytes they fed, which a failed decoder must let go (as the pure twin does).
        self._error = type(exc)(exc.close_code, exc.reason)
        self._in_payload = False
        self._hlen = 0
        Py_XDECREF(self._buf)
        self._buf = NULL
        raise exc

    cdef int feed_into(self, const unsigned char *data, Py_ssize_t n, list out) except -1:
        """Parse ``data[:n]``, appending each completed ``Frame`` to ``out``.

        The C-level entry point for compiled callers; raises like ``feed()`` (including when
        the decoder is already finished).  Never keeps a pointer into ``data``.
        """
        if self._error is not None:
            self._raise_again()
        try:
            return self._parse(data, n, out)
        except MemoryError:
            # A payload that cannot be held fails the connection like one over the limit
            # (RFC 6455 §7.4.1) and leaves no half-parsed state behind.
            self._fail(_PayloadTooBig(1009, "frame payload does not fit in memory (RFC 6455 §7.4.1)"))

    cdef int _parse(self, const unsigned char *data, Py_ssize_t n, list out) except -1:
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t r, length
        cdef frame_header h
        # hot: begin frame parse loop
        while pos < n:
            if self._in_payload:
                pos += self._continue_payload(data + pos, n - pos, out)
                continue
            if self._hlen:
                r = self._continue_header(data + pos, n - pos)
                if r <= 0:
                    return 0            # every byte went into the header buffer
                pos += r
                h = self._h
            else:
                r = parse_header(data + pos, n - pos, &h, self._flags, self._max_size)
                if r < 0:
                    self._fail(header_error(r, &h, self._max_frame_size))  # hot: allow (raises)
                if r == 0:
                    # A header split across feeds: keep its bytes (fewer than 14).
                    memcpy(self._hbuf, data + pos, n - pos)
                    self._hlen = n - pos
                    return 0
                pos += r
            length = <Py_ssize_t>h.length
            if n - pos >= length:
                PyList_Append(out, _make_frame(&h, _unmasked(data + pos, length, &h)))  # hot: allow (the Frame handed out)
                pos += length
            else:
                self._h = h
                self._start_payload(data + pos, n - pos)
                return 0
        # hot: end
        return 0

    cdef Py_ssize_t _continue_header(self, const unsigned char *p, Py_ssize_t n) except -1:
        """Add bytes to a split header.  Returns how many of ``p[:n]`` it took once the
        header is complete (the frame's header is then in ``self._h``), or 0 when all of
        them went into the buffer and more are needed."""
        cdef Py_ssize_t used = 0
        cdef Py_ssize_t want, take, r
        cdef frame_header h
        # hot: begin split header
        while True:
            # Bytes the header needs in all, as far as the bytes so far tell.
            if self._hlen < 2:
                want = 2
            else:
                want = 6 if self._hbuf[1] & 0x80 else 2
                if (self._hbuf[1] & 0x7F) == 126:
                    want += 2
                elif (self._hbuf[1] & 0x7F) == 127:
                    want += 8
            take = want - self._hlen
            if take > n - used:
                take = n - used
            memcpy(self._hbuf + self._hlen, p + used, take)
            self._hlen += take
            used += take
            r = parse_header(self._hbuf, self._hlen, &h, self._flags, self._max_size)
            if r < 0:
                self._fail(header_error(r, &h, self._max_frame_size))  # hot: allow (raises)
            if r > 0:
                self._h = h
                self._hlen = 0
                return used
            if used == n:
                return 0
        # hot: end

    cdef int _start_payload(self, const unsigned char *p, Py_ssize_t avail) except -1:
        """The header in ``self._h`` is done and ``avail`` (< length) payload bytes are here.
        Nothing is allocated until a payload byte arrives: a silent peer costs no memory."""
        self._buf = NULL
        self._capacity = 0
        self._filled = 0
        self._in_payload = True
        if avail:
            self._grow(avail)
            self._append_payload(p, avail)
        return 0

    cdef void _append_payload(self, const unsigned char *p, Py_ssize_t n) noexcept:
        # hot: begin append payload
        cdef unsigned char *dst = <unsigned char *>_bytes_data(self._buf) + self._filled  # hot: allow (macro: the object's data pointer)
        if self._h.masked:
            mask_copy(dst, p, n, self._h.key, self._filled)
        else:
            memcpy(dst, p, n)
        self._filled += n
        self._copied += n
        # hot: end

    cdef Py_ssize_t _continue_payload(self, const unsigned char *p, Py_ssize_t n, list out) except -1:
        """Add up to ``n`` bytes to the payload under way; returns how many it took."""
        cdef Py_ssize_t length = <Py_ssize_t>self._h.length
        cdef Py_ssize_t take = length - self._filled
        cdef bytes payload
        # hot: begin continue payload
        if take > n:
            take = n
        if self._filled + take > self._capacity:
            # At most log2(length / GROW_FROM) + 1 times a frame.
            self._grow(self._filled + take)
        self._append_payload(p, take)
        if self._filled == length:
            payload = <bytes>self._buf  # hot: allow (once a frame: the payload handed out)
            Py_DECREF(payload)      # drop the reference self._buf held; `payload` has one
            self._buf = NULL
            self._in_payload = False
            PyList_Append(out, _make_frame(&self._h, payload))  # hot: allow (the Frame handed out)
        return take
        # hot: end

    cdef int _grow(self, Py_ssize_t need) except -1:
        """Make the payload buffer hold at least ``need`` bytes (``need`` <= the declared
        length): double it, or start it at ``max(need, GROW_FROM)``, capped at the length."""
        cdef Py_ssize_t length = <Py_ssize_t>self._h.length
        cdef Py_ssize_t cap = length
        cdef bytes buf
        if self._capacity <= length // 2:
            cap = self._capacity * 2        # no overflow: at most length
        if cap < need:
            cap = need
        if cap < GROW_FROM:
            cap = GROW_FROM
        if cap > length:
            cap = length
        if self._buf == NULL:
            buf = PyBytes_FromStringAndSize(NULL, cap)
            self._buf = <PyObject *>buf
            Py_INCREF(buf)          # ours, held past this call through the raw pointer
        else:
            # The bytes object is ours alone (refcount 1), so it can grow in place; realloc
            # may move what it holds (counted, as an upper bound, in ``_copied``).
            self._copied += self._capacity
            try:
                _PyBytes_Resize(&self._buf, cap)
            except MemoryError:
                self._buf = NULL    # _PyBytes_Resize freed it
                raise
        self._capacity = cap
        return 0


# -- encoder ------------------------------------------------------------------------------

cdef inline int _first_byte(object opcode, object fin, object rsv1) except -1:
    """FIN, RSV1 and the opcode as a header's first byte, after the rules on them."""
    cdef int op = _opcode_value(opcode)
    cdef bint c_fin = fin
    cdef bint c_rsv1 = rsv1
    if op & 8:
        if not c_fin:
            raise ValueError("control frames must not be fragmented: fin=False (RFC 6455 §5.5)")
        if c_rsv1:
            raise ValueError("RSV1 must not be set on a control frame (RFC 7692 §6)")
    elif c_rsv1 and op == 0:
        raise ValueError("RSV1 must not be set on a continuation frame (RFC 7692 §6)")
    return op | (0x80 if c_fin else 0) | (0x40 if c_rsv1 else 0)


cdef inline int _key_arg(object mask, unsigned char *key) except -1:
    """The key of a ``mask`` argument other than True, copied into ``key``: 0 for False/None
    (no key), 1 for a 4-byte buffer; TypeError / ValueError otherwise."""
    if mask is False or mask is None:
        return 0
    if isinstance(mask, str):
        raise TypeError("mask must be a bool or a 4-byte bytes-like object, not str")
    read_key(mask, key)
    return 1


cdef bytes build_frame(unsigned char first_byte, const unsigned char *payload, Py_ssize_t n,
                       const unsigned char *key):
    """A whole frame: header (minimal length encoding) then the payload, masked with ``key``
    unless it is NULL.  ``first_byte`` holds FIN, RSV and the opcode; nothing is checked."""
    # hot: begin build frame
    cdef Py_ssize_t hs = header_size(<uint64_t>n, key != NULL)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, hs + n)  # hot: allow (the frame's bytes object)
    cdef unsigned char *dst = <unsigned char *>PyBytes_AS_STRING(out)  # hot: allow (macro: the object's data pointer)
    write_header(dst, first_byte, <uint64_t>n, key)
    if n >= MASK_NOGIL_THRESHOLD:
        with nogil:  # hot: allow (the GIL is released once per frame, from 256 KiB on)
            if key != NULL:
                mask_copy(dst + hs, payload, n, key, 0)
            else:
                memcpy(dst + hs, payload, n)
    elif key != NULL:
        mask_copy(dst + hs, payload, n, key, 0)
    else:
        memcpy(dst + hs, payload, n)
    # hot: end
    return out


@cython.binding(False)
def encode_frame(opcode, payload, *, fin=True, mask=False, rsv1=False):
    """Encode one frame (RFC 6455 §5.2) and return its bytes.

    ``payload`` is any bytes-like object (not ``str``: text encoding is the message layer's
    job).  ``mask=False`` sends it unmasked (a server), ``mask=True`` masks it with a key from
    a cryptographic source (RFC 6455 §10.3, a client), ``mask=<4 bytes>`` with that key.
    ``ValueError`` for a reserved opcode, a control frame with ``fin=False`` or a payload over
    125 bytes (RFC 6455 §5.5), RSV1 on a control or continuation frame (RFC 7692 §6), or a
    mask key that is not 4 bytes.
    """
    cdef Py_buffer pview
    cdef unsigned char key[4]
    cdef const unsigned char *keyp = NULL
    cdef const unsigned char *src
    cdef Py_ssize_t n
    cdef bint release = False
    cdef unsigned char first_byte = _first_byte(opcode, fin, rsv1)

    if mask is True:
        draw_key(key)
        keyp = key
    elif _key_arg(mask, key):
        keyp = key

    if type(payload) is bytes:
        # The common case, without the buffer protocol or a try/finally.
        n = PyBytes_GET_SIZE(payload)
        if (first_byte & 8) and n > 125:
            raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % n)
        return build_frame(first_byte, <const unsigned char *>PyBytes_AS_STRING(payload), n, keyp)
    else:
        if isinstance(payload, str):
            raise TypeError("payload must be a bytes-like object, not str")
        acquire_read(payload, &pview)
        release = True
        src = <const unsigned char *>pview.buf
        n = pview.len
    try:
        if (first_byte & 8) and n > 125:
            raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % n)
        return build_frame(first_byte, src, n, keyp)
    finally:
        if release:
            PyBuffer_Release(&pview)


@cython.binding(False)
def encode_frame_header(opcode, length, *, fin=True, mask=False, rsv1=False):
    """The header alone of a frame with a ``length``-byte payload (RFC 6455 §5.2).

    For sending a large payload without copying it: write the header, then the payload
    itself (``transport.writelines([header, payload])``); ``header + payload`` is what
    ``encode_frame`` returns.  ``mask=<4 bytes>`` puts that key in the header, and the caller
    masks the payload with it (``apply_mask`` / ``mask_inplace``); ``mask=True`` is refused, as
    the key it would draw would be lost.  Otherwise the rules of ``encode_frame`` apply:
    ``ValueError`` for a reserved opcode, a control frame with ``fin=False`` or a length over
    125, RSV1 on a control or continuation frame, a key that is not 4 bytes, or a length below
    0 or at or above 2**63.
    """
    cdef unsigned char key[4]
    cdef const unsigned char *keyp = NULL
    cdef unsigned char first_byte = _first_byte(opcode, fin, rsv1)
    cdef uint64_t n
    cdef bytes out
    if mask is True:
        raise TypeError("mask=True would draw a key the caller never sees: pass the 4-byte key "
                        "the payload is masked with, or use encode_frame")
    if _key_arg(mask, key):
        keyp = key
    size = PyNumber_Index(length)
    if size < 0:
        raise ValueError("payload length must not be negative, got %d" % size)
    if size >= _LENGTH_LIMIT:
        raise ValueError("payload length must be below 2**63 (RFC 6455 §5.2), got %d" % size)
    n = size
    if (first_byte & 8) and n > 125:
        raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % n)
    out = PyBytes_FromStringAndSize(NULL, header_size(n, keyp != NULL))
    write_header(<unsigned char *>PyBytes_AS_STRING(out), first_byte, n, keyp)
    return out


cdef object _LENGTH_LIMIT = 1 << 63
