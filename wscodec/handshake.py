"""The opening handshake (RFC 6455 §4), sans-IO: keys, request and response checks, builders.

The server side reads a request's headers with :func:`validate_request` and answers with
:func:`build_response` (or with ``HandshakeError.status`` / ``.headers`` when it fails); the
client side sends :func:`build_request` and checks the answer with :func:`validate_response`.
Extensions are :class:`PerMessageDeflate` objects, the one extension wscodec implements.

``headers`` arguments are a mapping (``.items()`` is used, so multi-value mappings such as
``http.client.HTTPMessage`` give every value) or a sequence of ``(name, value)`` pairs of
``str``.  Names are case-insensitive; a repeated header's values are joined with ``", "``
(RFC 9110 §5.3).
"""

import base64
import binascii
import hashlib
import os
from typing import Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from ._deflate_params import EXTENSION_NAME, PerMessageDeflate, is_token, parse_extension, split_header_list
from ._errors import HandshakeError

__all__ = [
    "GUID",
    "Request",
    "Response",
    "HandshakeError",
    "PerMessageDeflate",
    "accept_key",
    "generate_key",
    "validate_request",
    "build_response",
    "build_request",
    "validate_response",
]

#: The GUID appended to the client's key (RFC 6455 §1.3, §4.2.2).
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

_OWS = " \t"

#: Bounds on the header block given to :func:`validate_request` and :func:`validate_response`.
#: The HTTP layer that read the headers should already hold them to less (h11: 16 KiB); these
#: are a second line, so that a caller without such a limit still does bounded work.
#: Exceeding either fails the handshake (400 for a request).
MAX_HEADERS = 256
MAX_HEADER_BYTES = 64 * 1024

#: What a ``headers`` argument may be: a mapping (``.items()`` is used) or ``(name, value)``
#: pairs of ``str``.
Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


class Request(NamedTuple):
    """What a valid opening request asked for (RFC 6455 §4.2.1)."""

    #: The Sec-WebSocket-Key, to pass to :func:`build_response`.
    key: str
    #: Sec-WebSocket-Protocol tokens in the client's order of preference.
    subprotocols: List[str]
    #: Valid permessage-deflate offers in the client's order (invalid ones are declined).
    extensions: List[PerMessageDeflate]


class Response(NamedTuple):
    """What a valid opening response agreed to (RFC 6455 §4.2.2)."""

    #: The subprotocol the server selected, or ``None``.
    subprotocol: Optional[str]
    #: The accepted :class:`PerMessageDeflate` agreement, or ``None``.
    extensions: Optional[PerMessageDeflate]


# -- keys --------------------------------------------------------------------------------


def accept_key(key: Union[str, bytes, bytearray]) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)) (RFC 6455 §1.3)."""
    if isinstance(key, (bytes, bytearray)):
        key = bytes(key).decode("ascii")
    elif not isinstance(key, str):
        raise TypeError("key must be str, not %s" % type(key).__name__)
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def generate_key() -> str:
    """A fresh Sec-WebSocket-Key: base64 of 16 random bytes (RFC 6455 §4.1 item 7)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def _valid_key(key):
    # RFC 6455 §4.1 item 7, §4.2.1 item 5: base64 of exactly 16 bytes (24 characters).
    if len(key) != 24 or not key.isascii():
        return False
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


# -- headers -----------------------------------------------------------------------------


def _collect(headers, fail):
    """``{lowercase name: joined value}`` from a mapping or a sequence of pairs; ``fail`` is
    called when the block exceeds MAX_HEADERS fields or MAX_HEADER_BYTES."""
    if isinstance(headers, (str, bytes, bytearray)):
        raise TypeError("headers must be a mapping or a sequence of (name, value) pairs")
    items = headers.items() if hasattr(headers, "items") else headers
    lists = {}
    count = size = 0
    try:
        iterator = iter(items)
    except TypeError:
        raise TypeError("headers must be a mapping or a sequence of (name, value) pairs") from None
    for pair in iterator:
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise TypeError("each header must be a (name, value) pair, not %r" % (pair,)) from None
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be str, not %r" % (pair,))
        count += 1
        size += len(name) + len(value)
        if count > MAX_HEADERS:
            fail("more than %d header fields" % MAX_HEADERS)
        if size > MAX_HEADER_BYTES:
            fail("header fields longer than %d bytes in all" % MAX_HEADER_BYTES)
        lists.setdefault(name.lower(), []).append(value.strip(_OWS))
    # RFC 9110 §5.3: repeated fields combine into one comma-separated list (joined once, so
    # the work stays linear in the number of repeats).
    return {key: ", ".join(values) for key, values in lists.items()}


