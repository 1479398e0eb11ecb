# A compiled stand-in for wsproto's FrameProtocol (wsproto.frame_protocol.FrameProtocol):
# the same constructor, methods, frames, exceptions and extension hooks, so that
# wsproto.connection.Connection runs on it unchanged.  wsproto's own class is the reference
# (``wscodec.integrations._wsproto_py`` re-exports it): the tests run wsproto's suite and differential
# checks against it.
#
# What makes it faster: one buffer with a read position instead of slice-and-commit per
# field, payloads unmasked while they are copied out of the buffer (one pass), complete text
# frames decoded in one call, frames built without going through NamedTuple.__new__, and a
# fast path when no extension is active.

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.object cimport PyTypeObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from wscodec._frames_c cimport draw_key, header_size, write_header
from wscodec._mask_c cimport mask_copy
from wscodec.integrations._tuples cimport named_tuple4, named_tuple_type

import struct
from codecs import getincrementaldecoder

from wsproto.frame_protocol import (
    LOCAL_ONLY_CLOSE_REASONS,
    CloseReason,
    Frame,
    Opcode,
    ParseFailed,
    RsvBits,
    _truncate_utf8,
)

__all__ = ["FrameProtocol"]

# Opcode members by value (None for the reserved values 3-7 and 11-15, RFC 6455 §5.2).
cdef tuple _OPCODES = tuple(
    Opcode(v) if v in Opcode._value2member_map_ else None for v in range(16)
)
cdef object _CONTINUATION = Opcode.CONTINUATION
cdef object _TEXT = Opcode.TEXT
cdef object _BINARY = Opcode.BINARY
cdef object _CLOSE = Opcode.CLOSE
cdef object _PING = Opcode.PING
cdef object _PONG = Opcode.PONG
cdef object _NO_RSV = RsvBits(False, False, False)
cdef object _utf8_decoder = getincrementaldecoder("utf-8")

cdef enum:
    MAX_PAYLOAD_NORMAL = 125        # RFC 6455 §5.2: 7-bit length
    MAX_PAYLOAD_TWO_BYTE = 65535    # 16-bit length
    MIN_CLOSE_REASON = 1000         # §7.4.2 ranges
    MAX_PROTOCOL_CLOSE_REASON = 2999
    MAX_CLOSE_REASON = 4999


cdef PyTypeObject *_FRAME_TYPE = named_tuple_type(Frame, 4)


cdef inline object _frame(object opcode, object payload, bint frame_finished,
                          bint message_finished):
    """``Frame(opcode, payload, frame_finished, message_finished)``, built in C."""
    return named_tuple4(_FRAME_TYPE, opcode, payload,
                        True if frame_finished else False,
                        True if message_finished else False)


cdef inline object _checked_opcode(unsigned char b0, unsigned char b1):
    """The Opcode member of a header's first two bytes, once they are checked: a known
    opcode (§5.2); for a control frame FIN set and at most 125 bytes (§5.5)."""
    cdef int raw = b0 & 0x0F
    cdef bint control = raw >= 8
    cdef object opcode
    # hot: begin wsproto opcode
    opcode = _OPCODES[raw]  # hot: allow (the frame's Opcode member, wsproto's API)
    if opcode is None:
        raise ParseFailed("Invalid opcode {:#x}".format(raw))  # hot: allow (raises)
    if control and not (b0 & 0x80):
        raise ParseFailed("Invalid attempt to fragment control frame")  # hot: allow (raises)
    if control and (b1 & 0x7F) > MAX_PAYLOAD_NORMAL:
        raise ParseFailed("Control frame with payload len > 125")  # hot: allow (raises)
    # hot: end
    return opcode


