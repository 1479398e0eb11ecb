"""UTF-8 validation (RFC 3629), compiled twin of ``_utf8_py``.

RFC 6455 §5.6 and §8.1: the payload of a text message (and the reason of a Close frame,
§5.5.1) must be valid UTF-8, and an endpoint that sees invalid UTF-8 must fail the connection
(close code 1007).  Valid here means exactly what ``bytes.decode("utf-8")`` accepts.

The kernel: whole 8-byte words of ASCII are skipped with one test each; everything else goes
through a table-driven DFA over RFC 3629 §4's byte ranges.  The DFA is the "shift" form: the
table row of a byte packs the next state for every current state, each in a 6-bit field, and
a state is the bit offset of its field, so one step is a load (which does not depend on the
state) and a shift — a one-cycle dependency chain per byte, with no branch on the data.
Runs of multi-byte text are cut at character starts into four pieces whose chains run
interleaved.

Every caller, Python or C (``_utf8_c.pxd``), goes through ``_run``.  Where the CPU has one,
a SIMD kernel (``simd/utf8_simd.h``: AVX2 or SSSE3 on x86-64, NEON on AArch64, chosen once
at import, see ``wscodec._simd``) checks the text from a character boundary in whole
blocks; the scalar DFA finishes a character begun in an earlier chunk before it, and takes
over after the last character start before the first block where the kernel saw an error
(or the text ending inside a character), so every answer, including the fail-fast one of
``utf8_feed``, is exactly the DFA's.  The modules that cimport the C API see no change.

``kernel()`` names the kernel in use and ``kernels()`` those this CPU can run;
``_set_kernel(name)`` switches kernels, for tests and benchmarks only.
"""

cimport cython
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from wscodec._buffer cimport acquire_read

from wscodec import _simd
from wscodec._errors import BUSY_MESSAGE

__all__ = ["validate_utf8", "Utf8Validator"]


cdef extern from "utf8_simd.h" nogil:
    # Kernels compiled with per-function target attributes, so this module still runs on
    # the architecture's baseline; see simd/cpu.h and simd/utf8_simd.h for the contract.
    ctypedef Py_ssize_t (*wsc_utf8_fn)(const unsigned char *s, Py_ssize_t n) noexcept
    int wsc_cpu_levels() noexcept
    wsc_utf8_fn wsc_utf8_kernel(int level) noexcept

# Inputs at least this long are checked with the GIL released (why this size: _utf8_c.pxd).
NOGIL_THRESHOLD = UTF8_NOGIL_THRESHOLD

# DFA states, as bit offsets of their 6-bit field in a table row.
cdef enum:
    S_ACCEPT = 0    # on a character boundary
    S_REJECT = 6    # invalid; every byte leads back here
    S_TAIL1 = 12    # one more continuation byte (80..BF) due
    S_TAIL2 = 18    # two more
    S_TAIL3 = 24    # three more
    S_E0 = 30       # after E0: second byte must be A0..BF (no overlong 3-byte forms)
    S_ED = 36       # after ED: 80..9F (no surrogates U+D800..U+DFFF)
    S_F0 = 42       # after F0: 90..BF (no overlong 4-byte forms)
    S_F4 = 48       # after F4: 80..8F (nothing above U+10FFFF)

# Step mask: a state never exceeds 63, so ``row >> (state & 63)`` is a plain shift.
cdef enum:
    STATE_MASK = 63

cdef uint64_t _ROWS[256]

# High bit of every byte of a 64-bit word: a word is all ASCII when ``w & ASCII_MASK == 0``.
cdef uint64_t ASCII_MASK = 0x8080808080808080ULL


