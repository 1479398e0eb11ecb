"""The opening handshake (RFC 6455 §4) and permessage-deflate negotiation (RFC 7692 §5, §7.1)."""

import base64
import hashlib
import http.client
import io

import pytest
from hypothesis import given, settings, strategies as st

import wscodec
from wscodec import handshake
from wscodec.handshake import (
    HandshakeError,
    PerMessageDeflate,
    Request,
    Response,
    accept_key,
    build_request,
    build_response,
    generate_key,
    validate_request,
    validate_response,
)

# RFC 6455 §1.3's example.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def request_headers(**overrides):
    headers = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": RFC_KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in overrides.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def response_headers(key=RFC_KEY, **extra):
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept_key(key))]
    headers += [(n.replace("_", "-"), v) for n, v in extra.items()]
    return headers


def parse_http(raw):
    """Split a rendered request/response into (start line, [(name, value)]) independently."""
    assert raw.endswith(b"\r\n\r\n")
    lines = raw[:-4].decode("latin-1").split("\r\n")
    pairs = []
    for line in lines[1:]:
        name, sep, value = line.partition(": ")
        assert sep and name and "\r" not in line and "\n" not in line
        pairs.append((name, value))
    return lines[0], pairs


# -- keys --------------------------------------------------------------------------------


def test_accept_key_rfc_example():
    assert accept_key(RFC_KEY) == RFC_ACCEPT
    assert wscodec.accept_key is accept_key
    assert wscodec.generate_key is generate_key


@given(st.binary(min_size=16, max_size=16))
def test_accept_key_is_sha1_of_key_and_guid(raw):
    key = base64.b64encode(raw).decode()
    expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert accept_key(key) == expected.decode()


def test_accept_key_type():
    with pytest.raises(TypeError):
        accept_key(16)


def test_generate_key_is_fresh_16_bytes():
    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert len(base64.b64decode(key, validate=True)) == 16
        validate_request(request_headers(Sec_WebSocket_Key=key))


# -- validate_request --------------------------------------------------------------------


def test_valid_request_rfc_example():
    req = validate_request(request_headers(Sec_WebSocket_Protocol="chat, superchat", Origin="http://example.com"))
    assert req == Request(RFC_KEY, ["chat", "superchat"], [])
    assert req.key == RFC_KEY and req.subprotocols == ["chat", "superchat"] and req.extensions == []


def test_headers_as_pairs_case_insensitive_and_repeated():
    pairs = [
        ("HOST", "h"),
        ("upgrade", "WebSocket"),
        ("connection", "keep-alive"),
        ("CONNECTION", "UPGRADE"),  # repeated -> "keep-alive, UPGRADE"
        ("sec-websocket-key", RFC_KEY),
        ("SEC-WEBSOCKET-VERSION", "13"),
        ("Sec-WebSocket-Protocol", "a"),
        ("Sec-WebSocket-Protocol", "b"),
    ]
    assert validate_request(pairs).subprotocols == ["a", "b"]
    assert validate_request(tuple(pairs)).key == RFC_KEY


def test_headers_from_http_client_message():
    raw = (
        "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n" % RFC_KEY
    )
    msg = http.client.parse_headers(io.BytesIO(raw.encode()))
    req = validate_request(msg)
    assert req.extensions == [PerMessageDeflate(), PerMessageDeflate(client_max_window_bits=None)]


@pytest.mark.parametrize(
    "upgrade, connection",
    [
        ("websocket", "Upgrade"),
        ("WEBSOCKET", "upgrade"),
        ("h2c, websocket", "keep-alive, Upgrade"),
        (" websocket ,", ",upgrade,keep-alive"),
    ],
)
def test_upgrade_connection_tokens(upgrade, connection):
    validate_request(request_headers(Upgrade=upgrade, Connection=connection))


