"""permessage-deflate negotiation against RFC 7692 §7.1, both directions, and against websockets.

``test_rfc7692_negotiation`` is one table: each row names the RFC 7692 sentence it checks.
A "client" row gives the client's offers and the server's response header, and expects the
agreement ``validate_response`` returns (or a refused handshake).  A "server" row gives the
server's wishes and the client's Sec-WebSocket-Extensions, and expects the exact header
``build_response`` sends for ``wishes.negotiate(request.extensions)`` (or none).

The websockets tests use the websockets library as a second implementation: every response a
websockets server makes to a wscodec offer must be accepted by ``validate_response``, every
response a wscodec server makes to a websockets offer must be accepted by the websockets
client (except what websockets documents it does not support: a client window of 8 bits),
and messages compressed under each agreement must decode on the other side, both ways.
"""

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from wscodec import Opcode, TextMessage
from wscodec.handshake import (
    HandshakeError,
    PerMessageDeflate,
    build_request,
    build_response,
    validate_request,
    validate_response,
)

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
REFUSED = "refused"

PMD = PerMessageDeflate


def _request_headers(extensions):
    headers = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", RFC_KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    if extensions is not None:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    return headers


def _response_headers(extensions):
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", RFC_ACCEPT)]
    if extensions is not None:
        headers.append(("Sec-WebSocket-Extensions", extensions))
    return headers


def _extensions_line(response_bytes):
    """The Sec-WebSocket-Extensions value in a built response, or None."""
    values = [
        line.split(":", 1)[1].strip()
        for line in response_bytes.decode("latin-1").split("\r\n")
        if line.lower().startswith("sec-websocket-extensions:")
    ]
    assert len(values) <= 1
    return values[0] if values else None


def _offers(header):
    # The client's offers, as the wire text says (explicit values kept: from_header).
    return [PMD.from_header(element) for element in header.split(", ")]


def client(offers, response, expected, id):
    return pytest.param("client", offers, response, expected, id="client: " + id)


def server(wishes, offers, response, id):
    return pytest.param("server", wishes, offers, response, id="server: " + id)


P = "permessage-deflate"

