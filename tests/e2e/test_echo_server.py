"""The example echo server over raw sockets: HTTP answers, and the close code for each kind
of protocol violation.  Frames are built and parsed here by hand from RFC 6455 §5.2, not with
wscodec, so the server is checked against an independent reading of the RFC."""

import base64
import hashlib
import os
import socket
import struct
import time

import pytest

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


# -- an independent client ---------------------------------------------------------------


def frame(opcode, payload=b"", *, fin=True, masked=True, rsv=0):
    """A client frame per RFC 6455 §5.2 (masked, as a client must, unless told otherwise)."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload)
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


class RawClient:
    def __init__(self, server, path="/"):
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        key = base64.b64encode(os.urandom(16))
        self.sock.sendall(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.buf = b""
        head = self._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        assert b"\r\nSec-WebSocket-Accept: " + accept + b"\r\n" in head + b"\r\n"
        # No extension was offered, so none may be accepted (RFC 6455 §9.1).
        assert b"sec-websocket-extensions" not in head.lower()

    def _read_until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed while reading %r" % self.buf
            self.buf += chunk
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _read_exactly(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed mid-frame"
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        self.sock.sendall(data)

    def recv_frame(self):
        """(fin, opcode, payload) of the next server frame; server frames are never masked."""
        b0, b1 = self._read_exactly(2)
        assert b1 & 0x80 == 0, "server frames must not be masked (RFC 6455 §5.1)"
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read_exactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read_exactly(8))
        return bool(b0 & 0x80), b0 & 0x0F, self._read_exactly(n)

    def expect_close(self, code):
        """The server's close frame carries ``code``; then the server closes TCP (§7.1.1)."""
        fin, opcode, payload = self.recv_frame()
        assert (fin, opcode) == (True, 0x8), (fin, opcode, payload)
        if code is None:
            assert payload == b""
        else:
            assert len(payload) >= 2 and struct.unpack("!H", payload[:2])[0] == code, payload
            payload[2:].decode("utf-8")  # a close reason is valid UTF-8 (§5.5.1)
        self.expect_eof()
        return payload

    def expect_eof(self):
        assert self.buf == b""
        assert self.sock.recv(1) == b""
        self.sock.close()


def http(server, request):
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk


# -- HTTP ----------------------------------------------------------------------------------


