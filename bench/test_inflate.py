"""Inflating (permessage-deflate, RFC 7692 §7.2.2): one compressed binary message of 1, 4, 16
and 64 MiB (about 2:1), decoded with ``max_message_size`` set to its size.  One timed call
decodes the message; divide by its size in MiB for the time per MiB, which should be the same
at every size (inflating is linear; SECURITY.md, "Compressed messages")."""

CASE_PREFIX = "inflate/"


def test_inflate(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