cdef uint32_t _next_state(uint32_t state, uint32_t b) noexcept:
    # RFC 3629 §4:
    #   UTF8-1 = %x00-7F
    #   UTF8-2 = %xC2-DF UTF8-tail
    #   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
    #            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
    #   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
    #            %xF4 %x80-8F 2( UTF8-tail )
    #   UTF8-tail = %x80-BF
    # C0, C1 and F5..FF appear nowhere, and a tail byte cannot start a character.
    if state == S_ACCEPT:
        if b <= 0x7F:
            return S_ACCEPT
        if 0xC2 <= b <= 0xDF:
            return S_TAIL1
        if b == 0xE0:
            return S_E0
        if b == 0xED:
            return S_ED
        if 0xE1 <= b <= 0xEF:
            return S_TAIL2
        if b == 0xF0:
            return S_F0
        if b == 0xF4:
            return S_F4
        if 0xF1 <= b <= 0xF3:
            return S_TAIL3
        return S_REJECT
    if state == S_TAIL1 and 0x80 <= b <= 0xBF:
        return S_ACCEPT
    if state == S_TAIL2 and 0x80 <= b <= 0xBF:
        return S_TAIL1
    if state == S_TAIL3 and 0x80 <= b <= 0xBF:
        return S_TAIL2
    if state == S_E0 and 0xA0 <= b <= 0xBF:
        return S_TAIL1
    if state == S_ED and 0x80 <= b <= 0x9F:
        return S_TAIL1
    if state == S_F0 and 0x90 <= b <= 0xBF:
        return S_TAIL2
    if state == S_F4 and 0x80 <= b <= 0x8F:
        return S_TAIL2
    return S_REJECT


cdef void _build_rows() noexcept:
    cdef uint32_t b, state
    cdef uint64_t row
    for b in range(256):
        row = 0
        for state in range(S_ACCEPT, S_F4 + 1, 6):
            row |= (<uint64_t>_next_state(state, b)) << state
        _ROWS[b] = row


_build_rows()


cdef inline Py_ssize_t _skip_ascii(const unsigned char *s, Py_ssize_t i,
                                   Py_ssize_t n) noexcept nogil:
    """Advance ``i`` over whole 8-byte words of ASCII; stop at the word holding a byte >= 0x80
    (the DFA takes it from there: it accepts ASCII too, so stopping early is harmless)."""
    # hot: begin utf8 skip ascii
    cdef uint64_t a, b, c, d
    while i + 32 <= n:
        memcpy(&a, s + i, 8)
        memcpy(&b, s + i + 8, 8)
        memcpy(&c, s + i + 16, 8)
        memcpy(&d, s + i + 24, 8)
        if (a | b | c | d) & ASCII_MASK:
            break
        i += 32
    while i + 8 <= n:
        memcpy(&a, s + i, 8)
        if a & ASCII_MASK:
            break
        i += 8
    return i
    # hot: end


# hot: begin utf8 quad dfa
cdef inline bint _is_continuation(unsigned char b) noexcept nogil:
    return (b & 0xC0) == 0x80


cdef inline Py_ssize_t _char_start(const unsigned char *s, Py_ssize_t m) noexcept nogil:
    """A position in ``m - 3 .. m`` holding a byte that is not a continuation byte (80..BF),
    or -1 if there is none: four continuation bytes in a row are invalid anywhere, since a
    character has at most three (RFC 3629 §4).  Needs ``m >= 3``.

    In valid text every such byte starts a character, so the text can be cut there and the
    pieces checked independently, each from the boundary state.
    """
    cdef Py_ssize_t k
    for k in range(4):
        if not _is_continuation(s[m - k]):
            return m - k
    return -1


# Multi-byte text is checked in blocks of up to QUAD_BLOCK bytes, cut into four pieces that
# run through the DFA interleaved: four independent dependency chains keep the CPU's
# pipelines busy where one chain would wait on each step.
cdef enum:
    QUAD_MIN = 64        # shorter runs are not worth cutting
    QUAD_BLOCK = 2048    # after a block, look for ASCII again
    STEP_BLOCK = 32      # single-chain block between checks for REJECT


