"""wsaccel-compatible maskers and validator (both twins) against wsaccel itself, stdlib
decoding, and each other."""

import array
import os

import pytest
from _peers import have, require
from _utf8_oracle import viable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = b"\x37\xfa\x21\x3d"


# Hypothesis probes its arguments' attributes, so the tests take the twin's module itself.
@pytest.fixture
def compat(impl):
    return impl.compat


@pytest.fixture
def compat_c(c_twin):
    return c_twin.compat


@pytest.fixture
def compat_py(py_twin):
    return py_twin.compat


def reference_mask(data, key, offset=0):
    """RFC 6455 §5.3 written out: octet i XOR key[i % 4]."""
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


# --- masking ------------------------------------------------------------------------------


def test_rfc_example(compat):
    # RFC 6455 §5.7: masked "Hello" with key 37 fa 21 3d.
    assert compat.websocket_mask(KEY, b"Hello") == b"\x7f\x9f\x4d\x51\x58"
    assert compat.XorMaskerSimple(KEY).process(b"Hello") == b"\x7f\x9f\x4d\x51\x58"


@pytest.mark.parametrize("n", range(0, 68))
def test_websocket_mask_every_length(compat, n):
    data = bytes((i * 7 + 3) & 0xFF for i in range(n))
    assert compat.websocket_mask(KEY, data) == reference_mask(data, KEY)


@pytest.mark.parametrize(
    "convert",
    [bytes, bytearray, memoryview, lambda b: array.array("B", b), lambda b: memoryview(bytes(x for c in b for x in (c, 0)))[::2]],
    ids=["bytes", "bytearray", "memoryview", "array", "strided"],
)
def test_buffer_types(compat, convert):
    data = bytes(range(40))
    expected = reference_mask(data, KEY)
    assert compat.websocket_mask(convert(KEY), convert(data)) == expected
    assert compat.XorMaskerSimple(convert(KEY)).process(convert(data)) == expected
    out = compat.abnf_mask(convert(KEY), convert(data))
    assert type(out) is bytes and out == expected


@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_bad_key_length(compat, key):
    with pytest.raises(ValueError):
        compat.websocket_mask(key, b"data")
    with pytest.raises(ValueError):
        compat.XorMaskerSimple(key)
    with pytest.raises(ValueError):
        compat.createXorMasker(key, 10)


@pytest.mark.parametrize("bad", ["text", 1234, [1, 2, 3, 4], None])
def test_non_buffers_are_type_errors(compat, bad):
    with pytest.raises(TypeError):
        compat.websocket_mask(KEY, bad)
    with pytest.raises(TypeError):
        compat.websocket_mask(bad, b"data")
    with pytest.raises(TypeError):
        compat.XorMaskerSimple(KEY).process(bad)
    with pytest.raises(TypeError):
        compat.Utf8Validator().validate(bad)


def test_abnf_mask_accepts_str_and_none(compat):
    # websocket-client's ABNF.mask reads str arguments as latin-1 and None as no data.
    assert compat.abnf_mask("\x37\xfa\x21\x3d", "Hello") == b"\x7f\x9f\x4d\x51\x58"
    assert compat.abnf_mask(KEY, None) == b""
    with pytest.raises(ValueError):
        compat.abnf_mask("abc", b"x")


def test_large_payload_released_gil_path(compat):
    # Past the compiled modules' GIL-release threshold for masking (256 KiB, at most 1 MiB).
    data = os.urandom((1 << 20) + 13)
    masker = compat.XorMaskerSimple(KEY)
    assert masker.process(data) == reference_mask(data, KEY)
    assert masker.pointer() == len(data)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=300),
    key=st.binary(min_size=4, max_size=4),
    cuts=st.lists(st.integers(0, 300), max_size=6),
)
def test_chunked_masking_matches_wsaccel(compat, data, key, cuts):
    wsaccel = require("wsaccel.xormask")
    ours = compat.createXorMasker(key, len(data))
    theirs = wsaccel.createXorMasker(key, len(data))
    bounds = sorted({0, len(data), *[c for c in cuts if c <= len(data)]})
    out = b""
    for a, b in zip(bounds, bounds[1:]):
        chunk = ours.process(data[a:b])
        assert chunk == theirs.process(data[a:b])
        assert ours.pointer() == theirs.pointer() == b
        out += chunk
    assert out == reference_mask(data, key)
    ours.reset()
    assert ours.pointer() == 0
    assert ours.process(data[:5]) == reference_mask(data[:5], key)


