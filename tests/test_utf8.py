"""UTF-8 validation (RFC 3629): ``validate_utf8`` and ``Utf8Validator``, both twins.

The oracles (in _utf8_oracle.py) are independent of the code under test:
``bytes.decode("utf-8")`` for whole texts, and for the incremental validator's fail-fast
answers the set of proper prefixes of every valid encoding, taken from ``str.encode`` over
all code points.
"""

import array
import functools

import pytest
from _utf8_oracle import decodes, viable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wscodec import _select

# Tests of the compiled twin alone (not built under WSCODEC_NO_EXTENSIONS=1).
compiled_only = pytest.mark.skipif(_select.NO_EXTENSIONS, reason="compiled twin not built")


def feed_chunks(utf8, data, cuts, final=True):
    """Feed ``data`` cut at ``cuts``; return the answer after each chunk."""
    v = utf8.Utf8Validator()
    bounds = [0] + sorted(cuts) + [len(data)]
    answers = []
    for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
        last = k == len(bounds) - 2
        answers.append(v.validate(data[a:b], final=final and last))
    return answers


@pytest.fixture
def utf8(impl):
    """The twin's UTF-8 module: ``wscodec._utf8_c`` or ``wscodec._utf8_py``."""
    return impl.utf8


# The ``utf8`` fixture is a module: nothing in it changes between examples.
HYP = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---- strategies ------------------------------------------------------------------------

utf8_text = st.text(st.characters(codec="utf-8"), max_size=60)
# Text heavy in multi-byte characters, including the edges of each encoding length.
wide_text = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            "\x00\x7f\x80\u07ff\u0800\ud7ff\ue000\uffff\U00010000\U0010ffff"
            "é€中文😀\u0100\u1000\ufeff"
        ),
    ),
    max_size=60,
)


# Long enough for the compiled kernel's interleaved multi-byte path (64 bytes and up).
long_text = st.text(
    st.one_of(st.sampled_from("é€中😀\U0010ffff\u0800a "), st.characters(codec="utf-8")),
    min_size=20, max_size=400,
)


@st.composite
def corrupted_text(draw, text=wide_text):
    """Valid UTF-8 with a few bytes overwritten, inserted, or the end cut off."""
    data = bytearray(draw(text).encode("utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, len(data)))
        byte = draw(st.one_of(st.integers(0, 255), st.sampled_from(
            [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x90])))
        if op == "set" and pos < len(data):
            data[pos] = byte
        elif op == "insert":
            data.insert(pos, byte)
        elif op == "delete" and pos < len(data):
            del data[pos]
        elif op == "truncate":
            del data[pos:]
    return bytes(data)


any_bytes = st.one_of(
    st.binary(max_size=80),
    corrupted_text(),
    wide_text.map(lambda s: s.encode("utf-8")),
)
long_bytes = st.one_of(
    corrupted_text(long_text),
    long_text.map(lambda s: s.encode("utf-8")),
    st.binary(min_size=64, max_size=400),
)


@st.composite
def bytes_and_cuts(draw):
    data = draw(any_bytes)
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=6))
    return data, cuts


# ---- whole-buffer validation -----------------------------------------------------------

@settings(HYP, max_examples=100)
@given(data=any_bytes)
def test_validate_matches_decode(utf8, data):
    assert utf8.validate_utf8(data) is decodes(data)


@settings(HYP, max_examples=60)
@given(data=long_bytes)
def test_long_inputs_match_decode(utf8, data):
    assert utf8.validate_utf8(data) is decodes(data)
    v = utf8.Utf8Validator()
    half = len(data) // 2
    assert v.validate(data[:half]) is viable(data[:half])
    assert v.validate(data[half:], final=True) is decodes(data)


LONG = ("中é😀a\u0800 " * 40).encode("utf-8")


@pytest.mark.parametrize("edit", ["set-ff", "set-80", "set-c0", "set-e0", "insert-80",
                                  "insert-e4", "delete"])
