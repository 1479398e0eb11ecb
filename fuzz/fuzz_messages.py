"""Fuzz MessageDecoder without an extension: compiled vs pure twin, split input.

    python fuzz/fuzz_messages.py fuzz/corpus/messages -max_total_time=60
"""

from _common import BUFFER_TYPES, Reader, bounded, outcome, run, same, same_kind, split, twins, watch_resources

compiled, pure = twins("messages")


def decode(module, data, cuts, client, limit, buffer_type):
    decoder = module.MessageDecoder(client=client, max_message_size=limit)
    # The resource oracle: peak memory within the documented bound (_common.bounded).
    return bounded(module.__name__, data, limit, decoder.feed,
                   lambda feed: outcome(feed, split(data, cuts), buffer_type))


def test_one(raw):
    # Layout: flags (bit 0 client), limit index, buffer type, cuts, stream.
    reader = Reader(raw)
    client = bool(reader.byte() & 1)
    limit = reader.pick([None, 0, 1, 5, 125, 126, 1 << 16, 1 << 20])
    buffer_type = reader.pick(BUFFER_TYPES)
    cuts = reader.cuts()
    data = reader.rest()
    expected = decode(pure, data, cuts, client, limit, buffer_type)
    whole = decode(pure, data, [], client, limit, bytes)
    same_kind(whole, expected, data)
    if compiled is not None:
        got = decode(compiled, data, cuts, client, limit, buffer_type)
        same("MessageDecoder", got, expected, data)


if __name__ == "__main__":
    watch_resources()
    run(test_one)
