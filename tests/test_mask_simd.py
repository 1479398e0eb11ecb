"""Masking kernels (RFC 6455 §5.3) and their run-time dispatch: every kernel this CPU can run
(AVX2, SSE2, NEON, scalar C) against the scalar kernel and the byte-at-a-time definition, at
every alignment of source and destination, lengths 0..257 and offsets 0..3, in place and
out of place; ``WSCODEC_SIMD`` forcing the masking kernel; the kernels compiled alone in C,
natively and (where the tools exist) for AArch64 under emulation.

The compiled module lists the kernels this CPU runs (``kernels()``), names the one in use
(``kernel()``), switches between them (``_set_kernel``) and runs one alone on a slice of a
buffer (``_run_kernel``); those hooks exist for tests and benchmarks only.
"""

import ctypes
import mmap
import os
import pathlib
import random
import subprocess
import sys

import _kernels
import _native
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wscodec
from wscodec import _select

mask_c, KERNELS = _kernels.compiled("mask")

pytestmark = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twin not built")

X86_64, AARCH64 = _kernels.X86_64, _kernels.AARCH64
KEY = b"\x37\xfa\x21\x3d"
GUARD = 0xA5  # fills the destination around the masked range; it must stay untouched


def reference(data, key, offset=0):
    """RFC 6455 §5.3, one byte at a time."""
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


kernel = _kernels.kernel_fixture(mask_c, KERNELS, "masking")


# ---- which kernels exist -------------------------------------------------------------------


def test_kernels_match_the_cpu():
    assert KERNELS[0] == "none"
    if X86_64:
        assert "sse2" in KERNELS  # the x86-64 baseline
        flags = _kernels.cpu_flags()  # Linux only; there the build uses GCC or clang (AVX2 kernel)
        if flags is not None:
            assert ("avx2" in KERNELS) == ("avx2" in flags)
    elif AARCH64 and sys.byteorder == "little" and sys.platform != "win32":
        assert "neon" in KERNELS
    else:
        assert KERNELS == ["none"]


def test_default_kernel_follows_the_chosen_level():
    if os.environ.get("WSCODEC_SIMD"):
        pytest.skip("WSCODEC_SIMD forces a level in this run")
    # The best kernel the machine runs: avx2 beats sse2 on x86-64, neon on AArch64.
    assert mask_c.kernel() == KERNELS[-1]
    assert wscodec.SIMD in ("avx2", "ssse3", "sse2", "neon", "none")


def test_set_kernel(kernel):
    assert mask_c.kernel() == kernel
    assert mask_c.apply_mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")


def test_set_kernel_refuses_unknown_or_missing():
    before = mask_c.kernel()
    for name in ("avx9", "neon" if X86_64 else "avx2", "ssse3"):
        with pytest.raises(ValueError):
            mask_c._set_kernel(name)
    assert mask_c.kernel() == before


def test_run_kernel_checks_its_arguments():
    dst = bytearray(8)
    for args in [
        (dst, 0, bytes(8), 0, 9, KEY, 0),  # past the end of dst
        (dst, 0, bytes(4), 0, 5, KEY, 0),  # past the end of src
        (dst, -1, bytes(8), 0, 1, KEY, 0),
        (dst, 0, bytes(8), 0, -1, KEY, 0),
        (dst, 0, dst, 1, 4, KEY, 0),  # partial overlap
        (dst, 0, bytes(8), 0, 4, b"abc", 0),
    ]:
        with pytest.raises(ValueError):
            mask_c._run_kernel("none", *args)
    with pytest.raises(ValueError):
        mask_c._run_kernel("avx9", dst, 0, bytes(8), 0, 1, KEY, 0)
    with pytest.raises(BufferError):
        mask_c._run_kernel("none", bytes(8), 0, bytes(8), 0, 1, KEY, 0)  # read-only dst


# ---- every kernel against the definition ------------------------------------------------

PAYLOAD = bytes(random.Random(7692).randrange(256) for _ in range(400))
SLACK = 64  # room for every alignment modulo 32, whatever the buffer's own alignment


def run_out_of_place(name, data, key, offset, dst_at, src_at):
    src = bytes(src_at) + data + bytes(SLACK)
    dst = bytearray([GUARD]) * (dst_at + len(data) + SLACK)
    mask_c._run_kernel(name, dst, dst_at, src, src_at, len(data), key, offset)
    assert dst[:dst_at] == bytes([GUARD]) * dst_at
    assert dst[dst_at + len(data):] == bytes([GUARD]) * SLACK
    return bytes(dst[dst_at:dst_at + len(data)])


def run_in_place(name, data, key, offset, at):
    buf = bytearray([GUARD]) * at + bytearray(data) + bytearray([GUARD]) * SLACK
    mask_c._run_kernel(name, buf, at, buf, at, len(data), key, offset)
    assert buf[:at] == bytes([GUARD]) * at
    assert buf[at + len(data):] == bytes([GUARD]) * SLACK
    return bytes(buf[at:at + len(data)])


