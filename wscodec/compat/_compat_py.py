"""The call shapes other WebSocket libraries expect, in pure Python.

wsaccel's stateful maskers and incremental UTF-8 validator (autobahn's have the same API),
and the ``(mask, data)`` masking function tornado and websocket-client call.  This is the
readable twin of ``wscodec.compat._compat_c`` and behaves identically.  Everything runs on
the codec's pure twins: the key check of ``_mask_py``, the UTF-8 machine of ``_utf8_py``.
"""

import sys

from .._mask_py import read_key
from .._utf8_py import _ACCEPT, _REJECT, _feed, _rejected_at

__all__ = [
    "websocket_mask",
    "abnf_mask",
    "XorMaskerNull",
    "XorMaskerSimple",
    "createXorMasker",
    "Utf8Validator",
]


def _raw(obj):
    """The raw bytes of any buffer; ``TypeError`` for non-buffers (str, int, list)."""
    if isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError("a bytes-like object is required, not %r" % type(obj).__name__) from None
    with view:
        return view.tobytes()


def _masked(data, key, offset):
    """``data`` XOR the 4-byte key (RFC 6455 §5.3), ``offset`` bytes into the payload."""
    data = _raw(data)
    n = len(data)
    if not n:
        return b""
    r = offset & 3
    key = key[r:] + key[:r]
    # One big-integer XOR instead of a Python-level loop over the bytes.
    stream = key * (n // 4) + key[: n % 4]
    return (int.from_bytes(data, sys.byteorder) ^ int.from_bytes(stream, sys.byteorder)).to_bytes(
        n, sys.byteorder
    )


def websocket_mask(mask, data):
    """``websocket_mask(mask, data) -> bytes``: mask (or unmask) ``data`` with a 4-byte key.

    The argument order of tornado's ``_websocket_mask``; ``ValueError`` unless the key is
    exactly 4 bytes, ``TypeError`` for non-buffers.
    """
    return _masked(data, read_key(mask), 0)


def abnf_mask(mask_key, data):
    """websocket-client's ``ABNF.mask(mask_key, data) -> bytes``.

    It accepts ``str`` for either argument (read as latin-1) and ``None`` as empty data.
    """
    if data is None:
        data = b""
    elif isinstance(data, str):
        data = data.encode("latin-1")
    if isinstance(mask_key, str):
        mask_key = mask_key.encode("latin-1")
    return _masked(data, read_key(mask_key), 0)


class XorMaskerNull:
    """A masker that does not mask (for unmasked frames); counts what passed through."""

    __slots__ = ("_ptr",)

    def __init__(self, mask=None):
        self._ptr = 0

    def pointer(self):
        return self._ptr

    def reset(self):
        self._ptr = 0

    def process(self, data):
        self._ptr += len(data)
        return data


class XorMaskerSimple:
    """A stateful masker: successive ``process`` calls continue through the payload, so a
    payload masked in chunks equals the payload masked at once (RFC 6455 §5.3: byte ``i``
    uses key byte ``i % 4``)."""

    __slots__ = ("_key", "_ptr")

    def __init__(self, mask):
        self._key = read_key(mask)
        self._ptr = 0

    def pointer(self):
        """How many payload bytes were processed since creation or ``reset()``."""
        return self._ptr

    def reset(self):
        self._ptr = 0

    def process(self, data):
        """Return ``data`` masked, continuing from the current position."""
        out = _masked(data, self._key, self._ptr)
        self._ptr += len(out)
        return out


def createXorMasker(mask, length=None):
    """wsaccel's factory: a masker for ``mask``.  ``length`` is a size hint (one kernel
    serves every length here)."""
    return XorMaskerSimple(mask)


# --- UTF-8 (RFC 3629 §4) -------------------------------------------------------------------
# wsaccel and autobahn report where a text failed: the index of the first byte that cannot
# continue any valid text.  The codec's machine fails fast at exactly that byte; a rejected
# chunk is run again from the state before it to find the byte (only on the failure path).


class Utf8Validator:
    """wsaccel's (and autobahn's) incremental UTF-8 validator.

    ``validate(data)`` returns ``(valid, ends_on_codepoint, current_index, total_index)``:
    ``valid`` is False once the bytes so far cannot start valid UTF-8 (and stays False until
    ``reset()``); ``ends_on_codepoint`` is True when they form complete text;
    ``current_index`` is how many bytes of this chunk were accepted (the index of the
    rejected byte on failure) and ``total_index`` the same since the last ``reset()``.
    """

    __slots__ = ("_state", "_total")

    def __init__(self):
        self._state = _ACCEPT
        self._total = 0

    def reset(self):
        self._state = _ACCEPT
        self._total = 0

    def validate(self, data):
        before = self._state
        if before == _REJECT:
            return (False, False, 0, self._total)
        with memoryview(_raw(data)) as view:
            self._state = state = _feed(before, view)
            i = _rejected_at(before, view) if state == _REJECT else len(view)
        self._total += i
        if state == _REJECT:
            return (False, False, i, self._total)
        return (True, state == _ACCEPT, i, self._total)
