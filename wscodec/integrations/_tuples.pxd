# Instances of a host library's NamedTuple classes (wsproto's Frame, aiohttp's WSMessage),
# built in C the way ``tuple.__new__(cls, items)`` builds them, minus the argument parsing,
# the intermediate tuple and the Python-level ``__new__`` of the NamedTuple.  Shared by the
# compiled integrations that hand such tuples out.
#
# What ``tuple.__new__`` does for a subclass (CPython's Objects/tupleobject.c,
# ``tuple_subtype_new``): allocate with the type's ``tp_alloc`` (``PyType_GenericAlloc`` for
# these classes: zero-filled, tracked by the GC), store a new reference to each item, and,
# from CPython 3.14 on, mark the hash as not computed yet.  3.14 caches a tuple's hash in
# the object (``ob_hash`` in ``PyTupleObject``, Include/cpython/tupleobject.h), -1 meaning
# "not computed"; the zero ``PyType_GenericAlloc`` leaves there would be taken for a cached
# hash, and ``hash()`` of the tuple would return 0 instead of the hash of its items.

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_SET_ITEM


cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject *type, Py_ssize_t nitems)

cdef extern from *:
    """
    /* The documented constructor (tuple.__new__ through PyTuple_Type.tp_new) costs two more
       tuples per call; what it does after tp_alloc is this one store (CPython 3.14+:
       _PyTuple_RESET_HASH_CACHE in tuple_subtype_new).  ob_hash is a field of the
       non-limited PyTupleObject; a CPython without it fails to compile here, not silently. */
    static inline void wscodec_tuple_reset_hash(PyObject *op) {
    #if PY_VERSION_HEX >= 0x030E0000 && !defined(PYPY_VERSION)
        ((PyTupleObject *)op)->ob_hash = -1;
    #else
        (void)op;
    #endif
    }
    """
    void _reset_hash "wscodec_tuple_reset_hash"(PyObject *op) noexcept nogil


cdef inline PyTypeObject *named_tuple_type(object cls, Py_ssize_t nfields) except NULL:
    """``cls`` for ``named_tuple3``/``named_tuple4``, once it is checked to be a plain NamedTuple
    of ``nfields`` fields: a tuple subclass whose instances have no ``__dict__`` (nothing but
    the items to initialize).  ImportError otherwise (the host library changed its class)."""
    if (
        not (isinstance(cls, type) and issubclass(cls, tuple))
        or cls.__basicsize__ != tuple.__basicsize__
        or cls.__dictoffset__ != 0
        or "__dict__" in dir(cls)
        or len(getattr(cls, "_fields", ())) != nfields
    ):
        raise ImportError("%r is not a plain %d-field NamedTuple" % (cls, nfields))
    return <PyTypeObject *>cls


cdef inline object _alloc(PyTypeObject *cls, Py_ssize_t n):
    cdef object t = PyType_GenericAlloc(cls, n)
    _reset_hash(<PyObject *>t)
    return t


cdef inline void _put(object t, Py_ssize_t i, object item) noexcept:
    # PyTuple_SET_ITEM steals a reference: give it one of its own.
    Py_INCREF(item)
    PyTuple_SET_ITEM(t, i, item)


cdef inline object named_tuple3(PyTypeObject *cls, object a, object b, object c):
    """``cls(a, b, c)`` for a type checked by ``named_tuple_type(cls, 3)``."""
    cdef object t = _alloc(cls, 3)
    _put(t, 0, a)
    _put(t, 1, b)
    _put(t, 2, c)
    return t


cdef inline object named_tuple4(PyTypeObject *cls, object a, object b, object c, object d):
    """``cls(a, b, c, d)`` for a type checked by ``named_tuple_type(cls, 4)``."""
    cdef object t = _alloc(cls, 4)
    _put(t, 0, a)
    _put(t, 1, b)
    _put(t, 2, c)
    _put(t, 3, d)
    return t
