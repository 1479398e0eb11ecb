# C-level UTF-8 validation (RFC 3629), for compiled modules that check text without a Python
# call: ``from wscodec._utf8_c cimport Utf8State, utf8_init, utf8_feed, utf8_finish, ...``.
#
# What is valid is exactly what ``bytes.decode("utf-8")`` accepts: the well-formed byte
# sequences of RFC 3629 §4 (no overlong forms, no surrogates U+D800..U+DFFF, nothing above
# U+10FFFF).  The incremental functions fail fast: a byte is refused as soon as no valid text
# can start with the bytes seen so far (per the §4 table of allowed second bytes), so a peer
# sending b"\xed\xa0" is refused at once, not when the message ends (RFC 6455 §8.1 asks the
# endpoint to fail the connection as soon as it sees invalid UTF-8).
#
# Usage, one text message arriving in fragments:
#
#     cdef Utf8State st
#     utf8_init(&st)
#     for each fragment (s, n):
#         if utf8_feed(&st, s, n) == UTF8_REJECT:
#             fail the connection with 1007
#     at the final fragment:
#         if utf8_finish(&st) != UTF8_ACCEPT:  # REJECT, or ended mid-character
#             fail the connection with 1007
#
# The functions are exported from the compiled module (Cython imports them through the
# module's C API at import time), so the kernel behind them — a SIMD kernel picked at import
# for the CPU (AVX2, SSSE3, NEON) or the scalar DFA — can change without recompiling the
# modules that call them; every kernel gives the same answers, fail-fast ones included.  They never touch
# Python objects and may be called without the GIL.  The functions that take a pointer only
# read ``s[0]`` .. ``s[n - 1]``; ``s`` may be NULL when ``n == 0``.

cimport cython
from libc.stdint cimport uint32_t


cdef enum:
    # From this length on, validate_utf8, Utf8Validator and the compat validator release the GIL
    # around the kernel (below it they hold it), so other threads run meanwhile; the message
    # decoder and the host integrations validate with the GIL held at any length for now.
    # Measured as MASK_NOGIL_THRESHOLD was (_mask_c.pxd; utf8_check with the AVX2 kernel,
    # cache-warm): the release costs 40-65 ns; ASCII, the fastest input, takes 0.8-0.9 us at 64
    # KiB (overhead 4.6-7.8%), 1.6-2.3 us at 128 KiB (2.5-2.8%) and 3.3-3.5 us at 256 KiB
    # (1.2-1.9%), the first power of two under 2% for every text. Multi-byte text is 6-8 times
    # slower per byte (CJK: 2.5 us at 32 KiB, 21 us at 256 KiB), so below the threshold the GIL
    # is held for at most ~25 us.
    UTF8_NOGIL_THRESHOLD = 262144


cdef enum:
    # Results of utf8_feed / utf8_finish / utf8_check.
    UTF8_ACCEPT = 0      # the bytes so far are valid text ending on a character boundary
    UTF8_REJECT = 1      # invalid: no continuation can make these bytes valid (sticky)
    UTF8_INCOMPLETE = 2  # valid so far, but the text stops inside a multi-byte character


ctypedef struct Utf8State:
    # Opaque to callers: the DFA state between calls (0 = on a character boundary).
    uint32_t state


cdef void utf8_init(Utf8State *st) noexcept nogil
# Start a new text: ``st`` is on a character boundary.

cdef int utf8_feed(Utf8State *st, const unsigned char *s, Py_ssize_t n) noexcept nogil
# Validate the next ``n`` bytes of a text.
#
# Returns UTF8_REJECT as soon as the bytes fed since utf8_init (this call's included) cannot
# begin valid UTF-8; once rejected, ``st`` stays rejected (every later call returns
# UTF8_REJECT) until utf8_init.  Otherwise UTF8_ACCEPT (on a character boundary) or
# UTF8_INCOMPLETE (inside a character; more bytes may complete it).  A text may be split
# anywhere, even inside a character: the result never depends on where the splits fall.

cdef int utf8_status(const Utf8State *st) noexcept nogil
# The result the last utf8_feed returned (UTF8_ACCEPT after utf8_init), without feeding.

cdef int utf8_finish(const Utf8State *st) noexcept nogil
# The verdict on the whole text once it has ended: UTF8_ACCEPT if it is valid, UTF8_REJECT
# otherwise (including a text that stops inside a character).  ``st`` is left unchanged; call
# utf8_init before the next text.

cdef int utf8_check(const unsigned char *s, Py_ssize_t n) noexcept nogil
# Whole-buffer check: UTF8_ACCEPT if ``s[:n]`` is valid UTF-8, else UTF8_REJECT (a buffer
# ending inside a character is invalid).  Stops at the first invalid byte.


@cython.final
cdef class Utf8Validator:
    # The Python-level incremental validator; a compiled caller holding one may also pass
    # ``&v.st`` to the functions above.
    cdef Utf8State st
    cdef bint _busy     # a validate() is under way; another call raises RuntimeError