def test_null_masker(compat):
    m = compat.XorMaskerNull()
    data = bytearray(b"abc")
    assert m.process(data) is data
    assert m.process(b"de") == b"de"
    assert m.pointer() == 5
    m.reset()
    assert m.pointer() == 0
    assert compat.XorMaskerNull(KEY).pointer() == 0


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100, deadline=None)
@given(data=st.binary(max_size=200), key=st.binary(min_size=4, max_size=4))
def test_twins_agree(compat_c, compat_py, data, key):
    assert compat_c.websocket_mask(key, data) == compat_py.websocket_mask(key, data)


# --- UTF-8 --------------------------------------------------------------------------------

# (input, wsaccel's answer) pairs; also the RFC 3629 §3 boundaries.
UTF8_CASES = [
    (b"", (True, True, 0, 0)),
    (b"hello", (True, True, 5, 5)),
    ("µ@ßöäüàá".encode(), (True, True, 15, 15)),
    (b"ok\xe4\xb8", (True, False, 4, 4)),          # valid so far, mid-character
    (b"ab\xc0\xaf", (False, False, 2, 2)),         # C0 is always overlong
    (b"\xed\xa0\x80", (False, False, 1, 1)),       # surrogate U+D800
    (b"\xed\x9f\xbf", (True, True, 3, 3)),         # U+D7FF, last before the surrogates
    (b"\xe0\x9f\xbf", (False, False, 1, 1)),       # overlong 3-byte form
    (b"\xf0\x8f\xbf\xbf", (False, False, 1, 1)),   # overlong 4-byte form
    (b"\xf4\x8f\xbf\xbf", (True, True, 4, 4)),     # U+10FFFF
    (b"\xf4\x90\x80\x80", (False, False, 1, 1)),   # above U+10FFFF
    (b"\xf5", (False, False, 0, 0)),
    (b"\xff", (False, False, 0, 0)),
    (b"\x80", (False, False, 0, 0)),               # stray continuation byte
    (b"abcdefghij\xc3", (True, False, 11, 11)),
]


@pytest.mark.parametrize("data,expected", UTF8_CASES)
def test_validator_cases(compat, data, expected):
    assert compat.Utf8Validator().validate(data) == expected


@pytest.mark.parametrize("data,expected", UTF8_CASES)
def test_validator_cases_match_wsaccel(data, expected):
    wsaccel = require("wsaccel.utf8validator")
    assert wsaccel.Utf8Validator().validate(data) == expected


def test_validator_is_sticky_until_reset(compat):
    v = compat.Utf8Validator()
    assert v.validate(b"abc") == (True, True, 3, 3)
    assert v.validate(b"\xe4\xb8") == (True, False, 2, 5)
    assert v.validate(b"A") == (False, False, 0, 5)
    assert v.validate(b"more") == (False, False, 0, 5)
    v.reset()
    assert v.validate(b"\xe4\xb8\xad") == (True, True, 3, 3)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=64),
        st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    ),
    cuts=st.lists(st.integers(0, 200), max_size=5),
)
def test_validator_split_anywhere_matches_wsaccel_and_decode(compat, data, cuts):
    wsaccel = require("wsaccel.utf8validator")
    ours = compat.Utf8Validator()
    theirs = wsaccel.Utf8Validator()
    bounds = sorted({0, len(data), *[c for c in cuts if c <= len(data)]})
    result = None
    for a, b in zip(bounds, bounds[1:]):
        result = ours.validate(data[a:b])
        assert result == theirs.validate(data[a:b])
    if result is None:
        result = ours.validate(b"")
    try:
        data.decode("utf-8")
        decodes = True
    except UnicodeDecodeError:
        decodes = False
    assert (result[0] and result[1]) == decodes


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=100, deadline=None)
@given(data=st.binary(max_size=100))
def test_validator_twins_agree(compat_c, compat_py, data):
    assert compat_c.Utf8Validator().validate(data) == compat_py.Utf8Validator().validate(
        data
    )