cdef inline Py_ssize_t _read_length(const unsigned char *p, Py_ssize_t avail,
                                    unsigned long long *length) except -1:
    """The payload length of the header at ``p`` (``avail`` bytes there) into ``length``;
    returns the bytes it takes with the first two (2, 4 or 10), or 0 when they have not all
    arrived."""
    cdef unsigned long long n = p[1] & 0x7F
    cdef int i
    # hot: begin wsproto length
    if n < 126:
        length[0] = n
        return 2
    if n == 126:
        if avail < 4:
            return 0
        n = (<unsigned long long>p[2] << 8) | p[3]
        # §5.2: "the minimal number of bytes MUST be used to encode the length".
        if n <= MAX_PAYLOAD_NORMAL:
            raise ParseFailed("Payload length used 2 bytes when 1 would have sufficed")  # hot: allow (raises)
        length[0] = n
        return 4
    if avail < 10:
        return 0
    n = 0
    for i in range(8):
        n = (n << 8) | p[2 + i]
    if n <= MAX_PAYLOAD_TWO_BYTE:
        raise ParseFailed("Payload length used 8 bytes when 2 would have sufficed")  # hot: allow (raises)
    # §5.2: the most significant bit of a 64-bit length MUST be 0.
    if n >> 63:
        raise ParseFailed("8-byte payload length with non-zero MSB")  # hot: allow (raises)
    length[0] = n
    # hot: end
    return 10


@cython.final
cdef class _FrameIterator:
    """What ``received_frames()`` returns: frames parsed lazily, one per ``next()``."""

    cdef FrameProtocol _proto

    def __iter__(self):
        return self

    def __next__(self):
        frame = self._proto._next_frame()
        if frame is None:
            raise StopIteration
        return frame


