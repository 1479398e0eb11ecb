# C-level API of the frame codec (RFC 6455 §5), for other compiled modules to ``cimport``.
#
# * ``parse_header`` / ``write_header`` are inline, nogil kernels over (pointer, length): a
#   caller that runs its own loop (the message decoder, an integration) pays no call.
# * ``header_error`` turns a negative ``parse_header`` result into the exception to raise.
# * ``FrameDecoder.feed_into`` drives the decoder on raw memory without building a Python
#   buffer; ``Frame``'s fields are C fields, read directly by cimporting code.
#   ``FrameDecoder.partial_header`` tells what is known of the frame under way (the C form of
#   ``partial_frame()``), e.g. to check its declared length against a message limit before
#   its payload arrives.
# * ``build_frame`` / ``draw_key`` build a whole frame and hand out a masking key from the
#   shared batched cryptographic key source (RFC 6455 §10.3).
#
# Binary compatibility: a module that cimports this file is compiled against the layout of
# ``Frame`` and ``FrameDecoder`` and the order of ``FrameDecoder``'s cdef methods; rebuild it
# whenever this file changes.  New methods go after the existing ones.

cimport cython
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t
from libc.string cimport memcpy


# ``parse_header`` flags.
cdef enum:
    HEADER_CLIENT = 1       # we are the client: incoming frames must not be masked
    HEADER_ALLOW_RSV1 = 2   # an extension defining RSV1 was negotiated (RFC 7692)

# ``parse_header`` results: > 0 header complete (its size), 0 need more bytes, < 0 violation.
cdef enum:
    HEADER_INCOMPLETE = 0
    ERR_RSV2 = -1                # 1002, RFC 6455 §5.2
    ERR_RSV3 = -2                # 1002, RFC 6455 §5.2
    ERR_OPCODE = -3              # reserved opcode, 1002, RFC 6455 §5.2
    ERR_RSV1 = -4                # RSV1 not negotiated, 1002, RFC 6455 §5.2
    ERR_RSV1_CONTROL = -5        # 1002, RFC 7692 §6
    ERR_RSV1_CONTINUATION = -6   # 1002, RFC 7692 §6
    ERR_CONTROL_FIN = -7         # fragmented control frame, 1002, RFC 6455 §5.5
    ERR_UNMASKED = -8            # client-to-server frame not masked, 1002, RFC 6455 §5.1
    ERR_MASKED = -9              # server-to-client frame masked, 1002, RFC 6455 §5.1
    ERR_CONTROL_LENGTH = -10     # control payload > 125 bytes, 1002, RFC 6455 §5.5
    ERR_LENGTH_TOP_BIT = -11     # 64-bit length with the top bit set, 1002, RFC 6455 §5.2
    ERR_NON_MINIMAL = -12        # length not in its minimal encoding, 1002, RFC 6455 §5.2
    ERR_TOO_BIG = -13            # declared length > limit, 1009, RFC 6455 §7.4.1

# Opcodes 3-7 and 11-15 are reserved (RFC 6455 §5.2): bit ``op`` of this mask is set for each.
cdef enum:
    RESERVED_OPCODES = 0xF8F8


ctypedef struct frame_header:
    unsigned char opcode      # 0..15
    unsigned char fin
    unsigned char rsv1
    unsigned char rsv2
    unsigned char rsv3
    unsigned char masked
    unsigned char key[4]      # valid when masked
    uint64_t length           # declared payload length (the 7-bit code until it is known)


cdef inline Py_ssize_t parse_header(const unsigned char *p, Py_ssize_t n, frame_header *h,
                                    int flags, uint64_t max_size) noexcept nogil:
    """Parse the frame header at ``p[:n]`` (RFC 6455 §5.2).

    Returns the header size (2..14) when it is complete and valid, ``HEADER_INCOMPLETE`` when
    more bytes are needed and the ones present break no rule, or a negative ``ERR_*`` code as
    soon as the bytes present show a violation (so an error never waits for the payload).
    Rules are checked in byte order, so any split of the input gives the same verdict.
    ``max_size`` is the inclusive payload limit (``UINT64_MAX`` for none).
    """
    # hot: begin parse_header
    cdef unsigned char b0, b1
    cdef uint64_t length
    cdef Py_ssize_t size
    cdef int i
    if n < 1:
        return HEADER_INCOMPLETE
    b0 = p[0]
    h.fin = b0 >> 7
    h.rsv1 = (b0 >> 6) & 1
    h.rsv2 = (b0 >> 5) & 1
    h.rsv3 = (b0 >> 4) & 1
    h.opcode = b0 & 0x0F
    # RSV bits MUST be 0 unless an extension defining them was negotiated (RFC 6455 §5.2);
    # only RSV1 has one here (permessage-deflate, RFC 7692).
    if h.rsv2:
        return ERR_RSV2
    if h.rsv3:
        return ERR_RSV3
    if (RESERVED_OPCODES >> h.opcode) & 1:
        return ERR_OPCODE
    if h.rsv1:
        if not (flags & HEADER_ALLOW_RSV1):
            return ERR_RSV1
        # RFC 7692 §6: never on control frames nor on non-first fragments.
        if h.opcode & 8:
            return ERR_RSV1_CONTROL
        if h.opcode == 0:
            return ERR_RSV1_CONTINUATION
    # Control frames MUST NOT be fragmented (RFC 6455 §5.5).
    if (h.opcode & 8) and not h.fin:
        return ERR_CONTROL_FIN
    if n < 2:
        return HEADER_INCOMPLETE
    b1 = p[1]
    h.masked = b1 >> 7
    length = b1 & 0x7F
    h.length = length
    # Client-to-server frames are masked, server-to-client frames are not (RFC 6455 §5.1).
    if flags & HEADER_CLIENT:
        if h.masked:
            return ERR_MASKED
    elif not h.masked:
        return ERR_UNMASKED
    # Control frames carry at most 125 payload bytes (RFC 6455 §5.5).
    if (h.opcode & 8) and length > 125:
        return ERR_CONTROL_LENGTH
    if length == 126:
        if n < 4:
            return HEADER_INCOMPLETE
        length = (<uint64_t>p[2] << 8) | p[3]
        h.length = length
        # "the minimal number of bytes MUST be used to encode the length" (RFC 6455 §5.2)
        if length < 126:
            return ERR_NON_MINIMAL
        size = 4
    elif length == 127:
        if n < 10:
            return HEADER_INCOMPLETE
        length = 0
        for i in range(2, 10):
            length = (length << 8) | p[i]
        h.length = length
        # "the most significant bit MUST be 0" (RFC 6455 §5.2): 1002 before any size limit.
        if length >> 63:
            return ERR_LENGTH_TOP_BIT
        if length < 65536:
            return ERR_NON_MINIMAL
        size = 10
    else:
        size = 2
    # Checked on the declared length, before any payload is buffered.
    if length > max_size:
        return ERR_TOO_BIG
    if h.masked:
        if n < size + 4:
            return HEADER_INCOMPLETE
        memcpy(h.key, p + size, 4)
        size += 4
    return size
    # hot: end