@pytest.mark.parametrize(
    "overrides",
    [
        {"Upgrade": None},
        {"Upgrade": "web socket"},
        {"Upgrade": "websockets"},
        {"Upgrade": "h2c"},
        {"Connection": None},
        {"Connection": "keep-alive"},
        {"Connection": "upgraded"},
        {"Host": None},
        {"Sec_WebSocket_Key": None},
        {"Sec_WebSocket_Key": ""},
        {"Sec_WebSocket_Key": "dGhlIHNhbXBsZSBub25jZQ"},  # unpadded
        {"Sec_WebSocket_Key": base64.b64encode(b"x" * 15).decode()},
        {"Sec_WebSocket_Key": base64.b64encode(b"x" * 17).decode()},
        {"Sec_WebSocket_Key": "dGhlIHNhbXBsZSBub25jZQ=!"},
        {"Sec_WebSocket_Key": "dGhlIHNhbXBsZSBub25jZé=="},
        {"Sec_WebSocket_Key": RFC_KEY + ", " + RFC_KEY},
        {"Sec_WebSocket_Version": None},
        {"Sec_WebSocket_Protocol": "a b"},
        {"Sec_WebSocket_Protocol": "chat, sup/er"},
    ],
)
def test_bad_request_is_400(overrides):
    with pytest.raises(HandshakeError) as info:
        validate_request(request_headers(**overrides))
    assert info.value.status == 400
    assert info.value.headers == []


@pytest.mark.parametrize("version", ["8", "12", "14", "13, 8", "013", "", "thirteen"])
def test_unsupported_version_is_426(version):
    with pytest.raises(HandshakeError) as info:
        validate_request(request_headers(Sec_WebSocket_Version=version))
    assert info.value.status == 426
    assert info.value.headers == [("Sec-WebSocket-Version", "13")]


def test_repeated_version_header_is_426():
    pairs = list(request_headers().items()) + [("Sec-WebSocket-Version", "13")]
    with pytest.raises(HandshakeError) as info:
        validate_request(pairs)
    assert info.value.status == 426


@pytest.mark.parametrize("method, version", [("POST", "HTTP/1.1"), ("get", "HTTP/1.1"), ("GET", "HTTP/1.0")])
def test_method_and_version(method, version):
    with pytest.raises(HandshakeError) as info:
        validate_request(request_headers(), method=method, http_version=version)
    assert info.value.status == 400


@pytest.mark.parametrize(
    "value, offers",
    [
        ("permessage-deflate", [PerMessageDeflate()]),
        (
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate",
            [PerMessageDeflate(server_max_window_bits=10, client_max_window_bits=None), PerMessageDeflate()],
        ),
        # RFC 7692 §5.1: an invalid offer is declined, the next one considered.
        ("permessage-deflate; server_max_window_bits=16, permessage-deflate; client_no_context_takeover",
         [PerMessageDeflate(client_no_context_takeover=True)]),
        ("permessage-deflate; foo, permessage-deflate; server_max_window_bits", []),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", []),
        ('permessage-deflate; client_max_window_bits="9"', [PerMessageDeflate(client_max_window_bits=9)]),
        ('permessage-deflate; client_max_window_bits="9', []),
        ("x-webkit-deflate-frame, permessage-deflate;;", []),
        ("foo; bar=1, permessage-deflate; server_no_context_takeover",
         [PerMessageDeflate(server_no_context_takeover=True)]),
        (",,;,", []),
        ('"', []),
    ],
)
def test_extension_offers(value, offers):
    assert validate_request(request_headers(Sec_WebSocket_Extensions=value)).extensions == offers


header_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x17F), max_size=40)


@settings(max_examples=300)
@given(st.dictionaries(
    st.sampled_from(["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                     "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "X"]),
    header_text,
))
def test_request_fuzz_only_handshake_error(headers):
    base = request_headers()
    base.update(headers)
    try:
        req = validate_request(base)
    except HandshakeError as exc:
        assert exc.status in (400, 426)
    else:
        assert len(base64.b64decode(req.key)) == 16
        assert all(type(o) is PerMessageDeflate for o in req.extensions)


@pytest.mark.parametrize("headers", ["Host: x", b"x", 5, [("Host",)], [("Host", b"x")], [(1, "x")], {"Host": 1}])
def test_request_header_types(headers):
    with pytest.raises(TypeError):
        validate_request(headers)


# -- build_response ----------------------------------------------------------------------


def test_build_response_rfc_example():
    raw = build_response(RFC_KEY, subprotocol="chat")
    assert raw == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    )


