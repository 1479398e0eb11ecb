"""UTF-8 validation (RFC 3629), pure-Python twin of ``_utf8_c``.

RFC 6455 §5.6 and §8.1: the payload of a text message (and the reason of a Close frame,
§5.5.1) must be valid UTF-8, and an endpoint that sees invalid UTF-8 must fail the connection
(close code 1007).  Valid here means exactly what ``bytes.decode("utf-8")`` accepts.

Whole buffers go to the interpreter's UTF-8 decoder.  The incremental validator must also
fail fast — refuse a prefix as soon as no valid text can start with it — and the decoder
alone does not: with ``final=False`` CPython's decoder holds back b"\\xed\\xa0" (a surrogate
lead) as "incomplete" instead of refusing it.  So the decoder checks the complete
characters of each piece, and the few bytes it holds back (at most three: one unfinished
character) go through the state machine below, which follows RFC 3629 §4 byte by byte.
"""

import codecs
from _thread import allocate_lock as _allocate_lock

from ._errors import BUSY_MESSAGE

__all__ = ["validate_utf8", "Utf8Validator"]

_decode = codecs.utf_8_decode

# States of the byte-by-byte machine (same meaning as the compiled twin's).
_ACCEPT = 0  # on a character boundary
_REJECT = 1  # invalid; every byte leads back here
_TAIL1 = 2  # one more continuation byte (80..BF) due
_TAIL2 = 3  # two more
_TAIL3 = 4  # three more
_E0 = 5  # after E0: second byte must be A0..BF (no overlong 3-byte forms)
_ED = 6  # after ED: 80..9F (no surrogates U+D800..U+DFFF)
_F0 = 7  # after F0: 90..BF (no overlong 4-byte forms)
_F4 = 8  # after F4: 80..8F (nothing above U+10FFFF)


def _next_state(state, b):
    # RFC 3629 §4:
    #   UTF8-1 = %x00-7F
    #   UTF8-2 = %xC2-DF UTF8-tail
    #   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
    #            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
    #   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
    #            %xF4 %x80-8F 2( UTF8-tail )
    #   UTF8-tail = %x80-BF
    # C0, C1 and F5..FF appear nowhere, and a tail byte cannot start a character.
    if state == _ACCEPT:
        if b <= 0x7F:
            return _ACCEPT
        if 0xC2 <= b <= 0xDF:
            return _TAIL1
        if b == 0xE0:
            return _E0
        if b == 0xED:
            return _ED
        if 0xE1 <= b <= 0xEF:
            return _TAIL2
        if b == 0xF0:
            return _F0
        if b == 0xF4:
            return _F4
        if 0xF1 <= b <= 0xF3:
            return _TAIL3
        return _REJECT
    if state == _TAIL1 and 0x80 <= b <= 0xBF:
        return _ACCEPT
    if state == _TAIL2 and 0x80 <= b <= 0xBF:
        return _TAIL1
    if state == _TAIL3 and 0x80 <= b <= 0xBF:
        return _TAIL2
    if state == _E0 and 0xA0 <= b <= 0xBF:
        return _TAIL1
    if state == _ED and 0x80 <= b <= 0x9F:
        return _TAIL1
    if state == _F0 and 0x90 <= b <= 0xBF:
        return _TAIL2
    if state == _F4 and 0x80 <= b <= 0x8F:
        return _TAIL2
    return _REJECT


# _TABLE[state][byte] -> next state
_TABLE = tuple(bytes(_next_state(s, b) for b in range(256)) for s in range(_F4 + 1))


def _raw(data):
    """A flat byte view of any buffer (``TypeError`` for a non-buffer such as ``str``).

    Any format or shape is read as its raw bytes in logical order, like the compiled twin;
    a non-contiguous view is copied once.
    """
    view = memoryview(data)
    if view.ndim == 1 and view.format == "B" and view.c_contiguous:
        return view
    if view.c_contiguous:
        with view:
            return view.cast("B") if view.ndim else memoryview(view.tobytes())
    with view:
        return memoryview(view.tobytes())


def validate_utf8(data):
    """Return True if ``data`` (any buffer) is valid UTF-8 — exactly what
    ``bytes.decode("utf-8")`` accepts — else False.  ``TypeError`` for a non-buffer."""
    if type(data) is bytes or type(data) is bytearray:
        try:
            _decode(data, "strict", True)
        except UnicodeDecodeError:
            return False
        return True
    with _raw(data) as view:
        try:
            _decode(view, "strict", True)
        except UnicodeDecodeError:
            return False
    return True


def _feed(state, view):
    """Run ``view`` (a flat byte memoryview) from ``state``; return the new state."""
    table = _TABLE
    n = len(view)
    i = 0
    # Finish a character left open by the previous piece, byte by byte.
    while i < n and state != _ACCEPT and state != _REJECT:
        state = table[state][view[i]]
        i += 1
    if state != _ACCEPT or i == n:
        return state
    try:
        _, consumed = _decode(view[i:], "strict", False)
    except UnicodeDecodeError:
        return _REJECT
    # The decoder held back an unfinished last character (a prefix it could not refuse
    # yet); check those bytes exactly.
    for b in view[i + consumed :]:
        state = table[state][b]
    return state


def _rejected_at(state, view):
    """The index in ``view`` of the byte at which the machine, run from ``state``, rejects
    (``len(view)`` if it does not): the first byte no valid text can continue with."""
    table = _TABLE
    n = len(view)
    i = 0
    # Finish a character left open by the previous piece, byte by byte.
    while i < n and state != _ACCEPT:
        state = table[state][view[i]]
        if state == _REJECT:
            return i
        i += 1
    # Skip the whole characters the decoder accepts; from the first byte it refuses or holds
    # back, at most one character's bytes remain before the machine rejects.
    try:
        _, consumed = _decode(view[i:], "strict", False)
    except UnicodeDecodeError as exc:
        consumed = exc.start
    i += consumed
    while i < n:
        state = table[state][view[i]]
        if state == _REJECT:
            return i
        i += 1
    return n


class Utf8Validator:
    """Incremental UTF-8 validator for a text arriving in pieces (RFC 6455 §5.6 fragments).

    ``validate(data, final=False)`` returns False as soon as the bytes seen so far cannot
    begin valid UTF-8 (RFC 3629 §4), and keeps returning False until ``reset()``.  With
    ``final=True`` the text has ended: it is also False if the text stops inside a
    character, and the validator resets itself for the next text after answering.

    Not to be shared: a validator holds one text's state and is used by one thread at a
    time.  A call while ``validate()`` is under way raises ``RuntimeError``.
    """

    __slots__ = ("_state", "_busy")

    def __init__(self):
        self._state = _ACCEPT
        # Held while validate() runs; a lock, not a flag, because a thread switch may fall
        # between testing a flag and setting it.
        self._busy = _allocate_lock()

    def validate(self, data, final=False):
        """Feed the next bytes (any buffer); return False once the text cannot be valid."""
        busy = self._busy
        if not busy.acquire(False):
            raise RuntimeError(BUSY_MESSAGE % "Utf8Validator")
        try:
            with _raw(data) as view:
                state = self._state
                if state != _REJECT:
                    state = _feed(state, view)
            if final:
                self._state = _ACCEPT
                return state == _ACCEPT
            self._state = state
            return state != _REJECT
        finally:
            busy.release()

    def reset(self):
        """Forget everything fed so far: start a new text."""
        if self._busy.locked():
            raise RuntimeError(BUSY_MESSAGE % "Utf8Validator")
        self._state = _ACCEPT
