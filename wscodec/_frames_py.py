"""Frame decoding and encoding (RFC 6455 §5), pure-Python twin of ``_frames_c``.

The readable reference for the compiled twin, with identical behaviour: the same frames, the
same exceptions with the same close codes and messages, the header rules checked in the same
order.  Base framing (RFC 6455 §5.2)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               |Masking-key, if MASK set to 1  |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +
"""

from __future__ import annotations

import operator
import os
import sys
from _thread import allocate_lock as _allocate_lock
from collections import deque
from typing import TYPE_CHECKING, Optional, Tuple, Union

from ._constants import DEFAULT_MAX_FRAME_SIZE, MAX_CONTROL_PAYLOAD, OPCODE_BY_VALUE, OPCODES, Opcode
from ._errors import BUSY_MESSAGE, PayloadTooBig, ProtocolError
from ._mask_py import apply_mask, read_key

__all__ = ["Frame", "FrameDecoder", "encode_frame", "encode_frame_header"]

if TYPE_CHECKING:
    import array

    #: Anything with the buffer protocol, read as its raw bytes.
    Buffer = Union[bytes, bytearray, memoryview, array.array]

# Opcodes 3-7 and 11-15 are reserved (RFC 6455 §5.2): bit ``op`` of this mask is set for each
# value that is not a defined opcode (0xF8F8).
_RESERVED_OPCODES = sum(1 << value for value in range(16) if value not in OPCODES)
_from_bytes = int.from_bytes


# -- masking keys -------------------------------------------------------------------------
# RFC 6455 §5.3, §10.3: each frame's key must be unpredictable, from a strong source.
# os.urandom costs about a microsecond per call, so keys are drawn 1024 at a time and handed
# out 4 bytes per frame.  A forked child discards the batch it inherited, so parent and child
# never send the same keys.  deque.popleft() is atomic, so threads never share a key.

_POOL_SIZE = 4096
_keys = deque()


def _draw_key():
    """The next 4-byte masking key from the batch, refilling it when empty."""
    try:
        return _keys.popleft()
    except IndexError:
        batch = os.urandom(_POOL_SIZE)
        keys = [batch[i : i + 4] for i in range(0, _POOL_SIZE, 4)]
        key = keys.pop()
        _keys.extend(keys)
        return key


def _discard_keys():
    """Forget the batch of keys (run in a forked child: the parent will use them)."""
    _keys.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_discard_keys)


# -- helpers ------------------------------------------------------------------------------

def _raw(obj, name):
    """``obj``'s raw bytes in logical order (a copy unless it is ``bytes``)."""
    if type(obj) is bytes:
        return obj
    if isinstance(obj, str):
        raise TypeError("%s must be a bytes-like object, not str" % name)
    with memoryview(obj) as view:  # TypeError for a non-buffer
        return view.tobytes()


def _opcode_value(opcode):
    """``opcode`` as an int that names a defined opcode; TypeError / ValueError otherwise."""
    if not isinstance(opcode, int):
        raise TypeError("opcode must be an int, not %s" % type(opcode).__name__)
    if opcode < 0 or opcode > 15:
        raise ValueError("opcode must be in 0..15, got %r" % (opcode,))
    value = int(opcode)
    if (_RESERVED_OPCODES >> value) & 1:
        raise ValueError("opcode %d is reserved (RFC 6455 §5.2)" % value)
    return value


# -- Frame --------------------------------------------------------------------------------

