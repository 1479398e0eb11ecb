# The call shapes other WebSocket libraries expect, compiled: wsaccel's stateful maskers
# and incremental UTF-8 validator (also autobahn's), and the ``(mask, data)`` masking
# function tornado and websocket-client call.  ``wscodec.compat._compat_py`` is the pure twin.
# Everything runs on the codec's own kernels through their C API: masking and the key check
# from ``_mask_c.pxd``, UTF-8 from ``_utf8_c.pxd``.

cimport cython
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from wscodec._buffer cimport acquire_read
from wscodec._mask_c cimport MASK_NOGIL_THRESHOLD, mask_copy, read_key
from wscodec._utf8_c cimport (
    UTF8_ACCEPT,
    UTF8_NOGIL_THRESHOLD,
    UTF8_REJECT,
    Utf8State,
    utf8_feed,
    utf8_init,
    utf8_status,
)

__all__ = [
    "websocket_mask",
    "abnf_mask",
    "XorMaskerNull",
    "XorMaskerSimple",
    "createXorMasker",
    "Utf8Validator",
]


cdef bytes _masked(object data, const unsigned char *key, Py_ssize_t offset):
    """A new ``bytes``: ``data`` XOR the key, ``offset`` bytes into the payload."""
    cdef Py_buffer view
    cdef bytes out
    cdef unsigned char *dst
    acquire_read(data, &view)
    try:
        out = PyBytes_FromStringAndSize(NULL, view.len)
        dst = <unsigned char *>PyBytes_AS_STRING(out)
        if view.len >= MASK_NOGIL_THRESHOLD:
            # The exported buffer cannot be resized while we hold it, so the GIL can go.
            with nogil:
                mask_copy(dst, <const unsigned char *>view.buf, view.len, key, offset)
        else:
            mask_copy(dst, <const unsigned char *>view.buf, view.len, key, offset)
    finally:
        PyBuffer_Release(&view)
    return out


def websocket_mask(mask, data):
    """``websocket_mask(mask, data) -> bytes``: mask (or unmask) ``data`` with a 4-byte key.

    The argument order of tornado's ``_websocket_mask``; ``ValueError`` unless the key is
    exactly 4 bytes, ``TypeError`` for non-buffers.
    """
    cdef unsigned char key[4]
    read_key(mask, key)
    return _masked(data, key, 0)


def abnf_mask(mask_key, data):
    """websocket-client's ``ABNF.mask(mask_key, data) -> bytes``.

    It accepts ``str`` for either argument (read as latin-1) and ``None`` as empty data.
    """
    cdef unsigned char key[4]
    if data is None:
        data = b""
    elif isinstance(data, str):
        data = (<str>data).encode("latin-1")
    if isinstance(mask_key, str):
        mask_key = (<str>mask_key).encode("latin-1")
    read_key(mask_key, key)
    return _masked(data, key, 0)


@cython.final
cdef class XorMaskerNull:
    """A masker that does not mask (for unmasked frames); counts what passed through."""

    cdef Py_ssize_t _ptr

    def __init__(self, mask=None):
        self._ptr = 0

    def pointer(self):
        return self._ptr

    def reset(self):
        self._ptr = 0

    def process(self, data):
        self._ptr += len(data)
        return data


@cython.final
@cython.freelist(8)
cdef class XorMaskerSimple:
    """A stateful masker: successive ``process`` calls continue through the payload, so a
    payload masked in chunks equals the payload masked at once (RFC 6455 §5.3: byte ``i``
    uses key byte ``i % 4``)."""

    cdef unsigned char _key[4]
    cdef Py_ssize_t _ptr

    def __init__(self, mask):
        read_key(mask, self._key)
        self._ptr = 0

    def pointer(self):
        """How many payload bytes were processed since creation or ``reset()``."""
        return self._ptr

    def reset(self):
        self._ptr = 0

    def process(self, data):
        """Return ``data`` masked, continuing from the current position."""
        cdef bytes out = _masked(data, self._key, self._ptr)
        self._ptr += len(out)
        return out


def createXorMasker(mask, length=None):
    """wsaccel's factory: a masker for ``mask``.  ``length`` is a size hint (one kernel
    serves every length here)."""
    return XorMaskerSimple(mask)


# --- UTF-8 (RFC 3629 §4) -------------------------------------------------------------------
# wsaccel and autobahn report where a text failed: the index of the first byte that cannot
# continue any valid text.  The codec's ``utf8_feed`` fails fast at exactly that byte (it
# rejects a prefix as soon as no valid text starts with it) but answers only "rejected", so
# a rejected chunk is fed again from the state before it to find the byte: in blocks until
# one is rejected, then that block byte by byte.  Linear, and only on the failure path.

cdef enum:
    LOCATE_BLOCK = 256


cdef Py_ssize_t _rejected_at(Utf8State st, const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """The index in ``p[:n]`` of the byte at which ``utf8_feed`` from ``st`` rejects (``n``
    if it does not)."""
    # hot: begin autobahn utf8 locate
    cdef Utf8State before
    cdef Py_ssize_t i = 0
    while n - i > LOCATE_BLOCK:
        before = st
        if utf8_feed(&st, p + i, LOCATE_BLOCK) == UTF8_REJECT:
            st = before
            break
        i += LOCATE_BLOCK
    while i < n:
        if utf8_feed(&st, p + i, 1) == UTF8_REJECT:
            return i
        i += 1
    return n
    # hot: end


@cython.final
cdef class Utf8Validator:
    """wsaccel's (and autobahn's) incremental UTF-8 validator.

    ``validate(data)`` returns ``(valid, ends_on_codepoint, current_index, total_index)``:
    ``valid`` is False once the bytes so far cannot start valid UTF-8 (and stays False until
    ``reset()``); ``ends_on_codepoint`` is True when they form complete text;
    ``current_index`` is how many bytes of this chunk were accepted (the index of the
    rejected byte on failure) and ``total_index`` the same since the last ``reset()``.
    """

    cdef Utf8State _st
    cdef Py_ssize_t _total

    def __init__(self):
        utf8_init(&self._st)
        self._total = 0

    def reset(self):
        utf8_init(&self._st)
        self._total = 0

    def validate(self, data):
        cdef Py_buffer view
        cdef Utf8State before = self._st
        cdef const unsigned char *p
        cdef Py_ssize_t n, i
        cdef int r
        if utf8_status(&before) == UTF8_REJECT:
            return (False, False, 0, self._total)
        acquire_read(data, &view)
        try:
            p = <const unsigned char *>view.buf
            n = view.len
            if n >= UTF8_NOGIL_THRESHOLD:
                with nogil:
                    r = utf8_feed(&self._st, p, n)
                    i = _rejected_at(before, p, n) if r == UTF8_REJECT else n
            else:
                r = utf8_feed(&self._st, p, n)
                i = _rejected_at(before, p, n) if r == UTF8_REJECT else n
        finally:
            PyBuffer_Release(&view)
        self._total += i
        if r == UTF8_REJECT:
            return (False, False, i, self._total)
        return (True, r == UTF8_ACCEPT, i, self._total)
