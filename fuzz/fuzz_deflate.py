"""Fuzz MessageDecoder with permessage-deflate (RFC 7692): compiled vs pure twin.

The agreement's parameters come from the input; compressed payloads are whatever the fuzzer
makes of the seeds (RFC 7692 §7.2.3 examples), so corrupt streams, BFINAL blocks, stored
blocks and inflation past the limit are all reachable.  Each decode is also held to the
resource bounds (``_common.bounded``): bytes handed to zlib, bytes it returns and peak memory.

    python fuzz/fuzz_deflate.py fuzz/corpus/deflate -max_total_time=60
"""

from _common import BUFFER_TYPES, Reader, bounded, outcome, run, same, same_kind, split, twins, watch_resources

import wscodec

compiled, pure = twins("messages")


def decode(module, data, cuts, client, limit, deflate, buffer_type):
    decoder = module.MessageDecoder(client=client, max_message_size=limit, deflate=deflate)
    # The resource oracle: inflater input and output and peak memory within the bounds
    # SECURITY.md documents ("Compressed messages"), or the input is a finding.
    return bounded(module.__name__, data, limit, decoder.feed,
                   lambda feed: outcome(feed, split(data, cuts), buffer_type))


def test_one(raw):
    # Layout: flags (bit 0 client, bit 1 server_no_context_takeover, bit 2
    # client_no_context_takeover), limit index, window bits (high nibble server, low nibble
    # client, each 8 + n % 8), buffer type, cuts, stream.
    reader = Reader(raw)
    flags = reader.byte()
    client = bool(flags & 1)
    limit = reader.pick([None, 0, 1, 5, 125, 1000, 1 << 16, 1 << 20])
    bits = reader.byte()
    deflate = wscodec.PerMessageDeflate(
        server_no_context_takeover=bool(flags & 2),
        client_no_context_takeover=bool(flags & 4),
        server_max_window_bits=8 + (bits >> 4) % 8,
        client_max_window_bits=8 + (bits & 15) % 8,
    )
    buffer_type = reader.pick(BUFFER_TYPES)
    cuts = reader.cuts()
    data = reader.rest()
    expected = decode(pure, data, cuts, client, limit, deflate, buffer_type)
    whole = decode(pure, data, [], client, limit, deflate, bytes)
    same_kind(whole, expected, data)
    if compiled is not None:
        got = decode(compiled, data, cuts, client, limit, deflate, buffer_type)
        same("MessageDecoder(deflate)", got, expected, data)


if __name__ == "__main__":
    watch_resources()
    run(test_one)