@pytest.mark.parametrize("name", KERNELS)
def test_every_length_offset_and_alignment_in_place(name):
    # Lengths 0..257 cover every head/body/tail split of 16- and 32-byte vectors; positions
    # 0..31 put the buffer at every alignment modulo 32.
    for n in range(258):
        data = PAYLOAD[:n]
        for offset in range(4):
            expected = reference(data, KEY, offset)
            for at in range(32):
                assert run_in_place(name, data, KEY, offset, at) == expected, (n, offset, at)


@pytest.mark.parametrize("name", KERNELS)
def test_every_length_offset_and_alignment_out_of_place(name):
    # Every (src, dst) alignment pair modulo 16 for every length, and modulo 32 on a sample.
    rng = random.Random(name)
    for n in range(258):
        data = PAYLOAD[:n]
        for offset in range(4):
            expected = reference(data, KEY, offset)
            pairs = [(d, s) for d in range(16) for s in range(16)]
            pairs += [(rng.randrange(32), rng.randrange(32)) for _ in range(8)]
            for dst_at, src_at in pairs:
                got = run_out_of_place(name, data, KEY, offset, dst_at, src_at)
                assert got == expected, (n, offset, dst_at, src_at)


@pytest.mark.parametrize("name", KERNELS)
def test_large_offsets_and_lengths(name):
    # Offsets beyond 3 only count modulo 4; long payloads run the unrolled body many times.
    data = os.urandom(70000)
    for offset in (4, 5, 2**31 + 2, 2**62 + 3):
        expected = mask_c.apply_mask(bytes(offset % 4) + data, KEY)[offset % 4:]
        assert run_out_of_place(name, data, KEY, offset, 3, 5) == expected
        assert run_in_place(name, data, KEY, offset, 7) == expected


def reference_fast(data, key, offset=0):
    """The same definition for large payloads: one translation table per key position."""
    out = bytearray(len(data))
    for j in range(4):
        k = key[(offset + j) % 4]
        out[j::4] = data[j::4].translate(bytes(b ^ k for b in range(256)))
    return bytes(out)


STREAM_MIN = 10 * 1024 * 1024  # WSC_MASK_STREAM_MIN in simd/mask_simd.h


@pytest.mark.parametrize("name", KERNELS)
def test_streaming_stores_beyond_the_caches(name):
    # Out of place from 10 MiB on, the x86-64 kernels write with streaming stores; the
    # lengths straddle that threshold and the destinations sit at several alignments.
    data = os.urandom(STREAM_MIN + 200)
    for n, dst_at, src_at, offset in [(STREAM_MIN - 1, 0, 0, 1), (STREAM_MIN, 5, 0, 0),
                                      (STREAM_MIN + 1, 17, 3, 2), (STREAM_MIN + 131, 31, 9, 3)]:
        src = bytes(src_at) + data[:n]
        dst = bytearray([GUARD]) * (dst_at + n + 40)
        mask_c._run_kernel(name, dst, dst_at, src, src_at, n, KEY, offset)
        assert dst[dst_at:dst_at + n] == reference_fast(data[:n], KEY, offset), (n, dst_at)
        assert dst[:dst_at] == bytes([GUARD]) * dst_at
        assert dst[dst_at + n:] == bytes([GUARD]) * 40


HALVES_MIN = 32 * 1024  # WSC_MASK_HALVES_MIN in simd/mask_simd.h


@pytest.mark.parametrize("name", KERNELS)
def test_split_loads_beyond_the_first_level_cache(name):
    # Out of place from 32 KiB on, the AVX2 kernel loads src in 16-byte halves; the lengths
    # straddle that threshold, with src and dst at every relative alignment modulo 32.
    data = os.urandom(HALVES_MIN + 200)
    rng = random.Random(7)
    for n in (HALVES_MIN - 1, HALVES_MIN, HALVES_MIN + 1, HALVES_MIN + 131):
        offset = n % 4
        expected = reference_fast(data[:n], KEY, offset)
        for src_at in range(32):
            dst_at = rng.randrange(32)
            src = bytes(src_at) + data[:n]
            dst = bytearray([GUARD]) * (dst_at + n + 40)
            mask_c._run_kernel(name, dst, dst_at, src, src_at, n, KEY, offset)
            assert dst[dst_at:dst_at + n] == expected, (n, dst_at, src_at)
            assert dst[:dst_at] == bytes([GUARD]) * dst_at
            assert dst[dst_at + n:] == bytes([GUARD]) * 40


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600), key=st.binary(min_size=4, max_size=4),
       offset=st.integers(0, 3), dst_at=st.integers(0, 40), src_at=st.integers(0, 40))
def test_all_kernels_agree_with_the_scalar_kernel(data, key, offset, dst_at, src_at):
    scalar = run_out_of_place("none", data, key, offset, dst_at, src_at)
    assert scalar == reference(data, key, offset)
    for name in KERNELS:
        assert run_out_of_place(name, data, key, offset, dst_at, src_at) == scalar, name
        assert run_in_place(name, data, key, offset, dst_at) == scalar, name


