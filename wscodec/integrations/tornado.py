"""tornado: masking.

tornado masks every frame a client sends and unmasks every frame a server receives with
``tornado.util._websocket_mask(mask, data)``, which ``tornado.websocket`` binds by name at
import; both bindings are replaced with wscodec's kernel (same arguments, same ``bytes``
result, ``ValueError`` for a key that is not 4 bytes).

With tornado's compiled ``tornado.speedups`` loaded, wscodec's pure-Python twin is not
installed over it (it is 5-55x slower); without it, tornado's ``_websocket_mask_python``
is a per-byte loop some 100x slower than the pure twin, which is then installed.

``WebSocketProtocol13._receive_frame`` is replaced too (below): each part of a frame is taken
from the stream's read buffer when it is already there instead of one awaited
``read_bytes`` per part, and a buffered payload is unmasked straight out of that buffer.
"""

__all__ = ["patches", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "tornado"
#: wscodec's pure twin replaces tornado's own pure Python (measured faster).
PURE_TWIN_FASTER = True


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    from .. import compat

    return compat.IMPLEMENTATION


def speedups():
    """tornado's compiled code that ``patches()`` would replace (empty without it)."""
    import tornado.util

    if tornado.util._websocket_mask is tornado.util._websocket_mask_python:
        return []
    # Anything else is tornado.speedups.websocket_mask (or a compiled stand-in).
    return ["tornado.speedups.websocket_mask"]


def patches():
    import tornado.util
    import tornado.websocket

    from ..compat import websocket_mask

    return [
        (tornado.util, "_websocket_mask", websocket_mask),
        (tornado.websocket, "_websocket_mask", websocket_mask),
        (tornado.websocket.WebSocketProtocol13, "_receive_frame", _receive_frame(websocket_mask)),
    ]


_receive_frames = {}


def _receive_frame(websocket_mask):
    """One replacement per masking function (``patches()`` returns the same object each
    time, so ``verify()`` recognises it)."""
    fn = _receive_frames.get(websocket_mask)
    if fn is None:
        fn = _receive_frames[websocket_mask] = _make_receive_frame(websocket_mask)
    return fn


# -- frame reading ----------------------------------------------------------------------
#
# tornado's ``WebSocketProtocol13._receive_frame`` awaits ``stream.read_bytes`` for each part
# of a frame (two header bytes, the extended length, the key, the payload): three or four
# reads, each a Future, a buffer search and a copy, then the payload is copied again when it
# is unmasked.  The replacement takes each part straight from the stream's read buffer when
# it is already there -- exactly what ``read_bytes`` would hand over at once (same bytes,
# same buffer accounting, the same idle-close listener check afterwards) -- unmasks the
# payload out of that buffer in one pass, and awaits ``read_bytes`` as tornado does for any
# part that has not arrived.  The frame rules, their order and their outcomes (abort, close
# 1009, the message handed to ``_handle_message``) are tornado's.


def _take(proto, n):
    """``n`` bytes from the stream's read buffer when ``read_bytes(n)`` would return them
    at once, else ``None`` (the caller awaits ``read_bytes``)."""
    stream = proto.stream
    if stream._read_future is not None or stream._user_read_buffer or stream._read_buffer_size < n:
        return None
    data = stream._consume(n)
    stream._maybe_add_error_listener()
    proto._wire_bytes_in += n
    return data


def _make_receive_frame(websocket_mask):
    async def _receive_frame(self):
        data = _take(self, 2)
        if data is None:
            data = await self._read_bytes(2)
        b0 = data[0]
        b1 = data[1]
        fin = b0 & 0x80
        rsv = b0 & 0x70
        opcode = b0 & 0x0F
        control = opcode & 0x8
        if self._decompressor is not None and opcode != 0:
            # RSV1 (permessage-deflate) is read from a message's first frame; tornado also
            # reads it from a control frame (it is then checked in _handle_message).
            self._frame_compressed = bool(rsv & 0x40)
            rsv &= ~0x40
        if rsv:
            self._abort()
            return
        masked = b1 & 0x80
        length = b1 & 0x7F
        if control and length >= 126:
            self._abort()
            return
        if length < 126:
            self._frame_length = length
        elif length == 126:
            data = _take(self, 2)
            if data is None:
                data = await self._read_bytes(2)
            length = int.from_bytes(data, "big")
        else:
            data = _take(self, 8)
            if data is None:
                data = await self._read_bytes(8)
            length = int.from_bytes(data, "big")
        total = length
        if self._fragmented_message_buffer is not None:
            total += len(self._fragmented_message_buffer)
        if total > self.params.max_message_size:
            self.close(1009, "message too big")
            self._abort()
            return

        if masked:
            key = _take(self, 4)
            if key is None:
                key = await self._read_bytes(4)
            self._frame_mask = key
            stream = self.stream
            if (stream._read_future is None and not stream._user_read_buffer
                    and stream._read_buffer_size >= length):
                # Unmasked straight out of the read buffer: one copy, not two.
                buf = stream._read_buffer
                if length == len(buf):
                    data = websocket_mask(key, buf)
                else:
                    with memoryview(buf) as m, m[:length] as view:
                        data = websocket_mask(key, view)
                stream._read_buffer_size -= length
                del buf[:length]
                stream._maybe_add_error_listener()
                self._wire_bytes_in += length
            else:
                data = websocket_mask(key, await self._read_bytes(length))
        else:
            data = _take(self, length)
            if data is None:
                data = await self._read_bytes(length)

        if control:
            # Control frames may come between fragments and never touch them (RFC 6455
            # §5.4); they are never fragmented.
            if not fin:
                self._abort()
                return
        elif opcode == 0:
            if self._fragmented_message_buffer is None:
                self._abort()
                return
            self._fragmented_message_buffer.extend(data)
            if fin:
                opcode = self._fragmented_message_opcode
                data = bytes(self._fragmented_message_buffer)
                self._fragmented_message_buffer = None
        else:
            if self._fragmented_message_buffer is not None:
                self._abort()
                return
            if not fin:
                self._fragmented_message_opcode = opcode
                self._fragmented_message_buffer = bytearray(data)

        if fin:
            handled = self._handle_message(opcode, data)
            if handled is not None:
                await handled

    _receive_frame.__qualname__ = "WebSocketProtocol13._receive_frame"
    _receive_frame.__module__ = __name__
    return _receive_frame