def test_edit_at_every_position_of_long_text(utf8, edit):
    # Covers every place the compiled kernel may cut a block into pieces.
    op, _, byte = edit.partition("-")
    byte = int(byte, 16) if byte else 0
    for pos in range(len(LONG)):
        data = bytearray(LONG)
        if op == "set":
            data[pos] = byte
        elif op == "insert":
            data.insert(pos, byte)
        else:
            del data[pos]
        assert utf8.validate_utf8(data) is decodes(data), (edit, pos)


def test_continuation_runs_in_long_text(utf8):
    # Runs of 1..6 continuation bytes at every offset of a long text.
    for run in range(1, 7):
        for pos in range(0, 200):
            data = LONG[:pos] + b"\x80" * run + LONG[pos:]
            assert utf8.validate_utf8(data) is decodes(data), (run, pos)


@settings(HYP, max_examples=80)
@given(text=utf8_text)
def test_any_text_is_valid(utf8, text):
    assert utf8.validate_utf8(text.encode("utf-8")) is True


@settings(HYP, max_examples=80)
@given(data=st.binary(min_size=0, max_size=300))
def test_random_bytes_match_decode(utf8, data):
    assert utf8.validate_utf8(data) is decodes(data)


def test_exhaustive_one_and_two_bytes(utf8):
    cases = with_verdicts([bytes([a]) for a in range(256)] +
                          [bytes([a, b]) for a in range(256) for b in range(256)])
    assert check_all(utf8.validate_utf8, cases) == []


def check_all(validate, cases):
    """``cases`` is (inputs, decode's verdicts); return the inputs ``validate`` gets wrong."""
    inputs, expected = cases
    got = list(map(validate, inputs))
    if got == expected:
        return []
    return [data for data, g, e in zip(inputs, got, expected) if g is not e]


def with_verdicts(inputs):
    return inputs, [decodes(data) for data in inputs]


@functools.lru_cache(maxsize=None)
def three_byte_cases():
    """All 3-byte inputs with a lead E0..EF (16 * 65536)."""
    return with_verdicts([bytes((lead, b, c)) for lead in range(0xE0, 0xF0)
                          for b in range(256) for c in range(256)])


def test_exhaustive_three_bytes(utf8):
    assert check_all(utf8.validate_utf8, three_byte_cases()) == []


# Third and fourth bytes around every range edge of RFC 3629 §4.
EDGE_BYTES = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF]


@functools.lru_cache(maxsize=None)
def four_byte_cases():
    """Leads F0..FF, every second byte, the edge bytes for the third and fourth."""
    return with_verdicts([bytes((lead, b, c, d)) for lead in range(0xF0, 0x100)
                          for b in range(256) for c in EDGE_BYTES for d in EDGE_BYTES])


def test_systematic_four_bytes(utf8):
    assert check_all(utf8.validate_utf8, four_byte_cases()) == []
    # Each case also checked as a prefix of a longer text and after an ASCII run.
    inputs, expected = four_byte_cases()
    sample = (inputs[::7], expected[::7])
    assert check_all(lambda d: utf8.validate_utf8(b"0123456789" + d + b"x"), sample) == []


def encode_unchecked(cp):
    """UTF-8 bit pattern of ``cp`` even where RFC 3629 forbids it (surrogates, > U+10FFFF)."""
    if cp < 0x80:
        return bytes([cp])
    if cp < 0x800:
        return bytes([0xC0 | cp >> 6, 0x80 | cp & 0x3F])
    if cp < 0x10000:
        return bytes([0xE0 | cp >> 12, 0x80 | cp >> 6 & 0x3F, 0x80 | cp & 0x3F])
    return bytes([0xF0 | cp >> 18, 0x80 | cp >> 12 & 0x3F, 0x80 | cp >> 6 & 0x3F,
                  0x80 | cp & 0x3F])