def _guarded_region(n):
    """A writable buffer whose bytes [start, start + n) end right before a page the process
    may not touch (mprotect through ctypes, Linux and macOS), as (region, anchor, start); or
    None where that cannot be arranged."""
    if sys.platform not in ("linux", "darwin"):
        return None
    page = mmap.PAGESIZE
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        mprotect = libc.mprotect
    except (OSError, AttributeError):
        return None
    mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    pages = (n + page - 1) // page + 1
    region = mmap.mmap(-1, pages * page)
    anchor = ctypes.c_char.from_buffer(region)  # keeps the mapping alive and gives its address
    if mprotect(ctypes.addressof(anchor) + (pages - 1) * page, page, 0) != 0:  # PROT_NONE
        return None
    return region, anchor, (pages - 1) * page - n


@pytest.mark.parametrize("name", KERNELS)
def test_nothing_touched_past_the_end(name):
    # Source and destination ending right before an inaccessible page: a kernel reading or
    # writing one byte too far crashes the process.  The mappings are never unmapped (their
    # last page stays protected), so they are made once per length and reused.
    for n in list(range(0, 80)) + [127, 128, 129, 255, 256, 257, 4099]:
        data = PAYLOAD[:n] if n <= len(PAYLOAD) else os.urandom(n)
        guarded = _guarded_region(n)
        if guarded is None:
            pytest.skip("mprotect is not available here")
        region, _anchor, start = guarded
        for offset in range(4):
            region[start:start + n] = data
            out = bytearray(n)
            mask_c._run_kernel(name, out, 0, region, start, n, KEY, offset)  # read at the edge
            assert bytes(out) == reference(data, KEY, offset)
            mask_c._run_kernel(name, region, start, region, start, n, KEY, offset)  # in place
            assert region[start:start + n] == out
            region[start:start + n] = bytes(n)
            mask_c._run_kernel(name, region, start, data, 0, n, KEY, offset)  # write at the edge
            assert region[start:start + n] == out
        _LIVE.append(guarded)


# Guarded mappings stay referenced: a mapping whose last page is PROT_NONE is still freed
# correctly by munmap, but keeping them avoids relying on that in the middle of a test.
_LIVE = []


# ---- WSCODEC_SIMD in fresh interpreters ----------------------------------------------------

PROBE = (
    "import wscodec\n"
    "from wscodec import _mask_c\n"
    "ok = wscodec.apply_mask(bytes(range(200)), b'\\x01\\x02\\x03\\x04') == bytes(\n"
    "    b ^ (1 + i % 4) for i, b in enumerate(range(200)))\n"
    "print(wscodec.SIMD, _mask_c.kernel(), ok)\n"
)


def probe(simd):
    env = {k: v for k, v in os.environ.items() if k != "WSCODEC_SIMD"}
    env["WSCODEC_SIMD"] = simd
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.split(), done.stderr


@pytest.mark.parametrize("name", KERNELS)
def test_forcing_each_level_picks_its_masking_kernel(name):
    (simd, kernel, ok), err = probe(name.upper())  # names are case-insensitive
    assert (simd, kernel, ok) == (name, name, "True")
    assert "RuntimeWarning" not in err


@pytest.mark.skipif(not X86_64, reason="x86-64 levels")
def test_forcing_ssse3_masks_with_sse2():
    # Masking needs no byte shuffle: at the SSSE3 level it runs its SSE2 kernel.
    if "ssse3" not in _cpu_flags_or_empty():
        pytest.skip("this CPU has no SSSE3")
    (simd, kernel, ok), _ = probe("ssse3")
    assert (simd, kernel, ok) == ("ssse3", "sse2", "True")


def _cpu_flags_or_empty():
    return _kernels.cpu_flags() or set()


@pytest.mark.parametrize("value", ["avx9", "neon" if X86_64 else "avx2"])
def test_forcing_an_unavailable_level_keeps_the_best_masking_kernel(value):
    (simd, kernel, ok), err = probe(value)
    assert "RuntimeWarning" in err and value in err
    assert (kernel, ok) == (KERNELS[-1], "True")


# ---- the kernels in C alone, natively and (where the tools exist) on AArch64 -------------

HARNESS = pathlib.Path(__file__).with_name("simd_mask_check.c")


def _run_harness(cc, tmp_path, run_prefix=(), extra=()):
    return _native.build_and_run(HARNESS, cc, tmp_path, run_prefix=run_prefix,
                                 cflags=["-Wno-unused-function", *extra])


@pytest.mark.skipif(_native.native_cc() is None or sys.platform == "win32",
                    reason="no C compiler to build the stand-alone kernel check")
def test_kernels_in_c(tmp_path):
    out = _run_harness(_native.native_cc(), tmp_path)
    for name in KERNELS:
        assert "%s: ok" % name in out, out


def test_neon_kernel_under_emulation(tmp_path):
    _native.require_cross_tools()
    out = _run_harness(_native.CROSS_CC, tmp_path, _native.CROSS_RUN, ["-static"])
    assert "neon: ok" in out and "none: ok" in out, out
