"""The deflate backends: the one place every compressor and decompressor is created.

Both message twins create their permessage-deflate streams (RFC 7692 §7) through
:func:`new_compressor` / :func:`compressobj` and :func:`decompressobj` here, never through
``zlib`` directly, so the module doing the work is chosen at run time without touching the
codec.  Three modules with the ``zlib`` API are known, fastest first:

``"isal"``     ``isal.isal_zlib`` (Intel ISA-L, PyPI ``isal``): levels 0-3 only (its own scale:
               1 is already close to zlib's 4-6 in size), raw windows of 9-15 bits, the
               default strategy only;
``"zlib-ng"``  ``zlib_ng.zlib_ng`` (PyPI ``zlib-ng``): zlib's levels, windows, memory levels
               and strategies, and the same output sizes within about 1%;
``"zlib"``     the standard library, always present.

``DEFLATE_BACKEND`` (re-exported by ``wscodec``) names the backend in use: the fastest one
installed, or the one forced by ``WSCODEC_DEFLATE_BACKEND=isal|zlib-ng|zlib`` or by
:func:`set_deflate_backend`.  Every backend inflates every valid stream (decompressing does not
depend on how the data was compressed), so inflaters always come from the backend in use.

A compressor also needs the backend to honour what was negotiated and the encoder's
``compression`` setting; where it cannot (isal for an 8-bit window, which needs Huffman-only
coding, or for a zlib level above 3), that one stream falls back to the next backend that can,
ending at the standard library, which can do everything (see :func:`compressor_plan`).  So a
peer that inflates with the standard library's zlib always reads what we send.

The tests use :func:`set_backend` to hand in a module of their own (one counting the bytes handed
to the inflater).  The backend is looked up once per stream (not per message or per call), so
the indirection costs nothing on the per-frame path.
"""

from typing import Optional
import importlib
import os
import zlib as _zlib

__all__ = [
    "BACKENDS",
    "BACKEND_MODULES",
    "COMPRESSION_PRESETS",
    "DEFAULT_COMPRESSION",
    "Z_HUFFMAN_ONLY",
    "Z_SYNC_FLUSH",
    "available",
    "backend",
    "backend_name",
    "check_compression",
    "compressobj",
    "compressor_plan",
    "decompressobj",
    "errors",
    "incompressible",
    "new_compressor",
    "set_backend",
    "set_deflate_backend",
]

#: The flush mode that ends a compressed message on a byte boundary (RFC 7692 §7.2.1); the
#: value is part of the zlib API every backend copies.
Z_SYNC_FLUSH = _zlib.Z_SYNC_FLUSH
#: The strategy for an 8-bit window, which zlib cannot compress with (see ``compressor_plan``).
Z_HUFFMAN_ONLY = _zlib.Z_HUFFMAN_ONLY
_DEFAULT_STRATEGY = _zlib.Z_DEFAULT_STRATEGY


class _Backend:
    """What one deflate module can do as a compressor (every one inflates anything)."""

    __slots__ = ("name", "module_name", "max_level", "any_strategy")

    def __init__(self, name, module_name, max_level, any_strategy):
        self.name = name
        self.module_name = module_name
        self.max_level = max_level          # levels 0..max_level (isal: 0-3, its own scale)
        self.any_strategy = any_strategy    # False: the default strategy only (isal)

    def honours(self, wbits, level, strategy):
        # Raw windows of 9-15 bits for every backend (an 8-bit window is compressed with 9
        # and Huffman-only coding, see compressor_plan).
        if not 9 <= wbits <= 15:
            return False
        if not 0 <= level <= self.max_level:
            return False
        return strategy == _DEFAULT_STRATEGY or self.any_strategy


#: The known backends, fastest first (isal compresses 3-9x and inflates 1.5-2x as fast as
#: zlib on JSON; zlib-ng 1.6-2.3x and 1.5-1.7x at the same size; see docs/compression.md).
BACKENDS = (
    _Backend("isal", "isal.isal_zlib", 3, False),
    _Backend("zlib-ng", "zlib_ng.zlib_ng", 9, True),
    _Backend("zlib", "zlib", 9, True),
)
_BY_NAME = {b.name: b for b in BACKENDS}
_ALIASES = {"zlib_ng": "zlib-ng", "isal_zlib": "isal"}

