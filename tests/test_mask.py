"""Masking (RFC 6455 §5.3): ``apply_mask`` and ``mask_inplace``, both twins.

Every expected value is computed here, independently of the code under test: byte ``i`` of
a payload is XORed with byte ``(offset + i) % 4`` of the key.
"""

import ctypes
import os
import platform
import random
import threading
from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = b"\x37\xfa\x21\x3d"
JUNK = 0xEE  # fills the gaps of non-contiguous buffers; masking must leave it alone


def reference(data, key, offset=0):
    """The RFC 6455 §5.3 definition, one byte at a time."""
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


def reference_fast(data, key, offset=0):
    """The same definition for large payloads: one translation table per key position."""
    out = bytearray(len(data))
    for j in range(4):
        k = key[(offset + j) % 4]
        table = bytes(b ^ k for b in range(256))
        out[j::4] = data[j::4].translate(table)
    return bytes(out)


# --- buffer kinds ------------------------------------------------------------------------
# Each builder takes the raw bytes a buffer should hold in logical order and returns
# (buffer, base, gaps): ``base`` is the object owning the memory and ``gaps`` the positions in
# bytes(base) that are not part of the buffer (they hold JUNK and must keep it).


def _contiguous(obj):
    return obj, obj, ()


def _noncontig(raw):
    base = bytearray([JUNK]) * (2 * len(raw))
    base[::2] = raw
    return memoryview(base)[::2], base, range(1, 2 * len(raw), 2)


