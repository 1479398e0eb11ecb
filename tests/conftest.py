"""Shared fixtures: every twin-parametrized test runs against the compiled and the pure twin.

``impl`` is a :class:`Twin`; ``impl.mask`` is ``wscodec._mask_c`` or ``wscodec._mask_py``,
``impl.frames`` the frames module, and so on.  The compiled half carries the ``c_extension``
marker.  Under ``WSCODEC_NO_EXTENSIONS=1`` only the pure half is generated (the compiled
twin is not expected to be built then); ``test_select.py`` checks which twin the facade bound.
"""

import importlib

import pytest

from wscodec import _select

KINDS = ["python"] if _select.NO_EXTENSIONS else ["c", "python"]


class Twin:
    """Access to one twin's modules by concern: ``twin.mask``, ``twin.utf8``, ``twin.frames``..."""

    def __init__(self, kind):
        self.kind = kind
        self._suffix = "c" if kind == "c" else "py"

    def __getattr__(self, concern):
        if concern.startswith("_"):
            raise AttributeError(concern)
        name = "wscodec._%s_%s" % (concern, self._suffix)
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            # hasattr() probes (hypothesis checks its arguments for mocks) need AttributeError.
            raise AttributeError("%s: module %s not found" % (concern, name)) from exc

    def __repr__(self):
        return "Twin(%r)" % self.kind


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
    return Twin("c")


@pytest.fixture
def py_twin():
    return Twin("python")