def test_validator_long_input(compat):
    text = ("ascii run " * 5000 + "中文字符" * 3000).encode()
    assert compat.Utf8Validator().validate(text) == (True, True, len(text), len(text))
    bad = text + b"\xed\xbf\xbf" + text
    res = compat.Utf8Validator().validate(bad)
    assert res == (False, False, len(text) + 1, len(text) + 1)


# Invalid sequences and where they become invalid: the index wsaccel reports is the first byte
# after which the text can no longer be valid (computed by the oracle, not by the code).
BAD_TAILS = [b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf",
             b"\xf4\x90\x80\x80", b"\xf5", b"\xe4\xb8A", b"\xf0\x9f\x98"]


def _first_refused(tail):
    return next(k for k in range(len(tail) + 1) if not viable(tail[: k + 1]))


def _validators(compat):
    out = [compat.Utf8Validator()]
    if have("wsaccel.utf8validator"):
        import wsaccel.utf8validator

        out.append(wsaccel.utf8validator.Utf8Validator())
    return out


@pytest.mark.parametrize("prefix", [b"a", "\u4e2d".encode()], ids=["ascii", "cjk"])
@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 4099, (1 << 18) + 1, (1 << 20) + 2])
def test_validator_reports_the_rejected_byte_anywhere(compat, prefix, size):
    # Valid text of about ``size`` bytes, then an invalid sequence: around the 256-byte blocks
    # the compiled twin re-feeds to find the byte, and past its GIL-release threshold.
    head = prefix * (size // len(prefix))
    for tail in BAD_TAILS:
        if tail == b"\xf0\x9f\x98":
            # Not invalid yet: valid so far, ending inside a character.
            expected = (True, False, len(head) + 3, len(head) + 3)
        else:
            at = len(head) + _first_refused(tail)
            expected = (False, False, at, at)
        for v in _validators(compat):
            assert v.validate(head + tail) == expected, (type(v).__module__, tail, size)
            if len(tail) == 1:
                continue  # (no split inside it; wsaccel answers an empty chunk after a
                # rejection with valid=True, where ours stays False until reset())
            # Split inside the text, then inside the bad sequence: indexes count per chunk.
            v.reset()
            cut = len(head) // len(prefix) // 2 * len(prefix)
            first = v.validate(head[:cut])
            assert first == (True, True, cut, cut)
            second = v.validate(head[cut:] + tail[:1])
            third = v.validate(tail[1:])
            if not expected[0]:
                at = expected[2]
                if at < len(head) + 1:
                    assert second == (False, False, at - cut, at)
                    assert third == (False, False, 0, at)
                else:
                    assert second[:2] == (True, False)
                    assert third == (False, False, at - len(head) - 1, at)
            else:
                assert third == expected[:2] + (2, len(head) + 3)


# --- wscodec.compat.wsaccel ---------------------------------------------------------------


def test_wsaccel_module_surface():
    from wscodec import compat
    from wscodec.compat import wsaccel

    assert wsaccel.XorMaskerSimple is compat.XorMaskerSimple
    assert wsaccel.xormask.createXorMasker is compat.createXorMasker
    assert wsaccel.utf8validator.Utf8Validator is compat.Utf8Validator
    assert wsaccel.XorMaskerNull is compat.XorMaskerNull


def test_wsaccel_alias_makes_wsaccel_imports_resolve_to_wscodec():
    import importlib
    import sys

    from wscodec.compat import wsaccel as ours

    before = {n: sys.modules.get(n) for n in ("wsaccel", "wsaccel.xormask", "wsaccel.utf8validator")}
    ours.alias()
    try:
        ours.alias()  # idempotent
        mod = importlib.import_module("wsaccel.xormask")
        assert mod.createXorMasker is ours.createXorMasker
        from wsaccel.utf8validator import Utf8Validator

        assert Utf8Validator is ours.Utf8Validator
    finally:
        ours.unalias()
    ours.unalias()
    after = {n: sys.modules.get(n) for n in before}
    assert after == before


def test_compat_uses_compiled_twin():
    from wscodec import _select, compat

    expected = "python" if _select.NO_EXTENSIONS else "c"
    assert compat.IMPLEMENTATION == expected