def _tokens(value):
    return [t.lower() for t in split_header_list(value)]


def _check_upgrade(fields, fail):
    # RFC 6455 §4.2.1 items 3-4 (§4.1 items 2-3 for the response): Upgrade holds the
    # "websocket" token and Connection the "Upgrade" token, both case-insensitive and
    # possibly among others in a comma-separated list.
    if "websocket" not in _tokens(fields.get("upgrade", "")):
        fail("missing or invalid Upgrade: websocket header")
    if "upgrade" not in _tokens(fields.get("connection", "")):
        fail("missing or invalid Connection: upgrade header")


def _parse_offers(value):
    """The valid permessage-deflate offers in a Sec-WebSocket-Extensions value, in order.

    RFC 7692 §5.1: a server declines an offer it cannot accept (including one with invalid
    parameters) rather than failing the handshake; other extensions are ignored.
    """
    offers = []
    for element in split_header_list(value):
        try:
            name, params = parse_extension(element)
            if name.lower() != EXTENSION_NAME:
                continue
            offers.append(PerMessageDeflate.from_params(params))
        except ValueError:
            continue
    return offers


# -- server side -------------------------------------------------------------------------


def validate_request(headers: Headers, *, method: str = "GET", http_version: str = "HTTP/1.1") -> Request:
    """Check an opening request (RFC 6455 §4.2.1); return :class:`Request` or raise ``HandshakeError``.

    ``HandshakeError.status`` is 400, or 426 when Sec-WebSocket-Version is present but not
    13 (then ``.headers`` holds ``Sec-WebSocket-Version: 13`` to send back, §4.4).
    """
    if not isinstance(method, str) or not isinstance(http_version, str):
        raise TypeError("method and http_version must be str")

    def fail(reason):
        raise HandshakeError(400, reason)

    fields = _collect(headers, fail)

    # §4.2.1 item 1: an HTTP/1.1 or higher GET request.  Only HTTP/1.1 carries Upgrade.
    if method != "GET":
        fail("method must be GET, not %r" % method)
    if http_version != "HTTP/1.1":
        fail("HTTP version must be HTTP/1.1, not %r" % http_version)
    # §4.2.1 item 2: a Host header field.
    if not fields.get("host"):
        fail("missing Host header")
    _check_upgrade(fields, fail)
    # §4.2.1 item 6, §4.4: the version must be 13; a server that does not speak the
    # requested version answers 426 with the versions it supports.
    version = fields.get("sec-websocket-version")
    if version is None:
        fail("missing Sec-WebSocket-Version header")
    if version != "13":
        raise HandshakeError(
            426, "unsupported Sec-WebSocket-Version %r" % version, [("Sec-WebSocket-Version", "13")]
        )
    # §4.2.1 item 5: a key that decodes to exactly 16 bytes.
    key = fields.get("sec-websocket-key")
    if key is None:
        fail("missing Sec-WebSocket-Key header")
    if not _valid_key(key):
        fail("invalid Sec-WebSocket-Key %r" % key)
    # §4.2.1 item 8 (§11.3.4): subprotocols are tokens.
    subprotocols = split_header_list(fields.get("sec-websocket-protocol", ""))
    for proto in subprotocols:
        if not is_token(proto):
            fail("invalid Sec-WebSocket-Protocol %r" % proto)
    extensions = _parse_offers(fields.get("sec-websocket-extensions", ""))
    return Request(key, subprotocols, extensions)