ROWS = [
    # ---- §7.1.1.1 server_no_context_takeover ------------------------------------------
    # "A server accepts an extension negotiation offer that includes the
    # "server_no_context_takeover" extension parameter by including the
    # "server_no_context_takeover" extension parameter in the corresponding extension
    # negotiation response to send back to the client."
    client(P + "; server_no_context_takeover", P + "; server_no_context_takeover", PMD(server_no_context_takeover=True),
           "7.1.1.1 snct offered, echoed"),
    client(P + "; server_no_context_takeover", P, REFUSED, "7.1.1.1 snct offered, missing from response"),
    server(PMD(), P + "; server_no_context_takeover", P + "; server_no_context_takeover",
           "7.1.1.1 snct offered -> echoed"),
    # "A server MAY include the "server_no_context_takeover" extension parameter in an
    # extension negotiation response even if the extension negotiation offer being accepted
    # by the response didn't include the "server_no_context_takeover" extension parameter."
    client(P, P + "; server_no_context_takeover", PMD(server_no_context_takeover=True),
           "7.1.1.1 snct MAY come unasked"),
    server(PMD(server_no_context_takeover=True), P, P + "; server_no_context_takeover",
           "7.1.1.1 server wish snct, not offered -> included"),
    # ---- §7.1.1.2 client_no_context_takeover ------------------------------------------
    # "A server MAY include the "client_no_context_takeover" extension parameter in an
    # extension negotiation response."
    client(P, P + "; client_no_context_takeover", PMD(client_no_context_takeover=True),
           "7.1.1.2 cnct MAY come unasked"),
    server(PMD(client_no_context_takeover=True), P, P + "; client_no_context_takeover",
           "7.1.1.2 server wish cnct, not offered -> included"),
    # "the server may either ignore the parameter or use the parameter ... by including the
    # "client_no_context_takeover" extension parameter in the corresponding extension
    # negotiation response to the offer." (wscodec uses it)
    server(PMD(), P + "; client_no_context_takeover", P + "; client_no_context_takeover",
           "7.1.1.2 cnct offered -> echoed"),
    client(P + "; client_no_context_takeover", P + "; client_no_context_takeover", PMD(client_no_context_takeover=True),
           "7.1.1.2 cnct offered, echoed"),
    # "a client informs the peer server of a hint that even if the server doesn't include the
    # "client_no_context_takeover" extension parameter in the corresponding extension
    # negotiation response to the offer, the client is not going to use context takeover."
    client(P + "; client_no_context_takeover", P, PMD(client_no_context_takeover=True),
           "7.1.1.2 cnct offered, ignored by server: client still resets"),
    # ---- §7.1.2.1 server_max_window_bits ----------------------------------------------
    # "A server accepts an extension negotiation offer with this parameter by including the
    # "server_max_window_bits" extension parameter in the extension negotiation response to
    # send back to the client with the same or smaller value as the offer."
    client(P + "; server_max_window_bits=10", P + "; server_max_window_bits=10", PMD(server_max_window_bits=10),
           "7.1.2.1 smwb=10 offered, 10 answered"),
    client(P + "; server_max_window_bits=10", P + "; server_max_window_bits=9", PMD(server_max_window_bits=9),
           "7.1.2.1 smwb=10 offered, smaller answered"),
    client(P + "; server_max_window_bits=10", P + "; server_max_window_bits=11", REFUSED,
           "7.1.2.1 smwb=10 offered, larger answered"),
    client(P + "; server_max_window_bits=10", P, REFUSED, "7.1.2.1 smwb=10 offered, missing from response"),
    client(P + "; server_max_window_bits=15", P, REFUSED, "7.1.2.1 smwb=15 offered, missing from response"),
    client(P + "; server_max_window_bits=8", P + "; server_max_window_bits=8", PMD(server_max_window_bits=8),
           "7.1.2.1 smwb=8 offered, 8 answered"),
    server(PMD(), P + "; server_max_window_bits=10", P + "; server_max_window_bits=10", "7.1.2.1 smwb=10 offered -> 10"),
    server(PMD(server_max_window_bits=9), P + "; server_max_window_bits=10", P + "; server_max_window_bits=9",
           "7.1.2.1 smwb=10 offered, server wish 9 -> 9"),
    server(PMD(server_max_window_bits=12), P + "; server_max_window_bits=10", P + "; server_max_window_bits=10",
           "7.1.2.1 smwb=10 offered, server wish 12 -> 10"),
    server(PMD(), P + "; server_max_window_bits=15", P + "; server_max_window_bits=15",
           "7.1.2.1 smwb=15 offered -> echoed as 15"),
    server(PMD(), P + "; server_max_window_bits=8", P + "; server_max_window_bits=8", "7.1.2.1 smwb=8 offered -> 8"),
    # "A server MAY include the "server_max_window_bits" extension parameter in an extension
    # negotiation response even if the extension negotiation offer being accepted by the
    # response didn't include the "server_max_window_bits" extension parameter."
    client(P, P + "; server_max_window_bits=12", PMD(server_max_window_bits=12), "7.1.2.1 smwb MAY come unasked"),
    client(P, P + "; server_max_window_bits=15", PMD(), "7.1.2.1 smwb=15 MAY come unasked"),
    server(PMD(server_max_window_bits=12), P, P + "; server_max_window_bits=12",
           "7.1.2.1 server wish 12, not offered -> included"),
    # ---- §7.1.2.2 client_max_window_bits ----------------------------------------------
    # "If a received extension negotiation offer doesn't have the "client_max_window_bits"
    # extension parameter, the corresponding extension negotiation response to the offer MUST
    # NOT include the "client_max_window_bits" extension parameter."
    client(P, P + "; client_max_window_bits=10", REFUSED, "7.1.2.2 cmwb not offered, answered"),
    client(P, P + "; client_max_window_bits=15", REFUSED, "7.1.2.2 cmwb not offered, answered 15"),
    server(PMD(client_max_window_bits=10), P, None,
           "7.1.2.2 cmwb not offered, server wants a limit -> declined"),
    server(PMD(client_max_window_bits=10), P + ", " + P + "; client_max_window_bits", P + "; client_max_window_bits=10",
           "7.1.2.2 cmwb only in the 2nd offer, server wants a limit -> 2nd accepted"),
    # "the server may either ignore this value or use this value ... by including the
    # "client_max_window_bits" extension parameter in the corresponding extension negotiation
    # response to the offer with a value equal to or smaller than the received value."
    # With "the client will use an LZ77 sliding window whose size doesn't exceed 2 to the
    # power of the value": an ignored offer value still binds the client.
    client(P + "; client_max_window_bits=10", P, PMD(client_max_window_bits=10),
           "7.1.2.2 cmwb=10 offered, ignored by server (regression)"),
    client(P + "; client_max_window_bits=10", P + "; client_max_window_bits=10", PMD(client_max_window_bits=10),
           "7.1.2.2 cmwb=10 offered, equal answered"),
    client(P + "; client_max_window_bits=10", P + "; client_max_window_bits=9", PMD(client_max_window_bits=9),
           "7.1.2.2 cmwb=10 offered, smaller answered"),
    client(P + "; client_max_window_bits=10", P + "; client_max_window_bits=11", REFUSED,
           "7.1.2.2 cmwb=10 offered, larger answered"),
    client(P + "; client_max_window_bits=15", P + "; client_max_window_bits=12", PMD(client_max_window_bits=12),
           "7.1.2.2 cmwb=15 offered, 12 answered"),
    server(PMD(), P + "; client_max_window_bits=12", P + "; client_max_window_bits=12",
           "7.1.2.2 cmwb=12 offered -> used"),
    server(PMD(client_max_window_bits=10), P + "; client_max_window_bits=12", P + "; client_max_window_bits=10",
           "7.1.2.2 cmwb=12 offered, server wish 10 -> 10"),
    server(PMD(client_max_window_bits=14), P + "; client_max_window_bits=12", P + "; client_max_window_bits=12",
           "7.1.2.2 cmwb=12 offered, server wish 14 -> 12"),
    server(PMD(client_max_window_bits=10), P + "; client_max_window_bits=15", P + "; client_max_window_bits=10",
           "7.1.2.2 cmwb=15 offered, server wish 10 -> 10"),
    # "By including this parameter in an extension negotiation offer, a client informs the
    # server that the client supports the "client_max_window_bits" extension parameter in an
    # extension negotiation response" (offered without a value).
    client(P + "; client_max_window_bits", P, PMD(), "7.1.2.2 cmwb offered without value, not answered"),
    client(P + "; client_max_window_bits", P + "; client_max_window_bits=8", PMD(client_max_window_bits=8),
           "7.1.2.2 cmwb offered without value, 8 answered"),
    client(P + "; client_max_window_bits", P + "; client_max_window_bits=15", PMD(),
           "7.1.2.2 cmwb offered without value, 15 answered"),
    server(PMD(), P + "; client_max_window_bits", P, "7.1.2.2 cmwb offered without value, no server wish -> omitted"),
    server(PMD(client_max_window_bits=10), P + "; client_max_window_bits", P + "; client_max_window_bits=10",
           "7.1.2.2 cmwb offered without value, server wish 10 -> 10"),
    server(PMD(client_max_window_bits=8), P + "; client_max_window_bits", P + "; client_max_window_bits=8",
           "7.1.2.2 cmwb offered without value, server wish 8 -> 8"),
    # "If the extension negotiation response has the "client_max_window_bits" extension
    # parameter, the parameter value MUST conform to the ABNF below." (1*DIGIT: a value)
    client(P + "; client_max_window_bits", P + "; client_max_window_bits", REFUSED,
           "7.1.2.2 cmwb answered without a value"),
    # ---- §7.1: invalid, unknown and repeated parameters -------------------------------
    # "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an extension
    # negotiation offer for this extension with an extension negotiation response meeting any
    # of the following conditions: The negotiation response contains an extension parameter
    # not defined for use in a response. / ... an extension parameter with an invalid value.
    # / ... multiple extension parameters with the same name."
    client(P, P + "; x_unknown", REFUSED, "7.1 response: unknown parameter"),
    client(P + "; server_max_window_bits=10", P + "; server_max_window_bits=7", REFUSED, "7.1 response: smwb=7"),
    client(P + "; server_max_window_bits=10", P + "; server_max_window_bits=16", REFUSED, "7.1 response: smwb=16"),
    client(P + "; server_max_window_bits=10", P + "; server_max_window_bits=09", REFUSED,
           "7.1 response: leading zero"),
    client(P, P + "; server_max_window_bits", REFUSED, "7.1 response: smwb without value"),
    client(P, P + "; server_no_context_takeover=1", REFUSED, "7.1 response: value on a flag"),
    client(P, P + "; server_no_context_takeover; server_no_context_takeover", REFUSED,
           "7.1 response: repeated flag"),
    client(P + "; client_max_window_bits", P + "; client_max_window_bits=9; client_max_window_bits=9", REFUSED,
           "7.1 response: repeated window parameter"),
    client(P, P + ", " + P, REFUSED, "7.1 response: two permessage-deflate elements"),
    # RFC 6455 §4.1: "the server has indicated an extension not requested by the client".
    client("", P, REFUSED, "6455 4.1 response: extension not offered"),
    # "A server MUST decline an extension negotiation offer for this extension if any of the
    # following conditions are met: The negotiation offer contains an extension parameter not
    # defined for use in an offer. / ... an extension parameter with an invalid value. / ...
    # multiple extension parameters with the same name."
    server(PMD(), P + "; x_unknown", None, "7.1 offer: unknown parameter -> declined"),
    server(PMD(), P + "; server_max_window_bits=7", None, "7.1 offer: smwb=7 -> declined"),
    server(PMD(), P + "; client_max_window_bits=16", None, "7.1 offer: cmwb=16 -> declined"),
    server(PMD(), P + "; server_max_window_bits", None, "7.1 offer: smwb without value -> declined"),
    server(PMD(), P + "; client_no_context_takeover=true", None, "7.1 offer: value on a flag -> declined"),
    server(PMD(), P + "; server_max_window_bits=10; server_max_window_bits=10", None,
           "7.1 offer: repeated parameter -> declined"),
    server(PMD(), P + "; server_max_window_bits=7, " + P + "; client_no_context_takeover",
           P + "; client_no_context_takeover", "7.1 offer: invalid 1st offer declined, 2nd accepted"),
    # ---- quoted-string values (RFC 6455 §9.1: extension-param = token [ "=" (token |
    # quoted-string) ]; "the value after quoted-string unescaping MUST conform to the 'token'
    # ABNF", and RFC 7692 §7.1.2.1/§7.1.2.2 then ask for 1*DIGIT) -----------------------
    client(P + "; server_max_window_bits=10", P + '; server_max_window_bits="10"', PMD(server_max_window_bits=10),
           "6455 9.1 response: quoted value"),
    client(P + "; server_max_window_bits=10", P + '; server_max_window_bits="1\\0"', PMD(server_max_window_bits=10),
           "6455 9.1 response: quoted value with a quoted-pair"),
    client(P + "; server_max_window_bits=10", P + '; server_max_window_bits=""', REFUSED,
           "6455 9.1 response: empty quoted value"),
    server(PMD(), P + '; server_max_window_bits="10"', P + "; server_max_window_bits=10",
           "6455 9.1 offer: quoted value"),
    # ---- several offers: the response need not say which one it accepts ----------------
    client(P + "; server_max_window_bits=10, " + P, P, PMD(), "several offers: response matches the 2nd"),
    client(P + "; client_max_window_bits=10, " + P + "; client_max_window_bits", P,
           PMD(client_max_window_bits=10), "several offers: the 1st match binds the client"),
]