#: Named presets: for each, the backends to try in order with the level and memLevel each
#: takes.  Chosen by measurement (docs/compression.md; 4 KiB and 64 KiB JSON messages, window
#: 12, context takeover, against the standard library at level 6 / memLevel 5, the websockets
#: server default):
#:
#: - ``"speed"``: isal level 1 compresses 6-10x as fast for 1.08-1.12x the bytes; without isal,
#:   zlib-ng level 2 (2-3x, 1.11x the bytes; zlib-ng's level 1 is 1.5x the bytes), else zlib 1.
#: - ``"balanced"``: zlib-ng level 4 (1.4-2x, 1.02-1.03x the bytes), else isal level 3 at
#:   memLevel 5 (2-5x, 1.06x), else zlib's level 4.
#: - ``"size"``: zlib's level 6, through zlib-ng when installed (1.1-2.3x, within 1%).
#:
#: memLevel 5 is websockets' choice too: at a 4 KiB window (12 bits) zlib's compressor then
#: holds 38 KiB instead of 150 KiB at 8, for the same size within 1%; isal's buffers at
#: memLevel 1 hold 105 KiB (level 1) to 169 KiB (level 3) against 229-293 KiB at 5.
COMPRESSION_PRESETS = {
    "speed": (("isal", 1, 1), ("zlib-ng", 2, 5), ("zlib", 1, 5)),
    "balanced": (("zlib-ng", 4, 5), ("isal", 3, 5), ("zlib", 4, 5)),
    "size": (("zlib-ng", 6, 5), ("zlib", 6, 5), ("isal", 3, 5)),
}
#: The encoders' default ``compression``.
DEFAULT_COMPRESSION = "speed"
#: memLevel for an integer ``compression`` (a zlib level).
_INT_MEM_LEVEL = 5


def _load(spec):
    try:
        return importlib.import_module(spec.module_name)
    except ImportError:
        return None


_MODULES = {}
for _spec in BACKENDS:
    _module = _load(_spec)
    if _module is not None:
        _MODULES[_spec.name] = _module
del _spec, _module


#: name -> module of the backends installed (for tests and benchmarks).
BACKEND_MODULES = _MODULES


def available():
    """Names of the backends installed, fastest first (``"zlib"`` is always there)."""
    return [b.name for b in BACKENDS if b.name in _MODULES]


def _canonical(name):
    if not isinstance(name, str):
        raise TypeError("a deflate backend name must be a str, not %s" % type(name).__name__)
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _BY_NAME:
        raise ValueError("unknown deflate backend %r (known: %s)" % (name, ", ".join(_BY_NAME)))
    return key


# -- the backend in use -----------------------------------------------------------------------

_name = None        # name of the backend in use; None for a module handed to set_backend
_backend = _zlib    # its module
_forced = False     # True when chosen by name (env or set_deflate_backend), not automatic

#: Exception classes meaning "corrupt compressed data": the ``error`` of every backend used so
#: far, so a stream created before a switch still maps its errors to close code 1007.
errors = (_zlib.error,)


def _add_error(module):
    global errors
    error = module.error
    if not (isinstance(error, type) and issubclass(error, Exception)):
        raise TypeError("a deflate backend's error must be an exception class, not %r" % (error,))
    if error not in errors:
        errors = errors + (error,)


def _use(name, forced):
    global _name, _backend, _forced
    if name not in _MODULES:
        raise ValueError("deflate backend %r is not installed (installed: %s)" % (name, ", ".join(available())))
    module = _MODULES[name]
    _add_error(module)
    previous = _name
    _name, _backend, _forced = name, module, forced
    return previous


def backend():
    """The module creating decompressors (and, where it can, compressors)."""
    return _backend


def backend_name() -> "Optional[str]":
    """Name of the backend in use (``"isal"``, ``"zlib-ng"``, ``"zlib"``), ``None`` for a module
    handed to :func:`set_backend`."""
    return _name


