"""Shared fixtures: every twin-parametrized test runs against the compiled and the pure twin.

``impl`` is a :class:`Twin`; ``impl.mask`` is ``wscodec._mask_c`` or ``wscodec._mask_py``,
``impl.frames`` the frames module, and so on.  The compiled half carries the ``c_extension``
marker.  Under ``WSCODEC_NO_EXTENSIONS=1`` only the pure half is generated (the compiled
twin is not expected to be built then); ``test_select.py`` checks which twin the facade bound.
"""

import pytest

from _twins import KINDS, Twin
from wscodec import _deflate, _select


def _params():
    return [
        pytest.param(kind, id=kind, marks=[pytest.mark.c_extension] if kind == "c" else [])
        for kind in KINDS
    ]


@pytest.fixture(params=_params())
def impl(request):
    return Twin(request.param)


@pytest.fixture
def c_twin():
    # Tests comparing the compiled twin with the pure one need the compiled twin: it is not
    # built under WSCODEC_NO_EXTENSIONS=1 or on PyPy (test_select.py checks that it is in a
    # normal CPython install).
    if _select.NO_EXTENSIONS:
        pytest.skip("compiled twin not built (WSCODEC_NO_EXTENSIONS=1 or not CPython)")
    return Twin("c")


@pytest.fixture
def py_twin():
    return Twin("python")


@pytest.fixture
def stdlib_zlib():
    """The standard library's zlib as the deflate backend (for byte-exact expectations)."""
    previous = _deflate.set_backend(_deflate.BACKEND_MODULES["zlib"])
    try:
        yield
    finally:
        _deflate.set_backend(previous)
