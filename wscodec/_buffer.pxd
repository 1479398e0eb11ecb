# Buffer acquisition shared by the compiled modules.  Any object with the buffer protocol is
# read as its raw bytes: C-contiguous buffers without a copy, others (non-contiguous
# memoryviews) through one copy.  Non-buffers (str, int, list) raise TypeError.

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer


cdef inline int acquire_read(object obj, Py_buffer *view) except -1:
    """Fill ``view`` with the raw bytes of ``obj``; release it with ``PyBuffer_Release``."""
    try:
        PyObject_GetBuffer(obj, view, PyBUF_SIMPLE)
    except BufferError:
        # Not C-contiguous: read it in logical order through one copy.
        PyObject_GetBuffer(memoryview(obj).tobytes(), view, PyBUF_SIMPLE)
    return 0