def _shape2d(n):
    cols = 2 if n % 2 == 0 else 1
    return max(n // cols, 0), cols


def _2d(raw):
    n = len(raw)
    if n == 0:
        return memoryview(bytearray(2)).cast("B", (1, 2))[:0], None, ()
    rows, cols = _shape2d(n)
    base = bytearray(raw)
    return memoryview(base).cast("B", (rows, cols)), base, ()


def _2d_noncontig(raw):
    # Every other row of a 2-D view: not contiguous in either dimension order.
    n = len(raw)
    if n == 0:
        return memoryview(bytearray(4)).cast("B", (2, 2))[:0:2], None, ()
    rows, cols = _shape2d(n)
    base = bytearray([JUNK]) * (2 * n)
    gaps = []
    for r in range(rows):
        base[2 * r * cols:(2 * r + 1) * cols] = raw[r * cols:(r + 1) * cols]
        gaps.extend(range((2 * r + 1) * cols, (2 * r + 2) * cols))
    return memoryview(base).cast("B", (2 * rows, cols))[::2], base, gaps


def _int32(raw):
    base = array("i")
    base.frombytes(raw)
    return memoryview(base), base, ()


def _int32_noncontig(raw):
    spread = bytearray([JUNK]) * (2 * len(raw))
    gaps = []
    for k in range(len(raw) // 4):
        spread[8 * k:8 * k + 4] = raw[4 * k:4 * k + 4]
        gaps.extend(range(8 * k + 4, 8 * k + 8))
    base = array("i")
    base.frombytes(spread)
    return memoryview(base)[::2], base, gaps


class BytesSub(bytes):
    pass


class BytearraySub(bytearray):
    pass


ANY = range(71)
BY4 = range(0, 71, 4)

# name: (builder, lengths it can represent, writable)
KINDS = {
    "bytes": (lambda raw: _contiguous(bytes(raw)), ANY, False),
    "bytearray": (lambda raw: _contiguous(bytearray(raw)), ANY, True),
    "memoryview": (lambda raw: _contiguous(memoryview(bytearray(raw))), ANY, True),
    "memoryview-readonly": (lambda raw: _contiguous(memoryview(bytes(raw))), ANY, False),
    "memoryview-noncontig": (_noncontig, ANY, True),
    "memoryview-2d": (_2d, ANY, True),
    "memoryview-2d-noncontig": (_2d_noncontig, ANY, True),
    "memoryview-int32": (_int32, BY4, True),
    "memoryview-int32-noncontig": (_int32_noncontig, BY4, True),
    "array": (lambda raw: _contiguous(array("B", raw)), ANY, True),
    "bytes-subclass": (lambda raw: _contiguous(BytesSub(raw)), ANY, False),
    "bytearray-subclass": (lambda raw: _contiguous(BytearraySub(raw)), ANY, True),
}
if platform.python_implementation() == "PyPy":
    # PyPy's own memoryview mis-slices 2-D views (its tobytes() of such a view is not the
    # selected bytes), so this kind of buffer cannot even be built there.
    del KINDS["memoryview-2d-noncontig"]
WRITABLE = [name for name, (_, _, writable) in KINDS.items() if writable]
READONLY = [name for name, (_, _, writable) in KINDS.items() if not writable]

PAYLOAD = bytes(random.Random(6455).randrange(256) for _ in range(70))


def test_builders_hold_the_bytes_they_are_given():
    # The table tests below rely on these buffers holding exactly the raw bytes.
    for name, (build, lengths, _) in KINDS.items():
        for n in lengths:
            buf, base, gaps = build(PAYLOAD[:n])
            assert memoryview(buf).tobytes() == PAYLOAD[:n], (name, n)
            if gaps:
                # One item (or one row) is contiguous whatever its stride.
                assert memoryview(buf).c_contiguous == (len(buf) < 2), (name, n)
                assert {bytes(base)[p] for p in gaps} == {JUNK}, name


def test_reference_fast_matches_reference():
    data = os.urandom(1000)
    for offset in range(8):
        assert reference_fast(data, KEY, offset) == reference(data, KEY, offset)


# --- RFC 6455 ----------------------------------------------------------------------------


def test_rfc6455_hello_example(impl):
    # RFC 6455 §5.7: "Hello" masked with key 37 fa 21 3d.
    masked = bytes.fromhex("7f9f4d5158")
    assert impl.mask.apply_mask(b"Hello", KEY) == masked
    assert impl.mask.apply_mask(masked, KEY) == b"Hello"
    buf = bytearray(b"Hello")
    assert impl.mask.mask_inplace(buf, KEY) is None
    assert buf == masked


# --- table tests: every buffer kind x length x offset -----------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_apply_mask_table(impl, kind):
    build, lengths, _ = KINDS[kind]
    for n in lengths:
        raw = PAYLOAD[:n]
        buf, base, _ = build(raw)
        before = bytes(base) if base is not None else None
        result = impl.mask.apply_mask(buf, KEY)
        assert type(result) is bytes, (kind, n)
        assert result == reference(raw, KEY), (kind, n)
        # The input is never modified.
        assert memoryview(buf).tobytes() == raw, (kind, n)
        if base is not None:
            assert bytes(base) == before, (kind, n)


@pytest.mark.parametrize("kind", WRITABLE)
def test_mask_inplace_table(impl, kind):
    build, lengths, _ = KINDS[kind]
    for n in lengths:
        raw = PAYLOAD[:n]
        for offset in range(8):
            buf, base, gaps = build(raw)
            assert impl.mask.mask_inplace(buf, KEY, offset) is None
            assert memoryview(buf).tobytes() == reference(raw, KEY, offset), (kind, n, offset)
            if gaps:
                assert {bytes(base)[p] for p in gaps} == {JUNK}, (kind, n, offset)


@pytest.mark.parametrize("kind", list(KINDS))
def test_mask_of_any_buffer_kind(impl, kind):
    # The key, too, is any buffer read as its 4 raw bytes.
    build = KINDS[kind][0]
    mask, _, _ = build(KEY)
    data = PAYLOAD[:23]
    assert impl.mask.apply_mask(data, mask) == reference(data, KEY)
    buf = bytearray(data)
    impl.mask.mask_inplace(buf, mask, 3)
    assert buf == reference(data, KEY, 3)
    assert memoryview(mask).tobytes() == KEY


def test_zero_dimensional_buffer(impl):
    # A ctypes scalar exports a 0-dimensional buffer of 4 bytes (format "<i").
    value = ctypes.c_uint32(0x01020304)
    raw = bytes(value)
    assert impl.mask.apply_mask(value, KEY) == reference(raw, KEY)
    impl.mask.mask_inplace(value, KEY, 1)
    assert bytes(value) == reference(raw, KEY, 1)
    assert impl.mask.apply_mask(b"abcdefgh", ctypes.c_uint32.from_buffer_copy(KEY)) == (
        reference(b"abcdefgh", KEY)
    )


def test_result_is_exactly_bytes(impl):
    for data in (b"", bytearray(), memoryview(b""), bytearray(b"xyz"), array("B", b"ab")):
        assert type(impl.mask.apply_mask(data, KEY)) is bytes


def test_keyword_arguments(impl):
    assert impl.mask.apply_mask(data=b"Hello", mask=KEY) == bytes.fromhex("7f9f4d5158")
    buf = bytearray(b"Hello")
    impl.mask.mask_inplace(buffer=buf, mask=KEY, offset=0)
    assert buf == bytes.fromhex("7f9f4d5158")


def test_mask_aliasing_the_buffer(impl):
    # The key is read before any byte is written, even when it lives in the buffer itself.
    raw = PAYLOAD[:16]
    buf = bytearray(raw)
    impl.mask.mask_inplace(buf, memoryview(buf)[:4])
    assert buf == reference(raw, raw[:4])


# --- offsets ------------------------------------------------------------------------------


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


@pytest.mark.parametrize(
    "offset",
    [0, 1, 2, 3, 4, 5, 2**31 - 1, 2**31, 2**32 + 3, 2**63 - 1, 2**63, 2**64 + 1,
     2**200 + 2, 3**100, True, False],
)
def test_any_non_negative_offset(impl, offset):
    raw = PAYLOAD[:13]
    buf = bytearray(raw)
    impl.mask.mask_inplace(buf, KEY, offset)
    assert buf == reference(raw, KEY, offset % 4)


def test_offset_with_index_method(impl):
    raw = PAYLOAD[:9]
    buf = bytearray(raw)
    impl.mask.mask_inplace(buf, KEY, Index(2**70 + 3))
    assert buf == reference(raw, KEY, 3)


class OddInt(int):
    # Operators that lie: the offset's value must be used, not its operators.
    def __and__(self, other):
        return 0

    def __mod__(self, other):
        return 0

    def __lt__(self, other):
        return False


@pytest.mark.parametrize("value", [3, 2**64 + 3, 2**200 + 3])
def test_int_subclass_offset_uses_its_value(impl, value):
    raw = PAYLOAD[:9]
    buf = bytearray(raw)
    impl.mask.mask_inplace(buf, KEY, OddInt(value))
    assert buf == reference(raw, KEY, 3)
    with pytest.raises(ValueError):
        impl.mask.mask_inplace(buf, KEY, OddInt(-value))


@pytest.mark.parametrize("offset", [-1, -2, -4, -(2**63), -(2**63) - 1, -(2**100)])
def test_negative_offset(impl, offset):
    buf = bytearray(b"abcdef")
    with pytest.raises(ValueError):
        impl.mask.mask_inplace(buf, KEY, offset)
    assert buf == b"abcdef"
    with pytest.raises(ValueError):
        impl.mask.mask_inplace(buf, KEY, Index(offset))


@pytest.mark.parametrize("offset", [1.0, 0.0, "1", b"\x01", None, [0], Index(1.5)])
def test_non_int_offset(impl, offset):
    buf = bytearray(b"abcdef")
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(buf, KEY, offset)
    assert buf == b"abcdef"


# --- bad arguments ------------------------------------------------------------------------

BAD_MASKS = [
    (b"", ValueError),
    (b"abc", ValueError),
    (b"abcde", ValueError),
    (bytearray(3), ValueError),
    (memoryview(b"abcdefgh")[::3], ValueError),
    (array("I", [1]) * 2, ValueError),
    ("abcd", TypeError),
    (None, TypeError),
    (1234, TypeError),
    ([1, 2, 3, 4], TypeError),
]
NON_BUFFERS = ["abcd", 42, [1, 2, 3], None, 1.5, object()]


@pytest.mark.parametrize("mask, error", BAD_MASKS)
def test_bad_mask(impl, mask, error):
    with pytest.raises(error):
        impl.mask.apply_mask(b"payload", mask)
    with pytest.raises(error):
        impl.mask.apply_mask(bytearray(b"payload"), mask)
    buf = bytearray(b"payload")
    with pytest.raises(error):
        impl.mask.mask_inplace(buf, mask)
    assert buf == b"payload"


@pytest.mark.parametrize("data", NON_BUFFERS)
def test_non_buffer_data(impl, data):
    with pytest.raises(TypeError):
        impl.mask.apply_mask(data, KEY)
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(data, KEY)


@pytest.mark.parametrize("kind", READONLY)
def test_mask_inplace_refuses_read_only_buffers(impl, kind):
    buf, _, _ = KINDS[kind][0](b"abcdef")
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(buf, KEY)
    assert memoryview(buf).tobytes() == b"abcdef"


def test_mask_inplace_refuses_read_only_view_of_writable(impl):
    base = bytearray(b"abcdef")
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(memoryview(base).toreadonly(), KEY)
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(memoryview(base).toreadonly()[::2], KEY)
    assert base == b"abcdef"


def test_missing_arguments(impl):
    with pytest.raises(TypeError):
        impl.mask.apply_mask(b"abcd")
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(bytearray(4))


def test_arguments_checked_in_order(impl):
    # data/buffer first, then mask, then offset: both twins raise the same error when
    # several arguments are wrong.
    with pytest.raises(TypeError):
        impl.mask.apply_mask("text", b"abc")
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(b"read-only", b"abc", -1)
    with pytest.raises(ValueError):
        impl.mask.mask_inplace(bytearray(4), b"abc", 1.5)
    with pytest.raises(TypeError):
        impl.mask.mask_inplace(bytearray(4), "abcd", -1)
    with pytest.raises(ValueError):
        impl.mask.mask_inplace(bytearray(4), KEY, -1)


def _error(call, *args):
    try:
        call(*args)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)
    raise AssertionError("no error for %r" % (args,))


def test_twins_give_the_same_error_messages(impl, py_twin):
    cases = [(b"data", mask) for mask, _ in BAD_MASKS] + [(data, KEY) for data in NON_BUFFERS]
    for args in cases:
        assert _error(impl.mask.apply_mask, *args) == _error(py_twin.mask.apply_mask, *args)
    cases = (
        [(bytearray(b"data"), mask) for mask, _ in BAD_MASKS]
        + [(data, KEY) for data in NON_BUFFERS + [b"read-only", memoryview(b"ro")]]
        + [(bytearray(4), KEY, offset) for offset in (-1, -(2**80), 1.5, "1", None)]
    )
    for args in cases:
        assert _error(impl.mask.mask_inplace, *args) == _error(py_twin.mask.mask_inplace, *args)


def test_buffers_are_released(impl):
    # A bytearray cannot be resized while a buffer export is held: it must be released after
    # a success and after every kind of failure.
    data = bytearray(b"abcdefgh")
    impl.mask.apply_mask(data, KEY)
    impl.mask.mask_inplace(data, KEY, 1)
    for args in [(data, b"abc"), (data, KEY, -1), (data, KEY, 0.5), (data, "abcd")]:
        with pytest.raises((TypeError, ValueError)):
            impl.mask.mask_inplace(*args)
    mask = bytearray(KEY)
    impl.mask.apply_mask(data, mask)
    with pytest.raises(ValueError):
        impl.mask.apply_mask(data, mask + b"x")
    with pytest.raises(ValueError):
        impl.mask.apply_mask(memoryview(data)[::2], mask + b"x")
    data.extend(b"ij")
    mask.append(0)
    assert len(data) == 10 and len(mask) == 5


# --- properties ---------------------------------------------------------------------------

keys = st.binary(min_size=4, max_size=4)
# The twin fixtures are stateless module handles: sharing them across examples is safe.
FIXTURES = [HealthCheck.function_scoped_fixture]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.binary(max_size=300), key=keys, offset=st.integers(0, 2**70))
def test_twins_agree_with_reference(impl, py_twin, data, key, offset):
    expected = reference(data, key)
    assert impl.mask.apply_mask(data, key) == expected
    assert py_twin.mask.apply_mask(data, key) == expected
    expected = reference(data, key, offset)
    for mask_inplace in (impl.mask.mask_inplace, py_twin.mask.mask_inplace):
        buf = bytearray(data)
        mask_inplace(buf, key, offset)
        assert buf == expected


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.binary(max_size=300), key=keys, offset=st.integers(0, 2**40))
def test_masking_is_an_involution(impl, data, key, offset):
    once = impl.mask.apply_mask(data, key)
    assert impl.mask.apply_mask(once, key) == data
    buf = bytearray(data)
    impl.mask.mask_inplace(buf, key, offset)
    impl.mask.mask_inplace(buf, key, offset)
    assert buf == data


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES)
@given(
    data=st.binary(max_size=200),
    key=keys,
    start=st.integers(0, 2**66),
    cuts=st.lists(st.integers(0, 200), max_size=8),
)
def test_chunked_mask_inplace_equals_whole(impl, data, key, start, cuts):
    # A payload masked chunk by chunk, each chunk with its own offset, equals the whole
    # payload masked at once.
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    whole = bytearray(data)
    impl.mask.mask_inplace(whole, key, start)
    chunked = bytearray(data)
    view = memoryview(chunked)
    for lo, hi in zip(bounds, bounds[1:]):
        impl.mask.mask_inplace(view[lo:hi], key, start + lo)
    view.release()
    assert chunked == whole == reference(data, key, start)
    # Chunks as separate bytearrays, masked then joined.
    pieces = [bytearray(data[lo:hi]) for lo, hi in zip(bounds, bounds[1:])]
    for lo, piece in zip(bounds, pieces):
        impl.mask.mask_inplace(piece, key, start + lo)
    assert b"".join(pieces) == whole


