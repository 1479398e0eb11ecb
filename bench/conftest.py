"""pytest-benchmark over the same cases and contenders as ``python -m wscodec bench``.

Each test module names a case prefix (``CASE_PREFIX``); every case under it is parametrized
over wscodec's twins (compiled and pure Python) and over each peer library.  All setup —
inputs, decoders, validators, fake transports — happens before the timed call, and each
contender's result is checked against the case's expected result first.  Every case is its
own benchmark group, so::

    python -m pytest bench/ --benchmark-group-by=group
    python -m pytest bench/ --benchmark-autosave          # then later:
    python -m pytest bench/ --benchmark-compare

compare wscodec with its peers case by case.  ``-k`` selects, e.g. ``-k "mask and 1MiB"``.
A peer that is not installed is skipped with the reason; so is a wscodec function that is
not importable (the CLI reports the same as ``missing``).
"""

import re

import pytest

from wscodec import _select
from wscodec._bench import Api, Unavailable, WrongResult, all_cases, prepare
from wscodec._bench._runner import compile_call

TWINS = ["python"] if _select.NO_EXTENSIONS else ["c", "python"]

CASES = all_cases()


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.\[\]=-]+", "-", text).strip("-")


def _params(prefix):
    out = []
    for case in CASES:
        if not case.id.startswith(prefix):
            continue
        for contender in case.contenders:
            for api in ([Api(t) for t in TWINS] if contender.is_wscodec else [None]):
                label = contender.label(api)
                marks = [pytest.mark.c_extension] if api is not None and api.twin == "c" else []
                out.append(pytest.param(case, contender, api, marks=marks,
                                        id="%s|%s" % (case.id, _slug(label))))
    return out


def pytest_generate_tests(metafunc):
    if "contender" in metafunc.fixturenames:
        prefix = getattr(metafunc.module, "CASE_PREFIX")
        metafunc.parametrize(("case", "contender", "api"), _params(prefix))


_current = {}


@pytest.fixture
def run_benchmark(benchmark):
    """``run_benchmark(case, contender, api)``: prepare, check, then time one contender."""

    def run(case, contender, api):
        # Inputs are built on first use and dropped when the next case starts: large cases
        # hold tens of MiB.
        previous = _current.get("case")
        if previous is not None and previous is not case:
            previous.release()
        _current["case"] = case
        label = contender.label(api)
        try:
            prepared = prepare(case, contender, api)
        except Unavailable as exc:
            pytest.skip("%s: %s" % (label, exc))
        except WrongResult as exc:
            pytest.fail("%s: %s" % (label, exc))
        benchmark.group = case.id
        benchmark.extra_info.update({
            "case": case.id, "contender": label, "library": contender.library,
            "payload_bytes": case.nbytes, "items": case.items, "item": case.item_label,
        })
        benchmark(compile_call(prepared, label))

    return run
