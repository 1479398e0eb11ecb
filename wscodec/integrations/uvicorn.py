"""uvicorn: a WebSocket protocol class built on wscodec.

Select it the way uvicorn selects any third-party WebSocket protocol::

    uvicorn app:app --ws wscodec.integrations.uvicorn:WSCodecProtocol

    uvicorn.run(app, ws=WSCodecProtocol)            # or uvicorn.Config(ws=WSCodecProtocol)

It keeps the contract of uvicorn's own classes (``websockets-sansio``, ``wsproto``): the
constructor ``(config, server_state, app_state)``; the HTTP protocol hands over the upgrade
request through ``connection_made`` / ``data_received``; the connection is listed in
``server_state.connections`` and its ASGI task in ``server_state.tasks``; ``shutdown()``
closes with 1012 (or answers 500 before the handshake); writes wait while the transport is
paused (``pause_writing`` / ``resume_writing``) and reads pause while the app has messages it
has not received; ``ws_max_size`` bounds a message (after decompression; 1009 beyond it),
``ws_ping_interval`` / ``ws_ping_timeout`` drive keepalive pings (1011 on timeout),
``ws_per_message_deflate`` (on by default) negotiates permessage-deflate with 12-bit windows
as uvicorn's default class does (and accepts the offers it declines, with the client's
window); subprotocols and extra headers on ``websocket.accept``;
denial responses (``websocket.close`` before accepting gives 403,
``websocket.http.response.start`` / ``.body`` any response); the ASGI scope (``root_path``,
``client``, ``server``, ``scheme``, ``headers``, ``subprotocols``, ``state``); close codes and
reasons; logging on the ``uvicorn.error`` logger as uvicorn's classes log.
``ws_max_queue`` is not used, as by uvicorn's own two classes: at most one read's messages
wait in the queue, since reads pause until the app has received them.

The byte work is wscodec's: the handshake (``wscodec.handshake``), ``MessageDecoder`` /
``MessageEncoder`` and permessage-deflate; the per-message path (bytes in -> ASGI events,
ASGI send events -> bytes out) is compiled (``_uvicorn_c``, pure twin ``_uvicorn_py``).
"""

import asyncio
import email.utils
import logging
import os
import struct
from http import HTTPStatus
from urllib.parse import unquote

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)

from .. import _select
from .._events import Close, Ping, Pong
from ..handshake import HandshakeError, PerMessageDeflate, build_response, validate_request

__all__ = ["WSCodecProtocol", "implementation"]

_impl = _select.load("uvicorn", __package__)

#: The opening request the HTTP protocol hands over (request line and headers) may be at
#: most this long; uvicorn's HTTP parsers bound it already (h11: 16 KiB by default).
MAX_REQUEST_HEAD = 64 * 1024

#: What the server makes of permessage-deflate offers: 12-bit windows both ways where the
#: client lets the server limit its window (it sends client_max_window_bits, as browsers do),
#: the memory uvicorn's default class (websockets) settles for per connection; else the
#: client's 15-bit window and the server's 12 (RFC 7692 §7.1.2.2: an offer without
#: client_max_window_bits cannot be answered with it).
DEFLATE_WISHES = (
    PerMessageDeflate(server_max_window_bits=12, client_max_window_bits=12),
    PerMessageDeflate(server_max_window_bits=12),
)


