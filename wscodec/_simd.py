"""Run-time choice of the SIMD instruction set the compiled kernels use.

Wheels are built for the baseline of their architecture (any x86-64 CPU, any AArch64 CPU),
so a kernel for a newer instruction set is compiled beside the scalar one and picked when a
compiled module is imported: the module detects what the CPU and the operating system
support (``wscodec/simd/cpu.h``: ``cpuid``, and ``xgetbv`` for the OS's AVX state) and asks
:func:`choose` for the level to use.  The first answer is kept, so every compiled module
uses the same level, and ``wscodec.SIMD`` reports it.

Levels, from the ``WSC_LEVEL_*`` bit numbers of ``cpu.h``:

* ``"none"``  scalar C (or the pure-Python twins, where nothing is compiled)
* ``"sse2"``  x86-64 baseline
* ``"ssse3"`` x86-64 with ``pshufb`` (SSSE3)
* ``"avx2"``  x86-64 with AVX2, and an OS that saves the YMM registers
* ``"neon"``  AArch64 Advanced SIMD

On x86-64 each level includes the ones before it: a concern uses its best kernel at or
below the chosen level (the UTF-8 validator has ``ssse3`` and ``avx2`` kernels, since its
table lookups need ``pshufb``; under ``sse2`` it runs its scalar kernel).

Each compiled module with kernels (``_mask_c``, ``_utf8_c``) describes them to a
:class:`Kernels` object, which answers its ``kernels()``, ``kernel()`` and ``_set_kernel()``
and installs the kernel the chosen level allows at import; the module keeps only the C
function pointer, set through the ``install`` callable it hands over.

``WSCODEC_SIMD=<level>`` forces a level, for tests and benchmarks.  A level this CPU (or this
build) cannot run, or an unknown name, is not an error: a ``RuntimeWarning`` says so and the
best level available is used.  (Under a warnings filter that turns warnings into errors,
the import then raises.)
"""

import os
import warnings

__all__ = ["LEVELS", "KERNELS", "Kernels", "choose", "level", "kernel_for"]

#: Level names, indexed by their ``WSC_LEVEL_*`` bit number in ``simd/cpu.h``.
LEVELS = ("none", "sse2", "ssse3", "avx2", "neon")

# Each architecture's levels, least capable first; a level allows the ones before it.
_CHAINS = (("none", "sse2", "ssse3", "avx2"), ("none", "neon"))

#: concern -> name of the kernel in use ("avx2", "none", ...), filled by the compiled modules.
KERNELS = {}

_chosen = None


def _available(mask):
    return [name for bit, name in enumerate(LEVELS) if (mask >> bit) & 1]


def _best(available):
    # Only one architecture's levels beyond "none" can be present, and LEVELS lists each
    # architecture's levels in increasing order: the last available one is the best.
    return available[-1] if available else "none"


def choose(mask):
    """The level every compiled kernel uses, given ``mask``, the ``WSC_LEVEL_*`` bits the
    CPU can run (``wsc_cpu_levels()``).  Decided once per process, on the first call."""
    global _chosen
    if _chosen is not None:
        return _chosen
    available = _available(mask)
    best = _best(available)
    forced = os.environ.get("WSCODEC_SIMD", "").strip().lower()
    if not forced:
        chosen = best
    elif forced in available:
        chosen = forced
    else:
        if forced in LEVELS:
            why = "this CPU or build cannot run it (available: %s)" % ", ".join(available)
        else:
            why = "not a known level (one of %s)" % ", ".join(LEVELS)
        chosen = best
        _chosen = chosen  # decided even if the warning is turned into an exception
        warnings.warn(
            "WSCODEC_SIMD=%r: %s; using %r instead" % (forced, why, best),
            RuntimeWarning,
            stacklevel=2,
        )
    _chosen = chosen
    return chosen


def level() -> str:
    """The chosen level, or ``"none"`` when no compiled module has loaded."""
    return _chosen if _chosen is not None else "none"


def kernel_for(chosen, kernels):
    """The best of ``kernels`` (the level names a concern has kernels for, runnable on this
    CPU) that the level ``chosen`` allows; ``"none"`` (the scalar kernel) if there is none."""
    for chain in _CHAINS:
        if chosen in chain:
            allowed = chain[: chain.index(chosen) + 1]
            usable = [name for name in allowed if name in kernels]
            return usable[-1] if usable else "none"
    return "none"


class Kernels:
    """The kernels of one concern of a compiled module: which ones this CPU and build can run,
    which one is in use, and switching between them.

    ``concern`` is the key in :data:`KERNELS` ("mask", "utf8"), ``title`` names the kernels in
    error messages ("masking", "UTF-8").  ``cpu_levels`` is ``wsc_cpu_levels()``;
    ``has_kernel(number)`` says whether the module has a kernel for level ``number`` (a
    ``WSC_LEVEL_*`` bit number), and ``install(number)`` makes it the one the module's C code
    calls.  The module exposes :meth:`kernels`, :meth:`kernel` and :meth:`set_kernel` (as
    ``_set_kernel``, for tests and benchmarks only) and calls :meth:`start` at import.
    """

    def __init__(self, concern, title, cpu_levels, has_kernel, install):
        self._concern = concern
        self._title = title
        self._cpu_levels = cpu_levels
        self._install = install
        self._names = tuple(
            name
            for number, name in enumerate(LEVELS)
            if (cpu_levels >> number) & 1 and has_kernel(number)
        )

    def kernels(self):
        """The kernels this CPU and build can run, ``"none"`` (scalar C) first."""
        return self._names

    def kernel(self):
        """The name of the kernel in use (``"avx2"``, ``"neon"``, ``"none"``...)."""
        return KERNELS[self._concern]

    def number(self, name):
        """The ``WSC_LEVEL_*`` number of the kernel ``name``; ``ValueError`` if this CPU
        cannot run it."""
        if name not in self._names:
            raise ValueError(
                "%s kernel %r is not available here (have: %s)"
                % (self._title, name, ", ".join(self._names))
            )
        return LEVELS.index(name)

    def set_kernel(self, name):
        """Use the kernel ``name`` from now on (tests and benchmarks only; ``ValueError`` if
        this CPU cannot run it).  Returns the name of the kernel used before."""
        number = self.number(name)
        previous = KERNELS.get(self._concern, "none")
        self._install(number)
        KERNELS[self._concern] = name
        return previous

    def start(self):
        """Install the best kernel the process's level (:func:`choose`) allows."""
        self.set_kernel(kernel_for(choose(self._cpu_levels), self._names))