class Frame:
    """One WebSocket frame (RFC 6455 §5.2): ``opcode`` (an ``Opcode``), the ``fin``,
    ``rsv1``, ``rsv2``, ``rsv3`` bits, and ``payload`` (bytes, already unmasked).

    Immutable, equal by value, hashable.
    """

    __slots__ = ("opcode", "fin", "rsv1", "rsv2", "rsv3", "payload")

    opcode: Opcode
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    payload: bytes

    def __init__(self, opcode: int, fin: bool = True, rsv1: bool = False, rsv2: bool = False,
                 rsv3: bool = False, payload: Buffer = b"") -> None:
        try:
            self.payload
        except AttributeError:
            pass
        else:
            raise AttributeError("Frame objects are immutable")
        _set = object.__setattr__
        _set(self, "opcode", OPCODE_BY_VALUE[_opcode_value(opcode)])
        _set(self, "fin", bool(fin))
        _set(self, "rsv1", bool(rsv1))
        _set(self, "rsv2", bool(rsv2))
        _set(self, "rsv3", bool(rsv3))
        _set(self, "payload", _raw(payload, "payload"))

    def __setattr__(self, name, value):
        raise AttributeError("Frame objects are immutable")

    def __delattr__(self, name):
        raise AttributeError("Frame objects are immutable")

    def __eq__(self, other):
        if type(other) is not Frame:
            return NotImplemented
        return (
            self.opcode is other.opcode
            and self.fin == other.fin
            and self.rsv1 == other.rsv1
            and self.rsv2 == other.rsv2
            and self.rsv3 == other.rsv3
            and self.payload == other.payload
        )

    def __hash__(self):
        return hash((self.opcode, self.fin, self.rsv1, self.rsv2, self.rsv3, self.payload))

    def __repr__(self):
        payload = self.payload
        if len(payload) <= 64:
            shown = repr(payload)
        else:
            shown = "%r...<%d bytes>" % (payload[:48], len(payload))
        return "Frame(opcode=Opcode.%s, fin=%r, rsv1=%r, rsv2=%r, rsv3=%r, payload=%s)" % (
            self.opcode.name, self.fin, self.rsv1, self.rsv2, self.rsv3, shown
        )

    def __reduce__(self):
        return (Frame, (int(self.opcode), self.fin, self.rsv1, self.rsv2, self.rsv3, self.payload))


_new_frame = object.__new__
_set_opcode = Frame.opcode.__set__
_set_fin = Frame.fin.__set__
_set_rsv1 = Frame.rsv1.__set__
_set_rsv2 = Frame.rsv2.__set__
_set_rsv3 = Frame.rsv3.__set__
_set_payload = Frame.payload.__set__


def _make_frame(b0, payload):
    """A Frame from a checked first header byte and the unmasked payload (no validation)."""
    frame = _new_frame(Frame)
    _set_opcode(frame, OPCODE_BY_VALUE[b0 & 0x0F])
    _set_fin(frame, bool(b0 & 0x80))
    _set_rsv1(frame, bool(b0 & 0x40))
    _set_rsv2(frame, bool(b0 & 0x20))
    _set_rsv3(frame, bool(b0 & 0x10))
    _set_payload(frame, payload)
    return frame


# -- header -------------------------------------------------------------------------------

def _parse_header(data, pos, end, client, allow_rsv1, max_size, max_frame_size):
    """Parse the frame header at ``data[pos:end]`` (RFC 6455 §5.2).

    Returns ``(size, key, length)`` once the header is complete (``key`` None when unmasked),
    or None when more bytes are needed and the ones present break no rule.  Raises
    ``ProtocolError`` as soon as the bytes present show a violation, checking the rules in
    byte order so that any split of the input gives the same verdict.
    """
    n = end - pos
    if n < 1:
        return None
    b0 = data[pos]
    opcode = _check_first_byte(b0, allow_rsv1)
    if n < 2:
        return None
    b1 = data[pos + 1]
    masked = b1 & 0x80
    _check_second_byte(opcode, masked, b1 & 0x7F, client)
    found = _payload_length(data, pos, n, b1 & 0x7F)
    if found is None:
        return None
    size, length = found
    _check_limit(length, max_size, max_frame_size)
    if not masked:
        return size, None, length
    if n < size + 4:
        return None
    return size + 4, bytes(data[pos + size : pos + size + 4]), length


def _check_first_byte(b0, allow_rsv1):
    """FIN, RSV1-3 and the opcode: the rules the first header byte alone can break, in the
    order the compiled twin checks them.  Returns the opcode."""
    opcode = b0 & 0x0F
    # RSV bits MUST be 0 unless an extension defining them was negotiated (RFC 6455 §5.2);
    # only RSV1 has one here (permessage-deflate, RFC 7692).
    if b0 & 0x20:
        raise ProtocolError(1002, "RSV2 is set but no extension defining it was negotiated (RFC 6455 §5.2)")
    if b0 & 0x10:
        raise ProtocolError(1002, "RSV3 is set but no extension defining it was negotiated (RFC 6455 §5.2)")
    if (_RESERVED_OPCODES >> opcode) & 1:
        raise ProtocolError(1002, "reserved opcode 0x%X (RFC 6455 §5.2)" % opcode)
    if b0 & 0x40:
        if not allow_rsv1:
            raise ProtocolError(1002, "RSV1 is set but no extension defining it was negotiated (RFC 6455 §5.2)")
        # RFC 7692 §6: never on control frames nor on non-first fragments.
        if opcode & 8:
            raise ProtocolError(1002, "RSV1 is set on a control frame (RFC 7692 §6)")
        if opcode == 0:
            raise ProtocolError(1002, "RSV1 is set on a continuation frame (RFC 7692 §6)")
    # Control frames (opcode bit 3 set, RFC 6455 §5.5) MUST NOT be fragmented.
    if opcode & 8 and not b0 & 0x80:
        raise ProtocolError(1002, "control frame with FIN clear: control frames must not be fragmented (RFC 6455 §5.5)")
    return opcode