cdef uint32_t _run_quad(const unsigned char *s, Py_ssize_t n) noexcept nogil:
    """The state after ``s[:n]`` from S_ACCEPT (``n >= QUAD_MIN``), S_REJECT if invalid."""
    cdef Py_ssize_t q = n >> 2
    cdef Py_ssize_t b1 = _char_start(s, q)
    cdef Py_ssize_t b2 = _char_start(s, 2 * q)
    cdef Py_ssize_t b3 = _char_start(s, 3 * q)
    if b1 < 0 or b2 < 0 or b3 < 0:
        return S_REJECT
    cdef const unsigned char *p0 = s
    cdef const unsigned char *p1 = s + b1
    cdef const unsigned char *p2 = s + b2
    cdef const unsigned char *p3 = s + b3
    cdef Py_ssize_t n0 = b1
    cdef Py_ssize_t n1 = b2 - b1
    cdef Py_ssize_t n2 = b3 - b2
    cdef Py_ssize_t n3 = n - b3
    # The pieces differ in length by at most 3: run the common length interleaved.
    cdef Py_ssize_t common = n0
    if n1 < common:
        common = n1
    if n2 < common:
        common = n2
    if n3 < common:
        common = n3
    cdef uint64_t s0 = S_ACCEPT, s1 = S_ACCEPT, s2 = S_ACCEPT, s3 = S_ACCEPT
    cdef Py_ssize_t i
    for i in range(common):
        s0 = _ROWS[p0[i]] >> (s0 & STATE_MASK)
        s1 = _ROWS[p1[i]] >> (s1 & STATE_MASK)
        s2 = _ROWS[p2[i]] >> (s2 & STATE_MASK)
        s3 = _ROWS[p3[i]] >> (s3 & STATE_MASK)
    for i in range(common, n0):
        s0 = _ROWS[p0[i]] >> (s0 & STATE_MASK)
    for i in range(common, n1):
        s1 = _ROWS[p1[i]] >> (s1 & STATE_MASK)
    for i in range(common, n2):
        s2 = _ROWS[p2[i]] >> (s2 & STATE_MASK)
    for i in range(common, n3):
        s3 = _ROWS[p3[i]] >> (s3 & STATE_MASK)
    # Each of the first three pieces is followed by a byte that starts a character, so it
    # must end on a boundary; the last piece's state carries on past the block.
    if (s0 & STATE_MASK) != S_ACCEPT or (s1 & STATE_MASK) != S_ACCEPT \
            or (s2 & STATE_MASK) != S_ACCEPT:
        return S_REJECT
    return <uint32_t>(s3 & STATE_MASK)
# hot: end


cdef inline uint32_t _run_scalar(uint32_t state, const unsigned char *s,
                                 Py_ssize_t n) noexcept nogil:
    """Run the DFA from ``state`` over ``s[:n]``; return the state after the last byte, or
    S_REJECT as soon as a block ends rejected (REJECT absorbs, so checking per block is
    exact)."""
    # hot: begin utf8 scalar dfa
    cdef uint64_t st = state
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t end
    while i < n:
        if st == S_ACCEPT:
            i = _skip_ascii(s, i, n)
            if i >= n:
                break
            if n - i >= QUAD_MIN:
                end = i + QUAD_BLOCK if n - i > QUAD_BLOCK else n
                st = _run_quad(s + i, end - i)
                i = end
                if st == S_REJECT:
                    break
                continue
        end = i + STEP_BLOCK if n - i > STEP_BLOCK else n
        while i < end:
            st = _ROWS[s[i]] >> (st & STATE_MASK)
            i += 1
        st &= STATE_MASK
        if st == S_REJECT:
            break
    return <uint32_t>st
    # hot: end


# ---- run-time kernel choice -------------------------------------------------------------

# The SIMD kernel in use, or NULL for the scalar DFA alone.  Set at import (below) and by
# _set_kernel (tests); read once per call, so a switch never mixes kernels within a call.
cdef wsc_utf8_fn _simd_kernel = NULL