@pytest.mark.parametrize("side, first, second, expected", ROWS)
def test_rfc7692_negotiation(side, first, second, expected):
    if side == "client":
        offers, response = _offers(first) if first else [], second
        # What the client sends is what the row says it offered.
        if offers:
            assert _extensions_line(build_request("h", "/", RFC_KEY, extensions=offers)) == first
        if expected is REFUSED:
            with pytest.raises(HandshakeError) as info:
                validate_response(101, _response_headers(response), RFC_KEY, extensions=offers)
            assert info.value.status == 101
        else:
            got = validate_response(101, _response_headers(response), RFC_KEY, extensions=offers).extensions
            assert got == expected
    else:
        wishes, offers = first, second
        request = validate_request(_request_headers(offers))
        agreement = wishes.negotiate(request.extensions)
        assert _extensions_line(build_response(request.key, extensions=agreement)) == expected


def test_build_response_renders_an_offer_accepted_as_made():
    # An offer without a client_max_window_bits value, passed back as the agreement: no value
    # means 15 for an agreement, and a response's client_max_window_bits needs a value
    # (RFC 7692 §7.1.2.2), so it is left out.
    offer = validate_request(_request_headers(P + "; client_max_window_bits; server_no_context_takeover")).extensions[0]
    assert offer == PMD(server_no_context_takeover=True, client_max_window_bits=None)
    line = _extensions_line(build_response(RFC_KEY, extensions=offer))
    assert line == P + "; server_no_context_takeover"
    assert validate_response(101, _response_headers(line), RFC_KEY, extensions=[offer]).extensions == PMD(True)


