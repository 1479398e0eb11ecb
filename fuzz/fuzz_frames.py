"""Fuzz FrameDecoder: compiled vs pure twin over the same bytes, split at fuzzer-chosen points.

    python fuzz/fuzz_frames.py fuzz/corpus/frames -max_total_time=60
"""

from _common import BUFFER_TYPES, Reader, outcome, run, same, same_kind, split, twins

compiled, pure = twins("frames")


def decode(module, data, cuts, client, limit, allow_rsv1, buffer_type):
    decoder = module.FrameDecoder(client=client, max_frame_size=limit, allow_rsv1=allow_rsv1)
    return outcome(decoder.feed, split(data, cuts), buffer_type)


def test_one(raw):
    # Layout: flags (bit 0 client, bit 1 allow_rsv1), limit index, buffer type, cuts, stream.
    reader = Reader(raw)
    flags = reader.byte()
    client, allow_rsv1 = bool(flags & 1), bool(flags & 2)
    # Small limits make the limit checks reachable; None is "no limit".
    limit = reader.pick([None, 0, 1, 125, 126, 1 << 16, 1 << 20])
    buffer_type = reader.pick(BUFFER_TYPES)
    cuts = reader.cuts()
    data = reader.rest()
    expected = decode(pure, data, cuts, client, limit, allow_rsv1, buffer_type)
    # The same stream in one piece must give the same outcome as any split of it.
    whole = decode(pure, data, [], client, limit, allow_rsv1, bytes)
    same_kind(whole, expected, data)
    if compiled is not None:
        got = decode(compiled, data, cuts, client, limit, allow_rsv1, buffer_type)
        same("FrameDecoder", got, expected, data)


if __name__ == "__main__":
    run(test_one)
