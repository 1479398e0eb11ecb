"""Frame encoding (RFC 6455 §5.2): one 125 B or 64 KiB binary frame, unmasked (server) and
masked with a fresh key (client, §5.3)."""

CASE_PREFIX = "encode/"


def test_encode(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