def test_explicit_window_parameters_survive_pickle_and_render():
    import pickle

    parsed = PMD.from_header(P + "; server_max_window_bits=15; client_max_window_bits=15")
    assert parsed == PMD()
    assert parsed.to_header() == P + "; server_max_window_bits=15; client_max_window_bits=15"
    again = pickle.loads(pickle.dumps(parsed))
    assert again == parsed and again.to_header() == parsed.to_header()
    assert pickle.loads(pickle.dumps(PMD(True, False, 9, None))).to_header() == PMD(True, False, 9, None).to_header()


_pmd = st.builds(PMD, st.booleans(), st.booleans(), st.integers(8, 15), st.one_of(st.none(), st.integers(8, 15)))


@settings(max_examples=200, deadline=None)
@given(st.lists(_pmd, min_size=1, max_size=3), _pmd)
def test_wscodec_server_answer_passes_wscodec_client(offers, wishes):
    """Over the wire, whatever a wscodec server answers is a valid answer for the wscodec
    client that made the offers, and the two agreements fit together: the server compresses
    as it announced, and the client stays within what the server inflates."""
    request = validate_request(_request_headers(_extensions_line(build_request("h", "/", RFC_KEY, extensions=offers))))
    assert request.extensions == offers
    server_side = wishes.negotiate(request.extensions)
    line = _extensions_line(build_response(request.key, extensions=server_side))
    client_side = validate_response(101, _response_headers(line), RFC_KEY, extensions=offers).extensions
    if server_side is None:
        assert client_side is None
        return
    assert client_side.server_no_context_takeover == server_side.server_no_context_takeover
    assert client_side.window_bits(False) == server_side.window_bits(False)
    assert client_side.window_bits(True) <= server_side.window_bits(True)
    assert client_side.client_no_context_takeover >= server_side.client_no_context_takeover