def _check_second_byte(opcode, masked, code, client):
    """The MASK bit and the 7-bit length code: the rules the second byte can break."""
    # Client-to-server frames are masked, server-to-client frames are not (RFC 6455 §5.1).
    if client:
        if masked:
            raise ProtocolError(1002, "masked frame from the server: server-to-client frames must not be masked (RFC 6455 §5.1)")
    elif not masked:
        raise ProtocolError(1002, "unmasked frame from the client: client-to-server frames must be masked (RFC 6455 §5.1)")
    # Control frames carry at most 125 payload bytes (RFC 6455 §5.5): the codes 126 and 127
    # (an extended length) are refused before the length itself arrives.
    if opcode & 8 and code > MAX_CONTROL_PAYLOAD:
        raise ProtocolError(1002, "control frame payload longer than 125 bytes (RFC 6455 §5.5)")


def _payload_length(data, pos, n, code):
    """``(size of the header without its key, payload length)`` from the 7-bit ``code`` and
    the extended length after it, or None until that is in (RFC 6455 §5.2)."""
    if code < 126:
        return 2, code
    if code == 126:
        if n < 4:
            return None
        length = (data[pos + 2] << 8) | data[pos + 3]
        # "the minimal number of bytes MUST be used to encode the length" (RFC 6455 §5.2)
        if length < 126:
            raise ProtocolError(1002, "payload length %d is not in its minimal encoding (RFC 6455 §5.2)" % length)
        return 4, length
    if n < 10:
        return None
    length = _from_bytes(data[pos + 2 : pos + 10], "big")
    # "the most significant bit MUST be 0" (RFC 6455 §5.2): 1002 before any size limit.
    if length >> 63:
        raise ProtocolError(1002, "64-bit payload length has its most significant bit set (RFC 6455 §5.2)")
    if length < 65536:
        raise ProtocolError(1002, "payload length %d is not in its minimal encoding (RFC 6455 §5.2)" % length)
    return 10, length


def _check_limit(length, max_size, max_frame_size):
    """The declared length against the limit, before any payload is buffered (RFC 6455
    §7.4.1: 1009)."""
    if length > max_size:
        if max_frame_size is None:
            raise PayloadTooBig(1009, "frame payload of %d bytes is larger than this platform can hold (RFC 6455 §7.4.1)" % length)
        raise PayloadTooBig(1009, "frame payload of %d bytes exceeds max_frame_size=%d (RFC 6455 §7.4.1)" % (length, max_frame_size))


# -- decoder ------------------------------------------------------------------------------