def test_build_response_extensions_and_headers():
    agreed = PerMessageDeflate(server_no_context_takeover=True, client_max_window_bits=10)
    raw = build_response(RFC_KEY, extensions=agreed, headers=[("Server", "x"), ("Set-Cookie", "a=b")])
    start, pairs = parse_http(raw)
    assert start == "HTTP/1.1 101 Switching Protocols"
    assert ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits=10") in pairs
    assert pairs[-2:] == [("Server", "x"), ("Set-Cookie", "a=b")]
    # The client side accepts what the server side built.
    offer = PerMessageDeflate(server_no_context_takeover=True, client_max_window_bits=None)
    resp = validate_response(101, pairs, RFC_KEY, extensions=[offer])
    assert resp == Response(None, agreed)


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"])
def test_builders_refuse_header_injection(value):
    with pytest.raises(ValueError):
        build_response(RFC_KEY, headers=[("X", value)])
    with pytest.raises(ValueError):
        build_response(RFC_KEY, headers={"X": value})
    with pytest.raises(ValueError):
        build_request("h", "/", RFC_KEY, headers=[("X", value)])
    with pytest.raises(ValueError):
        build_request(value, "/", RFC_KEY)
    with pytest.raises(ValueError):
        build_request("h", "/", RFC_KEY, origin=value)


@pytest.mark.parametrize("name", ["X Y", "X:", "", "X\r\nY"])
def test_builders_refuse_bad_header_names(name):
    with pytest.raises(ValueError):
        build_response(RFC_KEY, headers=[(name, "v")])


def test_build_response_argument_errors():
    with pytest.raises(ValueError):
        build_response(RFC_KEY, subprotocol="a b")
    with pytest.raises(TypeError):
        build_response(RFC_KEY, extensions="permessage-deflate")
    with pytest.raises(TypeError):
        build_response(RFC_KEY, headers=[("X", 1)])
    with pytest.raises(TypeError):
        build_response(b"key")


# -- build_request / validate_response ---------------------------------------------------


def test_build_request_rfc_example():
    raw = build_request("server.example.com", "/chat", RFC_KEY, origin="http://example.com",
                        subprotocols=["chat", "superchat"])
    assert raw == (
        b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n"
    )


def test_request_round_trip_through_server():
    key = generate_key()
    offers = [PerMessageDeflate(client_max_window_bits=None, server_max_window_bits=12), PerMessageDeflate()]
    raw = build_request("h:8080", "/a?b=c", key, subprotocols=["v2", "v1"], extensions=offers,
                        headers={"User-Agent": "t"})
    start, pairs = parse_http(raw)
    assert start == "GET /a?b=c HTTP/1.1"
    req = validate_request(pairs)
    assert req.key == key and req.subprotocols == ["v2", "v1"] and req.extensions == offers
    agreed = PerMessageDeflate().negotiate(req.extensions)
    assert agreed == PerMessageDeflate(server_max_window_bits=12)
    _, resp_pairs = parse_http(build_response(req.key, subprotocol="v1", extensions=agreed))
    assert validate_response(101, resp_pairs, key, subprotocols=["v2", "v1"], extensions=offers) == Response("v1", agreed)


@pytest.mark.parametrize("path", ["", "chat", "/a b", "/a\r\n", "/é"])
def test_build_request_bad_path(path):
    with pytest.raises(ValueError):
        build_request("h", path, RFC_KEY)


def test_build_request_bad_arguments():
    with pytest.raises(ValueError):
        build_request("h", "/", "short")
    with pytest.raises(TypeError):
        build_request("h", "/", RFC_KEY, subprotocols="chat")
    with pytest.raises(ValueError):
        build_request("h", "/", RFC_KEY, subprotocols=["a,b"])
    with pytest.raises(TypeError):
        build_request("h", "/", RFC_KEY, extensions=["permessage-deflate"])
    with pytest.raises(TypeError):
        build_request(b"h", "/", RFC_KEY)


