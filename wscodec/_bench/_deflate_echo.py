"""In-process permessage-deflate echo (RFC 7692): a server decodes compressed JSON text messages
and echoes each one back compressed, with context takeover and 12-bit windows both ways.

The client's side is prepared once: JSON texts compressed as websockets' client does (zlib,
level 6, memLevel 5, a 12-bit window, context takeover), masked, one frame each.  One timed call
is one connection: the opening handshake, then every message fed as it would arrive (one frame
per read) and every answer collected.  Contenders:

- wscodec's ``MessageDecoder`` + ``MessageEncoder`` at each ``compression`` preset, with the
  handshake done by ``wscodec.handshake`` (the agreement websockets' server makes);
- websockets' sans-IO ``ServerProtocol`` with ``PerMessageDeflate`` at its server defaults
  (``enable_server_permessage_deflate``: windows 12/12, memLevel 5, zlib's level 6).

The answers are checked by inflating them with the standard library's zlib (a 12-bit window, as
a websockets client would).  Each contender's label shows the bytes it sent, and their ratio to
websockets', since the presets trade size for speed.
"""

import zlib

from . import _data
from ._cases import Case, Contender, KiB, Prepared, Unavailable, _human_size, _peer

#: (message size, messages per connection): 200 x 4 KiB and 20 x 64 KiB, as in the issue that
#: asked for this benchmark.
SIZES = [(4 * KiB, 200), (64 * KiB, 20)]
WINDOW_BITS = 12
TEXT, CONT = 1, 0

_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
_REQUEST = (
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: %s\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    # websockets' client offer (client_max_window_bits without a value: "limit me").
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n" % _KEY
).encode("ascii")
_HEADERS = [
    ("Host", "server.example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", _KEY),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
]

_WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or one had by "
    "word but not what all were we when your can said there use an each which she do how their if will up "
    "other about out many then them these so some her would make like him into time has look two more write "
    "go see number no way could people my than first water been call who oil its now find long down day did "
    "get come made may part"
).split()


def json_documents(count, size, seed=0):
    """``count`` distinct JSON documents of exactly ``size`` bytes: batches of chat-like records
    (repeated keys, numbers, short English texts), which deflate to about 28-30%."""
    import json
    import random

    rng = random.Random(seed * 1000003 + size)
    out = []
    for i in range(count):
        records = []
        base = json.dumps({"type": "batch", "items": records}, separators=(",", ":"))
        while True:
            record = {
                "id": i * 1000 + len(records),
                "user": "user%d" % rng.randrange(500),
                "ts": 1700000000 + rng.randrange(10 ** 6),
                "channel": rng.choice(["general", "random", "dev", "ops"]),
                "text": " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(3, 25))),
                "score": round(rng.uniform(0, 100), 3),
                "tags": rng.sample(["a", "bb", "ccc", "urgent", "todo", "x"], 2),
            }
            longer = json.dumps({"type": "batch", "items": records + [record]}, separators=(",", ":"))
            if len(longer) + 9 > size:
                break
            records.append(record)
            base = longer
        # Padded to the exact size with a last field: ,"pad":"xx...x"}
        doc = base[:-1] + ',"pad":"' + "x" * (size - len(base) - 9) + '"}'
        assert len(doc) == size, (len(doc), size)
        out.append(doc)
    return out


def _client_wire(texts):
    """What a websockets client sends: each text compressed with context takeover (zlib level 6,
    memLevel 5, 12-bit window), tail removed (§7.2.1), one masked frame with RSV1."""
    z = zlib.compressobj(6, zlib.DEFLATED, -WINDOW_BITS, 5)
    frames = []
    for text in texts:
        out = z.compress(text.encode("utf-8")) + z.flush(zlib.Z_SYNC_FLUSH)
        frame = bytearray(_data.build_frame(TEXT, out[:-4], key=_data.MASK_KEY))
        frame[0] |= 0x40
        frames.append(bytes(frame))
    return frames


def _read_answers(chunks):
    """The texts a client reads from the server's unmasked, compressed frames (stdlib zlib)."""
    data = b"".join(chunks)
    z = zlib.decompressobj(-WINDOW_BITS)
    texts = []
    parts = []
    compressed = False
    pos = 0
    while pos < len(data):
        b0, b1 = data[pos], data[pos + 1]
        n = b1 & 0x7F
        pos += 2
        if n == 126:
            n = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif n == 127:
            n = int.from_bytes(data[pos : pos + 8], "big")
            pos += 8
        payload = data[pos : pos + n]
        pos += n
        if b0 & 0x0F != CONT:
            compressed = bool(b0 & 0x40)
        parts.append(payload)
        if b0 & 0x80:
            message = b"".join(parts)
            parts = []
            if compressed:
                message = z.decompress(message + b"\x00\x00\xff\xff")
            texts.append(message.decode("utf-8"))
    return texts