# --- large payloads: the kernel's wide loops and the GIL-released path -------------------


@pytest.mark.parametrize("size", [65536 + 3, 262143, 262144, 262145, (1 << 20) + 3])
def test_large_payloads(impl, size):
    data = os.urandom(size)
    key = os.urandom(4)
    expected = reference_fast(data, key)
    assert impl.mask.apply_mask(data, key) == expected
    assert impl.mask.apply_mask(bytearray(data), key) == expected
    buf = bytearray(data)
    impl.mask.mask_inplace(buf, key, 5)
    assert buf == reference_fast(data, key, 1)
    view = memoryview(bytearray(data))[1::2]
    impl.mask.mask_inplace(view, key, 2)
    assert view.tobytes() == reference_fast(data[1::2], key, 2)


def test_nogil_threshold_covers_large_payloads(impl):
    # The compiled twin releases the GIL from this size on (256 KiB); the cases above cover
    # both sides of it.
    threshold = getattr(impl.mask, "NOGIL_THRESHOLD", None)
    if impl.kind == "c":
        assert 1024 <= threshold <= 1 << 20
    else:
        assert threshold is None


def test_threads_mask_concurrently(impl):
    # With the GIL released around the kernel, threads masking their own buffers at the same
    # time must each get their own correct result.
    size = 1 << 20
    jobs = [(os.urandom(size), os.urandom(4), k) for k in range(4)]
    results = [None] * len(jobs)

    def work(i):
        data, key, offset = jobs[i]
        out = impl.mask.apply_mask(data, key)
        buf = bytearray(data)
        for _ in range(3):
            impl.mask.mask_inplace(buf, key, offset)
        results[i] = (out, bytes(buf))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (data, key, offset), (out, buf) in zip(jobs, results):
        assert out == reference_fast(data, key)
        assert buf == reference_fast(data, key, offset)


