"""The call shapes other WebSocket libraries expect, in pure Python.

wsaccel's stateful maskers and incremental UTF-8 validator (autobahn's have the same API),
and the ``(mask, data)`` masking function tornado and websocket-client call.  This is the
readable twin of ``wscodec.compat._compat_c`` and behaves identically.
"""

import sys

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


def _read_key(mask):
    key = _raw(mask)
    if len(key) != 4:
        raise ValueError("mask must be exactly 4 bytes, got %d" % len(key))
    return key


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
    return _masked(data, _read_key(mask), 0)


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
    return _masked(data, _read_key(mask_key), 0)


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
        self._key = _read_key(mask)
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
# A byte-at-a-time automaton whose states say what the next byte must be, so a failure is
# reported at the first byte that cannot continue any valid text (the index wsaccel and
# autobahn report), and a chunk may end anywhere inside a character.
S_ACCEPT = 0  # between characters
S_TAIL1 = 1  # one continuation byte 80..BF to go
S_TAIL2 = 2  # two to go
S_TAIL3 = 3  # three to go
S_E0 = 4  # after E0: A0..BF (no overlong 3-byte forms), then one more
S_ED = 5  # after ED: 80..9F (no surrogates D800..DFFF), then one more
S_F0 = 6  # after F0: 90..BF (no overlong 4-byte forms), then two more
S_F4 = 7  # after F4: 80..8F (nothing above U+10FFFF), then two more
S_REJECT = 8


def _lead(b):
    if b < 0x80:
        return S_ACCEPT
    if b < 0xC2:  # stray continuation byte, or C0/C1 (always overlong)
        return S_REJECT
    if b < 0xE0:
        return S_TAIL1
    if b == 0xE0:
        return S_E0
    if b == 0xED:
        return S_ED
    if b < 0xF0:
        return S_TAIL2
    if b == 0xF0:
        return S_F0
    if b < 0xF4:
        return S_TAIL3
    if b == 0xF4:
        return S_F4
    return S_REJECT  # F5..FF never appear in UTF-8


# state -> (lowest allowed byte, highest allowed byte, next state)
_TAILS = {
    S_TAIL1: (0x80, 0xBF, S_ACCEPT),
    S_TAIL2: (0x80, 0xBF, S_TAIL1),
    S_TAIL3: (0x80, 0xBF, S_TAIL2),
    S_E0: (0xA0, 0xBF, S_TAIL1),
    S_ED: (0x80, 0x9F, S_TAIL1),
    S_F0: (0x90, 0xBF, S_TAIL2),
    S_F4: (0x80, 0x8F, S_TAIL2),
}


def _run(state, data):
    """Advance ``state`` over ``data``: ``(state, index)``, index of the rejected byte or
    ``len(data)``."""
    n = len(data)
    i = 0
    while i < n:
        if state == S_ACCEPT:
            # Skip an ASCII run in one C-level scan.
            j = i
            while j < n and data[j] < 0x80:
                j += 1
            i = j
            if i == n:
                break
            state = _lead(data[i])
        else:
            low, high, nxt = _TAILS[state]
            state = nxt if low <= data[i] <= high else S_REJECT
        if state == S_REJECT:
            return state, i
        i += 1
    return state, n


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
        self._state = S_ACCEPT
        self._total = 0

    def reset(self):
        self._state = S_ACCEPT
        self._total = 0

    def validate(self, data):
        if self._state == S_REJECT:
            return (False, False, 0, self._total)
        data = _raw(data)
        if self._state == S_ACCEPT and data.isascii():
            i = len(data)
        else:
            self._state, i = _run(self._state, data)
        self._total += i
        if self._state == S_REJECT:
            return (False, False, i, self._total)
        return (True, self._state == S_ACCEPT, i, self._total)