class FrameDecoder:
    """Incremental frame parser: ``feed(data)`` returns the frames completed by ``data``.

    ``client=False`` (a server) requires masked frames, ``client=True`` unmasked ones
    (RFC 6455 §5.1).  ``max_frame_size`` is the inclusive payload limit (``None``: none);
    ``allow_rsv1`` accepts RSV1 on data frames that start a message (permessage-deflate).
    Any violation raises ``ProtocolError``; the decoder is then finished and every later
    ``feed()`` raises again.

    Not to be shared: a decoder holds one connection's state and is used by one thread at a
    time.  A ``feed()`` while another is under way raises ``RuntimeError`` (and leaves the
    running one and the decoder's state intact).
    """

    __slots__ = ("_client", "_allow_rsv1", "_max_size", "_max_frame_size", "_buf", "_error", "_busy",
                 "_copied")

    def __init__(self, *, client: bool = False, max_frame_size: Optional[int] = DEFAULT_MAX_FRAME_SIZE,
                 allow_rsv1: bool = False) -> None:
        self._client = bool(client)
        self._allow_rsv1 = bool(allow_rsv1)
        if max_frame_size is None:
            self._max_size = sys.maxsize
        else:
            if not isinstance(max_frame_size, int):
                raise TypeError("max_frame_size must be an int or None, not %s" % type(max_frame_size).__name__)
            if max_frame_size < 0:
                raise ValueError("max_frame_size must be >= 0, got %r" % (max_frame_size,))
            # A payload must also fit a bytes object.
            max_frame_size = int(max_frame_size)
            self._max_size = min(max_frame_size, sys.maxsize)
        self._max_frame_size = max_frame_size
        # Bytes received but not yet part of a returned frame: at most one frame's header
        # and the part of its payload that has arrived; never more than has arrived.
        self._buf = bytearray()
        # Bytes copied into, out of, or moved while growing ``_buf``: a count of work for
        # tests (linear in the bytes received), as the compiled twin keeps.
        self._copied = 0
        self._error = None
        # Held while feed() runs: a second feed() at the same time (a decoder shared between
        # threads) raises RuntimeError instead of interleaving with the first.  A lock, not a
        # flag, because a thread switch may fall between testing a flag and setting it.
        self._busy = _allocate_lock()

    @property
    def client(self) -> bool:
        return self._client

    @property
    def allow_rsv1(self) -> bool:
        return self._allow_rsv1

    @property
    def max_frame_size(self) -> Optional[int]:
        return self._max_frame_size

    def partial_frame(self) -> Optional[Tuple[int, bool, bool, Optional[int]]]:
        """What is known of the frame whose bytes have started to arrive: ``None`` when no
        byte of an unfinished frame is held, else ``(opcode, fin, rsv1, length)`` with
        ``opcode`` an int and ``length`` ``None`` until the whole header is in."""
        buf = self._buf
        if not buf or self._error is not None:
            return None
        b0 = buf[0]
        # The bytes held broke no rule (or feed() would have raised), so this only reads them.
        header = _parse_header(buf, 0, len(buf), self._client, self._allow_rsv1, self._max_size, self._max_frame_size)
        return (b0 & 0x0F, bool(b0 & 0x80), bool(b0 & 0x40), None if header is None else header[2])

    def feed(self, data: Buffer) -> list[Frame]:
        """Parse ``data`` (any bytes-like object) and return the list of frames it completes."""
        busy = self._busy
        if not busy.acquire(False):
            raise RuntimeError(BUSY_MESSAGE % "FrameDecoder")
        try:
            error = self._error
            if error is not None:
                raise type(error)(error.close_code, error.reason)
            try:
                return self._parse(data)
            except ProtocolError as exc:
                # Kept without its traceback, whose frames hold this feed's bytes: a failed
                # decoder holds nothing of what it was sent.
                self._error = type(exc)(exc.close_code, exc.reason)
                self._buf = bytearray()
                raise
            except MemoryError:
                # A payload that cannot be held fails the connection like one over the limit
                # (RFC 6455 §7.4.1) and leaves no half-parsed state behind.
                self._buf = bytearray()
                reason = "frame payload does not fit in memory (RFC 6455 §7.4.1)"
                self._error = PayloadTooBig(1009, reason)
                raise PayloadTooBig(1009, reason) from None
        finally:
            busy.release()

    def _parse(self, data):
        buf = self._buf
        if buf:
            # Copy: the caller may reuse its buffer as soon as we return.  ``bytearray``
            # grows geometrically, so appending stays linear; a move when it grows is counted.
            held = len(buf)
            alloc = buf.__alloc__()
            buf += _raw(data, "data")
            self._copied += len(buf) - held + (held if buf.__alloc__() != alloc else 0)
            data = buf
        else:
            data = _raw(data, "data")
        frames = []
        pos = 0
        end = len(data)
        client = self._client
        allow_rsv1 = self._allow_rsv1
        max_size = self._max_size
        max_frame_size = self._max_frame_size
        while pos < end:
            header = _parse_header(data, pos, end, client, allow_rsv1, max_size, max_frame_size)
            if header is None:
                break
            size, key, length = header
            start = pos + size
            stop = start + length
            if stop > end:
                # Only what has arrived is held: a header alone costs its own bytes.
                break
            if key is None and data is not buf:
                payload = data[start:stop]      # ``data`` is bytes: sliced, not copied twice
            else:
                # Views released at once: ``buf`` must stay resizable (and on PyPy too).
                with memoryview(data) as view, view[start:stop] as part:
                    payload = part.tobytes() if key is None else apply_mask(part, key)
                if data is buf:
                    self._copied += length
            frames.append(_make_frame(data[pos], payload))
            pos = stop
        if data is buf:
            # Drops consumed bytes from the front; any move this makes is of bytes still held.
            del buf[:pos]
        elif pos < end:
            with memoryview(data) as view, view[pos:] as rest:
                buf += rest
            self._copied += end - pos
        return frames


