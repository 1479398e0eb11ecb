"""Hand-built frame streams for the differential integration tests: ``from _raw_frames import
raw_frame, split``.

The frames are written straight from the RFC 6455 §5.2 diagram, without wscodec, so a test
can break any rule on purpose (reserved opcodes, RSV bits, wrong masking, non-minimal
lengths) and feed the same bytes to wscodec and to the peer library it replaces.
"""

import struct


def raw_frame(opcode, payload, *, fin=True, rsv=0, mask=None, length_form=None):
    """A frame built by hand (RFC 6455 §5.2), able to break every rule on purpose.

    ``rsv`` is the three RSV bits as a number (4 is RSV1), ``mask`` a 4-byte key (None sends
    the payload unmasked).  ``length_form`` is the smallest length encoding to use: None or 0
    the minimal one, 1 the 16-bit form, 2 the 64-bit form; asking for a larger form than the
    length needs writes a non-minimal encoding, and a payload too long for the form asked
    for gets the next one up.
    """
    n = len(payload)
    minimal = 0 if n <= 125 else (1 if n <= 0xFFFF else 2)
    form = max(minimal, length_form or 0)
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    bit = 0x80 if mask is not None else 0
    if form == 0:
        head += bytes([bit | n])
    elif form == 1:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def split(data, cuts):
    """``data`` cut at the positions ``cuts`` (taken modulo ``len(data) + 1``), as a list of
    chunks; one empty chunk for empty data."""
    bounds = sorted({0, len(data), *[c % (len(data) + 1) for c in cuts]})
    return [data[a:b] for a, b in zip(bounds, bounds[1:])] or [b""]
