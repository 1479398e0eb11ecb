"""A WebSocket echo server built on wscodec and asyncio (standard library only).

    python examples/echo_server.py [--host 127.0.0.1] [--port 8765] [--max-message-size N]

* A WebSocket opening handshake on any path (RFC 6455 §4.2) is answered with ``101``;
  permessage-deflate (RFC 7692) is accepted when the client offers it.
* Text and binary messages are echoed, pings are answered with pongs (§5.5.2-§5.5.3), and the
  closing handshake is completed: the client's close code (and reason) are echoed and the
  server then closes the TCP connection (§7.1.1, §5.5.1).
* A protocol violation fails the connection with the close code wscodec reports
  (``ProtocolError.close_code``: 1002, 1007 for invalid UTF-8, 1009 for a message over the
  limit), then closes TCP (§7.1.7).  Invalid UTF-8 is refused as soon as the bytes received so
  far cannot start a valid text, not at the end of the message.
* A plain HTTP ``GET /`` gets a small demo page that runs a round trip from the browser.

Messages may be up to ``--max-message-size`` bytes (16 MiB by default, counted after
decompression).  That is higher than wscodec's 1 MiB default on purpose: the Autobahn
conformance suite's section 9 sends messages of up to 16 MiB.

The server listens on 127.0.0.1 unless told otherwise; ``--port 0`` picks a free port.  Once
listening it prints one line, ``listening on ws://HOST:PORT/ (wscodec VERSION, c|python twin,
deflate BACKEND)``,
so a script can read the port.
"""

import argparse
import asyncio
import os
import signal
import sys

import wscodec
from wscodec import (
    BinaryMessage,
    Close,
    MessageDecoder,
    MessageEncoder,
    PerMessageDeflate,
    Ping,
    ProtocolError,
    TextMessage,
)
from wscodec.handshake import HandshakeError, build_response, validate_request

#: Large enough for Autobahn|Testsuite section 9 (messages of up to 16 MiB).
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
#: An opening request's head (request line and headers) larger than this is refused.
MAX_REQUEST_HEAD = 16 * 1024
#: Seconds a client has to send a complete opening request.
REQUEST_TIMEOUT = 10.0

SERVER_NAME = "wscodec-echo/%s" % wscodec.__version__
DEMO_PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "index.html")

_HTTP_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
}

# Connection states.
_HTTP, _OPEN, _CLOSED = range(3)


def _truncate_reason(reason):
    """A close reason that fits a control frame: at most 123 UTF-8 bytes (RFC 6455 §5.5)."""
    return reason.encode("utf-8")[:123].decode("utf-8", "ignore")


class CloseFinder:
    """Finds where the peer's Close frame ends in the incoming byte stream.

    RFC 6455 §1.4: after receiving a Close frame an endpoint discards any further data.
    ``MessageDecoder`` instead refuses bytes that follow a Close within the same ``feed()``
    (1002), losing the Close itself; so the server cuts each chunk just after the Close and
    feeds the decoder only that much.  This reads frame headers (§5.2) and skips payloads,
    nothing more: the decoder still checks every frame.
    """

    __slots__ = ("_skip", "_close", "_head")

    def __init__(self):
        self._skip = 0  # payload bytes of the current frame not yet seen
        self._close = False  # the current frame is a Close
        self._head = b""  # a header split across chunks

    def find(self, data):
        """The offset in ``data`` just past the end of a Close frame, or -1."""
        n = len(data)
        pos = 0
        while True:
            if self._skip:
                step = min(self._skip, n - pos)
                pos += step
                self._skip -= step
                if self._skip:
                    return -1
                if self._close:
                    return pos
            if pos >= n:
                return -1
            head = self._head + bytes(data[pos : pos + 14])
            size = 2
            if len(head) >= 2:
                length = head[1] & 0x7F
                size += (4 if head[1] & 0x80 else 0) + (2 if length == 126 else 8 if length == 127 else 0)
            if len(head) < size:
                self._head = head
                return -1
            if length == 126:
                length = int.from_bytes(head[2:4], "big")
            elif length == 127:
                length = int.from_bytes(head[2:10], "big")
            pos += size - len(self._head)
            self._head = b""
            self._close = head[0] & 0x0F == 0x8
            self._skip = length
            if self._close and not length:
                return pos


