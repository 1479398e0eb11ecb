# The call shapes other WebSocket libraries expect, compiled: wsaccel's stateful maskers
# and incremental UTF-8 validator (also autobahn's), and the ``(mask, data)`` masking
# function tornado and websocket-client call.  ``wscodec.compat._compat_py`` is the pure twin.

cimport cython
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from wscodec._buffer cimport acquire_read
from wscodec._mask_c cimport mask_copy

__all__ = [
    "websocket_mask",
    "abnf_mask",
    "XorMaskerNull",
    "XorMaskerSimple",
    "createXorMasker",
    "Utf8Validator",
]

# Below this many bytes, dropping and retaking the GIL costs more than the XOR itself.
cdef Py_ssize_t NOGIL_THRESHOLD = 1 << 16


cdef int _read_key(object mask, unsigned char *key) except -1:
    """Copy the 4-byte masking key (RFC 6455 §5.3) out of any buffer into ``key``."""
    cdef Py_buffer view
    acquire_read(mask, &view)
    try:
        if view.len != 4:
            raise ValueError("mask must be exactly 4 bytes, got %d" % view.len)
        memcpy(key, view.buf, 4)
    finally:
        PyBuffer_Release(&view)
    return 0


cdef bytes _masked(object data, const unsigned char *key, Py_ssize_t offset):
    """A new ``bytes``: ``data`` XOR the key, ``offset`` bytes into the payload."""
    cdef Py_buffer view
    cdef bytes out
    cdef unsigned char *dst
    acquire_read(data, &view)
    try:
        out = PyBytes_FromStringAndSize(NULL, view.len)
        dst = <unsigned char *>PyBytes_AS_STRING(out)
        if view.len >= NOGIL_THRESHOLD:
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
    _read_key(mask, key)
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
    _read_key(mask_key, key)
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
        _read_key(mask, self._key)
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
# A byte-at-a-time automaton whose states say what the next byte must be, so a failure is
# reported at the first byte that cannot continue any valid text (the index wsaccel and
# autobahn report), and a chunk may end anywhere inside a character.
cdef enum:
    S_ACCEPT = 0 # between characters
    S_TAIL1 = 1 # one continuation byte 80..BF to go
    S_TAIL2 = 2 # two to go
    S_TAIL3 = 3 # three to go
    S_E0 = 4 # after E0: A0..BF (no overlong 3-byte forms), then one more
    S_ED = 5 # after ED: 80..9F (no surrogates D800..DFFF), then one more
    S_F0 = 6 # after F0: 90..BF (no overlong 4-byte forms), then two more
    S_F4 = 7 # after F4: 80..8F (nothing above U+10FFFF), then two more
    S_REJECT = 8


# hot: begin autobahn utf8 dfa
cdef inline int _step(int state, unsigned char b) noexcept nogil:
    if state == S_ACCEPT:
        if b < 0x80:
            return S_ACCEPT
        if b < 0xC2:            # stray continuation byte, or C0/C1 (always overlong)
            return S_REJECT
        if b < 0xE0:
            return S_TAIL1
        if b == 0xE0:
            return S_E0
        if b == 0xED:
            return S_ED
        if b < 0xF0:
            return S_TAIL2
        if b == 0xF0:
            return S_F0
        if b < 0xF4:
            return S_TAIL3
        if b == 0xF4:
            return S_F4
        return S_REJECT         # F5..FF never appear in UTF-8
    if state == S_TAIL1:
        return S_ACCEPT if 0x80 <= b <= 0xBF else S_REJECT
    if state == S_TAIL2:
        return S_TAIL1 if 0x80 <= b <= 0xBF else S_REJECT
    if state == S_TAIL3:
        return S_TAIL2 if 0x80 <= b <= 0xBF else S_REJECT
    if state == S_E0:
        return S_TAIL1 if 0xA0 <= b <= 0xBF else S_REJECT
    if state == S_ED:
        return S_TAIL1 if 0x80 <= b <= 0x9F else S_REJECT
    if state == S_F0:
        return S_TAIL2 if 0x90 <= b <= 0xBF else S_REJECT
    if state == S_F4:
        return S_TAIL2 if 0x80 <= b <= 0x8F else S_REJECT
    return S_REJECT


cdef Py_ssize_t _run(int *state, const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """Advance ``*state`` over ``p[:n]``; return ``n``, or the index of the rejected byte."""
    cdef Py_ssize_t i = 0
    cdef uint64_t w
    cdef int s = state[0]
    while i < n:
        if s == S_ACCEPT:
            # ASCII runs: eight bytes at a time while no byte has its top bit set.
            while i + 8 <= n:
                memcpy(&w, p + i, 8)
                if w & 0x8080808080808080ULL:
                    break
                i += 8
            while i < n and p[i] < 0x80:
                i += 1
            if i == n:
                break
        s = _step(s, p[i])
        if s == S_REJECT:
            state[0] = s
            return i
        i += 1
    state[0] = s
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

    cdef int _state
    cdef Py_ssize_t _total

    def __init__(self):
        self._state = S_ACCEPT
        self._total = 0

    def reset(self):
        self._state = S_ACCEPT
        self._total = 0

    def validate(self, data):
        cdef Py_buffer view
        cdef Py_ssize_t i
        if self._state == S_REJECT:
            return (False, False, 0, self._total)
        acquire_read(data, &view)
        try:
            if view.len >= NOGIL_THRESHOLD:
                with nogil:
                    i = _run(&self._state, <const unsigned char *>view.buf, view.len)
            else:
                i = _run(&self._state, <const unsigned char *>view.buf, view.len)
        finally:
            PyBuffer_Release(&view)
        self._total += i
        if self._state == S_REJECT:
            return (False, False, i, self._total)
        return (True, self._state == S_ACCEPT, i, self._total)
