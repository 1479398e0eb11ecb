"""An independent writer and reader of frames for the message-layer tests:
``from _wire import raw_frame, parse_frames``.

Both work straight from the RFC 6455 §5.2 diagram, without wscodec, so the bytes fed to the
decoders and the reading of what the encoders wrote do not come from the code under test;
frames the encoders refuse to write (RSV2, reserved opcodes, fragmented control frames) can
be written too.
"""

import struct


def raw_frame(opcode, payload=b"", fin=True, rsv1=False, rsv2=False, key=None):
    """One frame with the minimal length encoding; ``key`` masks it (a client's frame)."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | opcode
    mask_bit = 0x80 if key is not None else 0
    n = len(payload)
    if n < 126:
        header = bytes([first, mask_bit | n])
    elif n < 65536:
        header = bytes([first, mask_bit | 126]) + struct.pack("!H", n)
    else:
        header = bytes([first, mask_bit | 127]) + struct.pack("!Q", n)
    if key is None:
        return header + bytes(payload)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def parse_frames(data):
    """The frames of ``data``, which must be whole frames and nothing else, as
    ``[(fin, rsv1, opcode, masked, key, payload)]`` (payload unmasked)."""
    out = []
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        n = b1 & 0x7F
        pos += 2
        if n == 126:
            (n,) = struct.unpack("!H", data[pos : pos + 2])
            pos += 2
        elif n == 127:
            (n,) = struct.unpack("!Q", data[pos : pos + 8])
            pos += 8
        key = None
        if b1 & 0x80:
            key = data[pos : pos + 4]
            pos += 4
        payload = data[pos : pos + n]
        if key is not None:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        pos += n
        out.append((bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, key is not None, key, payload))
    assert pos == len(data)
    return out
