# cython: embedsignature.format=clinic
"""Masking (RFC 6455 §5.3), compiled twin of ``_mask_py``.

Every byte of a masked payload is XORed with byte ``i % 4`` of the 4-byte masking key, where
``i`` is the byte's position in the payload (RFC 6455 §5.3); masking and unmasking are the
same operation.  The kernel is ``mask_copy`` in ``_mask_c.pxd`` (shared with the frames
module and public for other Cython projects); this module wraps it for Python callers.

``mask_copy`` masks short payloads inline and hands longer ones to ``mask_simd``, which
calls the kernel chosen once at import (``simd/mask_simd.h``: AVX2 or SSE2 on x86-64, NEON
on AArch64, scalar C elsewhere; ``WSCODEC_SIMD`` forces a level, see ``wscodec._simd``).
``kernel()`` names the kernel in use and ``kernels()`` those this CPU can run;
``_set_kernel(name)`` and ``_run_kernel(...)`` are for tests and benchmarks only.

Behaviour matches the pure twin exactly: same results, same exception types, arguments
checked in the same order (data or buffer, then mask, then offset).
"""

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_CheckExact, PyByteArray_GET_SIZE
from cpython.buffer cimport (
    PyBUF_INDIRECT,
    PyBUF_SIMPLE,
    PyBUF_WRITABLE,
    PyBuffer_IsContiguous,
    PyBuffer_Release,
    PyObject_CheckBuffer,
    PyObject_GetBuffer,
)
from cpython.bytes cimport (
    PyBytes_AS_STRING,
    PyBytes_CheckExact,
    PyBytes_FromStringAndSize,
    PyBytes_GET_SIZE,
)
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.number cimport PyNumber_Index
from libc.string cimport memcpy

from wscodec._buffer cimport acquire_read

from wscodec import _simd

__all__ = ["apply_mask", "mask_inplace"]


cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define WSCODEC_GIL_DISABLED 1
    #else
    #define WSCODEC_GIL_DISABLED 0
    #endif
    """
    # True on free-threaded builds, where holding the interpreter does not stop another
    # thread from resizing a bytearray: only a buffer export does.
    const bint WSCODEC_GIL_DISABLED


cdef extern from "Python.h":
    # Declared here with their error value (-1 with an exception set), which Cython's
    # cpython.buffer leaves out.
    int PyBuffer_ToContiguous(void *buf, Py_buffer *view, Py_ssize_t len, char order) except -1
    int PyBuffer_FromContiguous(Py_buffer *view, void *buf, Py_ssize_t len, char order) except -1

cdef extern from "mask_simd.h" nogil:
    # Kernels compiled with per-function target attributes, so this module still runs on
    # the architecture's baseline; see simd/cpu.h and simd/mask_simd.h for the contract.
    ctypedef void (*wsc_mask_fn)(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                                 const unsigned char *key, Py_ssize_t offset) noexcept
    int wsc_cpu_levels() noexcept
    wsc_mask_fn wsc_mask_kernel(int level) noexcept


# The kernel in use; set at import (end of this module) and by _set_kernel (tests).
cdef wsc_mask_fn _kernel = wsc_mask_kernel(0)


cdef void mask_simd(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                    const unsigned char *key, Py_ssize_t offset) noexcept nogil:
    # hot: begin mask_simd
    _kernel(dst, src, n, key, offset)
    # hot: end


# Payloads at least this long are masked with the GIL released (why this size: _mask_c.pxd).
NOGIL_THRESHOLD = MASK_NOGIL_THRESHOLD


cdef inline void _run(unsigned char *dst, const unsigned char *src, Py_ssize_t n,
                      const unsigned char *key, Py_ssize_t phase) noexcept:
    # ``src`` and ``dst`` must stay valid while the GIL is released: callers hold a Py_buffer
    # (which also stops a bytearray from being resized) or a reference to an immutable bytes.
    # hot: begin mask run
    if n >= MASK_NOGIL_THRESHOLD:
        with nogil:  # hot: allow (the GIL is released once per call, from 256 KiB on)
            mask_copy(dst, src, n, key, phase)
    else:
        mask_copy(dst, src, n, key, phase)
    # hot: end


cdef int _not_a_buffer(object obj, str name) except -1:
    raise TypeError("%s must be a bytes-like object, not %r" % (name, type(obj).__name__))


cdef int read_key(object mask, unsigned char *key) except -1:
    """Copy the 4 bytes of ``mask`` into ``key``; ValueError unless it is exactly 4 bytes.
    Declared in _mask_c.pxd: every compiled module checks a caller's key here."""
    cdef Py_buffer view
    cdef Py_ssize_t n
    if PyBytes_CheckExact(mask):
        n = PyBytes_GET_SIZE(mask)
        if n == 4:
            memcpy(key, PyBytes_AS_STRING(mask), 4)
            return 0
    else:
        if not PyObject_CheckBuffer(mask):
            _not_a_buffer(mask, "mask")
        acquire_read(mask, &view)
        try:
            n = view.len
            if n == 4:
                memcpy(key, view.buf, 4)
                return 0
        finally:
            PyBuffer_Release(&view)
    raise ValueError("mask must contain 4 bytes, not %d" % n)


