"""Messages (RFC 6455 §5.4-§5.6) and permessage-deflate (RFC 7692), pure-Python twin of ``_messages_c``.

:class:`MessageDecoder` turns bytes into events: it runs a ``FrameDecoder``, reassembles
fragmented messages, inflates compressed ones, validates text as it arrives and checks Close
payloads.  :class:`MessageEncoder` does the reverse.  Both are sans-IO.

The compiled twin must behave identically: the same events, the same exception classes with
the same close codes, raised at the same point of the input.
"""

import sys
from _thread import allocate_lock as _allocate_lock

from . import _deflate
from ._constants import DEFAULT_MAX_MESSAGE_SIZE
from ._deflate_params import PerMessageDeflate
from ._errors import BUSY_MESSAGE, InvalidPayload, PayloadTooBig, ProtocolError
from ._events import BinaryMessage, Close, Ping, Pong, TextMessage, build_close_payload, parse_close_payload
from ._frames_py import FrameDecoder, encode_frame
from ._utf8_py import Utf8Validator

__all__ = [
    "MessageDecoder",
    "MessageEncoder",
    "PerMessageDeflate",
    "TextMessage",
    "BinaryMessage",
    "Ping",
    "Pong",
    "Close",
]

_CONT, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

#: RFC 7692 §7.2.1: a sender removes these four bytes from the end of each compressed
#: message; §7.2.2: the receiver appends them again before inflating.
DEFLATE_TAIL = b"\x00\x00\xff\xff"

#: Inflated output is produced at most this many bytes per zlib call (and never more than
#: the message may still hold, plus one), so a small compressed payload ("zip bomb") never
#: makes zlib allocate beyond max_message_size.
INFLATE_CHUNK = 1024 * 1024

#: Compressed input is handed to zlib at most this many bytes per call.  A call stopped by
#: the output bound copies the input it has not read (``unconsumed_tail``) to be handed over
#: again; a bounded slice keeps that copy small, where handing over the whole rest of a large
#: payload after every piece of output made inflating quadratic.  INFLATE_CHUNK / INFLATE_SLICE
#: = 16 bounds the input handed over again to 1/16 of the output (SECURITY.md).  Messages
#: without a limit go the same way: one unbounded call would hold up to three times the
#: message while zlib assembles its output, the bounded pieces and their join hold two.
INFLATE_SLICE = 64 * 1024

#: Room of a message without a limit.
_UNBOUNDED = sys.maxsize

_AFTER_END = "compressed data after the end of the DEFLATE stream (RFC 7692 §7.2.2)"


def frame_limit(max_message_size, deflate):
    """The ``max_frame_size`` of the inner frame decoder.

    Uncompressed, a frame cannot carry more than a message.  Compressed, incompressible
    data grows: stored blocks cost 5 bytes per block, and a block holds as little as 128
    bytes at memLevel 1; a compressor that cannot store a block (small windows) or is told to
    use fixed codes (Z_FIXED) spends up to 9 bits per byte.  The allowance is zlib's own
    general ``deflateBound`` (n + n/8 + n/128 + n/256 + n/2^26 + 7, about 13.7%; measured worst
    on random data, every level, memLevel, window and strategy: 5.5%) plus 64 bytes for the
    empty blocks of flushes, so a message of exactly the limit still fits from any peer; the
    inflated size is what ``max_message_size`` bounds.
    """
    if max_message_size is None:
        return None
    if deflate is None:
        return max_message_size
    n = max_message_size
    return n + (n >> 3) + (n >> 8) + (n >> 7) + (n >> 26) + 7 + 64


def check_decoder_args(max_message_size, deflate):
    if max_message_size is not None:
        if isinstance(max_message_size, bool) or not isinstance(max_message_size, int):
            raise TypeError("max_message_size must be an int or None, not %s" % type(max_message_size).__name__)
        if max_message_size < 0:
            raise ValueError("max_message_size must be >= 0, got %d" % max_message_size)
    check_deflate(deflate)


def check_deflate(deflate):
    if deflate is not None and type(deflate) is not PerMessageDeflate:
        raise TypeError("deflate must be a PerMessageDeflate agreement or None, not %s" % type(deflate).__name__)


def inflate_window(deflate, client):
    """Window bits for inflating what the peer sends (the peer is the other side).

    An agreed window of 8 bits is inflated with 9: zlib's raw inflater accepts 8, but some
    peers compress with 9 when 8 is agreed (zlib cannot compress with 8), and a larger
    window decodes anything a smaller one produced.
    """
    return max(deflate.window_bits(not client), 9)


