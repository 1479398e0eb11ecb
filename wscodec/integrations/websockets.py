"""websockets: masking, frame parsing and frame serializing.

* ``websockets.frames`` binds ``apply_mask(data, mask)`` at import (its C speedup or the
  pure fallback); wscodec's ``apply_mask`` has the same contract.
  ``websockets.legacy.framing`` binds its own copy: it is patched when ``websockets.legacy``
  was imported before ``install()`` (importing it here would trigger its deprecation warning
  for applications that never use it).
* ``Frame.parse`` is a generator-based classmethod that ``Protocol`` drives with its
  ``StreamReader.read_exact``; it reads the header field by field, copies the payload out of
  the reader's buffer, then masks it into a second copy.  wscodec's ``parse`` is a generator
  with the same signature, exceptions (``ProtocolError("invalid opcode")``,
  ``ProtocolError("incorrect masking")``, ``PayloadTooBig``, ``EOFError``) and results; it
  waits until the whole frame is buffered and unmasks it out of the buffer in one pass.
  A ``read_exact`` that is not a ``StreamReader``'s goes to websockets' own ``parse``.
* ``Frame.serialize`` builds the frame through ``io.BytesIO``; wscodec's writes header, key
  (``secrets.token_bytes(4)``, as websockets does) and masked payload into one ``bytes``.

A frame over ``max_size`` is handed to websockets' own ``parse`` (its bytes are still
buffered), so the ``PayloadTooBig`` raised, and the close reason websockets makes of it, are
websockets' own on every version (their arguments changed in 14.0).

wscodec's pure-Python twin is not installed over websockets' compiled ``speedups`` (its
``apply_mask`` is 20-130x faster); without them, the pure twin's parse was measured up to
1.25x slower than websockets' own on frames of 125 bytes and less, so it is not installed
then either (websockets is left alone, as on PyPy).
"""

import secrets
import sys

from .. import _select, apply_mask

__all__ = ["patches", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "websockets"
#: The pure twin was not faster than websockets' own pure Python (see above).
PURE_TWIN_FASTER = False

_impl = None
_cache = {}


def _build():
    """Make the replacements once (``patches()`` must name the same objects every time)."""
    if _cache:
        return _cache
    global _impl
    _impl = _select.load("websockets", __package__)

    import websockets.frames as frames
    import websockets.streams as streams
    from websockets.exceptions import ProtocolError

    Opcode = frames.Opcode
    opcodes = tuple(Opcode(v) if v in Opcode._value2member_map_ else None for v in range(16))
    original_parse = frames.Frame.__dict__["parse"].__func__
    read_exact_func = streams.StreamReader.read_exact
    reader_type = streams.StreamReader
    take_payload = _impl.take_payload
    build_frame = _impl.build_frame

    def parse(cls, read_exact, *, mask, max_size=None, extensions=None):
        """Parse a WebSocket frame (a generator-based coroutine, like websockets' own)."""
        reader = getattr(read_exact, "__self__", None)
        if type(reader) is not reader_type or read_exact.__func__ is not read_exact_func:
            return (
                yield from original_parse(
                    cls, read_exact, mask=mask, max_size=max_size, extensions=extensions
                )
            )
        buf = reader.buffer
        while len(buf) < 2:
            if reader.eof:
                raise EOFError("stream ends after %d bytes, expected 2 bytes" % len(buf))
            yield
            buf = reader.buffer
        head1 = buf[0]
        head2 = buf[1]
        # RFC 6455 §5.2: opcodes 3-7 and 11-15 are reserved.
        opcode = opcodes[head1 & 0x0F]
        if opcode is None:
            raise ProtocolError("invalid opcode")
        # §5.1: a server reads masked frames only, a client unmasked ones only.
        if (True if head2 & 0x80 else False) != mask:
            raise ProtocolError("incorrect masking")
        length = head2 & 0x7F
        header = 2 if length < 126 else (4 if length == 126 else 10)
        while len(buf) < header:
            if reader.eof:
                raise EOFError(
                    "stream ends after %d bytes, expected %d bytes" % (len(buf) - 2, header - 2)
                )
            yield
            buf = reader.buffer
        if length == 126:
            length = int.from_bytes(buf[2:4], "big")
        elif length == 127:
            length = int.from_bytes(buf[2:10], "big")
        # Refuse an oversized frame from its declared length, before buffering it.  Nothing
        # was consumed yet: websockets' own parse re-reads the header from the buffer and
        # raises its own PayloadTooBig (whose arguments depend on its version).
        if max_size is not None and length > max_size:
            return (
                yield from original_parse(
                    cls, read_exact, mask=mask, max_size=max_size, extensions=extensions
                )
            )
        total = header + (4 if mask else 0) + length
        while len(buf) < total:
            if reader.eof:
                # Say what websockets' field-by-field reads would: the key, then the payload.
                left = len(buf) - header
                if mask and left < 4:
                    raise EOFError("stream ends after %d bytes, expected 4 bytes" % left)
                if mask:
                    left -= 4
                raise EOFError("stream ends after %d bytes, expected %d bytes" % (left, length))
            yield
            buf = reader.buffer
        data = take_payload(buf, header, length, mask)
        frame = cls(
            opcode,
            data,
            True if head1 & 0x80 else False,
            True if head1 & 0x40 else False,
            True if head1 & 0x20 else False,
            True if head1 & 0x10 else False,
        )
        if extensions:
            for extension in reversed(extensions):
                frame = extension.decode(frame, max_size=max_size)
        frame.check()
        return frame

    def serialize(self, *, mask, extensions=None):
        """Serialize a WebSocket frame (websockets' ``Frame.serialize`` contract)."""
        self.check()
        if extensions:
            for extension in extensions:
                self = extension.encode(self)
        head1 = (
            (0x80 if self.fin else 0)
            | (0x40 if self.rsv1 else 0)
            | (0x20 if self.rsv2 else 0)
            | (0x10 if self.rsv3 else 0)
            | self.opcode
        )
        # RFC 6455 §10.3: a fresh, unpredictable key per frame.
        return build_frame(head1, self.data, secrets.token_bytes(4) if mask else None)

    parse.__qualname__ = "Frame.parse"
    serialize.__qualname__ = "Frame.serialize"
    _cache["parse"] = classmethod(parse)
    _cache["serialize"] = serialize
    return _cache


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    _build()
    both = (_select.IMPLEMENTATIONS["mask"], _select.IMPLEMENTATIONS["websockets"])
    return "c" if both == ("c", "c") else "python"


def speedups():
    """websockets' compiled code that ``patches()`` would replace (its ``speedups`` C module)."""
    import websockets.frames
    import websockets.utils

    if getattr(websockets.frames, "apply_mask", None) is websockets.utils.apply_mask:
        return []
    return ["websockets.speedups.apply_mask"]


def patches():
    import websockets.frames

    replacements = _build()
    triples = [
        (websockets.frames, "apply_mask", apply_mask),
        (websockets.frames.Frame, "parse", replacements["parse"]),
        (websockets.frames.Frame, "serialize", replacements["serialize"]),
    ]
    legacy = sys.modules.get("websockets.legacy.framing")
    if legacy is not None:
        triples.append((legacy, "apply_mask", apply_mask))
    return triples
