"""permessage-deflate parameters (RFC 7692): the agreement, header parsing and negotiation.

Plain Python shared by both twins (like ``_errors.py``): none of this is on a hot path.  The
compression itself lives in the message modules, which build their zlib streams from a
:class:`PerMessageDeflate`.
"""

from typing import Iterable, List, Optional, Tuple, Type, TypeVar, Union

_P = TypeVar("_P", bound="PerMessageDeflate")

__all__ = ["PerMessageDeflate", "EXTENSION_NAME", "split_header_list", "parse_extension"]

#: The extension token (RFC 7692 §7).
EXTENSION_NAME = "permessage-deflate"

#: LZ77 window sizes a peer may ask for (RFC 7692 §7.1.2.1, §7.1.2.2).
MIN_WINDOW_BITS = 8
MAX_WINDOW_BITS = 15

# tchar (RFC 9110 §5.6.2): the characters of a token.
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"


def is_token(value: str) -> bool:
    """True if ``value`` is a non-empty RFC 9110 token."""
    return bool(value) and all(c in _TCHAR for c in value)


def split_header_list(value: str, sep: str = ",", keep_empty: bool = False) -> List[str]:
    """Split ``value`` on ``sep`` outside quoted strings; strip OWS; drop empty elements.

    RFC 9110 §5.6.1: a recipient accepts empty list elements and ignores them.  An
    unterminated quoted string runs to the end of the value (the element is then malformed
    and its parser refuses it).  ``keep_empty=True`` keeps empty pieces (parameters).
    """
    parts = []
    start = 0
    i = 0
    n = len(value)
    quoted = False
    while i < n:
        c = value[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == sep:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    parts = [p.strip(_OWS) for p in parts]
    return parts if keep_empty else [p for p in parts if p]


def _unquote(value):
    # quoted-string (RFC 9110 §5.6.4): DQUOTE *( qdtext / quoted-pair ) DQUOTE.
    if len(value) < 2 or value[-1] != '"':
        raise ValueError("unterminated quoted string: %r" % value)
    out = []
    i = 1
    end = len(value) - 1
    while i < end:
        c = value[i]
        if c == "\\":
            i += 1
            if i >= end:
                raise ValueError("dangling escape in quoted string: %r" % value)
            c = value[i]
        elif c == '"':
            raise ValueError("stray quote in quoted string: %r" % value)
        out.append(c)
        i += 1
    return "".join(out)


def parse_extension(element: str) -> Tuple[str, List[Tuple[str, Optional[str]]]]:
    """Parse one extension element ``name; p1; p2=v`` (RFC 6455 §9.1).

    Returns ``(name, [(param, value_or_None), ...])``; raises ``ValueError`` if malformed.
    Parameter values may be tokens or quoted strings (unquoted here).
    """
    if not isinstance(element, str):
        raise TypeError("extension header value must be str, not %s" % type(element).__name__)
    pieces = split_header_list(element, ";", keep_empty=True)
    # "name;" and "name;;p" are not in the grammar: every piece must be non-empty.
    if not all(pieces):
        raise ValueError("empty extension or parameter in %r" % element)
    name = pieces[0]
    if not is_token(name):
        raise ValueError("invalid extension name %r" % name)
    params = []
    for piece in pieces[1:]:
        if "=" in piece:
            pname, _, pvalue = piece.partition("=")
            pname = pname.rstrip(_OWS)
            pvalue = pvalue.lstrip(_OWS)
            if pvalue.startswith('"'):
                pvalue = _unquote(pvalue)
            if not is_token(pvalue):
                raise ValueError("invalid value for extension parameter %r: %r" % (pname, pvalue))
        else:
            pname, pvalue = piece, None
        if not is_token(pname):
            raise ValueError("invalid extension parameter name %r" % pname)
        params.append((pname, pvalue))
    return name, params


def _check_bits(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    if not MIN_WINDOW_BITS <= value <= MAX_WINDOW_BITS:
        raise ValueError("%s must be between 8 and 15, not %d" % (name, value))
    return value


def _parse_bits(name, value):
    # RFC 7692 §7.1.2.1/§7.1.2.2: 1*DIGIT without leading zeros, 8 to 15.
    if value is None:
        raise ValueError("%s needs a value" % name)
    if not value.isdigit() or not value.isascii() or (len(value) > 1 and value[0] == "0"):
        raise ValueError("invalid %s value %r" % (name, value))
    bits = int(value)
    if not MIN_WINDOW_BITS <= bits <= MAX_WINDOW_BITS:
        raise ValueError("%s must be between 8 and 15, not %d" % (name, bits))
    return bits


_NOTHING_SHOWN = frozenset()
_WINDOW_PARAMS = ("server_max_window_bits", "client_max_window_bits")


_KEY_NAMES = (
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
)


def _rebuild(key, shown):
    # Unpickling an instance that renders a window parameter at 15 (see ``_shown``).
    return PerMessageDeflate._make(shown, **dict(zip(_KEY_NAMES, key)))


class PerMessageDeflate:
    """permessage-deflate parameters (RFC 7692 §7.1).

    As an *agreement* (what :class:`MessageDecoder` / :class:`MessageEncoder` take as
    ``deflate=``) the four values are the negotiated ones; ``15`` means no window limit.
    As an *offer* (client side, ``build_request(extensions=[...])`` and
    ``Request.extensions``) the same object says what the client proposes, and
    ``client_max_window_bits=None`` stands for the parameter sent without a value: "the server
    may limit my window" (RFC 7692 §7.1.2.2).  As an agreement, ``None`` means 15.

    Instances are immutable and compare equal by value.  A window size of 15 parsed from a
    header (``from_header``) equals the default but still renders (``to_header``): the
    parameter was present, and RFC 7692 §7.1.2.1 and §7.1.2.2 give a present window parameter
    meaning in negotiation even at 15.
    """

    __slots__ = (
        "_server_no_context_takeover",
        "_client_no_context_takeover",
        "_server_max_window_bits",
        "_client_max_window_bits",
        # Window parameters the header carries even at 15 (the default): a parsed
        # "server_max_window_bits=15" is a parameter that is present (RFC 7692 §7.1.2.1: an
        # offer with it must be answered with it), which the value alone cannot say.  Only
        # rendering and negotiation read it; equality does not.
        "_shown",
    )

    def __init__(
        self,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: Optional[int] = 15,
    ) -> None:
        for name, flag in (
            ("server_no_context_takeover", server_no_context_takeover),
            ("client_no_context_takeover", client_no_context_takeover),
        ):
            if not isinstance(flag, bool):
                raise TypeError("%s must be a bool, not %s" % (name, type(flag).__name__))
        object.__setattr__(self, "_server_no_context_takeover", server_no_context_takeover)
        object.__setattr__(self, "_client_no_context_takeover", client_no_context_takeover)
        object.__setattr__(
            self, "_server_max_window_bits", _check_bits("server_max_window_bits", server_max_window_bits)
        )
        object.__setattr__(
            self,
            "_client_max_window_bits",
            _check_bits("client_max_window_bits", client_max_window_bits, allow_none=True),
        )
        object.__setattr__(self, "_shown", _NOTHING_SHOWN)

    @classmethod
    def _make(cls, shown, **kwargs):
        # An instance whose window parameters named in ``shown`` render even at 15.
        self = cls(**kwargs)
        object.__setattr__(self, "_shown", frozenset(shown))
        return self

    def _has(self, name):
        """True if the header form of ``self`` carries window parameter ``name``."""
        bits = self._server_max_window_bits if name == "server_max_window_bits" else self._client_max_window_bits
        return bits != MAX_WINDOW_BITS or name in self._shown

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("PerMessageDeflate is immutable")

    @property
    def server_no_context_takeover(self) -> bool:
        return self._server_no_context_takeover

    @property
    def client_no_context_takeover(self) -> bool:
        return self._client_no_context_takeover

    @property
    def server_max_window_bits(self) -> int:
        return self._server_max_window_bits

    @property
    def client_max_window_bits(self) -> Optional[int]:
        return self._client_max_window_bits

    def _key(self):
        return (
            self._server_no_context_takeover,
            self._client_no_context_takeover,
            self._server_max_window_bits,
            self._client_max_window_bits,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not PerMessageDeflate:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            "PerMessageDeflate(server_no_context_takeover=%r, client_no_context_takeover=%r, "
            "server_max_window_bits=%r, client_max_window_bits=%r)" % self._key()
        )

    def __reduce__(self) -> Tuple[object, Tuple[object, ...]]:
        if self._shown:
            return (_rebuild, (self._key(), tuple(sorted(self._shown))))
        return (PerMessageDeflate, self._key())

    # -- window sizes each side uses (an agreement's view) -------------------------------

    def window_bits(self, client: bool) -> int:
        """The LZ77 window (bits) the ``client`` (True) or server (False) side compresses with."""
        if client:
            bits = self._client_max_window_bits
            return MAX_WINDOW_BITS if bits is None else bits
        return self._server_max_window_bits

    def no_context_takeover(self, client: bool) -> bool:
        """True if the ``client`` (True) or server (False) side resets its context per message."""
        return self._client_no_context_takeover if client else self._server_no_context_takeover

    # -- header ------------------------------------------------------------------------

    @classmethod
    def from_params(cls: Type[_P], params: Iterable[Tuple[str, Optional[str]]]) -> _P:
        """Build from parsed ``(name, value)`` pairs (RFC 7692 §7.1); ``ValueError`` if invalid.

        Unknown or repeated parameters, a value on a ``*_no_context_takeover`` flag, and a
        window size outside 8..15 make the offer or response invalid (RFC 7692 §7.1).
        """
        seen = set()
        kwargs = {}
        for name, value in params:
            if name in seen:
                raise ValueError("duplicate permessage-deflate parameter %r" % name)
            seen.add(name)
            if name in ("server_no_context_takeover", "client_no_context_takeover"):
                # RFC 7692 §7.1.1.1, §7.1.1.2: these parameters have no value.
                if value is not None:
                    raise ValueError("%s takes no value" % name)
                kwargs[name] = True
            elif name == "server_max_window_bits":
                # RFC 7692 §7.1.2.1: a value is required.
                kwargs[name] = _parse_bits(name, value)
            elif name == "client_max_window_bits":
                # RFC 7692 §7.1.2.2: an offer may carry it without a value.
                kwargs[name] = None if value is None else _parse_bits(name, value)
            else:
                # RFC 7692 §7.1: "The negotiation offer contains an extension parameter not
                # defined for use in an offer" (and the same for a response) is refused.
                raise ValueError("unknown permessage-deflate parameter %r" % name)
        shown = [name for name in _WINDOW_PARAMS if kwargs.get(name, 0) == MAX_WINDOW_BITS]
        return cls._make(shown, **kwargs)

    @classmethod
    def from_header(cls: Type[_P], value: str) -> _P:
        """Parse one ``permessage-deflate`` element of a Sec-WebSocket-Extensions value.

        ``ValueError`` if it is malformed, names another extension, holds more than one
        element, or has unknown, repeated or out-of-range parameters.
        """
        if not isinstance(value, str):
            raise TypeError("header value must be str, not %s" % type(value).__name__)
        elements = split_header_list(value)
        if len(elements) != 1:
            raise ValueError("expected exactly one extension, got %r" % value)
        name, params = parse_extension(elements[0])
        if name.lower() != EXTENSION_NAME:
            raise ValueError("not a permessage-deflate extension: %r" % name)
        return cls.from_params(params)

    def to_header(self) -> str:
        """Render as a Sec-WebSocket-Extensions element.

        Parameters at their default are left out, except a window size of 15 that was parsed
        from a header (``from_header``) or that answers an offer which carried it.
        """
        parts = [EXTENSION_NAME]
        if self._server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self._client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self._has("server_max_window_bits"):
            parts.append("server_max_window_bits=%d" % self._server_max_window_bits)
        if self._client_max_window_bits is None:
            parts.append("client_max_window_bits")
        elif self._has("client_max_window_bits"):
            parts.append("client_max_window_bits=%d" % self._client_max_window_bits)
        return "; ".join(parts)

    # -- negotiation -------------------------------------------------------------------

    def negotiate(
        self, offers: Union["PerMessageDeflate", Iterable["PerMessageDeflate"]]
    ) -> Optional["PerMessageDeflate"]:
        """Server side: pick the first acceptable client offer; return the agreement or ``None``.

        ``self`` holds this server's wishes (``PerMessageDeflate()`` accepts any offer as
        made); ``build_response(extensions=agreement)`` renders the answer.  Every window
        size is supported, 8 bits included (zlib cannot compress with a 256-byte raw window,
        so the encoder then emits Huffman-coded literals only, which any window decodes).
        The one offer declined for this server's sake is one without client_max_window_bits
        when the server wants to limit the client's window (below).
        """
        if isinstance(offers, PerMessageDeflate):
            offers = [offers]
        for offer in offers:
            if type(offer) is not PerMessageDeflate:
                raise TypeError("offers must be PerMessageDeflate objects, not %s" % type(offer).__name__)
            # RFC 7692 §7.1.2.1: "A server accepts an extension negotiation offer with this
            # parameter by including the "server_max_window_bits" extension parameter in the
            # extension negotiation response ... with the same or smaller value as the offer",
            # and "A server MAY include the "server_max_window_bits" extension parameter in an
            # extension negotiation response even if the extension negotiation offer being
            # accepted by the response didn't include" it.  An offered 15 is echoed as 15.
            server_bits = min(self._server_max_window_bits, offer._server_max_window_bits)
            shown = ["server_max_window_bits"] if offer._has("server_max_window_bits") else []
            wanted = MAX_WINDOW_BITS if self._client_max_window_bits is None else self._client_max_window_bits
            if not offer._has("client_max_window_bits"):
                # §7.1.2.2: "If a received extension negotiation offer doesn't have the
                # "client_max_window_bits" extension parameter, the corresponding extension
                # negotiation response to the offer MUST NOT include" it.  A server that
                # wants a smaller client window declines such an offer (§7.1: "The server
                # doesn't support the offered configuration").
                if wanted != MAX_WINDOW_BITS:
                    continue
                client_bits = MAX_WINDOW_BITS
            else:
                # §7.1.2.2: the server "may either ignore this value or use this value ... by
                # including the "client_max_window_bits" extension parameter in the
                # corresponding extension negotiation response to the offer with a value
                # equal to or smaller than the received value".  An offer without a value
                # (None) and an offer of 15 set no bound.
                offered = MAX_WINDOW_BITS if offer._client_max_window_bits is None else offer._client_max_window_bits
                client_bits = min(wanted, offered)
            return PerMessageDeflate._make(
                shown,
                # §7.1.1.1: "A server accepts an extension negotiation offer that includes the
                # "server_no_context_takeover" extension parameter by including the
                # "server_no_context_takeover" extension parameter in the corresponding
                # extension negotiation response"; a server MAY include it unasked.
                server_no_context_takeover=self._server_no_context_takeover or offer._server_no_context_takeover,
                # §7.1.1.2: "A server MAY include the "client_no_context_takeover" extension
                # parameter in an extension negotiation response"; an offered one is echoed.
                client_no_context_takeover=self._client_no_context_takeover or offer._client_no_context_takeover,
                server_max_window_bits=server_bits,
                client_max_window_bits=client_bits,
            )
        return None

    def _accept_response(self, response):
        """Client side: the agreement ``response`` makes of this offer, or ``None`` if it is not
        a valid answer to this offer (RFC 7692 §7.1: the client then fails the connection).

        ``response`` is parsed from the server's header (``from_params``), so ``_has`` tells
        which window parameters it carried.
        """
        # §7.1.1.1: the server accepts a server_no_context_takeover offer "by including the
        # "server_no_context_takeover" extension parameter in the corresponding extension
        # negotiation response"; it MAY include it unasked.
        if self._server_no_context_takeover and not response._server_no_context_takeover:
            return None
        # §7.1.2.1: an offered server_max_window_bits is accepted "by including the
        # "server_max_window_bits" extension parameter in the extension negotiation response
        # ... with the same or smaller value as the offer"; unasked, any value may come.
        if self._has("server_max_window_bits"):
            if not response._has("server_max_window_bits"):
                return None
            if response._server_max_window_bits > self._server_max_window_bits:
                return None
        # §7.1.2.2: "If the extension negotiation response has the "client_max_window_bits"
        # extension parameter, the parameter value MUST conform to the ABNF below" (1*DIGIT).
        if response._client_max_window_bits is None:
            return None
        offered = self._client_max_window_bits
        if response._has("client_max_window_bits"):
            # §7.1.2.2: "If a received extension negotiation offer doesn't have the
            # "client_max_window_bits" extension parameter, the corresponding extension
            # negotiation response to the offer MUST NOT include" it; if it had a value, the
            # response's is "equal to or smaller than the received value".
            if not self._has("client_max_window_bits"):
                return None
            if offered is not None and response._client_max_window_bits > offered:
                return None
            client_bits = response._client_max_window_bits
        else:
            # §7.1.2.2: the server "may either ignore this value or use" it.  Ignored, the
            # offer still binds the client: "the client will use an LZ77 sliding window whose
            # size doesn't exceed 2 to the power of the value to compress messages".
            client_bits = MAX_WINDOW_BITS if offered is None else offered
        return PerMessageDeflate._make(
            response._shown,
            server_no_context_takeover=response._server_no_context_takeover,
            # §7.1.1.2: an offered client_no_context_takeover is a promise: "even if the server
            # doesn't include the "client_no_context_takeover" extension parameter in the
            # corresponding extension negotiation response to the offer, the client is not
            # going to use context takeover".
            client_no_context_takeover=response._client_no_context_takeover or self._client_no_context_takeover,
            server_max_window_bits=response._server_max_window_bits,
            client_max_window_bits=client_bits,
        )

    def accepts_response(self, response: "PerMessageDeflate") -> bool:
        """Client side: True if the server's ``response`` (parsed with ``from_header``) is a
        valid answer to this offer (RFC 7692 §7.1.1.1, §7.1.1.2, §7.1.2.1, §7.1.2.2)."""
        if type(response) is not PerMessageDeflate:
            raise TypeError("response must be a PerMessageDeflate, not %s" % type(response).__name__)
        return self._accept_response(response) is not None