cdef inline Py_ssize_t header_size(uint64_t n, bint masked) noexcept nogil:
    """Size of the header ``write_header`` writes for an ``n``-byte payload."""
    cdef Py_ssize_t size = 2 if n < 126 else (4 if n < 65536 else 10)
    return size + 4 if masked else size


cdef inline Py_ssize_t write_header(unsigned char *dst, unsigned char first_byte, uint64_t n,
                                    const unsigned char *key) noexcept nogil:
    """Write a header with the minimal length encoding (RFC 6455 §5.2); ``key`` NULL means
    unmasked.  ``dst`` must have room for ``header_size(n, key != NULL)`` bytes; returns it."""
    # hot: begin write_header
    cdef unsigned char mask_bit = 0x80 if key != NULL else 0
    cdef Py_ssize_t size
    cdef int i
    dst[0] = first_byte
    if n < 126:
        dst[1] = mask_bit | <unsigned char>n
        size = 2
    elif n < 65536:
        dst[1] = mask_bit | 126
        dst[2] = <unsigned char>(n >> 8)
        dst[3] = <unsigned char>n
        size = 4
    else:
        dst[1] = mask_bit | 127
        for i in range(8):
            dst[2 + i] = <unsigned char>(n >> (56 - 8 * i))
        size = 10
    if key != NULL:
        memcpy(dst + size, key, 4)
        size += 4
    return size
    # hot: end


cdef object header_error(Py_ssize_t code, const frame_header *h, object max_frame_size)
cdef int draw_key(unsigned char *key) except -1
cdef bytes build_frame(unsigned char first_byte, const unsigned char *payload, Py_ssize_t n,
                       const unsigned char *key)


@cython.final
cdef class Frame:
    cdef readonly object opcode        # an Opcode member
    cdef readonly bint fin
    cdef readonly bint rsv1
    cdef readonly bint rsv2
    cdef readonly bint rsv3
    cdef readonly bytes payload


@cython.final
cdef class FrameDecoder:
    cdef int _flags                    # HEADER_CLIENT | HEADER_ALLOW_RSV1
    cdef uint64_t _max_size            # inclusive limit for parse_header
    cdef object _max_frame_size        # the limit as given (int or None)
    cdef unsigned char _hbuf[14]       # a header split across feeds
    cdef Py_ssize_t _hlen
    cdef frame_header _h               # header of the frame whose payload is arriving
    cdef bint _in_payload
    cdef PyObject *_buf                # bytes object gathering a payload that spans feeds (NULL
                                       # until its first byte arrives); the only reference is
                                       # ours, so it may grow with _PyBytes_Resize
    cdef Py_ssize_t _filled            # payload bytes received so far
    cdef Py_ssize_t _capacity          # current size of _buf: max(2 x _filled, 4096) at most,
                                       # and never above _h.length
    cdef object _error                 # the ProtocolError raised; raised again on every feed
    cdef bint _busy                    # a feed() is under way; another one raises RuntimeError
    cdef readonly Py_ssize_t _copied   # bytes copied into, or moved while growing, the buffer of
                                       # payloads that span feeds: a count of work for tests

    cdef int feed_into(self, const unsigned char *data, Py_ssize_t n, list out) except -1
    cdef int partial_header(self, frame_header *h) noexcept
    cdef int _parse(self, const unsigned char *data, Py_ssize_t n, list out) except -1
    cdef int _raise_again(self) except -1
    cdef int _fail(self, object exc) except -1
    cdef Py_ssize_t _continue_header(self, const unsigned char *p, Py_ssize_t n) except -1
    cdef int _start_payload(self, const unsigned char *p, Py_ssize_t avail) except -1
    cdef void _append_payload(self, const unsigned char *p, Py_ssize_t n) noexcept
    cdef Py_ssize_t _continue_payload(self, const unsigned char *p, Py_ssize_t n, list out) except -1
    cdef int _grow(self, Py_ssize_t need) except -1