cdef inline Py_ssize_t _phase(object offset) except -1:
    """``offset % 4`` for any non-negative int; TypeError for a non-int, ValueError if < 0."""
    cdef int overflow
    cdef long long value
    if offset is 0:
        # The default (CPython shares one object for small ints): skip the conversion.
        return 0
    if not PyLong_CheckExact(offset):
        # TypeError for float, str, None...; an int subclass becomes a plain int, so its
        # own operators (``&`` below) are never called.  (Before Python 3.10, __index__ may
        # hand back the subclass itself: int.__index__ then makes the plain copy.)
        offset = PyNumber_Index(offset)
        if not PyLong_CheckExact(offset):
            offset = int.__index__(offset)
    value = PyLong_AsLongLongAndOverflow(offset, &overflow)
    if overflow == 0 and value >= 0:
        return <Py_ssize_t>(value & 3)
    if overflow > 0:
        # Beyond 64 bits: only the two low bits matter.
        return <Py_ssize_t>(offset & 3)
    raise ValueError("offset must be non-negative, not %d" % offset)


cdef bytes _apply_mask_any(object data, object mask):
    """``apply_mask`` for every input but the fast path's."""
    cdef unsigned char key[4]
    cdef Py_buffer view
    cdef Py_ssize_t n
    cdef bytes result
    if PyBytes_CheckExact(data):
        # No buffer protocol: bytes are immutable and ``data`` is referenced for the call.
        read_key(mask, key)
        n = PyBytes_GET_SIZE(data)
        result = PyBytes_FromStringAndSize(NULL, n)
        _run(<unsigned char *>PyBytes_AS_STRING(result),
             <const unsigned char *>PyBytes_AS_STRING(data), n, key, 0)
        return result
    if not PyObject_CheckBuffer(data):
        _not_a_buffer(data, "data")
    acquire_read(data, &view)
    try:
        read_key(mask, key)
        # Allocated once, uninitialized, and masked straight into: no intermediate copy.
        result = PyBytes_FromStringAndSize(NULL, view.len)
        _run(<unsigned char *>PyBytes_AS_STRING(result),
             <const unsigned char *>view.buf, view.len, key, 0)
        return result
    finally:
        PyBuffer_Release(&view)


@cython.binding(False)
def apply_mask(data, mask):
    """Return ``data`` masked (or unmasked) with the 4-byte ``mask`` (RFC 6455 §5.3).

    ``data`` and ``mask`` may be any buffer (bytes, bytearray, memoryview, array...), read as
    raw bytes in logical order.  ``data`` is not modified.  Raises ``ValueError`` unless
    ``mask`` is exactly 4 bytes, ``TypeError`` for an argument that is not a buffer.
    """
    cdef Py_ssize_t n
    cdef bytes result
    if PyBytes_CheckExact(data) and PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4:
        # The common case, checked with no call: both immutable, referenced for the whole
        # call, read directly.  The result is allocated once, uninitialized, and masked
        # straight into.  Everything else goes out of line, which keeps this frame small.
        n = PyBytes_GET_SIZE(data)
        result = PyBytes_FromStringAndSize(NULL, n)
        _run(<unsigned char *>PyBytes_AS_STRING(result),
             <const unsigned char *>PyBytes_AS_STRING(data), n,
             <const unsigned char *>PyBytes_AS_STRING(mask), 0)
        return result
    return _apply_mask_any(data, mask)


cdef int _mask_view(Py_buffer *view, const unsigned char *key, Py_ssize_t phase) except -1:
    """Mask the buffer ``view`` in place, in logical order whatever its layout."""
    cdef unsigned char *tmp
    if PyBuffer_IsContiguous(view, b'C'):
        _run(<unsigned char *>view.buf, <const unsigned char *>view.buf, view.len, key, phase)
    elif view.len:
        # Mask a contiguous copy, then write it back in logical (C) order.
        tmp = <unsigned char *>PyMem_Malloc(view.len)
        if tmp == NULL:
            raise MemoryError()
        try:
            PyBuffer_ToContiguous(tmp, view, view.len, b'C')
            _run(tmp, tmp, view.len, key, phase)
            PyBuffer_FromContiguous(view, tmp, view.len, b'C')
        finally:
            PyMem_Free(tmp)
    return 0