def new_compressor(deflate, client, compression=_deflate.DEFAULT_COMPRESSION):
    """A raw-deflate compressor for what this side sends (RFC 7692 §7.1.2), from the deflate
    backend that honours the agreed window at ``compression`` (``_deflate.compressor_plan``:
    an 8-bit window is compressed with 9 bits and Huffman coding only, which any window
    decodes)."""
    return _deflate.new_compressor(deflate.window_bits(client), compression)


def check_encoder_args(deflate, fragment_size, compression, skip_incompressible):
    check_deflate(deflate)
    if fragment_size is not None:
        if isinstance(fragment_size, bool) or not isinstance(fragment_size, int):
            raise TypeError("fragment_size must be an int or None, not %s" % type(fragment_size).__name__)
        if fragment_size < 1:
            raise ValueError("fragment_size must be >= 1, got %d" % fragment_size)
    _deflate.check_compression(compression)
    if not isinstance(skip_incompressible, bool):
        raise TypeError("skip_incompressible must be a bool, not %s" % type(skip_incompressible).__name__)


def _nbytes(data):
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    with memoryview(data) as view:  # TypeError for a non-buffer
        return view.nbytes


class MessageDecoder:
    """Incremental message decoder: ``feed(data)`` returns the events completed by ``data``.

    ``client=False`` (a server) expects masked frames.  ``max_message_size`` (inclusive,
    ``None`` for none) bounds every message and control frame, after inflation for
    compressed messages.  ``deflate`` is the negotiated :class:`PerMessageDeflate` or
    ``None``.  Any violation raises :class:`ProtocolError` (or a subclass) carrying the close
    code; the decoder is then finished and every later ``feed()`` raises again.

    Not to be shared: a decoder holds one connection's state and is used by one thread at a
    time.  A ``feed()`` while another is under way raises ``RuntimeError`` (and leaves the
    running one and the decoder's state intact).
    """

    __slots__ = (
        "_client", "_max", "_deflate", "_frames", "_opcode", "_compressed", "_parts", "_size",
        "_utf8", "_closed", "_error", "_inflater", "_inflate_bits", "_inflate_reset", "_busy",
        "_after_end",
    )

    def __init__(self, *, client=False, max_message_size=DEFAULT_MAX_MESSAGE_SIZE, deflate=None):
        check_decoder_args(max_message_size, deflate)
        self._client = bool(client)
        self._max = max_message_size
        self._deflate = deflate
        self._frames = FrameDecoder(
            client=self._client,
            max_frame_size=frame_limit(max_message_size, deflate),
            allow_rsv1=deflate is not None,
        )
        self._opcode = 0  # opcode of the message being reassembled; 0 when none is open
        self._compressed = False
        self._parts = []
        self._size = 0  # payload bytes of the open message so far (inflated)
        self._utf8 = Utf8Validator()
        self._closed = False
        self._error = None
        self._inflater = None
        self._after_end = 0  # bytes of the open message after the end of its DEFLATE stream
        if deflate is not None:
            self._inflate_bits = inflate_window(deflate, self._client)
            self._inflate_reset = deflate.no_context_takeover(not self._client)
        # Held while feed() runs: a second feed() at the same time (a decoder shared between
        # threads) raises RuntimeError.  A lock, not a flag, because a thread switch may fall
        # between testing a flag and setting it.
        self._busy = _allocate_lock()

    @property
    def client(self):
        return self._client

    @property
    def max_message_size(self):
        return self._max

    @property
    def deflate(self):
        return self._deflate

    def feed(self, data):
        """Parse ``data`` (any bytes-like object) and return the list of events it completes."""
        busy = self._busy
        if not busy.acquire(False):
            raise RuntimeError(BUSY_MESSAGE % "MessageDecoder")
        try:
            return self._feed(data)
        finally:
            busy.release()

    def _feed(self, data):
        error = self._error
        if error is not None:
            raise type(error)(error.close_code, error.reason)
        if self._closed:
            if _nbytes(data):
                self._fail(ProtocolError(1002, "data after a Close frame (RFC 6455 §5.5.1)"))
            return []
        try:
            frames = self._frames.feed(data)
        except ProtocolError as exc:
            self._error = type(exc)(exc.close_code, exc.reason)   # without the traceback
            raise
        events = []
        try:
            for frame in frames:
                self._frame(frame, events)
            self._check_pending()
        except ProtocolError as exc:
            self._fail(exc)
        return events

    def _fail(self, exc):
        # Kept without its traceback: the frames in it hold the message's parts and the
        # feed's bytes, which a failed decoder must let go.
        self._error = type(exc)(exc.close_code, exc.reason)
        self._parts = []
        self._inflater = None
        raise exc

    def _frame(self, frame, events):
        if self._closed:
            # RFC 6455 §5.5.1: after sending/receiving Close, no more data frames; a
            # Close is the last frame of the connection.
            raise ProtocolError(1002, "frame after a Close frame (RFC 6455 §5.5.1)")
        opcode = frame.opcode
        payload = frame.payload
        limit = self._max
        if opcode >= _CLOSE:
            # Control frames may be interleaved with fragments and are delivered at once
            # (RFC 6455 §5.4); the limit covers them too.
            if limit is not None and len(payload) > limit:
                raise PayloadTooBig(1009, "control frame of %d bytes exceeds max_message_size=%d" % (len(payload), limit))
            if opcode == _PING:
                events.append(Ping(payload))
            elif opcode == _PONG:
                events.append(Pong(payload))
            else:
                events.append(parse_close_payload(payload, ProtocolError, InvalidPayload))
                self._closed = True
            return
        if opcode == _CONT:
            if not self._opcode:
                raise ProtocolError(1002, "continuation frame without a message to continue (RFC 6455 §5.4)")
        else:
            if self._opcode:
                raise ProtocolError(1002, "new data frame inside a fragmented message (RFC 6455 §5.4)")
            self._opcode = opcode
            self._compressed = frame.rsv1
            self._size = 0
        message = self._opcode
        if self._compressed:
            payload = self._inflate(payload, frame.fin)
        elif limit is not None and self._size + len(payload) > limit:
            raise PayloadTooBig(1009, "message exceeds max_message_size=%d (RFC 6455 §7.4.1)" % limit)
        self._size += len(payload)
        parts = self._parts
        if message == _TEXT and (parts or not frame.fin):
            # RFC 6455 §8.1: fail as soon as invalid UTF-8 is seen, not when the message
            # ends; a character may be split across fragments.
            if not self._utf8.validate(payload, final=frame.fin):
                raise InvalidPayload(1007, "invalid UTF-8 in a text message (RFC 6455 §8.1)")
        if not frame.fin:
            parts.append(payload)
            return
        self._opcode = 0
        if parts:
            parts.append(payload)
            payload = b"".join(parts)
            self._parts = []
        if message == _TEXT:
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidPayload(1007, "invalid UTF-8 in a text message (RFC 6455 §8.1)") from None
            events.append(TextMessage(text))
        else:
            events.append(BinaryMessage(payload))

    def _inflate(self, payload, fin):
        """Inflate one fragment of a compressed message (RFC 7692 §7.2.2), bounded by the limit.

        Input goes to the inflater in slices of at most ``INFLATE_SLICE`` bytes and output
        comes back in pieces of at most ``INFLATE_CHUNK`` bytes, never more than the message
        may still hold plus one (to see it overflow).  A call stopped by the output bound
        returns the input it has not read yet (a copy, at most one slice), which is handed
        over again: the input handed to the inflater stays within the bytes received plus
        ``INFLATE_SLICE`` per ``INFLATE_CHUNK`` of output, and the work is linear.
        """
        z = self._inflater
        if z is None:
            z = self._inflater = _deflate.decompressobj(-self._inflate_bits)
            self._after_end = 0
        if z.eof:
            # A BFINAL block (RFC 7692 §7.2.3.4) ended the stream in an earlier fragment.
            self._check_after_end(len(payload), payload)
            if fin:
                self._inflater = None
            return b""
        n = len(payload)
        ours = 0  # bytes of DEFLATE_TAIL at the end of the slice being inflated
        if fin and n <= INFLATE_SLICE - 4:
            # RFC 7692 §7.2.2: append 00 00 ff ff; a small payload takes it in the same call.
            payload = payload + DEFLATE_TAIL
            n += 4
            ours = 4
            fin = False  # nothing left to append
            last = True
        else:
            last = fin
        view = payload if n <= INFLATE_SLICE else memoryview(payload)
        limit = self._max
        room = _UNBOUNDED if limit is None else limit - self._size
        pieces = []
        produced = 0
        pos = 0
        try:
            while True:
                if pos < n:
                    data = view if n <= INFLATE_SLICE else view[pos : pos + INFLATE_SLICE]
                    pos += len(data)
                elif fin:
                    data = DEFLATE_TAIL
                    ours = 4
                    fin = False
                else:
                    break
                while True:
                    want = room - produced + 1
                    if want > INFLATE_CHUNK:
                        want = INFLATE_CHUNK
                    chunk = z.decompress(data, want)
                    produced += len(chunk)
                    if produced > room:
                        raise PayloadTooBig(1009, "message exceeds max_message_size=%d after inflation (RFC 7692 §8)" % limit)
                    if chunk:
                        pieces.append(chunk)
                    data = z.unconsumed_tail
                    if z.eof or (not data and len(chunk) < want):
                        break
                if z.eof:
                    break
        except _deflate.errors as exc:
            raise InvalidPayload(1007, "corrupt compressed data: %s (RFC 7692 §7.2.2)" % exc) from None
        if z.eof:
            # The stream ended (BFINAL, RFC 7692 §7.2.3.4): what follows it in this fragment
            # is the rest of the slice (unused_data) and the slices not handed over yet.
            rest = z.unused_data
            left = len(rest) - ours
            if left < 0:
                if rest:
                    # It ended inside the four bytes appended here, leaving some of them.
                    raise InvalidPayload(1007, _AFTER_END)
                left = 0
            self._check_after_end(left + n - pos, rest if left else view[pos:])
        if last and (self._inflate_reset or z.eof):
            # RFC 7692 §7.1.1: without context takeover the peer starts each message with
            # an empty window.  A stream ended by a BFINAL block (§7.2.3.4) cannot go on.
            self._inflater = None
        if not pieces:
            return b""
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _check_after_end(self, count, data):
        """``count`` more bytes of the message after the end of its DEFLATE stream, the first
        of them ``data[0]``.

        RFC 7692 §7.2.1 ends every message on an empty stored block whose last four bytes
        (00 00 ff ff) the sender removes; after a BFINAL block that leaves at most its first
        byte, 0x00 (§7.2.3.4), and a sender that skips the block leaves nothing.  Anything
        more would be compressed data silently dropped: corrupt, 1007 (§7.2.2).
        """
        if not count:
            return
        total = self._after_end + count
        if total > 1 or data[0] != 0:
            raise InvalidPayload(1007, _AFTER_END)
        self._after_end = total

    def _check_pending(self):
        """Checks on the frame whose bytes have started to arrive, once per ``feed``.

        After a Close nothing may follow (RFC 6455 §5.5.1).  A fragment's declared length
        is checked against what the message may still hold before its payload is
        buffered (uncompressed messages; compressed ones are bounded while inflating).
        """
        partial = self._frames.partial_frame()
        if partial is None:
            return
        if self._closed:
            raise ProtocolError(1002, "data after a Close frame (RFC 6455 §5.5.1)")
        limit = self._max
        opcode, _fin, rsv1, length = partial
        if limit is None or length is None:
            return
        # Only a frame that is in order here: a continuation of an open uncompressed message,
        # or an uncompressed message's first frame.  (Others fail when they complete.)
        if opcode == _CONT:
            if not self._opcode or self._compressed:
                return
            used = self._size
        elif opcode == _TEXT or opcode == _BINARY:
            if self._opcode or rsv1:
                return
            used = 0
        else:
            return
        # No message can hold more than sys.maxsize bytes (the compiled twin's Py_ssize_t
        # bound): a larger limit stops there, as it does for the compiled twin.
        if limit > _UNBOUNDED:
            limit = _UNBOUNDED
        if used + length > limit:
            raise PayloadTooBig(1009, "message exceeds max_message_size=%d (RFC 6455 §7.4.1)" % limit)


