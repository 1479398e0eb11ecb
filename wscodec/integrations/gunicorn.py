"""gunicorn: its ASGI worker's WebSocket frame layer.

gunicorn's own ASGI worker (``gunicorn.asgi``, ``--worker-class asgi``) serves WebSockets with
``gunicorn.asgi.websocket.WebSocketProtocol``.  Its ``_read_frame`` awaits ``_read_exact``
three or four times per frame, each copying its bytes out of the receive buffer, and its
``_unmask`` XORs the payload one byte at a time in a generator (some 60 ns a byte: 4 ms for a
64 KiB frame); ``_send_frame`` copies the payload twice to build a frame.

wscodec replaces four methods of that class:

* ``_read_frame``: parses every frame that is complete in the receive buffer without
  awaiting, copies and unmasks the payload out of the buffer in one pass (wscodec's masking
  kernel), and waits for more data exactly as gunicorn's ``_read_exact`` does (same
  ``_wanted`` read-pause threshold, same EOF answer) only when the frame is incomplete;
* ``_read_frames``: gunicorn's loop, which takes a complete frame without creating the
  ``_read_frame`` coroutine;
* ``_unmask``: wscodec's ``apply_mask``;
* ``_send_frame``: wscodec's ``encode_frame`` (one copy of the payload).

Everything gunicorn's users and applications see is gunicorn's: the ASGI events, the checks
and their order (RSV bits, reserved opcodes, unmasked frames, length encoding, interleaved
or stray continuations, control frames, ``max_message_size`` checked on the declared length
before the payload is read), the close codes and reasons sent for each, the close handshake,
ping answers, the receive-queue and read-pause back-pressure.  Text messages are decoded
once the message is complete, with ``bytes.decode("utf-8")`` as gunicorn does: the decode
that builds the ``str`` the application receives is itself the strict UTF-8 check (a
separate validator pass first would only add work), and gunicorn fails an invalid message
with 1007 only after its last fragment, which a fail-fast validator would change.

gunicorn's WebSocket code is pure Python; wscodec's pure twins are far faster than its byte
loop too, so they are installed where the compiled ones are not built.
"""

from .. import _select
from .. import apply_mask as _apply_mask
from .. import encode_frame as _encode_frame

