"""The exception family.

Every ``ProtocolError`` carries ``close_code``: the code the endpoint must send in its Close
frame when it fails the connection (RFC 6455 §7.1.7, §7.4.1).  ``HandshakeError`` is separate:
it maps to an HTTP status, not a close code.
"""

from typing import Iterable, List, Tuple, Union

__all__ = ["ProtocolError", "InvalidPayload", "PayloadTooBig", "HandshakeError"]


class ProtocolError(Exception):
    """The peer broke RFC 6455 / RFC 7692; fail the connection with ``close_code`` (1002).

    ``ProtocolError(close_code, reason)``; either may be omitted, and
    ``ProtocolError("reason")`` keeps the class's own close code.
    """

    default_close_code: int = 1002
    close_code: int
    reason: str

    def __init__(self, close_code: Union[int, str, None] = None, reason: str = "") -> None:
        if isinstance(close_code, str) and not reason:
            close_code, reason = None, close_code
        if close_code is None:
            close_code = self.default_close_code
        self.close_code = int(close_code)
        self.reason = str(reason)
        super().__init__(self.close_code, self.reason)

    def __str__(self) -> str:
        return self.reason or "protocol error (close code %d)" % self.close_code

    def __repr__(self) -> str:
        return "%s(%d, %r)" % (type(self).__name__, self.close_code, self.reason)


class InvalidPayload(ProtocolError):
    """Invalid payload data: bad UTF-8 in a text message or close reason, corrupt compressed
    data (1007, RFC 6455 §8.1)."""

    default_close_code: int = 1007


class PayloadTooBig(ProtocolError):
    """A frame or message exceeds the configured limit (1009, RFC 6455 §7.4.1)."""

    default_close_code: int = 1009


class HandshakeError(Exception):
    """The opening handshake failed.

    ``status`` is the HTTP status to answer with (400, or 426 for an unsupported version),
    ``reason`` says why, and ``headers`` are the ``(name, value)`` pairs to send back.
    """

    status: int
    reason: str
    headers: List[Tuple[str, str]]

    def __init__(self, status: int, reason: str, headers: Iterable[Tuple[str, str]] = ()) -> None:
        self.status = int(status)
        self.reason = str(reason)
        self.headers = list(headers)
        super().__init__(self.status, self.reason, self.headers)

    def __str__(self) -> str:
        return "%d: %s" % (self.status, self.reason)


#: The ``RuntimeError`` message when a decoder or validator is called while another call on
#: the same object is under way (shared between threads): these objects hold one connection's
#: state, and the second caller is refused before it can touch that state.
BUSY_MESSAGE = "%s used by two calls at once: it holds one connection's state and must be used by one thread at a time"
