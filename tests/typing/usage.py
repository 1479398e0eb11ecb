# pyright: strict
"""Every public name of wscodec, used as an application would, for type checkers.

.ci/types.sh checks this file with ``mypy --strict --disallow-any-expr`` and with pyright in
strict mode against the installed package: each ``assert_type`` pins the type a checker must
infer, so a public signature that falls back to ``Any`` (or to pyright's "unknown") fails the
stage.  tests/test_typing_usage.py also runs it, on both twins, with ``assert_type`` checking
the value at run time, so the types written here are the types the code returns.
"""

import array
import sys
from typing import List, Optional, Tuple, Union

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type

import wscodec
import wscodec.compat
import wscodec.compat.wsaccel
import wscodec.compat.wsaccel.utf8validator
import wscodec.compat.wsaccel.xormask
import wscodec.handshake
import wscodec.integrations
from wscodec import (
    BinaryMessage,
    Close,
    CloseCode,
    Frame,
    FrameDecoder,
    HandshakeError,
    InvalidPayload,
    MessageDecoder,
    MessageEncoder,
    Opcode,
    PayloadTooBig,
    PerMessageDeflate,
    Ping,
    Pong,
    ProtocolError,
    TextMessage,
    Utf8Validator,
)

Event = Union[TextMessage, BinaryMessage, Ping, Pong, Close]

# -- module facts ---------------------------------------------------------------------------
assert_type(wscodec.__version__, str)
assert_type(wscodec.IMPLEMENTATION, str)
assert_type(wscodec.SIMD, str)
assert_type(wscodec.__all__, List[str])

# -- constants ------------------------------------------------------------------------------
assert_type(Opcode(1), Opcode)
assert_type(Opcode.PING.is_control, bool)
assert_type(CloseCode(1000), CloseCode)
assert_type(int(CloseCode.MESSAGE_TOO_BIG), int)

# -- masking and UTF-8 ----------------------------------------------------------------------
KEY = b"\x01\x02\x03\x04"
assert_type(wscodec.apply_mask(b"hello", KEY), bytes)
assert_type(wscodec.apply_mask(memoryview(b"hello"), bytearray(KEY)), bytes)
assert_type(wscodec.apply_mask(array.array("B", b"hello"), KEY), bytes)
buf = bytearray(b"hello")
assert_type(wscodec.mask_inplace(buf, KEY), None)
assert_type(wscodec.mask_inplace(buf, KEY, offset=0), None)
assert_type(wscodec.validate_utf8("é".encode()), bool)
validator = Utf8Validator()
assert_type(validator, Utf8Validator)
assert_type(validator.validate(b"\xc3"), bool)
assert_type(validator.validate(b"\xa9", final=True), bool)
assert_type(validator.reset(), None)

# -- frames ---------------------------------------------------------------------------------
wire = wscodec.encode_frame(Opcode.TEXT, b"hi", mask=True)
assert_type(wire, bytes)
assert_type(wscodec.encode_frame(2, bytearray(3), fin=False, mask=KEY, rsv1=False), bytes)
assert_type(wscodec.encode_frame_header(Opcode.BINARY, 3, mask=KEY), bytes)
frame_decoder = FrameDecoder(client=False, max_frame_size=1 << 20, allow_rsv1=False)
assert_type(frame_decoder.client, bool)
assert_type(frame_decoder.allow_rsv1, bool)
assert_type(frame_decoder.max_frame_size, Optional[int])
assert_type(frame_decoder.partial_frame(), Optional[Tuple[int, bool, bool, Optional[int]]])
frames = frame_decoder.feed(wire)
assert_type(frames, List[Frame])
frame = frames[0]
assert_type(frame.opcode, Opcode)
assert_type(frame.fin, bool)
assert_type(frame.rsv1, bool)
assert_type(frame.rsv2, bool)
assert_type(frame.rsv3, bool)
assert_type(frame.payload, bytes)
assert frame == Frame(Opcode.TEXT, True, False, False, False, b"hi")

# -- messages -------------------------------------------------------------------------------
agreement = PerMessageDeflate(client_max_window_bits=12)
assert_type(agreement.server_no_context_takeover, bool)
assert_type(agreement.client_no_context_takeover, bool)
assert_type(agreement.server_max_window_bits, int)
assert_type(agreement.client_max_window_bits, Optional[int])
assert_type(agreement.to_header(), str)
assert_type(PerMessageDeflate.from_header("permessage-deflate"), PerMessageDeflate)
assert_type(PerMessageDeflate().negotiate([agreement]), Optional[PerMessageDeflate])
assert_type(agreement.accepts_response(agreement), bool)
assert_type(agreement.window_bits(True), int)
assert_type(agreement.no_context_takeover(False), bool)
assert_type(PerMessageDeflate.from_params([("server_no_context_takeover", None)]), PerMessageDeflate)