def set_deflate_backend(name: "Optional[str]" = None) -> "Optional[str]":
    """Use the backend ``name`` (``"isal"``, ``"zlib-ng"`` or ``"zlib"``) for every stream created
    from now on, or the fastest installed with ``None``; returns the previous name.

    ``ValueError`` for an unknown name or a backend that is not installed.  Streams already
    created keep their backend.  Where the backend cannot honour a compressor's parameters, that
    compressor falls back to the standard library (see :func:`compressor_plan`).
    """
    if name is None:
        return _use(available()[0], False)
    return _use(_canonical(name), True)


def set_backend(module):
    """Create every later stream with ``module``; returns the previous backend module.

    ``module`` needs ``compressobj(level, method, wbits, memLevel, strategy)``,
    ``decompressobj(wbits)`` and an ``error`` exception class, as ``zlib`` has, and is trusted
    with zlib's levels, windows and strategies.  Passing back a module this returned restores
    it (by name when it is one of the known backends).  For tests and the fuzz harnesses.
    """
    global _name, _backend, _forced
    for attr in ("compressobj", "decompressobj", "error"):
        if not hasattr(module, attr):
            raise TypeError("a deflate backend needs %r, which %r lacks" % (attr, module))
    _add_error(module)
    previous = _backend
    _saved[id(previous)] = (previous, _name, _forced)
    saved = _saved.get(id(module))
    if saved is not None and saved[0] is module:
        _name, _forced = saved[1], saved[2]
    else:
        _name = next((n for n, m in _MODULES.items() if m is module), None)
        _forced = _name is not None
    _backend = module
    return previous


# id(module) -> (module, name, forced) of the backends set_backend replaced, so handing one back
# restores how it was chosen (automatically or forced).
_saved = {}


def _initial():
    forced = os.environ.get("WSCODEC_DEFLATE_BACKEND", "").strip()
    if forced:
        # A forced backend that is unknown or not installed fails the import: a test or
        # benchmark run that asks for one must never silently measure another.
        name = _canonical(forced)
        if name not in _MODULES:
            raise ImportError(
                "WSCODEC_DEFLATE_BACKEND=%s, which is not installed (installed: %s)" % (forced, ", ".join(available()))
            )
        _use(name, True)
    else:
        _use(available()[0], False)


_initial()


# -- compressors ------------------------------------------------------------------------------


def check_compression(compression):
    """Validate an encoder's ``compression``: a preset name or a zlib level 0-9."""
    if isinstance(compression, str):
        if compression not in COMPRESSION_PRESETS:
            raise ValueError(
                "compression must be one of %s or a zlib level 0-9, not %r"
                % (", ".join(repr(p) for p in COMPRESSION_PRESETS), compression)
            )
        return compression
    if isinstance(compression, bool) or not isinstance(compression, int):
        raise TypeError("compression must be a preset name or an int level, not %s" % type(compression).__name__)
    if not 0 <= compression <= 9:
        raise ValueError("a compression level is 0-9, not %d" % compression)
    return compression


def _candidates(compression):
    """(backend name, level, memLevel) to try in order for ``compression``."""
    if isinstance(compression, str):
        steps = COMPRESSION_PRESETS[compression]
    else:
        # A zlib level: isal's scale is different (its 1 is about zlib's 4-6), so only the
        # backends with zlib's levels take it.
        steps = (("zlib-ng", compression, _INT_MEM_LEVEL), ("zlib", compression, _INT_MEM_LEVEL))
    if _name is None:
        # A module handed to set_backend: it is trusted with zlib's levels (the preset's zlib
        # step, or the level asked for).
        zlib_step = next(s for s in steps if s[0] == "zlib")
        return (None, zlib_step[1], zlib_step[2]),
    if _forced:
        # The backend asked for first (at its step of the preset), then the standard library.
        own = next((s for s in steps if s[0] == _name), None)
        if own is None:
            # isal for a zlib level: its closest level.
            own = (_name, min(compression, _BY_NAME[_name].max_level), 1)
        zlib_step = next(s for s in steps if s[0] == "zlib")
        return (own, zlib_step) if _name != "zlib" else (zlib_step,)
    return tuple(s for s in steps if s[0] in _MODULES)