class EchoProtocol(asyncio.Protocol):
    """One connection: an HTTP request head, then (after an upgrade) WebSocket frames."""

    def __init__(self, server):
        self._server = server
        self._transport = None
        self._state = _HTTP
        self._head = bytearray()
        self._decoder = None
        self._encoder = None
        self._close_finder = CloseFinder()
        self._timeout = None

    # -- asyncio callbacks ---------------------------------------------------------------

    def connection_made(self, transport):
        self._transport = transport
        self._server.connections.add(self)
        self._timeout = asyncio.get_running_loop().call_later(REQUEST_TIMEOUT, self._request_timed_out)

    def connection_lost(self, exc):
        self._state = _CLOSED
        self._server.connections.discard(self)
        if self._timeout is not None:
            self._timeout.cancel()

    def data_received(self, data):
        if self._state == _OPEN:
            self._websocket_data(data)
        elif self._state == _HTTP:
            self._http_data(data)
        # _CLOSED: the connection is closing; anything more from the peer is ignored.

    # Flow control: while the peer does not read its echoes, stop reading its messages, so
    # the write buffer stays bounded by one message rather than growing without limit.
    def pause_writing(self):
        self._transport.pause_reading()

    def resume_writing(self):
        if not self._transport.is_closing():
            self._transport.resume_reading()

    # -- HTTP: the opening handshake (RFC 6455 §4.2) or the demo page ---------------------

    def _request_timed_out(self):
        if self._state == _HTTP:
            self._state = _CLOSED
            self._transport.abort()

    def _http_data(self, data):
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_REQUEST_HEAD:
                self._http_error(431, "request head too large")
            return
        if end > MAX_REQUEST_HEAD:
            self._http_error(431, "request head too large")
            return
        head = bytes(self._head[:end]).decode("latin-1")
        rest = bytes(self._head[end + 4 :])
        self._head = None
        self._timeout.cancel()
        self._timeout = None
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._http_error(400, "malformed request line")
            return
        method, target, version = parts
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            # RFC 9112 §5: a field line is name ":" OWS value OWS; no whitespace before the
            # colon, and obsolete line folding is refused.
            if not sep or not name or name != name.strip() or line[0] in " \t":
                self._http_error(400, "malformed header line")
                return
            headers.append((name, value.strip(" \t")))
        if any(name.lower() in ("upgrade", "sec-websocket-key") for name, _ in headers):
            self._upgrade(method, version, headers, rest)
        else:
            self._serve_page(method, target)

    def _upgrade(self, method, version, headers, rest):
        try:
            request = validate_request(headers, method=method, http_version=version)
        except HandshakeError as exc:
            self._http_error(exc.status, exc.reason, exc.headers)
            return
        # RFC 7692 §5: accept the first permessage-deflate offer we can honour (PerMessageDeflate()
        # takes any offer as made), or none if the client made no acceptable offer.
        agreement = PerMessageDeflate().negotiate(request.extensions)
        self._transport.write(
            build_response(request.key, extensions=agreement, headers=[("Server", SERVER_NAME)])
        )
        self._decoder = MessageDecoder(
            client=False, max_message_size=self._server.max_message_size, deflate=agreement
        )
        self._encoder = MessageEncoder(client=False, deflate=agreement)
        self._state = _OPEN
        if rest:
            # Frames that arrived in the same segment as the request head.
            self._websocket_data(rest)

    def _serve_page(self, method, target):
        path = target.partition("?")[0]
        if method not in ("GET", "HEAD"):
            self._http_error(405, "only GET is served here", [("Allow", "GET, HEAD")])
        elif path not in ("/", "/index.html"):
            self._http_error(404, "not found: try / or a WebSocket connection")
        else:
            body = self._server.page
            self._http_reply(200, [("Content-Type", "text/html; charset=utf-8")], body, method == "HEAD")

    def _http_error(self, status, reason, headers=()):
        body = (reason + "\n").encode("utf-8")
        self._http_reply(status, [("Content-Type", "text/plain; charset=utf-8")] + list(headers), body)

    def _http_reply(self, status, headers, body, head_only=False):
        lines = ["HTTP/1.1 %d %s" % (status, _HTTP_REASONS.get(status, "Error"))]
        lines += ["%s: %s" % pair for pair in headers]
        lines += ["Content-Length: %d" % len(body), "Server: " + SERVER_NAME, "Connection: close"]
        out = [("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")]
        if not head_only:
            out.append(body)
        self._transport.writelines(out)
        self._state = _CLOSED
        self._transport.close()

    # -- WebSocket --------------------------------------------------------------------

    def _websocket_data(self, data):
        end = self._close_finder.find(data)
        if end >= 0:
            data = memoryview(data)[:end]
        try:
            events = self._decoder.feed(data)
        except ProtocolError as exc:
            # RFC 6455 §7.1.7: fail the connection, telling the peer why with the close code
            # that fits the violation (§7.4.1); the server then closes TCP at once (§7.1.1).
            self._fail(exc.close_code, str(exc))
            return
        out = []
        encoder = self._encoder
        closing = False
        for event in events:
            kind = type(event)
            if kind is TextMessage:
                out.append(encoder.text(event.data))
            elif kind is BinaryMessage:
                out.append(encoder.binary(event.data))
            elif kind is Ping:
                # §5.5.2: answer a ping with a pong carrying the same application data.
                out.append(encoder.pong(event.data))
            elif kind is Close:
                # §5.5.1: answer a close with a close, echoing the status code (and here the
                # reason as well); an empty close is answered with an empty close.  §7.1.1:
                # after the closing handshake the server closes the TCP connection first.
                out.append(self._close_frame(event.code, event.reason))
                closing = True
                break
            # A Pong needs no answer (§5.5.3: an unsolicited pong is allowed and ignored).
        if out:
            # The encoder's bytes go to the transport as they are: writelines() sends the
            # whole batch of echoes without joining them into one more buffer.
            self._transport.writelines(out)
        if closing:
            self._state = _CLOSED
            self._transport.close()

    def _close_frame(self, code, reason=""):
        if code is None:
            # An empty close payload is answered with an empty one (§5.5.1, §7.1.5: 1005
            # means no code was sent and must never be put on the wire, §7.4.1).
            return self._encoder.close(None)
        return self._encoder.close(code, reason)

    def _fail(self, code, reason):
        if self._state != _OPEN:
            return
        self._state = _CLOSED
        self._transport.write(self._encoder.close(code, _truncate_reason(reason)))
        self._transport.close()

    def going_away(self):
        """Server shutdown: close with 1001 (§7.4.1) and drop the connection."""
        if self._state == _OPEN:
            self._fail(1001, "server shutting down")
        elif self._state == _HTTP:
            self._state = _CLOSED
            self._transport.close()


