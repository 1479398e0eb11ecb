# The hot path of wscodec's uvicorn protocol, compiled.  Its pure twin,
# wscodec/integrations/_uvicorn_py.py, is the readable reference: the same classes, methods,
# results and exceptions.  ``Connection`` is the base of
# wscodec.integrations.uvicorn.WSCodecProtocol; it does the per-message work (bytes in ->
# websocket.receive events, websocket.send events -> bytes out) and hands everything else
# to the subclass's ``_slow_*`` methods.
#
# What makes it faster than the pure twin: the compiled message decoder and encoder, the
# Close scanner walking frame headers in C, the ASGI receive queue as a deque with one
# future instead of asyncio.Queue, and the checks of a websocket.send on C flags.

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint64_t

from collections import deque

from wscodec._errors import ProtocolError
from wscodec._events import BinaryMessage, TextMessage
from wscodec._messages_c import MessageDecoder, MessageEncoder

__all__ = ["Connection", "CloseScanner", "make_decoder", "make_encoder", "FLUSH_AT"]

# Frames the app sends are collected and written together at the end of the event loop
# iteration (one send() system call for a burst of small messages), or at once when this
# many bytes are waiting: then the transport sees them and its flow control
# (pause_writing) applies before the app can queue more.
cdef enum:
    _FLUSH_AT = 64 * 1024
FLUSH_AT = _FLUSH_AT

cdef object _TextMessage = TextMessage
cdef object _BinaryMessage = BinaryMessage
cdef object _ProtocolError = ProtocolError
cdef object _deque = deque


def make_decoder(max_size, deflate):
    """The server's message decoder: masked frames in, messages up to ``max_size`` bytes."""
    return MessageDecoder(max_message_size=max_size, deflate=deflate)


def make_encoder(deflate):
    """The server's message encoder: unmasked frames out."""
    return MessageEncoder(deflate=deflate)


@cython.final
cdef class CloseScanner:
    """Finds where the peer's Close frame ends in the incoming byte stream.

    RFC 6455 §5.5.1: after a Close frame the peer sends no more data, and an endpoint that
    received one discards whatever follows (§1.4).  ``MessageDecoder`` refuses bytes that
    follow a Close in the same ``feed()`` (1002) and then returns none of that chunk's
    events, so the connection cuts each chunk just past the Close and feeds only that much.
    This reads frame headers (§5.2: 2 bytes, then 2 or 8 length bytes, then 4 key bytes when
    masked) and skips payloads; the decoder still checks every frame.  Work is constant per
    frame header and per chunk, whatever the lengths say.
    """

    cdef uint64_t _skip          # payload bytes of the current frame not seen yet
    cdef bint _close             # the current frame is a Close (opcode 0x8)
    cdef unsigned char _head[14] # the start of a header split across chunks
    cdef Py_ssize_t _kept        # how many bytes of it

    def scan(self, data):
        """The offset in ``data`` just past the end of a Close frame, or -1."""
        if type(data) is not bytes:
            data = bytes(data)
        return self.scan_bytes(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))

    cdef Py_ssize_t scan_bytes(self, const char *cbuf, Py_ssize_t n) noexcept:
        cdef const unsigned char *buf = <const unsigned char *>cbuf
        cdef Py_ssize_t pos = 0, size, have, i, kept
        cdef uint64_t length
        cdef unsigned char h[14]
        # hot: begin uvicorn close scan
        while True:
            if self._skip:
                if self._skip > <uint64_t>(n - pos):
                    self._skip -= <uint64_t>(n - pos)
                    return -1
                pos += <Py_ssize_t>self._skip
                self._skip = 0
                if self._close:
                    return pos
            if pos >= n:
                return -1
            kept = self._kept
            have = kept
            for i in range(kept):
                h[i] = self._head[i]
            while have < 14 and pos + have - kept < n:
                h[have] = buf[pos + have - kept]
                have += 1
            size = 2
            length = 0
            if have >= 2:
                length = h[1] & 0x7F
                size += (4 if h[1] & 0x80 else 0) + (2 if length == 126 else (8 if length == 127 else 0))
            if have < size:
                for i in range(have):
                    self._head[i] = h[i]
                self._kept = have
                return -1
            if length == 126:
                length = (<uint64_t>h[2] << 8) | h[3]
            elif length == 127:
                length = 0
                for i in range(2, 10):
                    length = (length << 8) | h[i]
            pos += size - kept
            self._kept = 0
            self._close = (h[0] & 0x0F) == 0x8
            self._skip = length
            if self._close and not length:
                return pos
        # hot: end


cdef class Connection:
    """Per-connection state the hot path reads, and the hot path itself.

    The subclass sets ``decoder`` / ``encoder`` when the app accepts (and clears ``decoder``
    once no more input may be read), and ``close_sent`` / ``disconnected`` as the
    connection ends.  ``queue`` holds the ASGI events the app has not received yet.
    """

    cdef public object transport
    cdef public object decoder
    cdef public object encoder
    cdef public CloseScanner scanner
    cdef public object queue
    cdef public object waiter
    cdef public object write_waiter
    cdef public object loop
    cdef public bint read_paused
    cdef public bint write_paused
    cdef public bint handshake_complete
    cdef public bint close_sent
    cdef public bint disconnected
    cdef public bint denying
    cdef public list outbox
    cdef public Py_ssize_t outbox_size
    cdef public bint flush_scheduled

    def __init__(self):
        self.transport = None
        self.decoder = None
        self.encoder = None
        self.scanner = CloseScanner()
        self.queue = _deque()
        self.waiter = None
        self.read_paused = False
        self.write_paused = False
        self.write_waiter = None
        self.handshake_complete = False
        self.close_sent = False
        self.disconnected = False
        self.denying = False
        self.outbox = []
        self.outbox_size = 0
        self.flush_scheduled = False

    # -- bytes in ----------------------------------------------------------------------

    def data_received(self, data):
        cdef object decoder = self.decoder
        cdef Py_ssize_t end
        cdef list events
        cdef bint queued = False
        if decoder is None:
            self._slow_data_received(data)
            return
        if type(data) is not bytes:
            data = bytes(data)
        end = self.scanner.scan_bytes(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        if end >= 0:
            # Nothing after the peer's Close is read (RFC 6455 §1.4).
            self.decoder = None
            data = data[:end]
        try:
            events = decoder.feed(data)
        except _ProtocolError as exc:
            self.decoder = None
            self._slow_protocol_error(exc)
            return
        queue = self.queue
        for event in events:
            kind = type(event)
            if kind is _TextMessage:
                if not self.close_sent:
                    queue.append({"type": "websocket.receive", "text": (<object>event).data})
                    queued = True
            elif kind is _BinaryMessage:
                if not self.close_sent:
                    queue.append({"type": "websocket.receive", "bytes": (<object>event).data})
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
            if self.outbox_size >= _FLUSH_AT:
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
        cdef list outbox = self.outbox
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