def test_demo_page(echo_server):
    response = http(echo_server, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nContent-Type: text/html; charset=utf-8" in head
    assert b"\r\nContent-Length: %d" % len(body) in head
    assert b"new WebSocket(" in body and b"<title>wscodec echo demo</title>" in body


def test_http_errors(echo_server):
    assert http(echo_server, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert http(echo_server, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert http(echo_server, b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert http(echo_server, b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * 20000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431 ")


def test_handshake_errors(echo_server):
    base = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    key = b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    # RFC 6455 §4.4: an unsupported version gets 426 and the versions the server speaks.
    response = http(echo_server, base + key + b"Sec-WebSocket-Version: 8\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 426 ")
    assert b"\r\nSec-WebSocket-Version: 13\r\n" in response
    # §4.2.1: a missing key is a bad request.
    assert http(echo_server, base + b"Sec-WebSocket-Version: 13\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_handshake_example_from_rfc(echo_server):
    # RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
    response = http(
        echo_server,
        b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n" + frame(0x8, close_payload(1000)),
    )
    assert response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in response
    # The close frame sent with the request head was answered: 0x88, length 2, code 1000.
    assert response.endswith(b"\r\n\r\n\x88\x02\x03\xe8")


# -- the WebSocket session -----------------------------------------------------------------


@pytest.fixture
def client(echo_server):
    raw = RawClient(echo_server, "/any/path")
    yield raw
    raw.sock.close()


def test_echo_ping_and_close(client):
    client.send(frame(0x1, "ü€😀".encode()))
    assert client.recv_frame() == (True, 0x1, "ü€😀".encode())
    client.send(frame(0x2, bytes(70000)))
    assert client.recv_frame() == (True, 0x2, bytes(70000))
    # A text message in three fragments, with a ping between them (§5.4).
    client.send(frame(0x1, b"one ", fin=False) + frame(0x9, b"p") + frame(0x0, b"two ", fin=False))
    assert client.recv_frame() == (True, 0xA, b"p")
    client.send(frame(0x0, b"three"))
    assert client.recv_frame() == (True, 0x1, b"one two three")
    client.send(frame(0x8, close_payload(1000, "fin ✓".encode())))
    assert client.expect_close(1000) == close_payload(1000, "fin ✓".encode())


def test_data_after_close_is_discarded(client):
    # RFC 6455 §1.4: after receiving a Close an endpoint discards further data; the Close is
    # still answered with the peer's code, even when more frames come in the same segment.
    client.send(
        frame(0x1, b"frag", fin=False)
        + frame(0x8, close_payload(1000))
        + frame(0x0, b"ment")
        + frame(0x9, b"late ping")
        + b"\xff\xff garbage"
    )
    client.expect_close(1000)


def test_close_arriving_in_small_segments(client):
    # The same, with every frame header and payload split across many small TCP segments.
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = frame(0x2, bytes(range(256)) * 2) + frame(0x8, close_payload(1001, b"bye")) + frame(0x1, b"late")
    for i in range(0, len(data), 3):
        try:
            client.send(data[i : i + 3])
        except (BrokenPipeError, ConnectionResetError):
            # The server answered the Close and closed TCP (§7.1.1) while "late" was on its way.
            assert i > len(data) - len(frame(0x1, b"late")) - 3
            break
        time.sleep(0.002)
    assert client.recv_frame() == (True, 0x2, bytes(range(256)) * 2)
    assert client.expect_close(1001) == close_payload(1001, b"bye")


def test_empty_close_is_answered_with_empty_close(client):
    client.send(frame(0x8))
    client.expect_close(None)


@pytest.mark.parametrize(
    "data, code",
    [
        pytest.param(frame(0x1, b"\xff"), 1007, id="invalid-utf8"),
        pytest.param(frame(0x1, b"ok", masked=False), 1002, id="unmasked"),
        pytest.param(frame(0x3, b""), 1002, id="reserved-opcode"),
        pytest.param(frame(0x1, b"x", rsv=0b010), 1002, id="rsv2"),
        pytest.param(frame(0x0, b"x"), 1002, id="orphan-continuation"),
        pytest.param(frame(0x9, b"x" * 126), 1002, id="long-ping"),
        pytest.param(frame(0x8, close_payload(1005)), 1002, id="close-1005"),
        pytest.param(frame(0x8, b"\x03"), 1002, id="close-1-byte"),
        pytest.param(frame(0x8, close_payload(1000, b"\xc3")), 1007, id="close-bad-reason"),
        pytest.param(frame(0x1, b"a", fin=False) + frame(0x2, b"b"), 1002, id="interleaved-data"),
    ],
)
def test_protocol_errors_close_with_the_right_code(client, data, code):
    client.send(data)
    client.expect_close(code)


def test_invalid_utf8_fails_fast(client):
    # The first fragment already holds bytes no valid text can start with: the server closes
    # with 1007 without waiting for the rest of the message (RFC 6455 §8.1).
    client.send(frame(0x1, "κόσμε".encode() + b"\xed\xa0\x80", fin=False))
    client.expect_close(1007)


def test_message_too_big(start_echo_server):
    server = start_echo_server("--max-message-size", "1000")
    try:
        ok = RawClient(server)
        ok.send(frame(0x2, bytes(1000)))  # the limit is inclusive
        assert ok.recv_frame() == (True, 0x2, bytes(1000))
        # Refused from the declared length, before the payload is sent (§10.4).
        ok.send(frame(0x2, bytes(1001))[:14])
        ok.expect_close(1009)
        # The limit covers whole messages, not just frames.
        frag = RawClient(server)
        frag.send(frame(0x1, b"a" * 600, fin=False) + frame(0x0, b"a" * 600))
        frag.expect_close(1009)
    finally:
        assert b"Traceback" not in server.stop()