def _check_field(name, value):
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("header names and values must be str, not %r" % ((name, value),))
    if not is_token(name):
        raise ValueError("invalid header name %r" % name)
    # A CR or LF would end the field early and inject headers (RFC 9110 §5.5: field values
    # never contain CR, LF or NUL).
    if "\r" in value or "\n" in value or "\0" in value:
        raise ValueError("CR, LF or NUL in the value of header %r" % name)


def _extra_headers(headers):
    if isinstance(headers, (str, bytes, bytearray)):
        raise TypeError("headers must be a mapping or a sequence of (name, value) pairs")
    items = headers.items() if hasattr(headers, "items") else headers
    pairs = []
    for pair in items:
        try:
            name, value = pair
        except (TypeError, ValueError):
            raise TypeError("each header must be a (name, value) pair, not %r" % (pair,)) from None
        _check_field(name, value)
        pairs.append((name, value))
    return pairs


def _render(start_line, pairs):
    lines = [start_line]
    for name, value in pairs:
        _check_field(name, value)
        lines.append("%s: %s" % (name, value))
    text = "\r\n".join(lines) + "\r\n\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("header values must be ISO-8859-1 text") from None


def build_response(
    key: str,
    *,
    subprotocol: Optional[str] = None,
    extensions: Optional[PerMessageDeflate] = None,
    headers: Headers = (),
) -> bytes:
    """The whole ``101 Switching Protocols`` response to a valid request (RFC 6455 §4.2.2)."""
    if not isinstance(key, str):
        raise TypeError("key must be str, not %s" % type(key).__name__)
    pairs = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    if subprotocol is not None:
        if not isinstance(subprotocol, str):
            raise TypeError("subprotocol must be str or None")
        if not is_token(subprotocol):
            raise ValueError("invalid subprotocol %r" % subprotocol)
        pairs.append(("Sec-WebSocket-Protocol", subprotocol))
    if extensions is not None:
        if type(extensions) is not PerMessageDeflate:
            raise TypeError("extensions must be a PerMessageDeflate agreement or None")
        if extensions.client_max_window_bits is None:
            # An offer accepted as made: as an agreement, no value means 15 (no limit), and
            # a response's client_max_window_bits must have a value (RFC 7692 §7.1.2.2).
            extensions = PerMessageDeflate._make(
                [name for name in extensions._shown if name == "server_max_window_bits"],
                server_no_context_takeover=extensions.server_no_context_takeover,
                client_no_context_takeover=extensions.client_no_context_takeover,
                server_max_window_bits=extensions.server_max_window_bits,
                client_max_window_bits=15,
            )
        pairs.append(("Sec-WebSocket-Extensions", extensions.to_header()))
    pairs.extend(_extra_headers(headers))
    return _render("HTTP/1.1 101 Switching Protocols", pairs)


# -- client side -------------------------------------------------------------------------


def _offers(extensions):
    if extensions is None:
        return []
    if isinstance(extensions, PerMessageDeflate):
        return [extensions]
    offers = list(extensions)
    for offer in offers:
        if type(offer) is not PerMessageDeflate:
            raise TypeError("extensions must be PerMessageDeflate offers, not %s" % type(offer).__name__)
    return offers


def _subprotocols(subprotocols):
    if isinstance(subprotocols, str):
        raise TypeError("subprotocols must be a sequence of str, not a str")
    protos = list(subprotocols)
    for proto in protos:
        if not isinstance(proto, str):
            raise TypeError("subprotocols must be str, not %s" % type(proto).__name__)
        if not is_token(proto):
            raise ValueError("invalid subprotocol %r" % proto)
    return protos


