"""SIMD kernels and their run-time dispatch: every UTF-8 kernel this CPU can run against the
scalar kernel, the pure twin and ``bytes.decode``; ``WSCODEC_SIMD`` and ``wscodec.SIMD``.

The compiled UTF-8 module lists the kernels this CPU runs (``kernels()``), names the one in
use (``kernel()``) and switches between them for tests (``_set_kernel``); each kernel is also
called alone (``_simd_prefix``) to check its contract.  The oracles are ``bytes.decode`` and,
for the incremental validator's fail-fast answers, the proper prefixes of every encoded
code point (from ``str.encode``).
"""

import ctypes
import mmap
import os
import pathlib
import subprocess
import sys

import _kernels
import _native
import pytest
from _utf8_oracle import decodes, viable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wscodec
from wscodec import _select, _simd, _utf8_py

utf8_c, KERNELS = _kernels.compiled("utf8")

compiled_only = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twin not built")
SIMD_KERNELS = [k for k in KERNELS if k != "none"]
X86_64, AARCH64 = _kernels.X86_64, _kernels.AARCH64

HYP = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


kernel = _kernels.kernel_fixture(utf8_c, KERNELS, "UTF-8")


def all_kernels(func, data):
    """``func(data)`` under every kernel, as {kernel: answer}."""
    previous = utf8_c.kernel()
    try:
        out = {}
        for name in KERNELS:
            utf8_c._set_kernel(name)
            out[name] = func(data)
        return out
    finally:
        utf8_c._set_kernel(previous)


# Text with characters of every length, and a long sample of it to cut windows from.
MIXED = "aé中😀 \u0800\uffff\U00010000\U0010ffff\u07ffz\ud7ff\ue000"
SAMPLES = {
    "ascii": (b"The quick brown fox jumps over the lazy dog. " * 20),
    "chinese": ("汉字編碼測試，中文文本。" * 40).encode("utf-8"),
    "mixed": (MIXED * 30).encode("utf-8"),
}


# ---- which kernels exist and which one runs ---------------------------------------------

@compiled_only
def test_kernels_match_the_cpu():
    assert KERNELS[0] == "none"
    assert set(KERNELS) <= {"none", "ssse3", "avx2", "neon"}
    flags = _kernels.cpu_flags() if sys.platform.startswith("linux") else None
    if X86_64 and flags is not None:
        # The kernel's own detection agrees with the Linux kernel's view of the CPU.
        assert ("avx2" in KERNELS) == ("avx2" in flags), flags
        assert ("ssse3" in KERNELS) == ("ssse3" in flags), flags
    if AARCH64:
        assert "neon" in KERNELS
    if not (X86_64 or AARCH64):
        assert KERNELS == ["none"]


@compiled_only
def test_default_kernel_is_the_best_available():
    if os.environ.get("WSCODEC_SIMD"):
        pytest.skip("WSCODEC_SIMD forces a level in this run")
    best = KERNELS[-1]
    assert utf8_c.kernel() == best
    assert _simd.KERNELS["utf8"] == best
    assert wscodec.SIMD == _simd.level()
    assert wscodec.SIMD in KERNELS or wscodec.SIMD == "sse2"


@compiled_only
def test_set_kernel(kernel):
    assert utf8_c.kernel() == kernel
    assert _simd.KERNELS["utf8"] == kernel


@compiled_only
def test_set_kernel_refuses_unknown_or_missing():
    with pytest.raises(ValueError):
        utf8_c._set_kernel("sse9")
    for name in ("avx2", "ssse3", "neon"):
        if name not in KERNELS:
            with pytest.raises(ValueError):
                utf8_c._set_kernel(name)
    with pytest.raises(ValueError):
        utf8_c._simd_prefix("none", b"abc")
    if SIMD_KERNELS:
        with pytest.raises(TypeError):
            utf8_c._simd_prefix(SIMD_KERNELS[0], bytearray(b"abc"))


def test_public_simd_name():
    assert "SIMD" in wscodec.__all__
    assert wscodec.SIMD in _simd.LEVELS
    if _select.NO_EXTENSIONS:
        assert wscodec.SIMD == "none"


# ---- the kernels alone: their contract ---------------------------------------------------