class MessageEncoder:
    """Turns messages into frames: each method returns the ``bytes`` to send.

    ``client=True`` masks every frame with a fresh key from a cryptographic source (RFC 6455
    §5.3, §10.3).  ``deflate`` is the negotiated :class:`PerMessageDeflate` (or ``None``);
    ``fragment_size=N`` splits data messages so that every fragment but the last carries
    exactly ``N`` payload bytes.

    With ``deflate``, ``compression`` trades speed for size: ``"speed"`` (the default),
    ``"balanced"``, ``"size"`` (zlib's level 6 output), or a zlib level 0-9; the deflate backend
    follows from it (``wscodec._deflate.COMPRESSION_PRESETS``, docs/compression.md).
    ``skip_incompressible=True`` (the default) sends a message of 1 KiB or more uncompressed when
    compressing it does not pay (random or already compressed data; RFC 7692 §6 lets each
    message choose); ``compress=False`` on ``text()``/``binary()`` skips one message.
    """

    __slots__ = ("_client", "_deflate", "_fragment_size", "_compressor", "_compress_reset", "_compression", "_skip")

    def __init__(self, *, client=False, deflate=None, fragment_size=None,
                 compression=_deflate.DEFAULT_COMPRESSION, skip_incompressible=True):
        check_encoder_args(deflate, fragment_size, compression, skip_incompressible)
        self._client = bool(client)
        self._deflate = deflate
        self._fragment_size = fragment_size
        self._compressor = None
        self._compression = compression
        self._skip = skip_incompressible
        if deflate is not None:
            self._compress_reset = deflate.no_context_takeover(self._client)

    @property
    def client(self):
        return self._client

    @property
    def deflate(self):
        return self._deflate

    @property
    def fragment_size(self):
        return self._fragment_size

    @property
    def compression(self):
        return self._compression

    @property
    def skip_incompressible(self):
        return self._skip

    def text(self, data, compress=True):
        """A text message (RFC 6455 §5.6); ``data`` is a ``str``, sent as UTF-8."""
        if not isinstance(data, str):
            raise TypeError("text() takes a str, not %s" % type(data).__name__)
        return self._message(_TEXT, data.encode("utf-8"), compress)

    def binary(self, data, compress=True):
        """A binary message (RFC 6455 §5.6); ``data`` is any bytes-like object."""
        return self._message(_BINARY, _raw(data), compress)

    def ping(self, data=b""):
        """A Ping frame (RFC 6455 §5.5.2); at most 125 bytes of ``data``."""
        return encode_frame(_PING, _control(data), mask=self._client)

    def pong(self, data=b""):
        """A Pong frame (RFC 6455 §5.5.3); at most 125 bytes of ``data``."""
        return encode_frame(_PONG, _control(data), mask=self._client)

    def close(self, code=1000, reason=""):
        """A Close frame (RFC 6455 §5.5.1); ``code=None`` sends an empty payload."""
        return encode_frame(_CLOSE, build_close_payload(code, reason), mask=self._client)

    def _message(self, opcode, payload, compress):
        rsv1 = False
        if compress and self._deflate is not None:
            compressed = self._compress(payload)
            if compressed is not None:
                payload = compressed
                rsv1 = True
        size = self._fragment_size
        mask = self._client
        n = len(payload)
        if size is None or n <= size:
            return encode_frame(opcode, payload, mask=mask, rsv1=rsv1)
        # RFC 6455 §5.4: the first fragment carries the opcode (and RSV1, RFC 7692 §6), the
        # others are continuations; FIN on the last one only.
        view = memoryview(payload)
        frames = []
        pos = 0
        while pos < n:
            end = pos + size
            frames.append(encode_frame(opcode if pos == 0 else _CONT, view[pos:end], fin=end >= n,
                                       mask=mask, rsv1=rsv1 and pos == 0))
            pos = end
        return b"".join(frames)

    def _compress(self, payload):
        """The compressed payload, or ``None`` to send this message uncompressed."""
        skip = self._skip and len(payload) >= _deflate.SKIP_MIN
        if skip and _deflate.incompressible(payload):
            # RFC 7692 §6: a message may go uncompressed (RSV1 unset); the compressor has not
            # seen it, so its window still matches the peer's.
            return None
        z = self._compressor
        if z is None:
            z = self._compressor = new_compressor(self._deflate, self._client, self._compression)
        # RFC 7692 §7.2.1: compress, flush to a byte boundary with an empty stored block,
        # and remove its 00 00 ff ff tail.
        out = z.compress(payload) + z.flush(_deflate.Z_SYNC_FLUSH)
        if out.endswith(DEFLATE_TAIL):
            out = out[:-4]
        if self._compress_reset:
            # RFC 7692 §7.1.1: no context takeover, every message starts with an empty window.
            self._compressor = None
        if skip and len(out) >= len(payload):
            # Compressing did not pay: send it uncompressed.  The compressor's window now holds
            # a message the peer's will not, so the next message starts a new one (an empty
            # window refers to nothing, which the peer's inflater reads whatever it holds).
            self._compressor = None
            return None
        return out


def _raw(data):
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError("binary data must be a bytes-like object, not str")
    with memoryview(data) as view:  # TypeError for a non-buffer
        return view.tobytes()


def _control(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    else:
        data = _raw(data)
    if len(data) > 125:
        raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % len(data))
    return data