# -- websockets as a second implementation ------------------------------------------------

ws_pmd = pytest.importorskip("websockets.extensions.permessage_deflate")
ws_frames = pytest.importorskip("websockets.frames")
ws_headers = pytest.importorskip("websockets.headers")
ws_exceptions = pytest.importorskip("websockets.exceptions")


def _websockets_refuses_8_bits():
    """Whether this websockets refuses a window of 8 bits in negotiation (recent releases:
    zlib cannot compress with one, and RFC 7692 §7.1 lets a peer refuse a configuration it
    does not support), rather than accepting it and then failing in zlib (older releases,
    such as 15.0, the newest for CPython 3.9)."""
    factory = ws_pmd.ClientPerMessageDeflateFactory(client_max_window_bits=True)
    try:
        factory.process_response_params([("client_max_window_bits", "8")], [])
    except ws_exceptions.NegotiationError:
        return True
    except ValueError:  # zlib, inside websockets' own extension object
        return False
    return False


WEBSOCKETS_REFUSES_8_BITS = _websockets_refuses_8_bits()

# Long-range repeats inside each message and across messages, so a window or context-takeover
# mismatch between the two sides shows as a decoding failure.
_BASE = "".join("%05d the quick brown fox " % (i * 7919 % 100000) for i in range(40))
MESSAGES = [_BASE, _BASE[::-1] + _BASE, _BASE]