def implementation() -> str:
    """``"c"`` or ``"python"``: which twin the protocol's hot path runs on."""
    return _select.IMPLEMENTATIONS["uvicorn"]


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _render_response(status, headers, body=b""):
    """An HTTP/1.1 response head and body; ``headers`` are ``(bytes, bytes)`` pairs."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _phrase(status).encode("latin-1"))]
    for name, value in headers:
        name = bytes(name)
        value = bytes(value)
        # A CR, LF or NUL would end the field early and inject headers (RFC 9110 §5.5).
        if any(c in name or c in value for c in (b"\r", b"\n", b"\0")) or b":" in name or not name:
            raise RuntimeError("invalid HTTP header %r" % ((name, value),))
        lines.append(name + b": " + value + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines) + body


def _with_defaults(headers, body):
    """``headers`` plus Date, Connection, Content-Type and (unless ``body`` is None)
    Content-Length where absent."""
    present = {bytes(name).lower() for name, _ in headers}
    out = list(headers)
    for name, value in (
        (b"date", email.utils.formatdate(usegmt=True).encode("ascii")),
        (b"connection", b"close"),
        (b"content-length", None if body is None else b"%d" % len(body)),
        (b"content-type", b"text/plain; charset=utf-8"),
    ):
        if name not in present and value is not None:
            out.append((name, value))
    return out


class _Lifecycle:
    """Everything of the protocol but the hot path: the base of ``WSCodecProtocol`` before
    the twin's ``Connection`` (whose methods the MRO finds after these)."""

    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__()  # the twin's Connection
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path = config.root_path
        self.asgi_version = config.asgi_version
        self.app_state = app_state

        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers

        self.server = None
        self.client = None
        self.scheme = None
        self.scope = None

        self.request_head = b""
        self.request = None  # wscodec.handshake.Request once the opening request is valid
        self.deflate = None  # the permessage-deflate agreement, if any
        self.initial_response = None  # (status, headers, body) of a denial being sent
        self.ended = False  # the peer closed, the connection failed or timed out: sends raise
        self.close_timer = None
        self.close_timeout = 10.0

        self.ping_interval = config.ws_ping_interval
        self.ping_timeout = config.ws_ping_timeout
        self.ping_timer = None
        self.pong_timer = None
        self.pending_ping_payload = None
        self.ping_sent_at = 0.0
        self.last_ping_rtt = 0.0

    # -- transport events --------------------------------------------------------------

    def _trace(self, message):
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%s%s", prefix, message)

    def connection_made(self, transport):
        self.connections.add(self)
        self.transport = transport
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "wss" if is_ssl(transport) else "ws"
        self._trace("WebSocket connection made")

    def connection_lost(self, exc):
        self.stop_keepalive()
        self.put({"type": "websocket.disconnect", "code": 1005 if self.handshake_complete else 1006})
        self.connections.discard(self)
        self._trace("WebSocket connection lost")
        self.handshake_complete = True
        self.disconnected = True
        self.decoder = None
        # A transport lost while paused never resumes writing: release blocked senders.
        self.resume_writing()
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        if exc is None:
            self.close_transport()

    def eof_received(self):
        return None

    def shutdown(self):
        self.stop_keepalive()
        if self.close_sent:
            # Our Close is out; stop waiting for the peer's.
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self.close_transport()
            return
        if self.handshake_complete:
            self.put({"type": "websocket.disconnect", "code": 1012})
            self.write(self.encoder.close(1012))
            self.close_sent = True
        else:
            self.send_500_response()
        self.close_transport()

    # -- the opening handshake (bytes before the app accepts) -------------------------

    def _slow_data_received(self, data):
        if self.request is not None or self.handshake_complete:
            return  # before the app answers, or after the end: nothing is read
        head = self.request_head + bytes(data)
        end = head.find(b"\r\n\r\n")
        if end < 0:
            if len(head) > MAX_REQUEST_HEAD:
                self._refuse(431, "request head too large")
            else:
                self.request_head = head
            return
        self.request_head = b""
        self._handle_request(head[:end])

    def _refuse(self, status, reason, headers=()):
        self.handshake_complete = True
        self.close_sent = True
        body = ("Failed to open a WebSocket connection: %s.\n" % reason).encode("utf-8")
        self.write(_render_response(status, _with_defaults(list(headers), body), body))
        self.close_transport()

    def _handle_request(self, head):
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            self._refuse(400, "invalid request line")
            return
        method, target, version = (p.decode("latin-1") for p in parts)
        raw_headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                self._refuse(400, "invalid header line")
                return
            raw_headers.append((name.strip().lower(), value.strip()))
        try:
            request = validate_request(
                [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw_headers],
                method=method,
                http_version=version,
            )
        except HandshakeError as exc:
            self._refuse(exc.status, exc.reason, [(n.encode("latin-1"), v.encode("latin-1")) for n, v in exc.headers])
            return
        self.request = request
        if self.config.ws_per_message_deflate and request.extensions:
            for wishes in DEFLATE_WISHES:
                self.deflate = wishes.negotiate(request.extensions)
                if self.deflate is not None:
                    break
        raw_path, _, query = target.partition("?")
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": self.root_path,
            "path": self.root_path + unquote(raw_path),
            "raw_path": self.root_path.encode("ascii") + raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": raw_headers,
            "subprotocols": list(request.subprotocols),
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        self.put({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    # -- control frames, closing, errors -------------------------------------------

    def _slow_control(self, event):
        kind = type(event)
        if kind is Ping:
            if not self.close_sent:
                # RFC 6455 §5.5.3: a Pong with the Ping's payload.
                self.write(self.encoder.pong(event.data))
        elif kind is Pong:
            self.handle_pong(event.data)
        elif kind is Close:
            self.handle_close(event)

    def handle_close(self, event):
        if self.close_sent:
            # The peer answered our Close: the closing handshake is complete (§7.1.2).
            if self.close_timer is not None:
                self.close_timer.cancel()
                self.close_timer = None
            self.close_transport()
            return
        code = 1005 if event.code is None else event.code
        self.ended = True
        self.put({"type": "websocket.disconnect", "code": code, "reason": event.reason})
        # §5.5.1: echo the status code; an empty Close is answered with an empty Close.
        self.close_sent = True
        self.stop_keepalive()
        if not self.transport.is_closing():
            self.write(self.encoder.close(event.code, event.reason if event.code is not None else ""))
            self.close_transport()

    def _slow_protocol_error(self, exc):
        # §7.1.7: fail the connection with the code the decoder reports (1002, 1007, 1009).
        self.stop_keepalive()
        already_closing = self.close_sent
        self.close_sent = True
        self.ended = True
        if not already_closing:
            reason = exc.reason if len(exc.reason.encode("utf-8")) <= 123 else ""
            self.put({"type": "websocket.disconnect", "code": exc.close_code, "reason": reason})
            if not self.transport.is_closing():
                self.write(self.encoder.close(exc.close_code, reason))
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        self.close_transport()

    # -- keepalive -------------------------------------------------------------------

    def start_keepalive(self):
        if self.ping_interval is not None and self.ping_interval > 0:
            self.schedule_ping()

    def stop_keepalive(self):
        for name in ("ping_timer", "pong_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
        self.pending_ping_payload = None

    def schedule_ping(self):
        # The interval counts from the last Pong: the measured round trip is taken off.
        self.ping_timer = self.loop.call_later(
            max(0.0, self.ping_interval - self.last_ping_rtt), self.send_keepalive_ping
        )

    def send_keepalive_ping(self):
        self.ping_timer = None
        if self.close_sent or self.transport.is_closing():
            return
        # A fresh payload per ping, so a late Pong to an older one is not taken for it.
        self.pending_ping_payload = struct.pack("!I", int.from_bytes(os.urandom(4), "big"))
        self.ping_sent_at = self.loop.time()
        self.write(self.encoder.ping(self.pending_ping_payload))
        if self.ping_timeout is not None:
            self.pong_timer = self.loop.call_later(self.ping_timeout, self.keepalive_timeout)
        else:
            self.schedule_ping()

    def handle_pong(self, payload):
        if self.pending_ping_payload is None or bytes(payload) != self.pending_ping_payload:
            return  # unsolicited, or the answer to an earlier ping
        self.last_ping_rtt = self.loop.time() - self.ping_sent_at
        self.pending_ping_payload = None
        if self.pong_timer is not None:
            self.pong_timer.cancel()
            self.pong_timer = None
            self.schedule_ping()

    def keepalive_timeout(self):
        self.pong_timer = None
        self.pending_ping_payload = None
        if self.close_sent or self.transport.is_closing():
            return
        self._trace("WebSocket keepalive ping timeout")
        reason = "keepalive ping timeout"
        self.write(self.encoder.close(1011, reason))
        self.close_sent = True
        self.ended = True
        self.decoder = None
        self.put({"type": "websocket.disconnect", "code": 1011, "reason": reason})
        self.close_transport()

    # -- the ASGI application --------------------------------------------------------

    async def run_asgi(self):
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None:
            self.close_transport()

    def send_500_response(self):
        if self.initial_response is not None or self.handshake_complete:
            return
        body = b"Internal Server Error"
        self.write(_render_response(500, _with_defaults([], body), body))

    def _log_response(self, status):
        self.logger.info(
            '%s - "WebSocket %s" %s', get_client_addr(self.scope), get_path_with_query_string(self.scope), status
        )

    async def _slow_send(self, message):
        if self.disconnected:
            raise ClientDisconnected()
        kind = message["type"]
        if not self.handshake_complete and self.initial_response is None:
            if kind == "websocket.accept":
                self._log_response("[accepted]")
                self._accept(message)
            elif kind == "websocket.close":
                self.put({"type": "websocket.disconnect", "code": 1006})
                self._log_response(403)
                self.handshake_complete = True
                self.close_sent = True
                self.write(_render_response(403, _with_defaults([], b"")))
                self.close_transport()
            elif kind == "websocket.http.response.start":
                status = message["status"]
                if not (100 <= status < 600):
                    raise RuntimeError("Invalid HTTP status code '%d' in response." % status)
                self._log_response(status)
                self.handshake_complete = True
                self.denying = True
                headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", [])]
                framed = {name.lower() for name, _ in headers} & {b"content-length", b"transfer-encoding"}
                if framed:
                    # The app frames the body itself: the head goes out now, the body as it comes.
                    self.write(_render_response(status, _with_defaults(headers, None)))
                    self.initial_response = (status, None, None)
                else:
                    # Buffered, to send it with its Content-Length once complete.
                    self.initial_response = (status, headers, [])
            else:
                raise RuntimeError(
                    "Expected ASGI message 'websocket.accept', 'websocket.close' "
                    "or 'websocket.http.response.start' but got '%s'." % kind
                )
        elif self.initial_response is not None:
            if kind != "websocket.http.response.body":
                raise RuntimeError("Expected ASGI message 'websocket.http.response.body' but got '%s'." % kind)
            if self.close_sent:
                raise RuntimeError("Unexpected ASGI message '%s', after sending 'websocket.close'." % kind)
            status, headers, chunks = self.initial_response
            body = bytes(message.get("body", b""))
            last = not message.get("more_body", False)
            if chunks is None:
                self.write(body)
            else:
                chunks.append(body)
                if last:
                    body = b"".join(chunks)
                    self.write(_render_response(status, _with_defaults(headers, body), body))
            if last:
                self.close_sent = True
                self.put({"type": "websocket.disconnect", "code": 1006})
                self.close_transport()
        elif not self.close_sent:
            if kind == "websocket.send":
                # The hot path (Connection.send) takes every websocket.send while open.
                raise AssertionError("unreachable")  # pragma: no cover
            if kind != "websocket.close":
                raise RuntimeError(
                    "Expected ASGI message 'websocket.send' or 'websocket.close', but got '%s'." % kind
                )
            if self.transport.is_closing():
                return
            code = message.get("code", 1000)
            if code is None:
                code = 1000
            reason = message.get("reason", "") or ""
            payload = self.encoder.close(code, reason)
            self.put({"type": "websocket.disconnect", "code": code, "reason": reason})
            self.write(payload)
            self.close_sent = True
            self.stop_keepalive()
            # Reads resume so that the peer's Close can arrive (§7.1.2), for at most
            # close_timeout seconds.
            if self.read_paused:
                self.read_paused = False
                self.transport.resume_reading()
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        else:
            if self.ended and kind in ("websocket.send", "websocket.close"):
                raise ClientDisconnected()
            raise RuntimeError("Unexpected ASGI message '%s', after sending 'websocket.close'." % kind)

    def _accept(self, message):
        headers = [
            (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
            for name, value in list(self.default_headers) + list(message.get("headers", []))
        ]
        subprotocol = message.get("subprotocol") or None
        response = build_response(
            self.request.key, subprotocol=subprotocol, extensions=self.deflate, headers=headers
        )
        if self.transport.is_closing():
            return
        self.encoder = self._twin.make_encoder(self.deflate)
        self.decoder = self._twin.make_decoder(self.config.ws_max_size, self.deflate)
        self.handshake_complete = True
        self.write(response)
        self.start_keepalive()


def _protocol_class(twin):
    """The protocol class on ``twin`` (``_uvicorn_c`` or ``_uvicorn_py``)."""

    class WSCodecProtocol(_Lifecycle, twin.Connection, asyncio.Protocol):
        """A uvicorn WebSocket protocol on wscodec:
        ``uvicorn app:app --ws wscodec.integrations.uvicorn:WSCodecProtocol``."""

    WSCodecProtocol.__module__ = __name__
    WSCodecProtocol.__qualname__ = "WSCodecProtocol"
    WSCodecProtocol._twin = twin
    return WSCodecProtocol


WSCodecProtocol = _protocol_class(_impl)
