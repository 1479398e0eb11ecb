"""Byte work behind wscodec's websockets integration, in pure Python.

The readable twin of ``wscodec.integrations._websockets_c``: ``take_payload`` removes a whole frame from
a websockets ``StreamReader`` buffer and returns its payload unmasked; ``build_frame``
writes a frame's header, key and masked payload.
"""

import struct

from .._mask_py import apply_mask

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
    ``key=None`` sends the payload as is."""
    if key is not None:
        key = bytes(memoryview(key))
        if len(key) != 4:
            raise ValueError("mask must be exactly 4 bytes")
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    data = memoryview(data).tobytes()
    n = len(data)
    bit = 0x80 if key is not None else 0
    if n < 126:
        head = struct.pack("!BB", head1, bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", head1, bit | 126, n)
    else:
        head = struct.pack("!BBQ", head1, bit | 127, n)
    if key is None:
        return head + data
    return head + key + apply_mask(data, key)
