"""Masking (RFC 6455 §5.3), pure-Python twin of ``_mask_c``.

Every byte of a masked payload is XORed with byte ``i % 4`` of the 4-byte masking key, where
``i`` is the byte's position in the payload (RFC 6455 §5.3).  Masking and unmasking are the
same operation.

This module is the readable reference for the compiled twin and behaves identically: same
results, same exception types, checked in the same order (data or buffer, then mask, then
offset).

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
    """Return ``obj`` as its raw bytes in logical order (a copy unless it is ``bytes``)."""
    if type(obj) is bytes:
        return obj
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            "%s must be a bytes-like object, not %r" % (name, type(obj).__name__)
        ) from None
    with view:
        return view.tobytes()


def _key(mask):
    """Check ``mask`` and return its 4 bytes."""
    key = _raw(mask, "mask")
    if len(key) != 4:
        raise ValueError("mask must contain 4 bytes, not %d" % len(key))
    return key


def _phase(offset):
    """Position within the key of payload byte ``offset``: any non-negative int is valid."""
    offset = operator.index(offset)  # TypeError for float, str, None...
    if offset < 0:
        raise ValueError("offset must be non-negative, not %d" % offset)
    return offset & 3


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
    view = memoryview(data)
    stop = n - n % _CHUNK
    for i in range(0, stop, _CHUNK):
        j = i + _CHUNK
        out[i:j] = (_from_bytes(view[i:j], "little") ^ keyint).to_bytes(_CHUNK, "little")
    if stop < n:
        # The tail starts at a multiple of 4, so at the start of the key.
        out[stop:] = _xor(view[stop:], key)
    return bytes(out)


def apply_mask(data, mask):
    """Return ``data`` masked (or unmasked) with the 4-byte ``mask`` (RFC 6455 §5.3).

    ``data`` and ``mask`` may be any buffer (bytes, bytearray, memoryview, array...), read as
    raw bytes in logical order.  ``data`` is not modified.  Raises ``ValueError`` unless
    ``mask`` is exactly 4 bytes, ``TypeError`` for an argument that is not a buffer.
    """
    data = _raw(data, "data")
    return _xor(data, _key(mask))


def mask_inplace(buffer, mask, offset=0):
    """XOR the writable ``buffer`` with ``mask`` in place (RFC 6455 §5.3).

    ``offset`` is the position of ``buffer[0]`` within the payload, so a payload masked in
    chunks, each with its own offset, gives the same bytes as one call over the whole payload.
    Raises ``TypeError`` for a read-only buffer, a non-buffer or a non-integer offset,
    ``ValueError`` for a negative offset or a mask that is not 4 bytes.
    """
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
        key = _key(mask)
        phase = _phase(offset)
        if phase:
            # Rotate the key so that it starts with the byte that applies to buffer[0].
            key = key[phase:] + key[:phase]
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
