"""Masking (RFC 6455 §5.3), pure-Python twin of ``_mask_c``.

Every byte of a masked payload is XORed with byte ``i % 4`` of the 4-byte masking key, where
``i`` is the byte's position in the payload (RFC 6455 §5.3).  Masking and unmasking are the
same operation.

This module is the readable reference for the compiled twin and behaves identically: same
results, same exception types, checked in the same order (data or buffer, then mask, then
offset).

Non-contiguous writable buffers are masked through a contiguous copy written back through
the memoryview: a 1-D view by a slice assignment (a raw byte copy), an N-D view item by
item.  The stdlib's only N-D non-contiguous writable buffers are byte and integer views, for
which that is exact; a third-party N-D exporter with a bool or float format would get its
items converted (the compiled twin copies raw bytes), and one with a non-native format
(``"<i"``) is refused by memoryview.  Both are outside what the twins promise to match.

Speed: the XOR runs on Python integers, one chunk of ``_CHUNK`` bytes at a time.  One big
integer over the whole payload would also work, but converting multi-megabyte integers from
and to bytes is slower per byte than converting cache-sized chunks, and the key integer for a
chunk is built once and reused for every chunk.
"""

import itertools
import operator

__all__ = ["apply_mask", "mask_inplace"]

# Bytes XORed per big-integer operation; a multiple of 4 so that every chunk starts at the
# same position in the key.
_CHUNK = 1 << 14

_from_bytes = int.from_bytes


def _raw(obj, name):
    """Return ``obj``'s raw bytes in logical order: ``obj`` itself if it is a bytes or a
    bytearray (both index and slice as bytes), else a copy."""
    if type(obj) is bytes or type(obj) is bytearray:
        return obj
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            "%s must be a bytes-like object, not %r" % (name, type(obj).__name__)
        ) from None
    with view:
        return view.tobytes()


def read_key(mask):
    """Check ``mask`` and return its 4 bytes: ``ValueError`` unless it holds exactly 4 bytes
    (RFC 6455 §5.3; websockets' ``apply_mask`` contract), ``TypeError`` for a non-buffer.
    The one check of a caller-supplied key in the pure twins (``read_key`` of
    ``_mask_c.pxd`` in the compiled ones), so they all say the same."""
    key = _raw(mask, "mask")
    if len(key) != 4:
        raise ValueError("mask must contain 4 bytes, not %d" % len(key))
    return bytes(key)


def _phase(offset):
    """Position within the key of payload byte ``offset``: any non-negative int is valid."""
    offset = operator.index(offset)  # TypeError for float, str, None...
    # A plain int, so an int subclass's own operators are never called (before Python 3.10,
    # operator.index may return the subclass itself).
    offset = int.__index__(offset)
    if offset < 0:
        raise ValueError("offset must be non-negative, not %d" % offset)
    return offset & 3


def _rotated_key(mask, offset):
    """The key rotated so that it starts with the byte that applies to payload byte
    ``offset`` (mask checked first, then offset)."""
    key = read_key(mask)
    phase = _phase(offset)
    return key[phase:] + key[:phase] if phase else key


def _xor(data, key):
    """``bytes(data[i] ^ key[i % 4])``: ``data`` is any 1-D byte buffer, ``key`` 4 bytes."""
    n = len(data)
    if n <= _CHUNK:
        if not n:
            return b""
        keyint = _from_bytes((key * (n // 4 + 1))[:n], "little")
        return (_from_bytes(data, "little") ^ keyint).to_bytes(n, "little")
    out = bytearray(n)
    keyint = _from_bytes(key * (_CHUNK // 4), "little")
    stop = n - n % _CHUNK
    with memoryview(data) as view:
        for i in range(0, stop, _CHUNK):
            j = i + _CHUNK
            with view[i:j] as chunk:
                out[i:j] = (_from_bytes(chunk, "little") ^ keyint).to_bytes(_CHUNK, "little")
        if stop < n:
            # The tail starts at a multiple of 4, so at the start of the key.
            with view[stop:] as tail:
                out[stop:] = _xor(tail, key)
    return bytes(out)


def apply_mask(data, mask):
    """Return ``data`` masked (or unmasked) with the 4-byte ``mask`` (RFC 6455 §5.3).

    ``data`` and ``mask`` may be any buffer (bytes, bytearray, memoryview, array...), read as
    raw bytes in logical order.  ``data`` is not modified.  Raises ``ValueError`` unless
    ``mask`` is exactly 4 bytes, ``TypeError`` for an argument that is not a buffer.
    """
    data = _raw(data, "data")
    return _xor(data, read_key(mask))


def mask_inplace(buffer, mask, offset=0):
    """XOR the writable ``buffer`` with ``mask`` in place (RFC 6455 §5.3).

    ``offset`` is the position of ``buffer[0]`` within the payload, so a payload masked in
    chunks, each with its own offset, gives the same bytes as one call over the whole payload.
    Raises ``TypeError`` for a read-only buffer, a non-buffer or a non-integer offset,
    ``ValueError`` for a negative offset or a mask that is not 4 bytes.
    """
    if type(buffer) is bytearray:
        # The common case, without a memoryview: a same-length slice assignment writes the
        # bytes in place.
        key = _rotated_key(mask, offset)
        buffer[:] = _xor(buffer, key)
        return
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(
            "buffer must be a writable bytes-like object, not %r" % type(buffer).__name__
        ) from None
    with view:
        if view.readonly:
            raise TypeError(
                "buffer must be writable, not a read-only %r" % type(buffer).__name__
            )
        key = _rotated_key(mask, offset)
        if not view.nbytes:
            return
        if view.c_contiguous:
            flat = view.cast("B")
            with flat:
                flat[:] = _xor(flat, key)
            return
        # Not contiguous: mask a contiguous copy, then write it back in logical order.
        masked = memoryview(_xor(view.tobytes(), key)).cast(view.format, view.shape)
        with masked:
            if view.ndim == 1:
                # A slice assignment between views of the same format copies raw bytes.
                view[:] = masked
            else:
                # Memoryviews assign only 1-D slices; write item by item in logical order.
                for index in itertools.product(*map(range, view.shape)):
                    view[index] = masked[index]