def _exchange(impl, agreement, ws_ext, wscodec_is_client):
    """Messages both ways between a wscodec endpoint (``agreement``) and websockets (``ws_ext``)."""
    encoder = impl.messages.MessageEncoder(client=wscodec_is_client, deflate=agreement)
    frames = impl.frames.FrameDecoder(client=not wscodec_is_client, allow_rsv1=True, max_frame_size=None)
    decoder = impl.messages.MessageDecoder(client=wscodec_is_client, deflate=agreement, max_message_size=None)
    for text in MESSAGES:
        # wscodec -> websockets
        [frame] = frames.feed(encoder.text(text))
        assert frame.rsv1
        out = ws_ext.decode(ws_frames.Frame(ws_frames.Opcode.TEXT, frame.payload, rsv1=True))
        assert out.data == text.encode()
        # websockets -> wscodec
        sent = ws_ext.encode(ws_frames.Frame(ws_frames.Opcode.TEXT, text.encode()))
        assert sent.rsv1
        wire = impl.frames.encode_frame(Opcode.TEXT, sent.data, mask=not wscodec_is_client, rsv1=True)
        assert decoder.feed(wire) == [TextMessage(text)]


WSCODEC_OFFERS = [
    [PMD(snct, cnct, smwb, cmwb)]
    for snct, cnct, smwb, cmwb in itertools.product((False, True), (False, True), (8, 10, 15), (None, 8, 10, 15))
] + [
    [PMD(server_max_window_bits=8), PMD()],
    [PMD(client_max_window_bits=9), PMD(client_max_window_bits=None)],
    [PMD(server_no_context_takeover=True, server_max_window_bits=9), PMD(client_no_context_takeover=True)],
]

WEBSOCKETS_SERVERS = [
    dict(server_no_context_takeover=snct, client_no_context_takeover=cnct, server_max_window_bits=smwb,
         client_max_window_bits=cmwb, require_client_max_window_bits=req)
    for snct, cnct, smwb, cmwb, req in itertools.product(
        (False, True), (False, True), (None, 9, 12), (None, 8, 10), (False, True))
    if not (req and cmwb is None)
]