def test_validate_response_ok():
    resp = validate_response(101, response_headers(Sec_WebSocket_Protocol="chat"), RFC_KEY, subprotocols=["x", "chat"])
    assert resp.subprotocol == "chat" and resp.extensions is None
    assert validate_response(101, dict(response_headers()), RFC_KEY) == Response(None, None)


@pytest.mark.parametrize(
    "status, headers, kwargs",
    [
        (200, response_headers(), {}),
        (404, response_headers(), {}),
        (101, [h for h in response_headers() if h[0] != "Upgrade"], {}),
        (101, [h for h in response_headers() if h[0] != "Connection"], {}),
        (101, [h for h in response_headers() if h[0] != "Sec-WebSocket-Accept"], {}),
        (101, response_headers(key=generate_key()), {}),
        (101, response_headers() + [("Sec-WebSocket-Accept", RFC_ACCEPT)], {}),  # repeated
        (101, response_headers(Sec_WebSocket_Protocol="chat"), {}),
        (101, response_headers(Sec_WebSocket_Protocol="chat"), {"subprotocols": ["superchat"]}),
        (101, response_headers(Sec_WebSocket_Protocol="chat, superchat"), {"subprotocols": ["chat", "superchat"]}),
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate"), {}),
        (101, response_headers(Sec_WebSocket_Extensions="x-foo"), {"extensions": [PerMessageDeflate()]}),
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate, permessage-deflate"),
         {"extensions": [PerMessageDeflate()]}),
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate; foo"), {"extensions": [PerMessageDeflate()]}),
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate; client_max_window_bits"),
         {"extensions": [PerMessageDeflate(client_max_window_bits=None)]}),
        # RFC 7692 §7.1.2.2: client_max_window_bits only if offered.
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate; client_max_window_bits=10"),
         {"extensions": [PerMessageDeflate()]}),
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate; client_max_window_bits=11"),
         {"extensions": [PerMessageDeflate(client_max_window_bits=10)]}),
        # §7.1.2.1: the server's window no larger than offered.
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate"),
         {"extensions": [PerMessageDeflate(server_max_window_bits=10)]}),
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate; server_max_window_bits=11"),
         {"extensions": [PerMessageDeflate(server_max_window_bits=10)]}),
        # §7.1.1.1: server_no_context_takeover must be echoed.
        (101, response_headers(Sec_WebSocket_Extensions="permessage-deflate"),
         {"extensions": [PerMessageDeflate(server_no_context_takeover=True)]}),
    ],
)
def test_validate_response_rejects(status, headers, kwargs):
    with pytest.raises(HandshakeError) as info:
        validate_response(status, headers, RFC_KEY, **kwargs)
    assert info.value.status == status


@pytest.mark.parametrize(
    "value, offers, agreed",
    [
        ("permessage-deflate", [PerMessageDeflate()], PerMessageDeflate()),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         [PerMessageDeflate()], PerMessageDeflate(True, True)),
        ("permessage-deflate; server_max_window_bits=9", [PerMessageDeflate(server_max_window_bits=10)],
         PerMessageDeflate(server_max_window_bits=9)),
        ("permessage-deflate; client_max_window_bits=8", [PerMessageDeflate(client_max_window_bits=None)],
         PerMessageDeflate(client_max_window_bits=8)),
        ("permessage-deflate; client_max_window_bits=10",
         [PerMessageDeflate(), PerMessageDeflate(client_max_window_bits=12)],
         PerMessageDeflate(client_max_window_bits=10)),
    ],
)
def test_validate_response_extensions(value, offers, agreed):
    resp = validate_response(101, response_headers(Sec_WebSocket_Extensions=value), RFC_KEY, extensions=offers)
    assert resp.extensions == agreed


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
                                           "Sec-WebSocket-Extensions"]), header_text), max_size=6),
       st.sampled_from([101, 200, 400]))
def test_response_fuzz_only_handshake_error(extra, status):
    try:
        resp = validate_response(status, response_headers() + extra, RFC_KEY, subprotocols=["chat"],
                                 extensions=[PerMessageDeflate(client_max_window_bits=None)])
    except HandshakeError as exc:
        assert exc.status == status
    else:
        assert status == 101 and resp.subprotocol in (None, "chat")