# Shorter inputs go to the scalar DFA: a kernel's setup would cost more than it saves.
cdef enum:
    SIMD_MIN = 16


cdef inline uint32_t _run(uint32_t state, const unsigned char *s, Py_ssize_t n) noexcept nogil:
    """The DFA's state after ``s[:n]`` from ``state``, with the SIMD kernel doing the bulk."""
    # hot: begin utf8 simd driver
    cdef wsc_utf8_fn kernel = _simd_kernel
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t g, k, stop
    if kernel != NULL and n >= SIMD_MIN:
        # A character begun in an earlier chunk: finish it with the DFA (three bytes at
        # most), so that the kernel starts on a character boundary.
        while state != S_ACCEPT and state != S_REJECT and i < n:
            state = <uint32_t>((_ROWS[s[i]] >> state) & STATE_MASK)
            i += 1
        if state == S_REJECT:
            return S_REJECT
        if state == S_ACCEPT and n - i >= SIMD_MIN:
            g = kernel(s + i, n - i)
            if g == n - i:
                return S_ACCEPT
            # No error before block g: the text is valid up to the last character start
            # in s[i+g-4 : i+g] (simd/utf8_simd.h); the DFA decides exactly from there.
            if g > 0:
                k = i + g - 1
                stop = i + g - 4
                while k >= stop and _is_continuation(s[k]):
                    k -= 1
                if k < stop:
                    return S_REJECT  # four continuation bytes in a row
                i = k
    return _run_scalar(state, s + i, n - i)
    # hot: end


# hot: begin utf8 feed
cdef inline int _result(uint32_t state) noexcept nogil:
    if state == S_ACCEPT:
        return UTF8_ACCEPT
    if state == S_REJECT:
        return UTF8_REJECT
    return UTF8_INCOMPLETE


# ---- C API (declared and documented in _utf8_c.pxd) ------------------------------------

cdef void utf8_init(Utf8State *st) noexcept nogil:
    st.state = S_ACCEPT


cdef int utf8_feed(Utf8State *st, const unsigned char *s, Py_ssize_t n) noexcept nogil:
    if st.state != S_REJECT and n > 0:
        st.state = _run(st.state, s, n)
    return _result(st.state)


cdef int utf8_status(const Utf8State *st) noexcept nogil:
    return _result(st.state)


cdef int utf8_finish(const Utf8State *st) noexcept nogil:
    # A text that stops inside a character is invalid (RFC 3629 §4: every multi-byte
    # sequence is complete).
    return UTF8_ACCEPT if st.state == S_ACCEPT else UTF8_REJECT


cdef int utf8_check(const unsigned char *s, Py_ssize_t n) noexcept nogil:
    return UTF8_ACCEPT if _run(S_ACCEPT, s, n) == S_ACCEPT else UTF8_REJECT
# hot: end


# ---- Python API ------------------------------------------------------------------------