client = MessageEncoder(client=True, deflate=agreement, fragment_size=None)
assert_type(client.client, bool)
assert_type(client.deflate, Optional[PerMessageDeflate])
assert_type(client.fragment_size, Optional[int])
sized = MessageEncoder(deflate=agreement, compression="size", skip_incompressible=False)
assert_type(sized.skip_incompressible, bool)
assert sized.compression == "size" and MessageEncoder(compression=6).compression == 6
assert_type(wscodec.DEFLATE_BACKEND, Optional[str])
assert_type(wscodec.set_deflate_backend(None), Optional[str])
sent = b"".join([
    client.text("héllo"),
    client.binary(b"\x00\x01", compress=False),
    client.ping(b"p"),
    client.pong(),
    client.close(1000, "bye"),
])
assert_type(sent, bytes)
server = MessageDecoder(client=False, max_message_size=None, deflate=agreement)
assert_type(server.client, bool)
assert_type(server.max_message_size, Optional[int])
assert_type(server.deflate, Optional[PerMessageDeflate])
events = server.feed(sent)
assert_type(events, List[Event])
texts: List[str] = []
for event in events:
    if isinstance(event, TextMessage):
        assert_type(event.data, str)
        texts.append(event.data)
    elif isinstance(event, (BinaryMessage, Ping, Pong)):
        assert_type(event.data, bytes)
    else:
        assert_type(event, Close)
        assert_type(event.code, Optional[int])
        assert_type(event.reason, str)
assert texts == ["héllo"]
assert events[-1] == Close(1000, "bye")
assert_type(BinaryMessage(b"x").data, bytes)

# -- errors ---------------------------------------------------------------------------------
try:
    MessageDecoder().feed(b"\x81\x05hello")  # unmasked frame to a server
except ProtocolError as exc:
    assert_type(exc.close_code, int)
    assert_type(exc.reason, str)
    assert exc.close_code == CloseCode.PROTOCOL_ERROR
for error in (InvalidPayload("bad UTF-8"), PayloadTooBig(1009, "too big")):
    assert_type(error.close_code, int)

# -- handshake ------------------------------------------------------------------------------
key = wscodec.generate_key()
assert_type(key, str)
assert_type(wscodec.accept_key(key), str)
assert_type(wscodec.handshake.accept_key(key), str)
assert_type(wscodec.handshake.generate_key(), str)
request_bytes = wscodec.handshake.build_request(
    "example.com", "/chat", key, origin=None, subprotocols=["chat"], extensions=[agreement],
    headers=[("User-Agent", "usage")],
)
assert_type(request_bytes, bytes)
request = wscodec.handshake.validate_request(
    {"Host": "example.com", "Upgrade": "websocket", "Connection": "Upgrade",
     "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13",
     "Sec-WebSocket-Protocol": "chat", "Sec-WebSocket-Extensions": agreement.to_header()},
    method="GET", http_version="HTTP/1.1",
)
assert_type(request, wscodec.handshake.Request)
assert_type(request.key, str)
assert_type(request.subprotocols, List[str])
assert_type(request.extensions, List[PerMessageDeflate])
accepted = PerMessageDeflate().negotiate(request.extensions)
response_bytes = wscodec.handshake.build_response(
    request.key, subprotocol="chat", extensions=accepted, headers={"Server": "usage"},
)
assert_type(response_bytes, bytes)
response = wscodec.handshake.validate_response(
    101,
    [("Upgrade", "websocket"), ("Connection", "Upgrade"),
     ("Sec-WebSocket-Accept", wscodec.accept_key(key)), ("Sec-WebSocket-Protocol", "chat")],
    key, subprotocols=["chat"], extensions=None,
)
assert_type(response, wscodec.handshake.Response)
assert_type(response.subprotocol, Optional[str])
assert_type(response.extensions, Optional[PerMessageDeflate])
try:
    wscodec.handshake.validate_request([("Host", "example.com")])
except HandshakeError as failure:
    assert_type(failure.status, int)
    assert_type(failure.reason, str)
    assert_type(failure.headers, List[Tuple[str, str]])
guid: str = wscodec.handshake.GUID
assert wscodec.handshake.HandshakeError is HandshakeError
assert wscodec.handshake.PerMessageDeflate is PerMessageDeflate

# -- integrations ---------------------------------------------------------------------------
assert_type(wscodec.integrations.SUPPORTED, Tuple[str, ...])
for tested in wscodec.integrations.TESTED.values():
    for first, last in tested:
        assert_type(first, Tuple[int, ...])
        assert_type(last, Tuple[int, ...])
assert_type(wscodec.integrations.installed(), List[str])
assert_type(wscodec.integrations.verify("tornado"), List[str])
assert_type(wscodec.integrations.uninstall("tornado"), List[str])


def start_up() -> None:
    """Type-checked only: install() imports and patches host libraries."""
    assert_type(wscodec.integrations.install(), List[str])
    assert_type(wscodec.integrations.install("aiohttp", "websockets"), List[str])
    assert_type(wscodec.integrations.uninstall(), List[str])
    assert_type(wscodec.integrations.patches("tornado"), List[Tuple[object, str, object]])


assert issubclass(wscodec.integrations.IntegrationWarning, UserWarning)

# -- compat.wsaccel -------------------------------------------------------------------------
assert_type(wscodec.compat.IMPLEMENTATION, str)
assert_type(wscodec.compat.websocket_mask(KEY, b"data"), bytes)
assert_type(wscodec.compat.abnf_mask("abcd", "data"), bytes)
masker = wscodec.compat.wsaccel.createXorMasker(KEY, 1024)
assert_type(masker, wscodec.compat.wsaccel.XorMaskerSimple)
assert_type(masker.process(b"hello"), bytes)
assert_type(masker.pointer(), int)
assert_type(masker.reset(), None)
null = wscodec.compat.wsaccel.xormask.XorMaskerNull()
assert_type(null.process(b"hello"), bytes)
assert_type(null.pointer(), int)
assert_type(wscodec.compat.wsaccel.utf8validator.Utf8Validator().validate(b"ok"),
            Tuple[bool, bool, int, int])
assert_type(wscodec.compat.wsaccel.alias(), None)
assert_type(wscodec.compat.wsaccel.unalias(), None)