@pytest.mark.parametrize(
    "cp, valid",
    [
        (0x00, True), (0x7F, True), (0x80, True), (0x7FF, True), (0x800, True),
        (0xFFFF, True), (0x10000, True), (0xD7FF, True), (0xD800, False), (0xDBFF, False),
        (0xDC00, False), (0xDFFF, False), (0xE000, True), (0xFEFF, True), (0x10FFFF, True),
        (0x110000, False), (0x13FFFF, False), (0x1FFFFF, False),
    ],
)
def test_code_point_boundaries(utf8, cp, valid):
    data = encode_unchecked(cp)
    assert decodes(data) is valid  # the oracle agrees with RFC 3629
    assert utf8.validate_utf8(data) is valid
    assert utf8.validate_utf8(b"ab" + data + b"cd") is valid
    assert utf8.Utf8Validator().validate(data, final=True) is valid


@pytest.mark.parametrize(
    "data",
    [
        b"\xc0\x80", b"\xc1\xbf",                      # overlong U+0000, U+007F
        b"\xe0\x80\x80", b"\xe0\x9f\xbf",              # overlong U+0000, U+07FF
        b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",      # overlong U+0000, U+FFFF
        b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80",  # 5/6-byte forms
        b"\xfe", b"\xff", b"\x80", b"\xbf",             # never valid alone
        b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98",          # truncated
        b"\xc3\x28", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc",  # bad continuation
    ],
)
def test_known_invalid(utf8, data):
    assert decodes(data) is False
    assert utf8.validate_utf8(data) is False


def test_rfc3629_examples(utf8):
    # RFC 3629 §7 examples.
    for data in (b"\x41\xe2\x89\xa2\xce\x91\x2e", b"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
                 b"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", b"\xef\xbb\xbf\xf0\xa3\x8e\xb4"):
        assert utf8.validate_utf8(data) is True
        assert utf8.Utf8Validator().validate(data, final=True) is True


# ---- word boundaries -------------------------------------------------------------------

@pytest.mark.parametrize("bad", [b"\x80", b"\xc0", b"\xc1", b"\xf5", b"\xff", b"\xed\xa0\x80",
                                 b"\xc3", b"\xe2\x82"])
def test_invalid_at_every_position(utf8, bad):
    validate = utf8.validate_utf8
    for length in (70, 71, 140):
        for pos in range(0, 71):
            data = b"a" * pos + bad + b"b" * (length - pos)
            assert validate(data) is False, (pos, length)
            assert utf8.Utf8Validator().validate(data, final=True) is False, (pos, length)
        # The bad bytes at the very end, after an ASCII run of every length.
        for pos in range(0, 71):
            assert validate(b"a" * pos + bad) is False, pos


@pytest.mark.parametrize("char", ["é", "€", "😀", "\u0800", "\U0010ffff"])
def test_valid_at_every_position(utf8, char):
    validate = utf8.validate_utf8
    enc = char.encode("utf-8")
    for pos in range(0, 71):
        for after in (0, 1, 7, 8, 33):
            data = b"a" * pos + enc + b"b" * after
            assert validate(data) is True, (pos, after)
            # ... and one byte short is incomplete there.
            assert validate(b"a" * pos + enc[:-1]) is False, pos


# ---- the incremental validator ---------------------------------------------------------

@settings(HYP, max_examples=120)
@given(case=bytes_and_cuts())
def test_chunked_matches_decode_and_fails_fast(utf8, case):
    data, cuts = case
    answers = feed_chunks(utf8, data, cuts)
    bounds = sorted(cuts) + [len(data)]
    # Every answer before the last: "can these bytes still begin a valid text?"
    for answer, end in zip(answers[:-1], bounds[:-1]):
        assert answer is viable(data[:end]), (data, cuts, end)
    assert answers[-1] is decodes(data)


@settings(HYP, max_examples=60)
@given(data=any_bytes)
def test_split_at_every_position(utf8, data):
    expect = decodes(data)
    for cut in range(len(data) + 1):
        v = utf8.Utf8Validator()
        first = v.validate(data[:cut])
        assert first is viable(data[:cut]), (data, cut)
        assert v.validate(data[cut:], final=True) is expect, (data, cut)


