"""The hot path of wscodec's uvicorn protocol, in pure Python.

The readable twin of ``wscodec.integrations._uvicorn_c``.  ``Connection`` is the base of
``wscodec.integrations.uvicorn.WSCodecProtocol``: it holds what every message touches (the
transport, the message decoder and encoder, the ASGI receive queue, the flow-control flags)
and does the per-message work: bytes in -> ``websocket.receive`` events (``data_received``,
``receive``) and ``websocket.send`` events -> bytes out (``send``).  Anything else (the
opening handshake, control frames, closing, denial responses, keepalive, errors) it hands to
the subclass's ``_slow_*`` methods, written once, in ``wscodec/integrations/uvicorn.py``.
"""

from collections import deque

from .._errors import ProtocolError
from .._events import BinaryMessage, TextMessage
from .._messages_py import MessageDecoder, MessageEncoder

__all__ = ["Connection", "CloseScanner", "make_decoder", "make_encoder", "FLUSH_AT"]

#: Frames the app sends are collected and written together at the end of the event loop
#: iteration (one send() system call for a burst of small messages), or at once when this
#: many bytes are waiting: then the transport sees them and its flow control
#: (pause_writing) applies before the app can queue more.
FLUSH_AT = 64 * 1024


def make_decoder(max_size, deflate):
    """The server's message decoder: masked frames in, messages up to ``max_size`` bytes."""
    return MessageDecoder(max_message_size=max_size, deflate=deflate)


def make_encoder(deflate):
    """The server's message encoder: unmasked frames out."""
    return MessageEncoder(deflate=deflate)


class CloseScanner:
    """Finds where the peer's Close frame ends in the incoming byte stream.

    RFC 6455 §5.5.1: after a Close frame the peer sends no more data, and an endpoint that
    received one discards whatever follows (§1.4).  ``MessageDecoder`` refuses bytes that
    follow a Close in the same ``feed()`` (1002) and then returns none of that chunk's
    events, so the connection cuts each chunk just past the Close and feeds only that much.
    This reads frame headers (§5.2: 2 bytes, then 2 or 8 length bytes, then 4 key bytes when
    masked) and skips payloads; the decoder still checks every frame.  Work is constant per
    frame header and per chunk, whatever the lengths say.
    """

    __slots__ = ("_skip", "_close", "_head")

    def __init__(self):
        self._skip = 0  # payload bytes of the current frame not seen yet
        self._close = False  # the current frame is a Close (opcode 0x8)
        self._head = b""  # the start of a header split across chunks (< 14 bytes)

    def scan(self, data):
        """The offset in ``data`` just past the end of a Close frame, or -1."""
        n = len(data)
        pos = 0
        while True:
            skip = self._skip
            if skip:
                if skip > n - pos:
                    self._skip = skip - (n - pos)
                    return -1
                pos += skip
                self._skip = 0
                if self._close:
                    return pos
            if pos >= n:
                return -1
            kept = len(self._head)
            head = self._head + bytes(data[pos : pos + 14 - kept])
            size = 2
            length = 0
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
            pos += size - kept
            self._head = b""
            self._close = (head[0] & 0x0F) == 0x8
            self._skip = length
            if self._close and not length:
                return pos


class Connection:
    """Per-connection state the hot path reads, and the hot path itself.

    The subclass sets ``decoder`` / ``encoder`` when the app accepts (and clears ``decoder``
    once no more input may be read), and ``close_sent`` / ``disconnected`` as the
    connection ends.  ``queue`` holds the ASGI events the app has not received yet.
    """

    def __init__(self):
        self.transport = None
        self.decoder = None
        self.encoder = None
        self.scanner = CloseScanner()
        self.queue = deque()
        self.waiter = None  # the future receive() waits on while the queue is empty
        self.read_paused = False
        self.write_paused = False
        self.write_waiter = None  # the future send() waits on while writing is paused
        self.handshake_complete = False
        self.close_sent = False
        self.disconnected = False
        self.denying = False  # a websocket.http.response.start was sent
        self.outbox = []  # frames sent by the app, not written to the transport yet
        self.outbox_size = 0
        self.flush_scheduled = False

    # -- bytes in ----------------------------------------------------------------------

    def data_received(self, data):
        decoder = self.decoder
        if decoder is None:
            self._slow_data_received(data)
            return
        end = self.scanner.scan(data)
        if end >= 0:
            # Nothing after the peer's Close is read (RFC 6455 §1.4).
            self.decoder = None
            data = data[:end]
        try:
            events = decoder.feed(data)
        except ProtocolError as exc:
            self.decoder = None
            self._slow_protocol_error(exc)
            return
        queue = self.queue
        queued = False
        for event in events:
            kind = type(event)
            if kind is TextMessage:
                if not self.close_sent:
                    queue.append({"type": "websocket.receive", "text": event.data})
                    queued = True
            elif kind is BinaryMessage:
                if not self.close_sent:
                    queue.append({"type": "websocket.receive", "bytes": event.data})
                    queued = True
            else:
                self._slow_control(event)
        if queued:
            waiter = self.waiter
            if waiter is not None:
                self.waiter = None
                if not waiter.done():
                    waiter.set_result(None)
            # Reads pause while the app has messages it has not received (uvicorn's
            # flow control); receive() resumes them once the queue is empty.
            if not self.read_paused and not self.close_sent:
                self.read_paused = True
                self.transport.pause_reading()

    def put(self, message):
        """Queue an ASGI event for the app (and wake a waiting ``receive()``)."""
        self.queue.append(message)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def receive(self):
        queue = self.queue
        while not queue:
            waiter = self.waiter
            if waiter is None:
                waiter = self.waiter = self.loop.create_future()
            await waiter
        message = queue.popleft()
        if self.read_paused and not queue:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    # -- bytes out ---------------------------------------------------------------------

    async def send(self, message):
        while self.write_paused:
            waiter = self.write_waiter
            if waiter is None:
                waiter = self.write_waiter = self.loop.create_future()
            await waiter
        if (
            message["type"] == "websocket.send"
            and self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and not self.denying
        ):
            data = message.get("bytes")
            if data is not None:
                frame = self.encoder.binary(data)
            else:
                text = message.get("text")
                if text is None:
                    return
                frame = self.encoder.text(text)
            self.outbox.append(frame)
            self.outbox_size += len(frame)
            if self.outbox_size >= FLUSH_AT:
                self.flush()
            elif not self.flush_scheduled:
                self.flush_scheduled = True
                self.loop.call_soon(self._scheduled_flush)
            return
        await self._slow_send(message)

    def _scheduled_flush(self):
        self.flush_scheduled = False
        self.flush()

    def flush(self):
        """Write the frames the app sent that are still collected here."""
        outbox = self.outbox
        if outbox:
            data = outbox[0] if len(outbox) == 1 else b"".join(outbox)
            outbox.clear()
            self.outbox_size = 0
            if not self.disconnected:
                self.transport.write(data)

    def write(self, data):
        """Write ``data`` to the transport, after the frames collected before it."""
        if self.outbox:
            self.flush()
        self.transport.write(data)

    def close_transport(self):
        """Close the transport once the frames collected so far are written."""
        if self.outbox:
            self.flush()
        self.transport.close()

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.write_paused = False
        waiter = self.write_waiter
        if waiter is not None:
            self.write_waiter = None
            if not waiter.done():
                waiter.set_result(None)
