# Byte work behind wscodec's websockets integration (``wscodec.integrations.websockets``),
# compiled; ``wscodec.integrations._websockets_py`` is the pure twin.
#
# ``take_payload`` removes a whole frame from a websockets ``StreamReader`` buffer and
# returns its payload unmasked in a single pass (websockets itself copies the payload out of
# the buffer, then masks it into a second copy).  ``build_frame`` writes a frame's header,
# key and masked payload into one new ``bytes`` (through the frame codec's C API).

from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy

from wscodec._buffer cimport acquire_read
from wscodec._frames_c cimport build_frame as frame_bytes
from wscodec._mask_c cimport MASK_NOGIL_THRESHOLD, mask_copy, read_key

__all__ = ["take_payload", "build_frame"]


def take_payload(bytearray buf, Py_ssize_t header, Py_ssize_t length, bint masked):
    """Remove ``header`` (+4 key bytes when ``masked``) + ``length`` bytes from the front of
    ``buf`` and return the payload: unmasked ``bytes`` when masked (RFC 6455 §5.3), a
    ``bytearray`` copy otherwise (the types websockets itself produces)."""
    cdef Py_ssize_t total = header + (4 if masked else 0) + length
    cdef const unsigned char *p
    cdef unsigned char key[4]
    cdef bytes out
    cdef unsigned char *dst
    cdef Py_buffer view
    if header < 2 or length < 0 or total > PyByteArray_GET_SIZE(buf):
        raise ValueError("the buffer does not hold the whole frame")
    if not masked:
        result = buf[header:total]
    else:
        out = PyBytes_FromStringAndSize(NULL, length)
        dst = <unsigned char *>PyBytes_AS_STRING(out)
        # Hold a buffer export while reading: the bytearray cannot be resized (by another
        # thread while the GIL is released, or by anything else) until it is released.
        acquire_read(buf, &view)
        try:
            # hot: begin websockets take payload
            p = <const unsigned char *>view.buf
            memcpy(key, p + header, 4)
            if length >= MASK_NOGIL_THRESHOLD:
                with nogil:  # hot: allow (the GIL is released once per frame, from 256 KiB on)
                    mask_copy(dst, p + header + 4, length, key, 0)
            else:
                mask_copy(dst, p + header + 4, length, key, 0)
            # hot: end
        finally:
            PyBuffer_Release(&view)
        result = out
    # CPython drops bytes from the front of a bytearray without moving the rest.
    del buf[:total]
    return result


def build_frame(int head1, data, key):
    """A whole frame: ``head1`` (FIN, RSV, opcode), the length (§5.2, minimal encoding),
    then, when ``key`` is 4 bytes, the key and the payload masked with it (§5.3);
    ``key=None`` sends the payload as is.  Written by the frame codec's ``build_frame``
    (``_frames_c.pxd``), as ``encode_frame`` writes it."""
    cdef Py_buffer view
    cdef unsigned char k[4]
    cdef const unsigned char *keyp = NULL
    if key is not None:
        read_key(key, k)
        keyp = k
    acquire_read(data, &view)
    try:
        return frame_bytes(<unsigned char>head1, <const unsigned char *>view.buf, view.len, keyp)
    finally:
        PyBuffer_Release(&view)