# A plain builtin function (not a CyFunction): the cheapest call Python can make, which is
# most of the cost of checking a short message.
@cython.binding(False)
def validate_utf8(data):
    """Return True if ``data`` (any buffer) is valid UTF-8 — exactly what
    ``bytes.decode("utf-8")`` accepts — else False.  ``TypeError`` for a non-buffer."""
    cdef Py_buffer view
    cdef int r
    cdef const unsigned char *s
    cdef Py_ssize_t n
    if type(data) is bytes:
        # Immutable and kept alive by the caller's reference: read it directly (the
        # cheapest path for the short texts most messages are).
        s = <const unsigned char *>PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
        if n >= UTF8_NOGIL_THRESHOLD:
            with nogil:
                r = utf8_check(s, n)
        else:
            r = utf8_check(s, n)
        return r == UTF8_ACCEPT
    acquire_read(data, &view)
    try:
        if view.len >= UTF8_NOGIL_THRESHOLD:
            with nogil:
                r = utf8_check(<const unsigned char *>view.buf, view.len)
        else:
            r = utf8_check(<const unsigned char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return r == UTF8_ACCEPT


@cython.final
@cython.auto_pickle(False)
cdef class Utf8Validator:
    """Incremental UTF-8 validator for a text arriving in pieces (RFC 6455 §5.6 fragments).

    ``validate(data, final=False)`` returns False as soon as the bytes seen so far cannot
    begin valid UTF-8 (RFC 3629 §4), and keeps returning False until ``reset()``.  With
    ``final=True`` the text has ended: it is also False if the text stops inside a
    character, and the validator resets itself for the next text after answering.

    Not to be shared: a validator holds one text's state and is used by one thread at a
    time.  A call while ``validate()`` is under way raises ``RuntimeError``.
    """

    def __cinit__(self):
        utf8_init(&self.st)

    def validate(self, data, final=False):
        """Feed the next bytes (any buffer); return False once the text cannot be valid."""
        cdef Py_buffer view
        cdef int r
        cdef bint is_final = final
        cdef const unsigned char *s
        cdef Py_ssize_t n
        # Another thread may call in while a large chunk is checked without the GIL: refuse
        # it rather than let two calls update the state at once.
        # Test and set in one step, also on free-threaded builds (a no-op with a GIL).
        with cython.critical_section(self):
            if self._busy:
                raise RuntimeError(BUSY_MESSAGE % "Utf8Validator")
            self._busy = True
        try:
            if type(data) is bytes:
                s = <const unsigned char *>PyBytes_AS_STRING(data)
                n = PyBytes_GET_SIZE(data)
                if n >= UTF8_NOGIL_THRESHOLD:
                    with nogil:
                        r = utf8_feed(&self.st, s, n)
                else:
                    r = utf8_feed(&self.st, s, n)
            else:
                acquire_read(data, &view)
                try:
                    if view.len >= UTF8_NOGIL_THRESHOLD:
                        with nogil:
                            r = utf8_feed(&self.st, <const unsigned char *>view.buf, view.len)
                    else:
                        r = utf8_feed(&self.st, <const unsigned char *>view.buf, view.len)
                finally:
                    PyBuffer_Release(&view)
            if is_final:
                r = utf8_finish(&self.st)
                utf8_init(&self.st)
                return r == UTF8_ACCEPT
            return r != UTF8_REJECT
        finally:
            self._busy = False

    def reset(self):
        """Forget everything fed so far: start a new text."""
        if self._busy:
            raise RuntimeError(BUSY_MESSAGE % "Utf8Validator")
        utf8_init(&self.st)


# ---- kernel choice (Python) ------------------------------------------------------------

def _install_kernel(int number):
    """Make the kernel of level ``number`` the one ``_run`` uses (for ``_KERNELS``); level 0
    has none: the scalar DFA alone."""
    global _simd_kernel
    _simd_kernel = wsc_utf8_kernel(number) if number else NULL


# Which kernels this CPU runs, which one is in use, switching (shared with _mask_c).  Level 0
# ("none") is the scalar DFA, always there.
_KERNELS = _simd.Kernels("utf8", "UTF-8", wsc_cpu_levels(),
                         lambda number: number == 0 or wsc_utf8_kernel(number) != NULL,
                         _install_kernel)
kernels = _KERNELS.kernels
kernel = _KERNELS.kernel
_set_kernel = _KERNELS.set_kernel


def _simd_prefix(name, data):
    """Run the SIMD kernel ``name`` alone over the bytes ``data`` (tests only): its result
    per the kernel contract of simd/utf8_simd.h (``len(data)`` when the text is valid and
    complete, else the clean prefix length ``g``)."""
    if name == "none" or name not in kernels():
        raise ValueError("no SIMD UTF-8 kernel %r here" % (name,))
    if type(data) is not bytes:
        raise TypeError("data must be bytes")
    cdef wsc_utf8_fn fn = wsc_utf8_kernel(_KERNELS.number(name))
    return fn(<const unsigned char *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


_KERNELS.start()