@settings(HYP, max_examples=60)
@given(data=any_bytes)
def test_byte_at_a_time(utf8, data):
    v = utf8.Utf8Validator()
    for i in range(len(data)):
        assert v.validate(data[i : i + 1]) is viable(data[: i + 1]), (data, i)
    assert v.validate(b"", final=True) is decodes(data)


def test_fail_fast_exhaustive_two_bytes(utf8):
    # Every 2-byte input fed one byte at a time: each answer is exactly "viable so far".
    verdict1 = {a: viable(bytes([a])) for a in range(256)}
    for a in range(256):
        for b in range(256):
            v = utf8.Utf8Validator()
            assert v.validate(bytes([a])) is verdict1[a], a
            assert v.validate(bytes([b])) is viable(bytes([a, b])), (a, b)


@pytest.mark.parametrize("lead", [0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF3, 0xF4])
def test_fail_fast_three_bytes(utf8, lead):
    # Every 2- and 3-byte continuation of the leads with special rules, byte by byte.
    for b in range(256):
        two = viable(bytes([lead, b]))
        for c in range(256):
            v = utf8.Utf8Validator()
            assert v.validate(bytes([lead])) is True
            assert v.validate(bytes([b])) is two, (lead, b)
            if not two:
                break
            assert v.validate(bytes([c])) is viable(bytes([lead, b, c])), (lead, b, c)


@pytest.mark.parametrize(
    "prefix, impossible",
    [
        (b"ok ", b"\xed\xa0"),          # surrogate lead: refused at the second byte
        (b"ok ", b"\xe0\x80"),          # overlong 3-byte
        (b"ok ", b"\xf0\x8f"),          # overlong 4-byte
        (b"ok ", b"\xf4\x90"),          # above U+10FFFF
        (b"\xe4\xb8\xad", b"\xc0"),     # never valid
        (b"\xe4\xb8\xad", b"\xc1"),
        (b"\xe4\xb8\xad", b"\xf5"),
        (b"\xe4\xb8\xad", b"\xff"),
        (b"\xe4\xb8\xad", b"\x80"),     # stray continuation
        (b"\xe4", b"\xb8A"),            # interrupted character
        (b"\xf0\x9f\x98", b"A"),
    ],
)
def test_fail_fast_at_exact_chunk(utf8, prefix, impossible):
    v = utf8.Utf8Validator()
    assert v.validate(prefix) is True
    # The impossible part's own earlier bytes may still be viable...
    for k in range(1, len(impossible)):
        assert v.validate(impossible[k - 1 : k]) is viable(prefix + impossible[:k])
    # ... and the chunk with the first impossible byte is refused at once, without final.
    assert v.validate(impossible[-1:]) is False


@settings(HYP, max_examples=80)
@given(data=st.data())
def test_fail_fast_chunk_holding_first_bad_byte(utf8, data):
    good = data.draw(wide_text).encode("utf-8")
    bad = data.draw(st.sampled_from([b"\xc0", b"\xff", b"\x80", b"\xed\xa0", b"\xe0\x9f",
                                     b"\xf0\x80", b"\xf4\x90", b"\xf8", b"\xc2A"]))
    tail = data.draw(st.binary(max_size=10))
    stream = good + bad + tail
    first_bad = len(good) + len(bad) - 1  # index of the first impossible byte
    assert viable(stream[:first_bad]) and not viable(stream[: first_bad + 1])
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=5))
    answers = feed_chunks(utf8, stream, cuts, final=False)
    bounds = sorted(cuts) + [len(stream)]
    for answer, end in zip(answers, bounds):
        assert answer is (end <= first_bad), (stream, cuts, end)


def test_sticky_false_until_reset(utf8):
    v = utf8.Utf8Validator()
    assert v.validate(b"abc\xff") is False
    assert v.validate(b"abc") is False
    assert v.validate(b"") is False
    assert v.validate("é".encode()) is False
    v.reset()
    assert v.validate(b"abc") is True
    assert v.validate(b"", final=True) is True


