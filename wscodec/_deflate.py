"""The deflate backend: the one place every compressor and decompressor is created.

Both message twins create their permessage-deflate streams (RFC 7692 §7) through
:func:`compressobj` and :func:`decompressobj` here, never through ``zlib`` directly, so the
module doing the work can be swapped at run time without touching the codec.  Today the only
backend is the standard library's ``zlib``; any module with the same ``compressobj`` /
``decompressobj`` / ``error`` API fits (zlib-ng's and isal's Python bindings follow it).

The tests use :func:`set_backend` to count the bytes handed to the inflater.  The backend is
looked up once per stream (not per message or per call), so the indirection costs nothing on
the per-frame path.
"""

import zlib as _zlib

__all__ = ["Z_HUFFMAN_ONLY", "Z_SYNC_FLUSH", "backend", "compressobj", "decompressobj", "errors", "set_backend"]

#: The flush mode that ends a compressed message on a byte boundary (RFC 7692 §7.2.1); the
#: value is part of the zlib API every backend copies.
Z_SYNC_FLUSH = _zlib.Z_SYNC_FLUSH
#: The strategy for an 8-bit window, which zlib cannot compress with (see ``new_compressor``).
Z_HUFFMAN_ONLY = _zlib.Z_HUFFMAN_ONLY

_backend = _zlib

#: Exception classes meaning "corrupt compressed data": the ``error`` of every backend set so
#: far, so a stream created before a switch still maps its errors to close code 1007.
errors = (_zlib.error,)


def backend():
    """The module currently creating compressors and decompressors (``zlib`` by default)."""
    return _backend


def set_backend(module):
    """Create every later stream with ``module``; returns the previous backend.

    ``module`` needs ``compressobj(level, method, wbits, memLevel, strategy)``,
    ``decompressobj(wbits)`` and an ``error`` exception class, as ``zlib`` has.  Streams
    already created keep the backend they were created with.
    """
    global _backend, errors
    for name in ("compressobj", "decompressobj", "error"):
        if not hasattr(module, name):
            raise TypeError("a deflate backend needs %r, which %r lacks" % (name, module))
    error = module.error
    if not (isinstance(error, type) and issubclass(error, Exception)):
        raise TypeError("a deflate backend's error must be an exception class, not %r" % (error,))
    previous = _backend
    _backend = module
    if error not in errors:
        errors = errors + (error,)
    return previous


def compressobj(wbits, strategy=_zlib.Z_DEFAULT_STRATEGY):
    """A raw-deflate compressor (negative ``wbits``) at the default level and memory level."""
    return _backend.compressobj(_zlib.Z_DEFAULT_COMPRESSION, _zlib.DEFLATED, wbits, 8, strategy)


def decompressobj(wbits):
    """A raw-deflate decompressor (negative ``wbits``)."""
    return _backend.decompressobj(wbits)