def compressor_plan(bits, compression=DEFAULT_COMPRESSION):
    """``(backend name, level, wbits, memLevel, strategy)`` of the compressor for an agreed
    window of ``bits`` (8-15) at ``compression`` (a preset name or a zlib level).

    The first candidate backend that honours the parameters wins; the standard library honours
    all of them, so there is always one.  zlib cannot compress with an 8-bit raw window: with 8
    agreed the stream uses 9 bits but emits no back-references at all (Huffman coding only),
    which any window decodes; isal has no Huffman-only strategy, so that stream never uses isal.
    The name is ``None`` for a module handed to :func:`set_backend`.
    """
    if bits == 8:
        wbits, strategy = 9, Z_HUFFMAN_ONLY
    else:
        wbits, strategy = bits, _DEFAULT_STRATEGY
    for name, level, mem_level in _candidates(compression):
        if name is None or _BY_NAME[name].honours(wbits, level, strategy):
            return name, level, wbits, mem_level, strategy
    # Unreachable: the standard library's step honours every window, level and strategy.
    raise AssertionError("no deflate backend for window %d, compression %r" % (bits, compression))


def new_compressor(bits, compression=DEFAULT_COMPRESSION):
    """A raw-deflate compressor for an agreed window of ``bits``, see :func:`compressor_plan`."""
    name, level, wbits, mem_level, strategy = compressor_plan(bits, compression)
    module = _backend if name is None else _MODULES[name]
    return module.compressobj(level, _zlib.DEFLATED, -wbits, mem_level, strategy)


def compressobj(wbits, strategy=_DEFAULT_STRATEGY):
    """A raw-deflate compressor (negative ``wbits``) from the backend in use, at zlib's default
    level and memory level (kept for callers that want zlib's own output)."""
    return _backend.compressobj(_zlib.Z_DEFAULT_COMPRESSION, _zlib.DEFLATED, wbits, 8, strategy)


def decompressobj(wbits):
    """A raw-deflate decompressor (negative ``wbits``) from the backend in use."""
    return _backend.decompressobj(wbits)


# -- incompressible messages ------------------------------------------------------------------

#: With ``skip_incompressible``, a message of at least this many bytes whose compressed form is
#: no smaller goes uncompressed (smaller ones are compressed whatever the result: starting a new
#: compressor after a skipped message would cost more than the bytes saved).
SKIP_MIN = 1024
#: Messages of at least this many bytes are probed before compressing them (below, the probe
#: would cost a large part of what compressing them costs: about 10 us against 40 us for 4 KiB
#: of JSON with isal).
PROBE_MIN = 8 * 1024
#: The probe compresses this many bytes from the start of the message.
PROBE_SIZE = 512
#: A probe that saves less than 1/16 of its bytes marks the message incompressible.
_PROBE_SHIFT = 4


def _probe_compressor():
    # A small compressor with dynamic Huffman codes (a static-code one, such as isal's level 0
    # or zlib-ng's level 1, calls base64 incompressible): isal's level 1 at memLevel 1, else
    # level 1 at the smallest window; the state is freed after the call.
    if "isal" in _MODULES:
        return _MODULES["isal"].compressobj(1, _zlib.DEFLATED, -9, 1)
    if "zlib-ng" in _MODULES:
        return _MODULES["zlib-ng"].compressobj(2, _zlib.DEFLATED, -9, 8)
    return _zlib.compressobj(1, _zlib.DEFLATED, -9, 8)


def incompressible(payload):
    """True if ``payload`` (bytes) looks incompressible: random or already compressed data.

    Only messages of at least ``PROBE_MIN`` bytes are probed: ``PROBE_SIZE`` bytes from their
    start are compressed on their own and must shrink by at least 1/16.  The probe does not
    touch the connection's compressor, so skipping a message keeps both windows in step (RFC
    7692 §6: a message without RSV1 is not inflated, so it never enters the peer's window).
    """
    if len(payload) < PROBE_MIN:
        return False
    z = _probe_compressor()
    out = len(z.compress(payload[:PROBE_SIZE])) + len(z.flush(_zlib.Z_FINISH))
    return out > PROBE_SIZE - (PROBE_SIZE >> _PROBE_SHIFT)