# Every public call that takes a caller's masking key checks it the same way (one helper per
# twin) and says the same thing: websockets' "mask must contain 4 bytes" (its apply_mask
# contract), with the length found.
KEY_CHECKS = {
    "apply_mask": lambda impl, key: impl.mask.apply_mask(b"data", key),
    "mask_inplace": lambda impl, key: impl.mask.mask_inplace(bytearray(b"data"), key),
    "encode_frame": lambda impl, key: impl.frames.encode_frame(2, b"data", mask=key),
    "encode_frame_header": lambda impl, key: impl.frames.encode_frame_header(2, 4, mask=key),
    "compat websocket_mask": lambda impl, key: impl.compat.websocket_mask(key, b"data"),
    "compat abnf_mask": lambda impl, key: impl.compat.abnf_mask(key, b"data"),
    "compat XorMaskerSimple": lambda impl, key: impl.compat.XorMaskerSimple(key),
    "websockets build_frame": lambda impl, key: impl.websockets.build_frame(0x82, b"data", key),
}


@pytest.mark.parametrize("call", sorted(KEY_CHECKS))
@pytest.mark.parametrize("key, length", [(b"", 0), (b"abc", 3), (bytearray(5), 5),
                                         (memoryview(b"abcdefgh")[::3], 3)])
def test_every_key_check_says_the_same(impl, call, key, length):
    with pytest.raises(ValueError) as info:
        KEY_CHECKS[call](impl, key)
    assert str(info.value) == "mask must contain 4 bytes, not %d" % length


@pytest.mark.parametrize("call", sorted(set(KEY_CHECKS) - {"compat abnf_mask"}))
@pytest.mark.parametrize("key", [1234, [1, 2, 3, 4]])
def test_every_key_check_refuses_non_buffers_alike(impl, call, key):
    # (abnf_mask reads a str key as latin-1 and encode_frame takes False/None as "no key":
    # those are their own call shapes, not key checks.)
    with pytest.raises(TypeError) as info:
        KEY_CHECKS[call](impl, key)
    assert str(info.value) == "mask must be a bytes-like object, not %r" % type(key).__name__