def test_final_mid_sequence(utf8):
    v = utf8.Utf8Validator()
    assert v.validate(b"\xe2\x82") is True  # may still become "€"
    assert v.validate(b"", final=True) is False
    v = utf8.Utf8Validator()
    assert v.validate(b"a\xf0\x9f\x98", final=True) is False
    v = utf8.Utf8Validator()
    assert v.validate(b"\xe2\x82") is True
    assert v.validate(b"\xac", final=True) is True


def test_auto_reset_after_final(utf8):
    v = utf8.Utf8Validator()
    # After a final answer, the next text starts fresh, whatever the last one was.
    assert v.validate(b"\xe2\x82", final=True) is False
    assert v.validate(b"\xac") is False  # a stray continuation at the start of a text
    assert v.validate(b"x", final=True) is False  # still the same (failed) text
    assert v.validate(b"hello", final=True) is True
    assert v.validate(b"\xff", final=True) is False
    assert v.validate(b"\xc3") is True  # the rejected text did not leak into this one
    assert v.validate(b"\xa9", final=True) is True
    assert v.validate(b"", final=True) is True  # an empty text is valid


def test_reset_mid_sequence(utf8):
    v = utf8.Utf8Validator()
    assert v.validate(b"\xe2\x82") is True
    v.reset()
    assert v.validate(b"\xac") is False  # the pending character was forgotten
    v.reset()
    assert v.validate(b"plain", final=True) is True


# ---- buffers and types -----------------------------------------------------------------

TEXT = "aé€😀 zh 中文 ".encode("utf-8") * 5
BAD = TEXT + b"\xed\xa0\x80" + TEXT


def buffer_kinds(data):
    doubled = bytes(x for b in data for x in (b, 0x21))
    return {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "memoryview-slice": memoryview(b"!" + data + b"!")[1:-1],
        "memoryview-strided": memoryview(doubled)[::2],
        "memoryview-reversed": memoryview(data[::-1])[::-1],
        "array-B": array.array("B", data),
        "array-b": array.array("b", [b - 256 if b > 127 else b for b in data]),
    }


@pytest.mark.parametrize("kind", sorted(buffer_kinds(b"")))
@pytest.mark.parametrize("data, valid", [(TEXT, True), (BAD, False), (b"", True),
                                         (b"\xc3", False)])
def test_buffer_types(utf8, kind, data, valid):
    buf = buffer_kinds(data)[kind]
    assert utf8.validate_utf8(buf) is valid
    v = utf8.Utf8Validator()
    assert v.validate(buf, final=True) is valid


def test_multidimensional_and_wide_formats_read_as_raw_bytes(utf8):
    raw = "中文ab".encode("utf-8")  # 8 bytes
    two_d = memoryview(raw).cast("B", (2, 4))
    assert utf8.validate_utf8(two_d) is True
    assert utf8.validate_utf8(memoryview(raw).cast("H")) is True
    words = array.array("I", [0x41414141, 0x42424242])
    assert utf8.validate_utf8(words) is True
    assert utf8.validate_utf8(array.array("I", [0xFFFFFFFF])) is False
    # Non-contiguous, read in logical order: b"\xc3" + b"\xa9" = "é".
    assert utf8.validate_utf8(memoryview(b"\xc3x\xa9")[::2]) is True
    assert utf8.validate_utf8(memoryview(b"\xa9x\xc3")[::-2]) is True
    assert utf8.validate_utf8(memoryview(b"\xa9x\xc3")[::2]) is False


def test_chunks_from_mixed_buffer_types(utf8):
    v = utf8.Utf8Validator()
    assert v.validate(bytearray(b"\xf0")) is True
    assert v.validate(memoryview(b"?\x9f?")[1:2]) is True
    assert v.validate(array.array("B", [0x98])) is True
    assert v.validate(memoryview(b"\x80-\x80")[::2], final=True) is False  # 2 bytes: 80 80
    assert v.validate(memoryview(b"\xf0\x9f\x98\x80")[:], final=True) is True


