"""The compiled twins' kernel hooks, shared by test_simd.py (UTF-8) and test_mask_simd.py
(masking).

Each compiled module lists the kernels this CPU runs (``kernels()``), names the one in use
(``kernel()``) and switches between them (``_set_kernel``); those hooks exist for tests and
benchmarks only.  Under WSCODEC_NO_EXTENSIONS=1 no compiled twin is built and there are no
kernels.
"""

import importlib
import platform

import pytest

from wscodec import _select

MACHINE = platform.machine().lower()
X86_64 = MACHINE in ("x86_64", "amd64")
AARCH64 = MACHINE in ("aarch64", "arm64")


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (Linux), or None where it cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def compiled(concern):
    """``(module, kernels)``: the compiled twin of ``concern`` ("mask", "utf8") and the
    kernels it lists, or ``(None, [])`` where the compiled twin is not built."""
    if _select.NO_EXTENSIONS:
        return None, []
    module = importlib.import_module("wscodec._%s_c" % concern)
    return module, list(module.kernels())


def kernel_fixture(module, kernels, what):
    """A fixture named ``kernel`` over each of ``kernels`` of the compiled ``module``: the
    kernel is switched in for the test and switched back after."""

    def kernel(request):
        previous = module._set_kernel(request.param)
        try:
            yield request.param
        finally:
            module._set_kernel(previous)

    kernel.__doc__ = ("Each %s kernel this CPU runs, switched in for the test and switched "
                      "back after." % what)
    return pytest.fixture(params=kernels)(kernel)