# -- PerMessageDeflate header and negotiation -------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("permessage-deflate", PerMessageDeflate()),
        ("Permessage-Deflate", PerMessageDeflate()),
        ("permessage-deflate; server_no_context_takeover", PerMessageDeflate(server_no_context_takeover=True)),
        ("permessage-deflate;client_no_context_takeover", PerMessageDeflate(client_no_context_takeover=True)),
        ("permessage-deflate; server_max_window_bits=8", PerMessageDeflate(server_max_window_bits=8)),
        ('permessage-deflate; server_max_window_bits="15"', PerMessageDeflate()),
        ("permessage-deflate; client_max_window_bits", PerMessageDeflate(client_max_window_bits=None)),
        ("permessage-deflate ; client_max_window_bits = 9 ", PerMessageDeflate(client_max_window_bits=9)),
        ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=10; client_max_window_bits=12", PerMessageDeflate(True, True, 10, 12)),
    ],
)
def test_from_header(value, expected):
    assert PerMessageDeflate.from_header(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "deflate-frame",
        "permessage-deflate;",
        "permessage-deflate;; server_no_context_takeover",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; unknown",
        "permessage-deflate; server_no_context_takeover=true",
        'permessage-deflate; client_no_context_takeover=""',
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=٩",
        "permessage-deflate; client_max_window_bits=1 0",
        'permessage-deflate; client_max_window_bits="10',
        'permessage-deflate; client_max_window_bits="1"0"',
        "permessage-deflate; client_max_window_bits=",
        "permessage deflate",
        "permessage-deflate; =10",
    ],
)
def test_from_header_refuses(value):
    with pytest.raises(ValueError):
        PerMessageDeflate.from_header(value)


def test_from_header_type():
    with pytest.raises(TypeError):
        PerMessageDeflate.from_header(b"permessage-deflate")


pmd_strategy = st.builds(
    PerMessageDeflate,
    st.booleans(),
    st.booleans(),
    st.integers(8, 15),
    st.one_of(st.none(), st.integers(8, 15)),
)


@given(pmd_strategy)
def test_header_round_trip(pmd):
    assert PerMessageDeflate.from_header(pmd.to_header()) == pmd
    assert pmd.to_header().startswith("permessage-deflate")


def test_to_header_exact():
    assert PerMessageDeflate().to_header() == "permessage-deflate"
    assert PerMessageDeflate(True, True, 9, None).to_header() == (
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits"
    )


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"server_no_context_takeover": 1}, TypeError),
        ({"client_no_context_takeover": None}, TypeError),
        ({"server_max_window_bits": 7}, ValueError),
        ({"server_max_window_bits": 16}, ValueError),
        ({"server_max_window_bits": None}, TypeError),
        ({"client_max_window_bits": "10"}, TypeError),
        ({"client_max_window_bits": True}, TypeError),
        ({"client_max_window_bits": 16}, ValueError),
    ],
)
def test_constructor_checks(kwargs, exc):
    with pytest.raises(exc):
        PerMessageDeflate(**kwargs)


def test_value_semantics():
    a = PerMessageDeflate(True, False, 10, None)
    assert a == PerMessageDeflate(server_no_context_takeover=True, server_max_window_bits=10, client_max_window_bits=None)
    assert a != PerMessageDeflate()
    assert hash(a) == hash(PerMessageDeflate(True, False, 10, None))
    assert "server_max_window_bits=10" in repr(a)
    with pytest.raises(AttributeError):
        a.server_max_window_bits = 9