cdef class FrameProtocol:
    """wsproto's FrameProtocol, compiled.  ``FrameProtocol(client, extensions)``."""

    cdef public object client
    cdef public list extensions
    cdef bint _client
    cdef bint _started          # received_frames() was called once (extensions re-filtered)
    cdef bint _done             # a Close frame was returned or parsing failed: no more frames
    cdef bytearray _buf
    cdef Py_ssize_t _pos        # bytes of _buf already consumed
    # The frame being received (RFC 6455 §5.2).
    cdef bint _in_frame
    cdef bint _fin
    cdef bint _masked
    cdef bint _control
    cdef object _opcode         # the header's Opcode
    cdef object _effective      # Opcode of the next partial frame (CONTINUATION after the first)
    cdef object _out_opcode     # opcode and completeness of the payload just taken
    cdef bint _out_finished
    cdef unsigned char _key[4]
    cdef Py_ssize_t _length
    cdef Py_ssize_t _consumed
    # The message being received (§5.4).
    cdef object _message_opcode
    cdef object _decoder
    # The message being sent.
    cdef object _outbound_opcode

    def __init__(self, client, extensions):
        self.client = client
        self._client = bool(client)
        self.extensions = [ext for ext in extensions if ext.enabled()]
        self._buf = bytearray()
        self._pos = 0
        self._in_frame = False
        self._done = False
        self._started = False
        self._message_opcode = None
        self._decoder = None
        self._outbound_opcode = None

    # --- receiving --------------------------------------------------------------------------

    def receive_bytes(self, data):
        if self._pos:
            # Drop what was consumed; CPython moves the start of a bytearray in O(1).
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    def received_frames(self):
        """An iterator over the frames the buffered bytes complete (parsed lazily)."""
        cdef _FrameIterator it = _FrameIterator.__new__(_FrameIterator)
        it._proto = self
        return it

    cdef object _next_frame(self):
        cdef object frame
        if self._done:
            return None
        if not self._started:
            # wsproto re-filters its extensions when frames are first read.
            self._started = True
            self.extensions = [ext for ext in self.extensions if ext.enabled()]
        try:
            payload = self._process_buffer()
            if payload is None:
                return None
            opcode = self._out_opcode
            if opcode is _CLOSE:
                frame = self._process_close(payload)
                self._done = True
            elif opcode is _PING or opcode is _PONG:
                frame = _frame(opcode, payload, self._out_finished, self._fin)
            else:
                frame = self._process_message(opcode, payload, self._out_finished, self._fin)
        except BaseException:
            # A failed connection produces nothing more (wsproto's generator ends).
            self._done = True
            raise
        return frame

    cdef bint _parse_header(self) except -1:
        """Parse the header at the read position; False when more bytes are needed."""
        cdef Py_ssize_t avail = PyByteArray_GET_SIZE(self._buf) - self._pos
        cdef const unsigned char *p
        cdef Py_ssize_t need
        cdef unsigned long long length
        cdef unsigned char b0
        cdef bint has_mask
        cdef object opcode
        # hot: begin wsproto header
        if avail < 2:
            return False
        p = <const unsigned char *>PyByteArray_AS_STRING(self._buf) + self._pos  # hot: allow (macro: the buffer's data pointer)
        b0 = p[0]
        has_mask = (p[1] & 0x80) != 0
        opcode = _checked_opcode(b0, p[1])
        need = _read_length(p, avail, &length)
        if need == 0:
            return False
        self._check_bits(opcode, b0, has_mask, <Py_ssize_t>length)
        if has_mask:
            if avail < need + 4:
                return False
            # The buffer may have moved while an extension hook ran.
            p = <const unsigned char *>PyByteArray_AS_STRING(self._buf) + self._pos  # hot: allow (macro: the buffer's data pointer)
            memcpy(self._key, p + need, 4)
            need += 4
        self._pos += need
        self._in_frame = True
        self._fin = (b0 & 0x80) != 0
        self._masked = has_mask
        self._control = (b0 & 0x0F) >= 8
        self._opcode = opcode  # hot: allow (the frame's Opcode member, wsproto's API)
        self._effective = opcode  # hot: allow (the frame's Opcode member, wsproto's API)
        self._length = <Py_ssize_t>length
        self._consumed = 0
        # hot: end
        return True

    cdef inline int _check_bits(self, object opcode, unsigned char b0, bint has_mask,
                                Py_ssize_t length) except -1:
        """The RSV bits (for the extensions to claim) and the MASK bit (for the role)."""
        cdef bint rsv1 = (b0 & 0x40) != 0
        cdef bint rsv2 = (b0 & 0x20) != 0
        cdef bint rsv3 = (b0 & 0x10) != 0
        # hot: begin wsproto header bits
        if self.extensions:  # hot: allow (the extension list's truth, once a frame)
            self._extension_header(opcode, RsvBits(rsv1, rsv2, rsv3), length)  # hot: allow (extension hooks are Python by wsproto's API)
        elif rsv1 or rsv2 or rsv3:
            # §5.2: a reserved bit without a negotiated extension fails the connection.
            raise ParseFailed("Reserved bit set unexpectedly")  # hot: allow (raises)
        # §5.1: clients mask every frame they send; servers never do.
        if has_mask and self._client:
            raise ParseFailed("client received unexpected masked frame")  # hot: allow (raises)
        if not has_mask and not self._client:
            raise ParseFailed("server received unexpected unmasked frame")  # hot: allow (raises)
        # hot: end
        return 0

    cdef int _extension_header(self, object opcode, object rsv, Py_ssize_t length) except -1:
        cdef list used = [False, False, False]
        for extension in self.extensions:
            result = extension.frame_inbound_header(self, opcode, rsv, length)
            if isinstance(result, CloseReason):
                raise ParseFailed("error in extension", result)
            for bit, flag in enumerate(result):
                if flag:
                    used[bit] = True
        for expected, found in zip(used, rsv):
            if found and not expected:
                raise ParseFailed("Reserved bit set unexpectedly")
        return 0

    cdef object _process_buffer(self):
        """The next (partial) frame's payload, or None; sets ``_out_opcode``/``_out_finished``
        (the frame's FIN is ``_fin``)."""
        cdef Py_ssize_t avail, take
        cdef bytes payload
        cdef const unsigned char *src
        if not self._in_frame and not self._parse_header():
            return None
        avail = PyByteArray_GET_SIZE(self._buf) - self._pos
        # Control frames are delivered whole; data frames as their bytes arrive.
        if self._control and avail < self._length:
            return None
        take = self._length - self._consumed
        if take > avail:
            take = avail
        if take == 0 and self._length > 0:
            return None
        # hot: begin wsproto payload
        payload = PyBytes_FromStringAndSize(NULL, take)  # hot: allow (the payload object handed out)
        # Read the buffer's address after the allocation (nothing runs between here and the
        # copy, so the bytearray cannot move).
        src = <const unsigned char *>PyByteArray_AS_STRING(self._buf) + self._pos  # hot: allow (macro: the buffer's data pointer)
        if self._masked:
            # §5.3: byte i of the payload is XORed with key[i % 4]; ``_consumed`` keeps the
            # position when a payload arrives in pieces.
            mask_copy(<unsigned char *>PyBytes_AS_STRING(payload), src, take, self._key,  # hot: allow (macro: the object's data pointer)
                      self._consumed)
        else:
            memcpy(PyBytes_AS_STRING(payload), src, take)  # hot: allow (macro: the object's data pointer)
        self._pos += take
        self._consumed += take
        # hot: end
        finished = self._consumed == self._length
        if self.extensions:
            payload = self._extension_payload(payload, finished)
        self._out_opcode = self._effective
        self._out_finished = finished
        if finished:
            self._in_frame = False
            self._effective = None
        else:
            self._effective = _CONTINUATION
        return payload

    cdef bytes _extension_payload(self, bytes payload, bint finished):
        cdef bytearray data = bytearray(payload)
        for extension in self.extensions:
            result = extension.frame_inbound_payload_data(self, bytes(data))
            if isinstance(result, CloseReason):
                raise ParseFailed("error in extension", result)
            data = bytearray(result)
        if finished:
            final = bytearray()
            for extension in self.extensions:
                result = extension.frame_inbound_complete(self, self._fin)
                if isinstance(result, CloseReason):
                    raise ParseFailed("error in extension", result)
                if result is not None:
                    final += result
            data += final
        return bytes(data)

    cdef object _process_message(self, object opcode, bytes payload, bint frame_finished,
                                 bint message_finished):
        """Fragmentation rules (§5.4) and UTF-8 for text (§8.1), frame by frame."""
        cdef bint finished
        if self._message_opcode is None:
            if opcode is _CONTINUATION:
                raise ParseFailed("unexpected CONTINUATION")
            self._message_opcode = opcode
        elif opcode is not _CONTINUATION:
            raise ParseFailed("expected CONTINUATION, got {!r}".format(opcode))
        finished = frame_finished and message_finished
        if opcode is _TEXT:
            if finished:
                # A whole text message in one frame: decode it in one call.
                self._message_opcode = None
                self._decoder = None
                try:
                    data = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(payload), len(payload), NULL)
                except UnicodeDecodeError as exc:
                    raise ParseFailed(str(exc), CloseReason.INVALID_FRAME_PAYLOAD_DATA)
                return _frame(_TEXT, data, frame_finished, True)
            self._decoder = _utf8_decoder()
        if self._decoder is None:
            data = payload
        else:
            try:
                data = self._decoder.decode(payload, finished)
            except UnicodeDecodeError as exc:
                raise ParseFailed(str(exc), CloseReason.INVALID_FRAME_PAYLOAD_DATA)
        message_opcode = self._message_opcode
        if finished:
            self._message_opcode = None
            self._decoder = None
        return _frame(message_opcode, data, frame_finished, finished)

    cdef object _process_close(self, bytes data):
        """The Close payload (§5.5.1): a 2-byte code, then a UTF-8 reason."""
        if not data:
            # §7.1.5: no status code means 1005.
            payload = (CloseReason.NO_STATUS_RCVD, "")
        elif len(data) == 1:
            raise ParseFailed("CLOSE with 1 byte payload")
        else:
            code = (<unsigned char>data[0] << 8) | <unsigned char>data[1]
            if code < MIN_CLOSE_REASON or code > MAX_CLOSE_REASON:
                raise ParseFailed("CLOSE with invalid code")
            try:
                code = CloseReason(code)
            except ValueError:
                pass
            # §7.4.1: 1005, 1006 and 1015 are never sent on the wire.
            if code in LOCAL_ONLY_CLOSE_REASONS:
                raise ParseFailed("remote CLOSE with local-only reason")
            if not isinstance(code, CloseReason) and code <= MAX_PROTOCOL_CLOSE_REASON:
                raise ParseFailed("CLOSE with unknown reserved code")
            try:
                reason = data[2:].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ParseFailed(
                    "Error decoding CLOSE reason: " + str(exc),
                    CloseReason.INVALID_FRAME_PAYLOAD_DATA,
                )
            payload = (code, reason)
        # A control frame is never fragmented (§5.5): it is whole and final here.
        return _frame(_CLOSE, payload, True, True)

    # --- sending ----------------------------------------------------------------------------

    def close(self, code=None, reason=None):
        payload = bytearray()
        if code is CloseReason.NO_STATUS_RCVD:
            code = None
        if code is None and reason:
            raise TypeError("cannot specify a reason without a code")
        if code in LOCAL_ONLY_CLOSE_REASONS:
            code = CloseReason.NORMAL_CLOSURE
        if code is not None:
            payload += struct.pack("!H", code)
            if reason is not None:
                payload += _truncate_utf8(reason.encode("utf-8"), MAX_PAYLOAD_NORMAL - 2)
        return self._serialize(_CLOSE, payload, True)

    def ping(self, payload=b""):
        return self._serialize(_PING, payload, True)

    def pong(self, payload=b""):
        return self._serialize(_PONG, payload, True)

    def send_data(self, payload=b"", fin=True):
        if isinstance(payload, (bytes, bytearray, memoryview)):
            opcode = _BINARY
        elif isinstance(payload, str):
            opcode = _TEXT
            payload = (<str>payload).encode("utf-8")
        else:
            raise TypeError("Must provide bytes or text")
        if self._outbound_opcode is None:
            self._outbound_opcode = opcode
        elif self._outbound_opcode is not opcode:
            raise TypeError("Data type mismatch inside message")
        else:
            opcode = _CONTINUATION
        if fin:
            self._outbound_opcode = None
        return self._serialize(opcode, payload, fin)

    cdef bytearray _serialize(self, object opcode, object payload, bint fin):
        cdef Py_ssize_t n, hs
        cdef bytearray out
        cdef unsigned char *dst
        cdef const unsigned char *src
        cdef unsigned char first
        cdef unsigned char key[4]
        cdef const unsigned char *keyp = NULL
        if type(payload) is not bytes:
            payload = bytes(bytearray(payload))
        rsv1 = rsv2 = rsv3 = False
        if self.extensions:
            rsv = _NO_RSV
            for extension in reversed(self.extensions):
                rsv, payload = extension.frame_outbound(self, opcode, rsv, bytes(payload), fin)
            rsv1, rsv2, rsv3 = rsv
            if type(payload) is not bytes:
                payload = bytes(bytearray(payload))
        n = len(payload)
        first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) \
            | (0x10 if rsv3 else 0) | <int>opcode
        # hot: begin wsproto serialize
        # The opcode is the low nibble of ``first`` (no second conversion of the Opcode).
        if n > MAX_PAYLOAD_NORMAL and (first & 0x0F) >= 8:
            raise ValueError("payload too long for control frame")  # hot: allow (raises)
        if self._client:
            # §5.3 / §10.3: a fresh key from a strong source of entropy for every frame (the
            # batched os.urandom pool shared with encode_frame: no Python call per frame).
            draw_key(key)
            keyp = key
        # The header as encode_frame writes it: minimal length encoding (§5.2), then the key.
        hs = header_size(<uint64_t>n, keyp != NULL)
        out = bytearray(hs + n)  # hot: allow (the frame's bytearray handed out)
        dst = <unsigned char *>PyByteArray_AS_STRING(out)
        write_header(dst, first, <uint64_t>n, keyp)
        src = <const unsigned char *>PyBytes_AS_STRING(payload)  # hot: allow (macro: the object's data pointer)
        if keyp != NULL:
            mask_copy(dst + hs, src, n, key, 0)
        else:
            memcpy(dst + hs, src, n)
        # hot: end
        return out
