"""Benchmark inputs, built deterministically, and the independent reference code that checks
every contender's output before it is timed.

Nothing here uses wscodec: the frames fed to decoders and the expected results are built with
plain Python, so a wscodec bug cannot make its own answer look right.
"""

import random
import struct

#: The masking key of the masking cases (any 4 bytes do; this one is RFC 6455 §5.7's example).
MASK_KEY = b"\x37\xfa\x21\x3d"


def payload(size, seed=0):
    """``size`` pseudo-random bytes, the same for every run."""
    return random.Random(seed * 7919 + size).randbytes(size)


def xor_mask(data, key, offset=0):
    """RFC 6455 §5.3 masking, ``data[i] ^ key[(offset + i) % 4]``, with big integers.

    Slow for a hot path, but independent of every implementation under test, and fast enough
    to build and check a 16 MiB input once.
    """
    n = len(data)
    if n == 0:
        return b""
    r = offset & 3
    rotated = key[r:] + key[:r]
    stream = rotated * (n // 4) + rotated[: n % 4]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


# -- UTF-8 texts -------------------------------------------------------------------------

_ASCII = (
    "The quick brown fox jumps over the lazy dog; "
    '{"id": 1024, "event": "update", "ok": true} '
)
_CHINESE = (
    "网络套接字协议在单个传输控制协议连接上提供全双工通信信道。"
    "浏览器和服务器只需要完成一次握手，两者之间就可以直接创建持久性的连接，并进行双向数据传输。"
)
# Mixed: mostly ASCII words with Latin-1 accents (2 bytes), CJK (3 bytes) and emoji (4 bytes).
_MIXED_TOKENS = (
    ["hello", "world", "frame", "socket", "data", "42", "{", "}", ":", ","] * 4
    + ["café", "naïve", "Zürich", "señor", "crème", "Ærø"] * 2
    + ["中文", "数据", "帧", "连接", "日本語", "한국어"]
    + ["😀", "🚀", "👍🏽", "🇫🇷", "🎉"]
)


def _fit(chunks, size):
    """Concatenate whole characters from ``chunks`` up to ``size`` bytes, pad with spaces."""
    out = bytearray()
    for chunk in chunks:
        if len(out) + len(chunk) > size:
            break
        out += chunk
    out += b" " * (size - len(out))
    return bytes(out)


def _repeat(text, size):
    # Whole characters only: encode characters one by one and stop before overflowing.
    encoded = [ch.encode("utf-8") for ch in text]

    def chars():
        while True:
            yield from encoded

    return _fit(chars(), size)


def utf8_text(kind, size):
    """Valid UTF-8 of exactly ``size`` bytes: ``"ascii"``, ``"chinese"`` or ``"mixed"``."""
    if kind == "ascii":
        return _repeat(_ASCII, size)
    if kind == "chinese":
        return _repeat(_CHINESE, size)
    if kind == "mixed":
        rng = random.Random(size)
        tokens = [t.encode("utf-8") for t in _MIXED_TOKENS]

        def words():
            while True:
                yield rng.choice(tokens) + b" "

        return _fit(words(), size)
    raise ValueError("unknown text kind %r" % (kind,))


def json_texts(count, size):
    """``count`` distinct JSON-like ASCII texts of exactly ``size`` bytes (chat/ticker traffic)."""
    rng = random.Random(count * 31 + size)
    texts = []
    for i in range(count):
        body = '{"seq":%d,"sym":"%s","px":%.4f,"qty":%d,"side":"%s","msg":"' % (
            i,
            rng.choice(["BTC-USD", "ETH-USD", "EUR-USD", "AAPL"]),
            rng.uniform(1, 70000),
            rng.randrange(1, 10000),
            rng.choice(["buy", "sell"]),
        )
        fill = size - len(body) - 2
        text = body + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(fill)) + '"}'
        texts.append(text[:size].encode("ascii"))
    return texts


# -- frames --------------------------------------------------------------------------------


def build_frame(opcode, data, key=None, fin=True):
    """One RFC 6455 §5.2 frame; ``key`` (4 bytes) masks it as a client must (§5.3)."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if key is not None else 0
    n = len(data)
    if n < 126:
        head.append(mask_bit | n)
    elif n < 65536:
        head.append(mask_bit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", n)
    if key is None:
        return bytes(head) + data
    return bytes(head) + key + xor_mask(data, key)


def masked_stream(opcode, payloads, seed=0):
    """Client-to-server frames (each with its own random key) concatenated into one stream."""
    rng = random.Random(seed)
    return b"".join(build_frame(opcode, p, rng.randbytes(4)) for p in payloads)


def split(data, chunk_size):
    """``data`` cut into ``chunk_size`` pieces (``None``: one piece), as a network delivers it."""
    if chunk_size is None:
        return [data]
    return [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]


def parse_one_frame(data):
    """Parse exactly one frame -> ``(fin, opcode, masked, payload)``; ValueError otherwise.

    Used to check what the encoders produce (their keys are random, so their bytes cannot be
    compared directly).
    """
    data = bytes(data)
    if len(data) < 2:
        raise ValueError("short frame")
    fin = bool(data[0] & 0x80)
    opcode = data[0] & 0x0F
    masked = bool(data[1] & 0x80)
    n = data[1] & 0x7F
    pos = 2
    if n == 126:
        (n,) = struct.unpack_from("!H", data, pos)
        pos += 2
    elif n == 127:
        (n,) = struct.unpack_from("!Q", data, pos)
        pos += 8
    key = None
    if masked:
        key = data[pos : pos + 4]
        pos += 4
    body = data[pos:]
    if len(body) != n:
        raise ValueError("frame length %d, %d bytes present" % (n, len(body)))
    return fin, opcode, masked, (xor_mask(body, key) if masked else body)