__all__ = ["patches", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "gunicorn"
#: wscodec's pure twin replaces gunicorn's per-byte generator (measured faster).
PURE_TWIN_FASTER = True

# Below this many payload bytes, slicing the buffer (a copy) costs less than a memoryview.
_VIEW_THRESHOLD = 512


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    both = (_select.IMPLEMENTATIONS["mask"], _select.IMPLEMENTATIONS["frames"])
    return "c" if both == ("c", "c") else "python"


def speedups():
    """gunicorn's WebSocket code is pure Python: nothing compiled to keep."""
    return []


class _Fail(Exception):
    """A frame gunicorn fails the connection for: the close code and reason it sends."""

    def __init__(self, code, reason):
        Exception.__init__(self, code, reason)
        self.code = code
        self.reason = reason


# The instance attributes the replacements read and write, all set by gunicorn's __init__.
_STATE = (
    "transport", "log", "closed", "close_code", "_close_sent", "_close_received", "_fragments",
    "_fragment_opcode", "_fragments_size", "max_message_size", "_reading_paused", "_wanted",
    "_buffer", "_data_event", "_eof", "_receive_queue",
)
# The methods and module constants they call or read.
_METHODS = ("_send_close", "_handle_close", "_handle_continuation", "_put_message",
            "_resume_reading", "_read_exact", "feed_data")
_CONSTANTS = ("OPCODE_CONTINUATION", "OPCODE_TEXT", "OPCODE_BINARY", "OPCODE_CLOSE",
              "OPCODE_PING", "OPCODE_PONG", "CLOSE_PROTOCOL_ERROR", "CLOSE_INVALID_DATA",
              "CLOSE_MESSAGE_TOO_BIG", "CLOSE_ABNORMAL", "MAX_CONTROL_PAYLOAD",
              "KNOWN_OPCODES", "READ_BUFFER_HIGH_WATER")


def _build(ws):
    """The four replacement methods, bound to gunicorn's module ``ws`` (its constants)."""
    import asyncio

    cls = ws.WebSocketProtocol
    missing = [n for n in _METHODS if not callable(getattr(cls, n, None))]
    missing += ["gunicorn.asgi.websocket." + n for n in _CONSTANTS if not hasattr(ws, n)]
    if missing:
        raise AttributeError("gunicorn.asgi.websocket.WebSocketProtocol has no %s"
                             % ", ".join(missing))
    # A probe instance: the state the replacements rely on is what gunicorn's __init__ sets.
    probe = cls(None, {}, None, None)
    missing = [n for n in _STATE if not hasattr(probe, n)]
    if missing:
        raise AttributeError("gunicorn's WebSocketProtocol instances have no %s"
                             % ", ".join(missing))
    if type(probe._buffer) is not bytearray:
        raise TypeError("gunicorn's WebSocketProtocol._buffer is %s, not bytearray"
                        % type(probe._buffer).__name__)

    CONTINUATION = ws.OPCODE_CONTINUATION
    TEXT = ws.OPCODE_TEXT
    BINARY = ws.OPCODE_BINARY
    CLOSE = ws.OPCODE_CLOSE
    PING = ws.OPCODE_PING
    PONG = ws.OPCODE_PONG
    PROTOCOL_ERROR = ws.CLOSE_PROTOCOL_ERROR
    INVALID_DATA = ws.CLOSE_INVALID_DATA
    TOO_BIG = ws.CLOSE_MESSAGE_TOO_BIG
    ABNORMAL = ws.CLOSE_ABNORMAL
    MAX_CONTROL = ws.MAX_CONTROL_PAYLOAD
    KNOWN = ws.KNOWN_OPCODES
    HIGH_WATER = ws.READ_BUFFER_HIGH_WATER
    original_unmask = cls._unmask
    original_send_frame = cls._send_frame

    def parse(self):
        """The next frame if it is complete in the buffer (consumed), else None (nothing
        consumed, ``self._wanted`` set to the bytes it needs); ``_Fail`` for a frame
        gunicorn refuses, with the bytes gunicorn would have read consumed.

        The checks are gunicorn's, in gunicorn's order (``_read_frame``): each one runs as
        soon as the bytes it reads are in, as gunicorn's run after each ``_read_exact``.
        """
        buf = self._buffer
        size = len(buf)
        if size < 2:
            self._wanted = 2
            return None
        b0 = buf[0]
        b1 = buf[1]
        if b0 & 0x70:
            del buf[:2]
            raise _Fail(PROTOCOL_ERROR, "RSV bits set")
        opcode = b0 & 0x0F
        if opcode not in KNOWN:
            del buf[:2]
            raise _Fail(PROTOCOL_ERROR, "Reserved opcode")
        if not b1 & 0x80:
            del buf[:2]
            raise _Fail(PROTOCOL_ERROR, "Frame not masked")
        length = b1 & 0x7F
        start = 2
        if length == 126:
            if size < 4:
                self._wanted = 4
                return None
            length = (buf[2] << 8) | buf[3]
            start = 4
            if length < 126:
                del buf[:4]
                raise _Fail(PROTOCOL_ERROR, "Non-minimal length")
        elif length == 127:
            if size < 10:
                self._wanted = 10
                return None
            length = int.from_bytes(buf[2:10], "big")
            start = 10
            if length < 65536 or length >> 63:
                del buf[:10]
                raise _Fail(PROTOCOL_ERROR, "Invalid length")
        fin = b0 & 0x80
        if (opcode == TEXT or opcode == BINARY) and self._fragment_opcode is not None:
            del buf[:start]
            raise _Fail(PROTOCOL_ERROR, "Expected continuation")
        if opcode >= 0x8 and (not fin or length > MAX_CONTROL):
            del buf[:start]
            raise _Fail(PROTOCOL_ERROR, "Invalid control frame")
        if opcode < 0x8 and self.max_message_size:
            total = length + (self._fragments_size if opcode == CONTINUATION else 0)
            if total > self.max_message_size:
                del buf[:start]
                raise _Fail(TOO_BIG, "Message too big")
        end = start + 4 + length
        if size < end:
            self._wanted = end
            return None
        if length == 0:
            payload = b""
        elif length < _VIEW_THRESHOLD:
            payload = _apply_mask(buf[start + 4:end], buf[start:start + 4])
        else:
            key = buf[start:start + 4]
            with memoryview(buf) as whole:
                with whole[start + 4:end] as view:
                    payload = _apply_mask(view, key)
        del buf[:end]
        self._wanted = 0
        if self._reading_paused and len(buf) <= HIGH_WATER:
            self._resume_reading()
        if opcode == CONTINUATION:
            if self._fragment_opcode is None:
                raise _Fail(PROTOCOL_ERROR, "Unexpected continuation")
            self._fragments.append(payload)
            self._fragments_size += length
            if fin:
                full = b"".join(self._fragments)
                final = self._fragment_opcode
                self._fragments = []
                self._fragments_size = 0
                self._fragment_opcode = None
                return (final, full)
            return (CONTINUATION, b"")
        if (opcode == TEXT or opcode == BINARY) and not fin:
            self._fragment_opcode = opcode
            self._fragments = [payload]
            self._fragments_size = length
            return (CONTINUATION, b"")
        return (opcode, payload)

    async def wait(self):
        """gunicorn's ``_read_exact`` wait for ``self._wanted`` bytes, without the copy:
        False at EOF with fewer bytes in."""
        buf = self._buffer
        wanted = self._wanted
        while len(buf) < wanted:
            if self._eof:
                return False
            # The reader needs these bytes: never wait with reading paused.
            self._resume_reading()
            self._data_event.clear()
            if len(buf) >= wanted:
                break
            await self._data_event.wait()
            if self._eof and len(buf) < wanted:
                return False
        return True

    async def _read_frame(self):
        """Read a single WebSocket frame: ``(opcode, payload)``, or None once the
        connection is closed or failed (gunicorn's contract)."""
        while True:
            try:
                frame = parse(self)
            except _Fail as fail:
                self._wanted = 0
                await self._send_close(fail.code, fail.reason)
                return None
            if frame is not None:
                return frame
            if not await wait(self):
                return None

    async def _read_frames(self):
        """Read and process incoming WebSocket frames (gunicorn's loop)."""
        try:
            while not self.closed or (self._close_sent and not self._close_received):
                try:
                    frame = parse(self)
                except _Fail as fail:
                    self._wanted = 0
                    await self._send_close(fail.code, fail.reason)
                    break
                if frame is None:
                    frame = await self._read_frame()
                    if frame is None:
                        break

                opcode, payload = frame

                if opcode == CLOSE:
                    await self._handle_close(payload)
                    break

                if opcode == TEXT:
                    try:
                        text = payload.decode("utf-8")
                    except UnicodeDecodeError:
                        # RFC 6455 section 8.1: invalid UTF-8 fails the connection (1007).
                        await self._send_close(INVALID_DATA, "Invalid UTF-8")
                        break
                    await self._put_message({"type": "websocket.receive", "text": text})
                elif opcode == BINARY:
                    await self._put_message({"type": "websocket.receive", "bytes": payload})
                elif opcode == PING:
                    await self._send_frame(PONG, payload)
                elif opcode == CONTINUATION:
                    await self._handle_continuation(payload)
                # PONG: ignored.

        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.log.debug("WebSocket read error: %s", e)
        finally:
            self.closed = True
            await self._receive_queue.put({
                "type": "websocket.disconnect",
                "code": self.close_code or ABNORMAL,
            })

    def _unmask(self, payload, masking_key):
        """Unmask WebSocket payload data."""
        if not payload:
            return payload
        try:
            return _apply_mask(payload, masking_key)
        except (TypeError, ValueError):
            # Not a 4-byte key or not a buffer: gunicorn's loop says what it does then.
            return original_unmask(self, payload, masking_key)

    async def _send_frame(self, opcode, payload):
        """Send a WebSocket frame (unmasked: this is the server, RFC 6455 section 5.1)."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        try:
            frame = _encode_frame(opcode, payload)
        except (TypeError, ValueError):
            # A payload that is not a buffer, or a control frame gunicorn writes although
            # RFC 6455 forbids it: gunicorn's own code writes what it always wrote.
            return await original_send_frame(self, opcode, payload)
        self.transport.write(frame)

    for function in (_read_frame, _read_frames, _unmask, _send_frame):
        function.__module__ = __name__
        function.__qualname__ = "WebSocketProtocol." + function.__name__
    return {
        "_read_frame": _read_frame,
        "_read_frames": _read_frames,
        "_unmask": _unmask,
        "_send_frame": _send_frame,
    }


# gunicorn module -> its replacement methods, built once so that ``patches()`` always names
# the same objects (``verify()`` compares identities).
_built = {}


def patches():
    import gunicorn.asgi.websocket as ws

    methods = _built.get(ws)
    if methods is None:
        methods = _built[ws] = _build(ws)
    cls = ws.WebSocketProtocol
    return [(cls, name, methods[name]) for name in
            ("_read_frame", "_read_frames", "_unmask", "_send_frame")]
