"""Frame decoding (RFC 6455 §5.2): 10,000 masked 125 B text frames to str (one chunk and
4 KiB chunks) and 16 masked 1 MiB binary frames (one chunk and 64 KiB chunks).  One timed
call decodes the whole stream; divide by the frame count for the time per frame."""

CASE_PREFIX = "decode/"


def test_decode(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