def build_request(
    host: str,
    path: str,
    key: str,
    *,
    origin: Optional[str] = None,
    subprotocols: Iterable[str] = (),
    extensions: Union[PerMessageDeflate, Iterable[PerMessageDeflate], None] = None,
    headers: Headers = (),
) -> bytes:
    """The whole opening request (RFC 6455 §4.1): ``GET path HTTP/1.1`` and its headers."""
    for name, value in (("host", host), ("path", path), ("key", key)):
        if not isinstance(value, str):
            raise TypeError("%s must be str, not %s" % (name, type(value).__name__))
    # §4.1 item 3: the resource name "/" path [ "?" query ]; no whitespace or controls in it.
    if not path.startswith("/") or any(c <= " " or c == "\x7f" for c in path) or not path.isascii():
        raise ValueError("invalid request path %r" % path)
    if not _valid_key(key):
        raise ValueError("invalid Sec-WebSocket-Key %r" % key)
    pairs = [
        ("Host", host),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if origin is not None:
        if not isinstance(origin, str):
            raise TypeError("origin must be str or None")
        pairs.append(("Origin", origin))
    protos = _subprotocols(subprotocols)
    if protos:
        pairs.append(("Sec-WebSocket-Protocol", ", ".join(protos)))
    offers = _offers(extensions)
    if offers:
        pairs.append(("Sec-WebSocket-Extensions", ", ".join(o.to_header() for o in offers)))
    pairs.extend(_extra_headers(headers))
    return _render("GET %s HTTP/1.1" % path, pairs)


def validate_response(
    status: int,
    headers: Headers,
    key: str,
    *,
    subprotocols: Iterable[str] = (),
    extensions: Union[PerMessageDeflate, Iterable[PerMessageDeflate], None] = None,
) -> Response:
    """Check the server's answer (RFC 6455 §4.1, client steps 1-6); return :class:`Response`.

    ``subprotocols`` and ``extensions`` are what the client offered; a subprotocol or
    extension that was not offered fails the handshake.  ``HandshakeError.status`` is the
    status the server answered with.
    """
    if isinstance(status, bool) or not isinstance(status, int):
        raise TypeError("status must be an int, not %s" % type(status).__name__)
    if not isinstance(key, str):
        raise TypeError("key must be str, not %s" % type(key).__name__)
    protos = _subprotocols(subprotocols)
    offers = _offers(extensions)

    def fail(reason):
        raise HandshakeError(status, reason)

    fields = _collect(headers, fail)

    # §4.1 client step 1: anything but 101 is not a WebSocket handshake.
    if status != 101:
        fail("expected status 101, got %d" % status)
    _check_upgrade(fields, fail)
    # §4.1 client step 4: Sec-WebSocket-Accept must be exactly accept_key(key).
    accept = fields.get("sec-websocket-accept")
    if accept is None:
        fail("missing Sec-WebSocket-Accept header")
    if accept != accept_key(key):
        fail("wrong Sec-WebSocket-Accept %r" % accept)
    # §4.1 client step 6: a subprotocol must be one the client offered.
    subprotocol = fields.get("sec-websocket-protocol")
    if subprotocol is not None:
        if subprotocol not in protos:
            fail("server selected a subprotocol that was not offered: %r" % subprotocol)
    # §4.1 client step 5 and RFC 7692 §5: an extension must be one the client offered, with
    # parameters the offer allows.
    agreement = None
    value = fields.get("sec-websocket-extensions")
    if value is not None:
        elements = split_header_list(value)
        if len(elements) > 1:
            fail("more than one extension in the response: %r" % value)
        if elements:
            try:
                name, params = parse_extension(elements[0])
                if name.lower() != EXTENSION_NAME:
                    fail("server accepted an extension that was not offered: %r" % name)
                agreement = PerMessageDeflate.from_params(params)
            except ValueError as exc:
                fail("invalid Sec-WebSocket-Extensions in the response: %s" % exc)
            if agreement.client_max_window_bits is None:
                fail("client_max_window_bits needs a value in a response (RFC 7692 §7.1.2.2)")
            # The response does not say which offer it answers: the first offer it is a
            # valid answer to gives the agreement (RFC 7692 §7.1: otherwise the client "MUST
            # _Fail the WebSocket Connection_").  What an offer adds to the response (its
            # client window limit and client_no_context_takeover, §7.1.1.2, §7.1.2.2) only
            # narrows what this client does, so any matching offer is safe.
            response, agreement = agreement, None
            for offer in offers:
                agreement = offer._accept_response(response)
                if agreement is not None:
                    break
            else:
                fail("server's permessage-deflate parameters do not match any offer: %r" % value)
    return Response(subprotocol, agreement)