cdef int _mask_inplace_any(object buffer, object mask, object offset) except -1:
    """``mask_inplace`` for every input but the fast path's."""
    cdef unsigned char key[4]
    cdef Py_buffer view
    cdef Py_ssize_t phase
    cdef Py_ssize_t n
    if not WSCODEC_GIL_DISABLED and PyByteArray_CheckExact(buffer):
        # Still without the buffer protocol when the payload is small.  The key and offset
        # are read first: reading them may run Python code that resizes the bytearray.
        read_key(mask, key)
        phase = _phase(offset)
        n = PyByteArray_GET_SIZE(buffer)
        if n < MASK_NOGIL_THRESHOLD:
            mask_copy(<unsigned char *>PyByteArray_AS_STRING(buffer),
                      <const unsigned char *>PyByteArray_AS_STRING(buffer), n, key, phase)
            return 0
        # Large: the GIL is released, so hold an export that keeps the bytearray's size fixed.
        PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_INDIRECT)
        try:
            _mask_view(&view, key, phase)
        finally:
            PyBuffer_Release(&view)
        return 0
    if not PyObject_CheckBuffer(buffer):
        raise TypeError(
            "buffer must be a writable bytes-like object, not %r" % type(buffer).__name__)
    try:
        # Any layout (strides, suboffsets): a non-contiguous buffer is handled by _mask_view.
        PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_INDIRECT)
    except BufferError:
        raise TypeError(
            "buffer must be writable, not a read-only %r" % type(buffer).__name__) from None
    try:
        read_key(mask, key)
        phase = _phase(offset)
        _mask_view(&view, key, phase)
    finally:
        PyBuffer_Release(&view)
    return 0


@cython.binding(False)
def mask_inplace(buffer, mask, offset=0):
    """XOR the writable ``buffer`` with ``mask`` in place (RFC 6455 §5.3).

    ``offset`` is the position of ``buffer[0]`` within the payload, so a payload masked in
    chunks, each with its own offset, gives the same bytes as one call over the whole payload.
    Raises ``TypeError`` for a read-only buffer, a non-buffer or a non-integer offset,
    ``ValueError`` for a negative offset or a mask that is not 4 bytes.
    """
    cdef Py_ssize_t n
    if (not WSCODEC_GIL_DISABLED and PyByteArray_CheckExact(buffer)
            and PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4 and offset is 0):
        # The hottest case (a received frame unmasked in its own buffer), checked with no
        # call; the phase is a constant, so the compiler folds the key rotation away.  No
        # Python code runs from here to the end of the kernel, so while the GIL is held
        # nothing can resize the bytearray: the buffer protocol is not needed.  (On
        # free-threaded builds only a buffer export prevents that, so they skip this path.)
        n = PyByteArray_GET_SIZE(buffer)
        if n < MASK_NOGIL_THRESHOLD:
            mask_copy(<unsigned char *>PyByteArray_AS_STRING(buffer),
                      <const unsigned char *>PyByteArray_AS_STRING(buffer), n,
                      <const unsigned char *>PyBytes_AS_STRING(mask), 0)
            return
    _mask_inplace_any(buffer, mask, offset)


# ---- kernel choice -----------------------------------------------------------------------

def _install_kernel(int number):
    """Make the kernel of level ``number`` the one ``mask_simd`` calls (for ``_KERNELS``)."""
    global _kernel
    _kernel = wsc_mask_kernel(number)


# Which kernels this CPU runs, which one is in use, switching (shared with _utf8_c).
_KERNELS = _simd.Kernels("mask", "masking", wsc_cpu_levels(),
                         lambda number: wsc_mask_kernel(number) != NULL, _install_kernel)
kernels = _KERNELS.kernels
kernel = _KERNELS.kernel
_set_kernel = _KERNELS.set_kernel


def _run_kernel(name, dst, Py_ssize_t dst_start, src, Py_ssize_t src_start, Py_ssize_t n,
                bytes key, Py_ssize_t offset):
    """Run the kernel ``name`` alone (tests only): ``dst[dst_start:dst_start + n]`` gets
    ``src[src_start:src_start + n]`` masked with ``key`` from payload position ``offset``.
    ``dst`` is a writable C-contiguous buffer; ``src`` is ``dst`` itself (in place when the
    starts are equal, else the ranges must not overlap) or another C-contiguous buffer."""
    cdef wsc_mask_fn fn = wsc_mask_kernel(_KERNELS.number(name))
    cdef unsigned char k[4]
    cdef Py_buffer dview
    cdef Py_buffer sview
    cdef bint same = src is dst
    read_key(key, k)
    PyObject_GetBuffer(dst, &dview, PyBUF_WRITABLE)
    try:
        if not same:
            PyObject_GetBuffer(src, &sview, PyBUF_SIMPLE)
        else:
            sview = dview
        try:
            if (n < 0 or dst_start < 0 or src_start < 0 or dst_start > dview.len - n
                    or src_start > sview.len - n):
                raise ValueError("range out of bounds")
            if (same and src_start != dst_start
                    and src_start < dst_start + n and dst_start < src_start + n):
                raise ValueError("partly overlapping ranges are outside the kernel contract")
            fn(<unsigned char *>dview.buf + dst_start,
               <const unsigned char *>sview.buf + src_start, n,
               k, offset)
        finally:
            if not same:
                PyBuffer_Release(&sview)
    finally:
        PyBuffer_Release(&dview)


_KERNELS.start()