def _inputs(size, count):
    def build():
        texts = json_documents(count, size)
        return {"texts": texts, "frames": _client_wire(texts), "expected": texts}

    return build


def _wscodec_echo(compression):
    def prepare(case, api):
        from wscodec import handshake

        MessageDecoder = api.get("MessageDecoder")
        MessageEncoder = api.get("MessageEncoder")
        PerMessageDeflate = api.get("PerMessageDeflate")
        # The agreement websockets' server makes with this offer: 12-bit windows both ways.
        wishes = PerMessageDeflate(server_max_window_bits=WINDOW_BITS, client_max_window_bits=WINDOW_BITS)
        frames = case.inputs["frames"]
        try:
            MessageEncoder(compression=compression)
        except TypeError:
            raise Unavailable("missing: MessageEncoder(compression=...)") from None

        def connection(out):
            request = handshake.validate_request(_HEADERS)
            agreement = wishes.negotiate(request.extensions)
            out.append(handshake.build_response(request.key, extensions=agreement))
            decoder = MessageDecoder(deflate=agreement)
            encoder = MessageEncoder(deflate=agreement, compression=compression)
            for frame in frames:
                for event in decoder.feed(frame):
                    out.append(encoder.text(event.data))
            return out

        def result():
            out = connection([])
            return _read_answers(out[1:])

        return Prepared("connection([])", {"connection": connection}, result)

    return prepare


def _websockets_echo(case, api):
    ServerProtocol = _peer("websockets.server", "ServerProtocol")
    enable = _peer("websockets.extensions.permessage_deflate", "enable_server_permessage_deflate")
    frames = case.inputs["frames"]

    def connection(out):
        protocol = ServerProtocol(extensions=enable(None))
        protocol.receive_data(_REQUEST)
        request = protocol.events_received()[0]
        protocol.send_response(protocol.accept(request))
        out += protocol.data_to_send()
        for frame in frames:
            protocol.receive_data(frame)
            for event in protocol.events_received():
                protocol.send_text(event.data)
            out += protocol.data_to_send()
        return out

    def result():
        out = connection([])
        return _read_answers(out[1:])

    return Prepared("connection([])", {"connection": connection}, result)


class _EchoContender(Contender):
    """A contender whose label also shows the bytes it sends over one connection, and their
    ratio to websockets' (computed once per case, outside any timing)."""

    __slots__ = ("_case",)

    def __init__(self, name, library, prepare, case_ref):
        super().__init__(name, library, prepare)
        self._case = case_ref

    def label(self, api=None):
        base = super().label(api)
        try:
            sent = _bytes_sent(self._case[0], self, api)
            peer = _bytes_sent(self._case[0], self._case[0].contenders[-1], None)
        except Exception:  # not installed, or failing: the row says why
            return base
        return "%s [sent %s, %.3fx websockets']" % (base, _human_size(sent), sent / peer)


def _bytes_sent(case, contender, api):
    from ._cases import Api

    cache = case.__dict__.setdefault("_sent", {})
    key = (contender.name, getattr(api or Api(), "twin", None))
    if key not in cache:
        prepared = contender.prepare(case, api or Api())
        out = prepared.ns["connection"]([])
        cache[key] = sum(len(chunk) for chunk in out[1:])
    return cache[key]


def cases():
    result = []
    for size, count in SIZES:
        ref = []
        contenders = [
            _EchoContender("{wscodec} MessageDecoder + MessageEncoder, compression=%r%s" % (
                preset, " (default)" if preset == "speed" else ""), "wscodec", _wscodec_echo(preset), ref)
            for preset in ("speed", "balanced", "size")
        ]
        contenders.append(_EchoContender("websockets ServerProtocol + PerMessageDeflate (server defaults)",
                                         "websockets", _websockets_echo, ref))
        case = Case(
            "deflate-echo/%dKiB" % (size // KiB), "deflate-echo",
            "echo %d compressed %s JSON text messages (one connection: context takeover, windows 12/12)"
            % (count, _human_size(size)),
            _inputs(size, count), contenders, nbytes=size * count, items=count, item_label="message",
            quick=size <= 4 * KiB)
        ref.append(case)
        result.append(case)
    return result
