"""UTF-8 validation (RFC 3629): ASCII, Chinese and mixed text at 125 B and 1 MiB."""

CASE_PREFIX = "utf8/"


def test_utf8(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