class EchoServer:
    def __init__(self, max_message_size=DEFAULT_MAX_MESSAGE_SIZE):
        self.max_message_size = max_message_size
        self.connections = set()
        with open(DEMO_PAGE, "rb") as f:
            self.page = f.read()

    async def serve(self, host, port):
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: EchoProtocol(self), host, port)
        bound = server.sockets[0].getsockname()
        print(
            "listening on ws://%s:%d/ (wscodec %s, %s twin, deflate %s)"
            % (bound[0], bound[1], wscodec.__version__, wscodec.IMPLEMENTATION, wscodec.DEFLATE_BACKEND),
            flush=True,
        )
        stop = loop.create_future()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
            except (NotImplementedError, RuntimeError):  # not on this platform / thread
                pass
        try:
            await stop
        finally:
            server.close()
            for conn in list(self.connections):
                conn.going_away()
            if self.connections:
                await asyncio.sleep(0.1)  # let the transports flush their close frames
            await server.wait_closed()


def main(argv=None):
    parser = argparse.ArgumentParser(description="wscodec WebSocket echo server")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=DEFAULT_MAX_MESSAGE_SIZE,
        help="largest message accepted, in bytes after decompression (default 16 MiB)",
    )
    args = parser.parse_args(argv)
    if args.max_message_size <= 0:
        parser.error("--max-message-size must be positive")
    asyncio.run(EchoServer(args.max_message_size).serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
