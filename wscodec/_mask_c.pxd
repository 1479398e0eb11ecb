# C-level masking kernels (RFC 6455 §5.3), shared by every compiled module that masks:
# ``cimport`` them from ``wscodec._mask_c``.  They are inline, so a caller pays no call
# through a function pointer, and ``nogil``/``noexcept``: they cannot fail.

from libc.stdint cimport uint64_t
from libc.string cimport memcpy


cdef enum:
    # Callers mask payloads at least this long with the GIL released (see _mask_c.pyx).
    MASK_NOGIL_THRESHOLD = 65536


cdef inline void mask_copy(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                           const unsigned char *key, Py_ssize_t offset) noexcept nogil:
    """``dst[i] = src[i] ^ key[(offset + i) % 4]`` for ``i < n``; ``dst`` may equal ``src``.

    ``offset`` is the position of ``src[0]`` within the payload, so a payload masked in
    several chunks gives the same bytes as one call.
    """
    cdef unsigned char k[8]
    cdef uint64_t k64, w0, w1, w2, w3
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t j
    cdef Py_ssize_t r = offset & 3
    for j in range(8):
        k[j] = key[(r + j) & 3]
    memcpy(&k64, k, 8)
    # Four independent 64-bit words per step; gcc vectorizes this to 128-bit registers.
    while i + 32 <= n:
        memcpy(&w0, src + i, 8)
        memcpy(&w1, src + i + 8, 8)
        memcpy(&w2, src + i + 16, 8)
        memcpy(&w3, src + i + 24, 8)
        w0 ^= k64
        w1 ^= k64
        w2 ^= k64
        w3 ^= k64
        memcpy(dst + i, &w0, 8)
        memcpy(dst + i + 8, &w1, 8)
        memcpy(dst + i + 16, &w2, 8)
        memcpy(dst + i + 24, &w3, 8)
        i += 32
    while i + 8 <= n:
        memcpy(&w0, src + i, 8)
        w0 ^= k64
        memcpy(dst + i, &w0, 8)
        i += 8
    while i < n:
        dst[i] = src[i] ^ k[i & 3]
        i += 1