@pytest.mark.parametrize("bad", ["text", "", 5, None, [0x41], (0x41,), 1.5, object()])
def test_non_buffers_raise_type_error(utf8, bad):
    with pytest.raises(TypeError):
        utf8.validate_utf8(bad)
    v = utf8.Utf8Validator()
    with pytest.raises(TypeError):
        v.validate(bad)
    with pytest.raises(TypeError):
        v.validate(bad, final=True)
    # A refused argument is not data: the validator carries on.
    assert v.validate(b"\xc3") is True
    assert v.validate(b"\xa9", final=True) is True


def test_type_error_even_when_already_rejected(utf8):
    v = utf8.Utf8Validator()
    assert v.validate(b"\xff") is False
    with pytest.raises(TypeError):
        v.validate("x")


def test_buffer_not_held(utf8):
    # The caller may resize its bytearray after the call returns.
    buf = bytearray(b"abc")
    utf8.validate_utf8(buf)
    utf8.Utf8Validator().validate(buf)
    buf.extend(b"def")
    assert utf8.validate_utf8(buf) is True


# ---- large inputs (the compiled twin checks them without the GIL) -----------------------

MIB = 1 << 20
ASCII_BIG = (b"The quick brown fox jumps over the lazy dog. " * 30000)[: MIB + 13]
CHINESE_BIG = ("汉字测试中文文本" * 50000).encode("utf-8")[: 3 * (MIB // 3 + 5)]
MIXED_BIG = ("ab é € 😀 中文 xyz " * 41000).encode("utf-8")


@pytest.mark.c_extension
@compiled_only
def test_large_inputs_cross_the_nogil_threshold(c_twin):
    assert c_twin.utf8.NOGIL_THRESHOLD <= MIB


BIG = {"ascii": ASCII_BIG, "chinese": CHINESE_BIG, "mixed": MIXED_BIG}


@pytest.mark.parametrize("name", sorted(BIG))
def test_large_inputs(utf8, name):
    base = BIG[name]
    assert len(base) >= MIB
    validate = utf8.validate_utf8
    assert decodes(base)
    assert validate(base) is True
    assert validate(bytearray(base)) is True
    for pos in (0, 1, 4095, len(base) // 2, len(base) - 1):
        broken = bytearray(base)
        broken[pos] = 0xFF
        assert validate(broken) is False, pos
    assert validate(base + b"\xe4\xb8") is False  # ends mid-character
    v = utf8.Utf8Validator()
    assert v.validate(base) is True
    assert v.validate(base + b"\xf0") is True  # a 4-byte character may follow
    assert v.validate(b"\x9f\x98\x80", final=True) is True
    assert v.validate(base + b"\xf0", final=True) is False  # ...but the text ended there
    assert v.validate(base, final=True) is True
    assert v.validate(base + b"\xed\xa0") is False
    v.reset()
    assert v.validate(memoryview(base)[::1], final=True) is True


def test_large_non_contiguous(utf8):
    doubled = bytearray(b"\xff" * 600000)
    doubled[::2] = MIXED_BIG[:300000]
    view = memoryview(doubled)[::2]
    assert utf8.validate_utf8(view) is decodes(view.tobytes())


# ---- the two twins against each other ----------------------------------------------------

@pytest.mark.c_extension
@compiled_only
@settings(HYP, max_examples=100)
@given(case=bytes_and_cuts(), final=st.booleans())
def test_twins_agree_on_every_chunking(c_twin, py_twin, case, final):
    data, cuts = case
    assert c_twin.utf8.validate_utf8(data) is py_twin.utf8.validate_utf8(data)
    assert feed_chunks(c_twin.utf8, data, cuts, final) == feed_chunks(py_twin.utf8, data, cuts,
                                                                        final)
