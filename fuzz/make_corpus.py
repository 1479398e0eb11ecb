"""Write the seed corpus (``corpus/<harness>/``) from the RFCs' own examples.

    python fuzz/make_corpus.py

Each seed is the harness's configuration bytes (see ``Reader`` in ``_common.py``) followed by
an example from RFC 6455 §5.7 (frames), RFC 7692 §7.2.3 (compressed messages), RFC 3629 §7
(UTF-8), RFC 6455 §1.3/§4 (handshake) or RFC 7692 §7.1 (extension headers).  The seeds are
checked in; rerunning this script rewrites the same files.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

# RFC 6455 §5.7.
HELLO = b"\x81\x05\x48\x65\x6c\x6c\x6f"                                  # unmasked text "Hello"
HELLO_MASKED = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"           # masked text "Hello"
FRAGMENTED = b"\x01\x03\x48\x65\x6c" + b"\x80\x02\x6c\x6f"               # "Hel" + "lo"
PING = b"\x89\x05\x48\x65\x6c\x6c\x6f"                                   # unmasked Ping "Hello"
PONG_MASKED = b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"            # masked Pong "Hello"
BINARY_256 = b"\x82\x7e\x01\x00" + bytes(range(256))                     # 16-bit length
BINARY_64K_HEADER = b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00" + b"\x00" * 16   # 64-bit length, cut short
CLOSE_1000 = b"\x88\x02\x03\xe8"                                         # §5.5.1 Close, code 1000

# RFC 7692 §7.2.3 (server to client, unmasked).
DEFLATE_HELLO = b"\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00"                  # §7.2.3.1
DEFLATE_HELLO_TWICE = DEFLATE_HELLO + b"\xc1\x05\xf2\x00\x11\x00\x00"    # §7.2.3.2 (context takeover)
DEFLATE_STORED = b"\xc1\x0b\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00"  # §7.2.3.3 no compression
DEFLATE_BFINAL = b"\xc1\x08\xf3\x48\xcd\xc9\xc9\x07\x00\x00"             # §7.2.3.4 BFINAL set
DEFLATE_FRAGMENTED = b"\x41\x03\xf2\x48\xcd" + b"\x80\x04\xc9\xc9\x07\x00"  # §7.2.3.1 fragmented

# RFC 3629 §7 examples, plus the ill-formed sequences §3/§10 name.
UTF8 = {
    "not_identical_alpha": b"\x41\xe2\x89\xa2\xce\x91\x2e",
    "korean": b"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
    "japanese": b"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "bom_stump": b"\xef\xbb\xbf\xf0\xa3\x8e\xb4",
    "surrogate": b"\xed\xa0\x80",
    "overlong_nul": b"\xc0\x80",
    "above_10ffff": b"\xf4\x90\x80\x80",
}

# RFC 6455 §1.3 opening handshake.
REQUEST = (
    "Host: server.example.com\n"
    "Upgrade: websocket\n"
    "Connection: Upgrade\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
    "Origin: http://example.com\n"
    "Sec-WebSocket-Protocol: chat, superchat\n"
    "Sec-WebSocket-Version: 13\n"
)
RESPONSE = (
    "Upgrade: websocket\n"
    "Connection: Upgrade\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n"
    "Sec-WebSocket-Protocol: chat\n"
)
# RFC 7692 §7.1 offers and responses.
OFFERS = [
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
    'permessage-deflate; server_max_window_bits="10", permessage-deflate',
]

NO_CUTS = b"\x00"
TWO_CUTS = b"\x02\x00\x01\x00\x04"   # split after byte 1 and byte 4


def seeds():
    # fuzz_frames: flags (1 = client), limit index (0 = None), buffer type, cuts.
    server, client = b"\x00\x00\x00", b"\x01\x00\x00"
    yield "frames", "hello", client + NO_CUTS + HELLO
    yield "frames", "hello_masked", server + TWO_CUTS + HELLO_MASKED
    yield "frames", "fragmented", client + TWO_CUTS + FRAGMENTED
    yield "frames", "ping", client + NO_CUTS + PING
    yield "frames", "pong_masked", server + NO_CUTS + PONG_MASKED
    yield "frames", "binary_256", client + TWO_CUTS + BINARY_256
    yield "frames", "binary_64k_header", client + NO_CUTS + BINARY_64K_HEADER
    yield "frames", "rsv1_allowed", b"\x03\x00\x01" + NO_CUTS + DEFLATE_HELLO
    # fuzz_messages: flags, limit index, buffer type, cuts.
    yield "messages", "hello", client + NO_CUTS + HELLO
    yield "messages", "fragmented_with_ping", client + TWO_CUTS + FRAGMENTED[:5] + PING + FRAGMENTED[5:]
    yield "messages", "masked", server + NO_CUTS + HELLO_MASKED + PONG_MASKED
    yield "messages", "close", client + NO_CUTS + HELLO + CLOSE_1000
    yield "messages", "limit_5", b"\x01\x03\x02" + NO_CUTS + BINARY_256
    # fuzz_deflate: flags, limit index, window bits (0x77 = 15/15), buffer type, cuts.
    d_client = b"\x01\x00\x77\x00"
    yield "deflate", "hello", d_client + NO_CUTS + DEFLATE_HELLO
    yield "deflate", "hello_twice", d_client + TWO_CUTS + DEFLATE_HELLO_TWICE
    yield "deflate", "stored", d_client + NO_CUTS + DEFLATE_STORED
    yield "deflate", "bfinal", d_client + NO_CUTS + DEFLATE_BFINAL
    yield "deflate", "fragmented", d_client + TWO_CUTS + DEFLATE_FRAGMENTED
    yield "deflate", "no_context_takeover", b"\x07\x00\x22\x01" + NO_CUTS + DEFLATE_HELLO_TWICE
    # fuzz_utf8: buffer type, cuts.
    for name, text in UTF8.items():
        yield "utf8", name, b"\x00" + TWO_CUTS + text
    # fuzz_mask: key length index (0 = 4 bytes), key, buffer type, 5-byte offset, cuts.
    key = b"\x37\xfa\x21\x3d"
    yield "mask", "hello", b"\x00" + key + b"\x00" + bytes(5) + NO_CUTS + b"Hello"
    yield "mask", "hello_chunks", b"\x00" + key + b"\x01" + b"\x00\x00\x00\x00\x03" + TWO_CUTS + b"Hello"
    yield "mask", "bad_key", b"\x05" + b"\x01\x02\x03" + b"\x00" + bytes(5) + NO_CUTS + b"Hello"
    # fuzz_handshake: parser (0 request, 1 response, 2 extension header), text.
    yield "handshake", "request", b"\x00" + REQUEST.encode()
    yield "handshake", "request_deflate", b"\x00" + (REQUEST + "Sec-WebSocket-Extensions: %s\n" % OFFERS[2]).encode()
    yield "handshake", "response", b"\x01" + RESPONSE.encode()
    for i, offer in enumerate(OFFERS):
        yield "handshake", "extension_%d" % i, b"\x02" + offer.encode()


def main():
    for harness, name, data in seeds():
        directory = os.path.join(HERE, "corpus", harness)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
