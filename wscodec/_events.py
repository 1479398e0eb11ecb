"""The events a :class:`MessageDecoder` returns, shared by both twins (like ``_errors.py``).

Small value objects: they compare equal by type and value, hash, pickle and have readable
reprs.  The compiled decoder builds them without running ``__init__`` (``cls.__new__`` and a
slot store), which is why they keep no state beyond their slots.
"""

from typing import Optional, Tuple, Type

__all__ = ["Event", "TextMessage", "BinaryMessage", "Ping", "Pong", "Close"]


class Event:
    """Base class of the decoder's events."""

    __slots__ = ()
    _fields: Tuple[str, ...] = ()

    def _values(self) -> Tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __ne__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() != other._values()

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + self._values())

    def __repr__(self) -> str:
        return "%s(%s)" % (
            type(self).__name__,
            ", ".join("%s=%r" % (name, getattr(self, name)) for name in self._fields),
        )

    def __reduce__(self) -> Tuple[Type["Event"], Tuple[object, ...]]:
        return (type(self), self._values())


class TextMessage(Event):
    """A complete text message (RFC 6455 §5.6): ``data`` is the decoded ``str``."""

    __slots__ = ("data",)
    _fields = __match_args__ = ("data",)
    data: str

    def __init__(self, data: str) -> None:
        if not isinstance(data, str):
            raise TypeError("TextMessage data must be str, not %s" % type(data).__name__)
        self.data = data


class _BytesEvent(Event):
    __slots__ = ("data",)
    _fields = __match_args__ = ("data",)
    data: bytes

    def __init__(self, data: bytes = b"") -> None:
        if not isinstance(data, bytes):
            raise TypeError("%s data must be bytes, not %s" % (type(self).__name__, type(data).__name__))
        self.data = data


class BinaryMessage(_BytesEvent):
    """A complete binary message (RFC 6455 §5.6): ``data`` is ``bytes``."""

    __slots__ = ()


class Ping(_BytesEvent):
    """A Ping control frame (RFC 6455 §5.5.2); answer with a Pong carrying the same ``data``."""

    __slots__ = ()


class Pong(_BytesEvent):
    """A Pong control frame (RFC 6455 §5.5.3)."""

    __slots__ = ()


class Close(Event):
    """A Close frame (RFC 6455 §5.5.1): ``code`` is ``None`` for an empty payload."""

    __slots__ = ("code", "reason")
    _fields = __match_args__ = ("code", "reason")
    code: Optional[int]
    reason: str

    def __init__(self, code: Optional[int] = None, reason: str = "") -> None:
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            raise TypeError("Close code must be an int or None, not %s" % type(code).__name__)
        if not isinstance(reason, str):
            raise TypeError("Close reason must be str, not %s" % type(reason).__name__)
        self.code = code
        self.reason = reason


# -- Close payloads (RFC 6455 §5.5.1, §7.4) ------------------------------------------------
# Not on a hot path: both twins share these.

#: A Close payload is at most 125 bytes, 2 of them the code (RFC 6455 §5.5).
MAX_CLOSE_REASON = 123


def valid_close_code(code):
    """True for a code an endpoint may send and receive in a Close frame (RFC 6455 §7.4).

    1000-1003 and 1007-1014 are defined (§7.4.1 and the IANA registry, §11.7), 3000-4999
    are for libraries and applications (§7.4.2).  1004 is reserved, 1005, 1006 and 1015 must
    never appear in a Close frame, 0-999 and 1016-2999 are unassigned or reserved, and
    nothing above 4999 is defined.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def parse_close_payload(payload, protocol_error, invalid_payload):
    """The :class:`Close` event for a received Close payload, or raise.

    Empty: no status code (RFC 6455 §5.5.1), ``Close(None, "")``.  One byte cannot hold a
    code (1002).  An invalid code is 1002, a reason that is not UTF-8 is 1007 (§5.5.1,
    §8.1).  ``protocol_error`` / ``invalid_payload`` are the exception classes to raise.
    """
    n = len(payload)
    if n == 0:
        return Close(None, "")
    if n == 1:
        raise protocol_error(1002, "a Close payload of one byte has no room for a status code")
    code = (payload[0] << 8) | payload[1]
    if not valid_close_code(code):
        raise protocol_error(1002, "invalid close code %d" % code)
    try:
        reason = bytes(payload[2:]).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_payload(1007, "invalid UTF-8 in the close reason") from None
    return Close(code, reason)


def build_close_payload(code, reason):
    """The payload of a Close frame to send; ``ValueError`` for what the peer would refuse."""
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code (RFC 6455 §5.5.1)")
        return b""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError("close code must be an int or None, not %s" % type(code).__name__)
    if not isinstance(reason, str):
        raise TypeError("close reason must be str, not %s" % type(reason).__name__)
    if not valid_close_code(code):
        raise ValueError("close code %d may not be sent (RFC 6455 §7.4)" % code)
    raw = reason.encode("utf-8")  # UnicodeEncodeError (lone surrogates) is a ValueError
    if len(raw) > MAX_CLOSE_REASON:
        raise ValueError("close reason is %d bytes; at most 123 fit (RFC 6455 §5.5)" % len(raw))
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + raw
