# C-level masking kernels (RFC 6455 §5.3), shared by every compiled module that masks and
# public for other Cython projects: ``from wscodec._mask_c cimport mask_copy``.  See
# docs/capi.md.  Both functions are ``nogil``/``noexcept``: they cannot fail.
#
# ``mask_copy`` is inline: short payloads are masked right in the caller's code; from
# ``MASK_SIMD_MIN`` bytes on it calls ``mask_simd``, exported by the compiled module, which
# runs the kernel chosen once at import for this CPU (AVX2, SSE2, NEON or scalar C; see
# ``wscodec/simd/mask_simd.h`` and ``wscodec._simd``).  A module that cimports this file
# imports ``wscodec._mask_c`` when it is itself imported.

from libc.stdint cimport uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy


cdef enum:
    # From this length on, masking releases the GIL (below it, it is held) in apply_mask,
    # mask_inplace, FrameDecoder/MessageDecoder on whole frames, encode_frame, compat and the
    # aiohttp and websockets integrations, so other threads run meanwhile; the fragment writer
    # of MessageEncoder, a frame gathered across feeds and the wsproto integration mask with the
    # GIL held for now. Measured on a 2-core x86-64 VM (AVX2, CPython 3.11; thread CPU time,
    # medians of 31 runs, in-place masking of a cache-warm buffer: the kernel's fastest case,
    # where the release weighs most): releasing and retaking the GIL costs 40-65 ns uncontended
    # (a buffer export that pins a bytearray meanwhile adds ~10 ns); masking takes 0.8-1.1 us at
    # 64 KiB (overhead 4.9-5.8%), 1.7-2.1 us at 128 KiB (2.4-3.0%) and 3.1-4.6 us at 256 KiB
    # (1.3-1.4%). 256 KiB is the first power of two where the overhead is under 2%. Below it the
    # GIL is held for under 5 us, a thousandth of the interpreter's 5 ms switch interval.
    MASK_NOGIL_THRESHOLD = 262144
    # ``mask_copy`` hands payloads at least this long to the run-time kernel; shorter ones
    # are masked inline (16 B: no call at all).  Measured through mask_inplace/apply_mask on
    # a 2-core AVX2 VM: against a threshold of 256 (an inline 32-byte loop up to there), equal
    # at 64 and 125 B and 3-5% faster at 200 B.  Must stay <= 64: the inline path below
    # handles fewer than 64 bytes.
    MASK_SIMD_MIN = 64


cdef void mask_simd(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                    const unsigned char *key, Py_ssize_t offset) noexcept nogil
# Same contract as ``mask_copy``, for any ``n``, always through the run-time kernel.

cdef int read_key(object mask, unsigned char *key) except -1
# Copy the masking key ``mask`` (any buffer, read as raw bytes) into ``key[0:4]``.  Raises
# ``ValueError("mask must contain 4 bytes, not <n>")`` unless it holds exactly 4 bytes (RFC
# 6455 §5.3; websockets' ``apply_mask`` contract) and ``TypeError`` for a non-buffer.  The
# one check of a caller-supplied key in the compiled modules, so they all say the same.


cdef inline void mask_copy(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                           const unsigned char *key, Py_ssize_t offset) noexcept nogil:
    """``dst[i] = src[i] ^ key[(offset + i) % 4]`` for ``i < n``; ``dst`` may equal ``src``.

    ``offset`` is the position of ``src[0]`` within the payload, so a payload masked in
    several chunks gives the same bytes as one call.  (``offset & 3`` is also right for a
    negative offset: two's complement keeps it congruent modulo 4.)
    """
    # hot: begin mask_copy
    cdef uint32_t k32, v
    cdef uint64_t k64, w0, w1, w2, w3
    cdef Py_ssize_t i = 0
    cdef unsigned int r
    cdef uint16_t one = 1
    cdef unsigned char t0, t1, t2
    if n >= MASK_SIMD_MIN:
        mask_simd(dst, src, n, key, offset)
        return
    # The key as a word rotated so that its first byte in memory applies to src[0]: one
    # 4-byte load and a shift.  (Rotating bytes in memory, then loading them as a word,
    # would stall the load until the byte stores reach it: more than masking 64 bytes costs.)
    # Doubled in 64 bits the key reads k0 k1 k2 k3 k0 k1 k2 k3 in memory on either byte
    # order, so the rotation is a right shift on little-endian (byte 0 is the low byte) and
    # a left one on big-endian; the compiler folds the byte-order test away.
    r = <unsigned int>(offset & 3) * 8
    memcpy(&k32, key, 4)
    k64 = (<uint64_t>k32 << 32) | k32
    # For the last 1-3 bytes (read now: ``key`` may even lie in ``dst``).
    t0 = key[offset & 3]
    t1 = key[(offset + 1) & 3]
    t2 = key[(offset + 2) & 3]
    if (<unsigned char *>&one)[0]:
        k32 = <uint32_t>(k64 >> r)
    else:
        k32 = <uint32_t>(k64 >> (32 - r))
    k64 = (<uint64_t>k32 << 32) | k32
    # Fewer than 64 bytes: straight-line steps of 64-bit words, moved with memcpy (no
    # alignment or aliasing assumption; compilers emit plain unaligned loads and stores).
    # Each step loads before it stores, so dst == src is fine.  (A loop here is vectorized by
    # the compiler behind run-time overlap checks that cost more than they save.)
    if i + 32 <= n:
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
    if i + 16 <= n:
        memcpy(&w0, src + i, 8)
        memcpy(&w1, src + i + 8, 8)
        w0 ^= k64
        w1 ^= k64
        memcpy(dst + i, &w0, 8)
        memcpy(dst + i + 8, &w1, 8)
        i += 16
    if i + 8 <= n:
        memcpy(&w0, src + i, 8)
        w0 ^= k64
        memcpy(dst + i, &w0, 8)
        i += 8
    if i + 4 <= n:
        memcpy(&v, src + i, 4)
        v ^= k32
        memcpy(dst + i, &v, 4)
        i += 4
    # At most 3 bytes, and i is a multiple of 4 here, so they take t0, t1, t2.
    if i < n:
        dst[i] = src[i] ^ t0
        if i + 1 < n:
            dst[i + 1] = src[i + 1] ^ t1
            if i + 2 < n:
                dst[i + 2] = src[i + 2] ^ t2
    # hot: end
