"""Byte work behind wscodec's websockets integration, in pure Python.

The readable twin of ``wscodec.integrations._websockets_c``: ``take_payload`` removes a whole frame from
a websockets ``StreamReader`` buffer and returns its payload unmasked; ``build_frame``
writes a frame's header, key and masked payload (with the frame codec's header writer).
"""

from .._frames_py import _header
from .._mask_py import apply_mask, read_key

__all__ = ["take_payload", "build_frame"]


def take_payload(buf, header, length, masked):
    """Remove ``header`` (+4 key bytes when ``masked``) + ``length`` bytes from the front of
    ``buf`` and return the payload: unmasked ``bytes`` when masked (RFC 6455 §5.3), a
    ``bytearray`` copy otherwise (the types websockets itself produces)."""
    if not isinstance(buf, bytearray):
        raise TypeError("buf must be a bytearray")
    total = header + (4 if masked else 0) + length
    if header < 2 or length < 0 or total > len(buf):
        raise ValueError("the buffer does not hold the whole frame")
    if masked:
        result = apply_mask(memoryview(buf)[header + 4 : total], bytes(buf[header : header + 4]))
    else:
        result = buf[header:total]
    del buf[:total]
    return result


def build_frame(head1, data, key):
    """A whole frame: ``head1`` (FIN, RSV, opcode), the length (§5.2, minimal encoding),
    then, when ``key`` is 4 bytes, the key and the payload masked with it (§5.3);
    ``key=None`` sends the payload as is.  The header is the frame codec's (``_header``,
    as ``encode_frame`` writes it)."""
    if key is not None:
        key = read_key(key)
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    data = memoryview(data).tobytes()
    head = _header(head1, len(data), key)
    if key is None:
        return head + data
    return head + apply_mask(data, key)
