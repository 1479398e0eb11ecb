"""Drop-in speedups: each library's hot path as installed and with wscodec installed
(``wscodec.integrations``), e.g. ``python -m pytest bench/test_bench_integrations.py
--benchmark-group-by=group``; the same cases as ``python -m wscodec bench --filter
integrations``."""

CASE_PREFIX = "integrations/"


def test_integration(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