def check_prefix_contract(name, data):
    """``_simd_prefix`` is len(data) exactly for valid text; otherwise a position g < len
    such that the text is valid up to the last character start in data[g-4:g]."""
    n = len(data)
    g = utf8_c._simd_prefix(name, data)
    if decodes(data):
        assert g == n, (name, data, g)
        return
    assert 0 <= g < n, (name, data, g)
    if g == 0:
        return
    starts = [p for p in range(max(0, g - 4), g) if data[p] & 0xC0 != 0x80]
    if starts:
        assert decodes(data[: starts[-1]]), (name, data, g)
    else:
        assert not viable(data[:g]), (name, data, g)


@compiled_only
@pytest.mark.parametrize("name", SIMD_KERNELS)
def test_kernel_contract_every_window(name):
    # Every length 0..257 of each sample, and every start within the first 40 bytes:
    # windows cut characters at both ends, so valid and invalid texts both occur.
    for sample in SAMPLES.values():
        for start in range(0, 40):
            for length in range(0, 258):
                check_prefix_contract(name, sample[start : start + length])


@compiled_only
@pytest.mark.parametrize("name", SIMD_KERNELS)
@settings(HYP, max_examples=150)
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(st.characters(codec="utf-8"), max_size=150).map(lambda s: s.encode("utf-8")),
))
def test_kernel_contract_random(name, data):
    check_prefix_contract(name, data)


# ---- every kernel through the public functions -------------------------------------------

@compiled_only
def test_every_alignment_and_length(kernel):
    # validate_utf8 on memoryview windows at every address offset 0..31 (the kernels load
    # unaligned) and every length 0..257, valid and cut texts alike.
    for sample in SAMPLES.values():
        buf = bytearray(64) + bytearray(sample)
        view = memoryview(buf)
        for align in range(32):
            for length in range(0, 258, 1 if align < 4 else 7):
                window = view[64 + align : 64 + align + length]
                expected = decodes(window)
                assert utf8_c.validate_utf8(window) is expected, (kernel, align, length)
        view.release()


@compiled_only
@pytest.mark.parametrize("position", [0, 15, 31, 63, 126])
def test_every_byte_pair_at_block_edges(position):
    # All 65536 byte pairs, at offsets that put them across the 16-byte, 32-byte and
    # 64/128-byte group boundaries of the kernels, in ASCII text that goes on after them
    # (so a lead byte at the end is cut short only where the pair is last).
    pad = b"x" * position
    tail = b"y" * 20 if position % 2 else b""
    prefix_ok = {}
    for name in KERNELS:
        utf8_c._set_kernel(name)
        results = bytearray(65536)
        for b1 in range(256):
            for b2 in range(256):
                results[b1 * 256 + b2] = utf8_c.validate_utf8(pad + bytes((b1, b2)) + tail)
        prefix_ok[name] = bytes(results)
    utf8_c._set_kernel(KERNELS[-1])
    expected = bytes(
        decodes(bytes((b1, b2)) + tail) for b1 in range(256) for b2 in range(256)
    )
    for name, got in prefix_ok.items():
        assert got == expected, name


@compiled_only
@settings(HYP, max_examples=150)
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(st.characters(codec="utf-8"), min_size=10, max_size=200).map(
        lambda s: s.encode("utf-8")),
    st.tuples(
        st.text(st.sampled_from(MIXED), min_size=10, max_size=120),
        st.integers(0, 500), st.integers(0, 255),
    ).map(lambda t: _corrupt(t[0].encode("utf-8"), t[1], t[2])),
))
def test_all_kernels_agree_with_decode_and_pure_twin(data):
    expected = decodes(data)
    assert _utf8_py.validate_utf8(data) is expected
    assert all_kernels(utf8_c.validate_utf8, data) == {k: expected for k in KERNELS}


def _corrupt(data, pos, byte):
    data = bytearray(data)
    if data:
        data[pos % len(data)] = byte
    return bytes(data)


@compiled_only
@settings(HYP, max_examples=40)
@given(text=st.text(st.sampled_from(MIXED), min_size=5, max_size=90),
       pos=st.integers(0, 10_000), byte=st.integers(0, 255), cut=st.booleans())