@pytest.mark.parametrize(
    "server, offers, agreed",
    [
        (PerMessageDeflate(), [PerMessageDeflate()], PerMessageDeflate()),
        (PerMessageDeflate(), [], None),
        # The offer's server_no_context_takeover and window limit are honoured (§7.1.1.1, §7.1.2.1).
        (PerMessageDeflate(), [PerMessageDeflate(True, True, 10, 12)], PerMessageDeflate(True, True, 10, 12)),
        (PerMessageDeflate(server_max_window_bits=11), [PerMessageDeflate(server_max_window_bits=12)],
         PerMessageDeflate(server_max_window_bits=11)),
        # A client window limit needs the offer's client_max_window_bits (§7.1.2.2).
        (PerMessageDeflate(client_max_window_bits=10), [PerMessageDeflate(), PerMessageDeflate(client_max_window_bits=None)],
         PerMessageDeflate(client_max_window_bits=10)),
        (PerMessageDeflate(client_max_window_bits=10), [PerMessageDeflate()], None),
        (PerMessageDeflate(client_max_window_bits=10), [PerMessageDeflate(client_max_window_bits=9)],
         PerMessageDeflate(client_max_window_bits=9)),
        (PerMessageDeflate(client_no_context_takeover=True), [PerMessageDeflate(client_max_window_bits=None)],
         PerMessageDeflate(client_no_context_takeover=True)),
        # An 8-bit window is accepted too (the encoder then sends Huffman-coded literals only).
        (PerMessageDeflate(), [PerMessageDeflate(server_max_window_bits=8), PerMessageDeflate(server_max_window_bits=9)],
         PerMessageDeflate(server_max_window_bits=8)),
        (PerMessageDeflate(server_max_window_bits=8, client_max_window_bits=8),
         [PerMessageDeflate(client_max_window_bits=None)],
         PerMessageDeflate(server_max_window_bits=8, client_max_window_bits=8)),
    ],
)
def test_negotiate(server, offers, agreed):
    assert server.negotiate(offers) == agreed


@given(pmd_strategy, pmd_strategy)
def test_negotiated_agreement_is_accepted_by_offer(server, offer):
    agreed = server.negotiate([offer])
    if agreed is not None:
        assert agreed.client_max_window_bits is not None
        assert offer.accepts_response(agreed)
        assert agreed.server_max_window_bits <= offer.server_max_window_bits
        assert agreed.server_max_window_bits <= server.server_max_window_bits


def test_module_exports():
    for name in handshake.__all__:
        assert hasattr(handshake, name)
    assert wscodec.PerMessageDeflate is PerMessageDeflate


# -- header block bounds (SECURITY.md) -----------------------------------------------------

_BOUNDS_REQUEST = [
    ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
]


def test_header_count_bound():
    fill = handshake.MAX_HEADERS - len(_BOUNDS_REQUEST)
    # Exactly the limit is accepted; repeated fields still join in order (RFC 9110 §5.3).
    request = handshake.validate_request(_BOUNDS_REQUEST + [("Sec-WebSocket-Protocol", "p%d" % i) for i in range(fill)])
    assert request.subprotocols == ["p%d" % i for i in range(fill)]
    with pytest.raises(HandshakeError) as info:
        handshake.validate_request(_BOUNDS_REQUEST + [("X-Filler", "x")] * (fill + 1))
    assert info.value.status == 400
    response = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]
    with pytest.raises(HandshakeError) as info:
        handshake.validate_response(101, response + [("X-Filler", "x")] * handshake.MAX_HEADERS,
                                    "dGhlIHNhbXBsZSBub25jZQ==")
    assert info.value.status == 101


def test_header_bytes_bound():
    used = sum(len(n) + len(v) for n, v in _BOUNDS_REQUEST)
    room = handshake.MAX_HEADER_BYTES - used - len("X-Filler")
    handshake.validate_request(_BOUNDS_REQUEST + [("X-Filler", "x" * room)])
    with pytest.raises(HandshakeError) as info:
        handshake.validate_request(_BOUNDS_REQUEST + [("X-Filler", "x" * (room + 1))])
    assert info.value.status == 400


def test_many_repeated_fields_are_refused_quickly():
    # Regression: repeated fields were joined by repeated string concatenation, quadratic in
    # their number (40,000 one-word Sec-WebSocket-Protocol fields took about 20 s).  Now the
    # count bound refuses the block after MAX_HEADERS fields, without reading the rest.
    seen = []

    def fields():
        yield from _BOUNDS_REQUEST
        for i in range(4 * handshake.MAX_HEADERS):
            seen.append(i)
            yield ("Sec-WebSocket-Protocol", "abcdefgh")

    with pytest.raises(HandshakeError):
        handshake.validate_request(fields())
    assert len(seen) == handshake.MAX_HEADERS - len(_BOUNDS_REQUEST) + 1