# -- encoder ------------------------------------------------------------------------------

def encode_frame(opcode: int, payload: Buffer, *, fin: bool = True,
                 mask: Union[bool, Buffer] = False, rsv1: bool = False) -> bytes:
    """Encode one frame (RFC 6455 §5.2) and return its bytes.

    ``payload`` is any bytes-like object (not ``str``: text encoding is the message layer's
    job).  ``mask=False`` sends it unmasked (a server), ``mask=True`` masks it with a key from
    a cryptographic source (RFC 6455 §10.3, a client), ``mask=<4 bytes>`` with that key.
    ``ValueError`` for a reserved opcode, a control frame with ``fin=False`` or a payload over
    125 bytes (RFC 6455 §5.5), RSV1 on a control or continuation frame (RFC 7692 §6), or a
    mask key that is not 4 bytes.
    """
    first = _first_byte(opcode, fin, rsv1)
    key = _draw_key() if mask is True else _key_arg(mask)

    data = _raw(payload, "payload")
    n = len(data)
    if first & 8 and n > MAX_CONTROL_PAYLOAD:
        raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % n)

    header = _header(first, n, key)
    if key is None:
        return header + data
    return header + apply_mask(data, key)


def encode_frame_header(opcode: int, length: int, *, fin: bool = True,
                        mask: Union[bool, Buffer] = False, rsv1: bool = False) -> bytes:
    """The header alone of a frame with a ``length``-byte payload (RFC 6455 §5.2).

    For sending a large payload without copying it: write the header, then the payload
    itself (``transport.writelines([header, payload])``); ``header + payload`` is what
    ``encode_frame`` returns.  ``mask=<4 bytes>`` puts that key in the header, and the caller
    masks the payload with it (``apply_mask`` / ``mask_inplace``); ``mask=True`` is refused, as
    the key it would draw would be lost.  Otherwise the rules of ``encode_frame`` apply:
    ``ValueError`` for a reserved opcode, a control frame with ``fin=False`` or a length over
    125, RSV1 on a control or continuation frame, a key that is not 4 bytes, or a length below
    0 or at or above 2**63.
    """
    first = _first_byte(opcode, fin, rsv1)
    if mask is True:
        raise TypeError("mask=True would draw a key the caller never sees: pass the 4-byte key "
                        "the payload is masked with, or use encode_frame")
    key = _key_arg(mask)

    n = operator.index(length)
    if n < 0:
        raise ValueError("payload length must not be negative, got %d" % n)
    if n >= 1 << 63:
        raise ValueError("payload length must be below 2**63 (RFC 6455 §5.2), got %d" % n)
    if first & 8 and n > MAX_CONTROL_PAYLOAD:
        raise ValueError("control frame payload of %d bytes exceeds 125 (RFC 6455 §5.5)" % n)
    return _header(first, n, key)


def _first_byte(opcode: int, fin: bool, rsv1: bool) -> int:
    """FIN, RSV1 and the opcode as a header's first byte, after the rules on them."""
    op = _opcode_value(opcode)
    fin = bool(fin)
    rsv1 = bool(rsv1)
    if op & 8:
        if not fin:
            raise ValueError("control frames must not be fragmented: fin=False (RFC 6455 §5.5)")
        if rsv1:
            raise ValueError("RSV1 must not be set on a control frame (RFC 7692 §6)")
    elif rsv1 and op == 0:
        raise ValueError("RSV1 must not be set on a continuation frame (RFC 7692 §6)")
    return op | (0x80 if fin else 0) | (0x40 if rsv1 else 0)


def _key_arg(mask: Union[bool, Buffer, None]) -> Optional[bytes]:
    """The key of a ``mask`` argument other than True: None for False/None, else 4 bytes."""
    if mask is False or mask is None:
        key = None
    else:
        if isinstance(mask, str):
            raise TypeError("mask must be a bool or a 4-byte bytes-like object, not str")
        key = read_key(mask)
    return key


def _header(first: int, n: int, key: Optional[bytes]) -> bytes:
    """A header with the minimal length encoding (RFC 6455 §5.2); ``key`` None: unmasked."""
    mask_bit = 0x80 if key is not None else 0
    if n < 126:
        header = bytes((first, mask_bit | n))
    elif n < 65536:
        header = bytes((first, mask_bit | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, mask_bit | 127)) + n.to_bytes(8, "big")
    return header if key is None else header + key