def test_every_split_point(text, pos, byte, cut):
    # The incremental validator under every kernel, the text split at every position:
    # the answer after the first chunk is whether it can begin valid text (fail fast),
    # and the final answer is bytes.decode's.
    data = bytearray(text.encode("utf-8"))
    data[pos % len(data)] = byte
    if cut:
        del data[-(pos % 3) - 1 :]
    data = bytes(data)
    expected = decodes(data)
    for name in KERNELS:
        utf8_c._set_kernel(name)
        for k in range(len(data) + 1):
            v = utf8_c.Utf8Validator()
            first = v.validate(data[:k])
            assert first is viable(data[:k]), (name, k)
            assert v.validate(data[k:], final=True) is (expected and first), (name, k)
    utf8_c._set_kernel(KERNELS[-1])


@compiled_only
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_long_texts_fail_fast_at_the_right_chunk(kernel, kind):
    # A 256 KiB text fed in 4 KiB + 1 chunks with one bad byte: every chunk before the
    # one holding it is accepted, that chunk and every later one refused.
    base = (SAMPLES[kind] * (262144 // len(SAMPLES[kind]) + 1))[:262144]
    step = 4097
    for bad in (0, 31, 32, 127, 128, 4096, 4097, 100_000, 262143):
        data = bytearray(base)
        data[bad] = 0xFF
        v = utf8_c.Utf8Validator()
        for start in range(0, len(data), step):
            answer = v.validate(data[start : start + step])
            assert answer is (start + step <= bad), (kernel, bad, start)
    assert utf8_c.validate_utf8(base) is decodes(base)
    v = utf8_c.Utf8Validator()
    assert all(v.validate(base[s : s + step]) for s in range(0, len(base), step))
    assert v.validate(b"", final=True) is decodes(base)


@compiled_only
def test_one_mebibyte_texts(kernel):
    for sample in SAMPLES.values():
        big = (sample * (1048576 // len(sample) + 1))[:1048576]
        assert utf8_c.validate_utf8(big) is decodes(big)
        for pos in (0, 524288 + 3, 1048575):
            bad = bytearray(big)
            bad[pos] = 0xC0
            assert utf8_c.validate_utf8(bad) is False


def _fenced_page():
    """(region, keep): an anonymous mapping of three pages whose first and last pages the
    process may not touch (mprotect through ctypes), so the middle page's bytes can be read
    right up to either edge and no further; None where that cannot be arranged."""
    if sys.platform not in ("linux", "darwin"):
        return None
    try:
        mprotect = ctypes.CDLL(None, use_errno=True).mprotect
    except (OSError, AttributeError):
        return None
    mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = mmap.PAGESIZE
    region = mmap.mmap(-1, 3 * page)
    keep = ctypes.c_char.from_buffer(region)  # pins the mapping; gives its address
    base = ctypes.addressof(keep)
    if mprotect(base, page, 0) != 0 or mprotect(base + 2 * page, page, 0) != 0:  # PROT_NONE
        return None
    return region, keep


# Fenced mappings are kept for the life of the process (never unmapped while protected).
_FENCED = []


@compiled_only
def test_no_byte_read_outside_the_text(kernel):
    # Texts that end right before, or start right after, a page the process cannot read:
    # a kernel reading one byte too far (the last block, the tail, the look-back for a
    # character start) crashes the test run.
    fenced = _fenced_page()
    if fenced is None:
        pytest.skip("mprotect is not available here")
    _FENCED.append(fenced)
    region, _keep = fenced
    page = mmap.PAGESIZE
    view = memoryview(region)
    text = (SAMPLES["mixed"] * 3)[:600]
    for n in list(range(0, 300)) + [511, 512, 513]:
        for start in (page, 2 * page - n):  # first byte after a fence, last before one
            data = text[:n]
            if n:
                data = data[:-1] + (b"\xe4" if n % 5 == 0 else data[-1:])  # sometimes cut short
            region[start : start + n] = data
            window = view[start : start + n]
            assert utf8_c.validate_utf8(window) is decodes(data), (kernel, n, start)
            v = utf8_c.Utf8Validator()
            assert v.validate(window) is viable(data), (kernel, n, start)
            window.release()
    view.release()


# ---- WSCODEC_SIMD and wscodec.SIMD in fresh interpreters ---------------------------------

PROBE = (
    "import warnings, wscodec\n"
    "from wscodec import _select\n"
    "kernel = 'pure' if _select.NO_EXTENSIONS else __import__('wscodec._utf8_c',"
    " fromlist=['x']).kernel()\n"
    "ok = all(wscodec.validate_utf8(s.encode()) for s in ('a', '中文' * 50, 'é😀' * 40))\n"
    "bad = any(wscodec.validate_utf8(b) for b in (b'\\xe4' * 99, b'a' * 40 + b'\\xed\\xa0\\x80'))\n"
    "print(wscodec.SIMD, kernel, ok and not bad)\n"
)


def probe(simd=None, no_extensions=False):
    env = {k: v for k, v in os.environ.items() if k not in ("WSCODEC_SIMD", "WSCODEC_NO_EXTENSIONS")}
    if simd is not None:
        env["WSCODEC_SIMD"] = simd
    if no_extensions:
        env["WSCODEC_NO_EXTENSIONS"] = "1"
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.split(), done.stderr


def test_no_extensions_reports_none():
    (simd, kernel, ok), _ = probe(no_extensions=True)
    assert (simd, kernel, ok) == ("none", "pure", "True")


@compiled_only
def test_forcing_none_gives_the_scalar_kernel():
    (simd, kernel, ok), err = probe("none")
    assert (simd, kernel, ok) == ("none", "none", "True")
    assert "RuntimeWarning" not in err


@compiled_only
@pytest.mark.parametrize("name", KERNELS)
def test_forcing_each_kernel(name):
    (simd, kernel, ok), err = probe(name.upper())  # names are case-insensitive
    assert (simd, kernel, ok) == (name, name, "True")
    assert "RuntimeWarning" not in err


@compiled_only
@pytest.mark.skipif(not X86_64, reason="x86-64 levels")
def test_forcing_sse2_keeps_utf8_scalar():
    # SSE2 has no byte shuffle: the UTF-8 lookups need SSSE3, so it runs scalar.
    (simd, kernel, ok), err = probe("sse2")
    assert (simd, kernel, ok) == ("sse2", "none", "True")


@compiled_only
@pytest.mark.parametrize("value", ["avx9", "neon" if X86_64 else "avx2"])
def test_forcing_an_unavailable_level_warns_and_uses_the_best(value):
    (simd, kernel, ok), err = probe(value)
    assert "RuntimeWarning" in err and value in err
    assert (simd, kernel, ok) == (KERNELS[-1], KERNELS[-1], "True")


def test_choose_is_decided_once():
    # The first caller's answer holds for every compiled module of the process.
    first = _simd.choose(1)
    assert _simd.choose(0b11111) == first == _simd.level()


def test_kernel_for_levels():
    assert _simd.kernel_for("avx2", ("none", "ssse3", "avx2")) == "avx2"
    assert _simd.kernel_for("ssse3", ("none", "ssse3", "avx2")) == "ssse3"
    assert _simd.kernel_for("sse2", ("none", "ssse3", "avx2")) == "none"
    assert _simd.kernel_for("avx2", ("none", "ssse3")) == "ssse3"
    assert _simd.kernel_for("neon", ("none", "neon")) == "neon"
    assert _simd.kernel_for("none", ("none", "neon")) == "none"


# ---- the kernels in C alone, natively and (where the tools exist) on AArch64 -------------

HARNESS = pathlib.Path(__file__).with_name("simd_utf8_check.c")


def _run_harness(cc, tmp_path, run_prefix=(), extra=(), thousands=30, offsets=4):
    return _native.build_and_run(HARNESS, cc, tmp_path, run_prefix=run_prefix, cflags=extra,
                                 args=(thousands, offsets))


@pytest.mark.skipif(_native.native_cc() is None or sys.platform == "win32",
                    reason="no C compiler to build the stand-alone kernel check")
def test_kernels_in_c_against_the_rfc_table(tmp_path):
    out = _run_harness(_native.native_cc(), tmp_path)
    for name in SIMD_KERNELS:
        assert "%s: " % name in out and "checks agree" in out, out
    assert "kernels checked: %d" % len(SIMD_KERNELS) in out or _select.NO_EXTENSIONS, out


def test_neon_kernel_under_emulation(tmp_path):
    _native.require_cross_tools()
    # Less of everything: emulation is some ten times slower than the native run.
    out = _run_harness(_native.CROSS_CC, tmp_path, _native.CROSS_RUN, ["-static"],
                       thousands=10, offsets=3)
    assert "neon: " in out and "kernels checked: 1" in out, out
