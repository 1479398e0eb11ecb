"""Masking (RFC 6455 §5.3): apply_mask out of place and mask_inplace, 16 B to 16 MiB."""

CASE_PREFIX = "mask/"


def test_mask(run_benchmark, case, contender, api):
    run_benchmark(case, contender, api)