@pytest.mark.parametrize("offers", WSCODEC_OFFERS, ids=lambda o: " + ".join(x.to_header() for x in o))
def test_wscodec_client_accepts_websockets_server(impl, offers):
    """Every response a websockets server makes to a wscodec offer passes validate_response,
    and the agreement interoperates (RFC 7692 §7.1: the response is valid, so the client must
    not fail; §7.1.1.2, §7.1.2.2: what the client then does stays within the response)."""
    request_value = _extensions_line(build_request("h", "/", RFC_KEY, extensions=offers))
    accepted = 0
    for config in WEBSOCKETS_SERVERS:
        factory = ws_pmd.ServerPerMessageDeflateFactory(**config)
        response_params = ws_ext = None
        # A websockets server takes the first offer its factory does not refuse.
        for name, params in ws_headers.parse_extension(request_value):
            try:
                response_params, ws_ext = factory.process_request_params(params, [])
            except ws_exceptions.NegotiationError:
                continue
            except ValueError:
                # An older websockets accepts an 8-bit server window and then fails in zlib:
                # it cannot serve that offer (the newer ones decline it, above).
                if WEBSOCKETS_REFUSES_8_BITS or ("server_max_window_bits", "8") not in params:
                    raise
                continue
            break
        if ws_ext is None:
            assert validate_response(101, _response_headers(None), RFC_KEY, extensions=offers).extensions is None
            continue
        response_value = ws_headers.build_extension([("permessage-deflate", response_params)])
        agreement = validate_response(101, _response_headers(response_value), RFC_KEY, extensions=offers).extensions
        assert agreement is not None, (config, response_value)
        # The server compresses as it said; the client stays within what the server inflates.
        assert agreement.server_no_context_takeover == ws_ext.local_no_context_takeover
        assert agreement.window_bits(False) == ws_ext.local_max_window_bits
        assert agreement.window_bits(True) <= ws_ext.remote_max_window_bits
        assert agreement.client_no_context_takeover >= ws_ext.remote_no_context_takeover
        if not WEBSOCKETS_REFUSES_8_BITS and ws_ext.local_max_window_bits == 8:
            continue  # an older websockets took a window it cannot compress with
        _exchange(impl, agreement, ws_ext, wscodec_is_client=True)
        accepted += 1
    # Not vacuous: websockets declines only offers of an 8-bit server window (it cannot
    # compress with one; wscodec can, see the table).
    assert accepted or all(offer.server_max_window_bits == 8 for offer in offers)


WEBSOCKETS_CLIENTS = [
    dict(server_no_context_takeover=snct, client_no_context_takeover=cnct, server_max_window_bits=smwb,
         client_max_window_bits=cmwb)
    for snct, cnct, smwb, cmwb in itertools.product(
        (False, True), (False, True), (None, 8, 10, 15), (None, True, 9, 15))
]

WSCODEC_SERVERS = [
    PMD(snct, cnct, smwb, cmwb)
    for snct, cnct, smwb, cmwb in itertools.product((False, True), (False, True), (8, 10, 15), (8, 11, 15))
]


@pytest.mark.parametrize("wishes", WSCODEC_SERVERS, ids=repr)
def test_websockets_client_accepts_wscodec_server(impl, wishes):
    """Every response a wscodec server makes to a websockets offer is accepted by the
    websockets client, except a client window of 8 bits, which websockets documents it cannot
    use (zlib cannot compress with it) and refuses as RFC 7692 §7.1 allows ("The client does
    not support the configuration that the response represents")."""
    for config in WEBSOCKETS_CLIENTS:
        factory = ws_pmd.ClientPerMessageDeflateFactory(**config)
        offer_value = ws_headers.build_extension([("permessage-deflate", factory.get_request_params())])
        request = validate_request(_request_headers(offer_value))
        assert len(request.extensions) == 1
        agreement = wishes.negotiate(request.extensions)
        response_value = _extensions_line(build_response(request.key, extensions=agreement))
        if agreement is None:
            # Declined only when the server wants to limit the client's window and the offer
            # gives it no way to (RFC 7692 §7.1.2.2).
            assert wishes.client_max_window_bits < 15 and config["client_max_window_bits"] is None
            assert response_value is None
            continue
        [(name, params)] = ws_headers.parse_extension(response_value)
        if agreement.client_max_window_bits == 8:
            if WEBSOCKETS_REFUSES_8_BITS:
                with pytest.raises(ws_exceptions.NegotiationError, match="client_max_window_bits = 8"):
                    factory.process_response_params(params, [])
            # An older websockets accepts the response (or fails in zlib at once) and cannot
            # compress with that window: nothing to exchange either way.
            continue
        ws_ext = factory.process_response_params(params, [])
        assert agreement.server_no_context_takeover == ws_ext.remote_no_context_takeover
        assert agreement.client_no_context_takeover == ws_ext.local_no_context_takeover
        assert agreement.window_bits(False) <= ws_ext.remote_max_window_bits
        assert agreement.window_bits(True) == ws_ext.local_max_window_bits
        _exchange(impl, agreement, ws_ext, wscodec_is_client=False)
