"""Thread safety: many threads at once, each with its own decoders and encoders.

The contract (docs/getting-started.md, "Threads"): functions (``apply_mask``, ``mask_inplace`` on a
buffer the thread owns, ``validate_utf8``, ``encode_frame``) are thread-safe; decoders,
encoders and validators hold per-connection state and are used by one thread at a time, one
per connection.  These tests hammer that contract from many threads at once and check every
result against an oracle computed independently (``bytes.decode``, a plain XOR loop, the
RFC 6455 framing rules written out below), under the GIL and, on a free-threaded build with
``PYTHON_GIL=0``, without it.

Large payloads cross the sizes at which the compiled twin releases the GIL, so kernels
really run concurrently there.
"""

import os
import random
import subprocess
import sys
import sysconfig
import threading

import pytest
from _utf8_oracle import decodes

from wscodec import BinaryMessage, Close, PerMessageDeflate, TextMessage

THREADS = 8
ROUNDS = 16
# Sizes below and above the point where the compiled kernels run without the GIL.
SIZES = [0, 1, 3, 125, 126, 1000, 65535, 65536, 300_000]


def _xor(data, key, offset=0):
    """Reference masking (RFC 6455 §5.3): octet i XOR key[(offset + i) % 4], computed as one
    big-integer XOR with the key repeated over the payload."""
    n = len(data)
    if n == 0:
        return b""
    key = key[offset % 4:] + key[:offset % 4]
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def _header(opcode, length, fin=True, key=None):
    """Reference frame header (RFC 6455 §5.2), written out independently of the encoder."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if key is not None else 0
    if length < 126:
        head = bytes([first, mask_bit | length])
    elif length < 65536:
        head = bytes([first, mask_bit | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([first, mask_bit | 127]) + length.to_bytes(8, "big")
    return head + (key or b"")


def _hammer(worker, threads=THREADS):
    """Run ``worker(index)`` in ``threads`` threads started together; re-raise any failure."""
    barrier = threading.Barrier(threads)
    errors = []

    def run(index):
        try:
            barrier.wait()
            worker(index)
        except BaseException as exc:  # reported to the main thread below
            errors.append((index, exc))

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        index, exc = errors[0]
        raise AssertionError("thread %d failed: %r (%d threads failed)" % (index, exc, len(errors))) from exc


@pytest.fixture(autouse=True)
def _fast_switching():
    # Under the GIL, switch threads often so the interleavings are many.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def _payload(rng, size):
    return rng.getrandbits(8 * size).to_bytes(size, "little") if size else b""


# Python's own random module is thread-safe but shared; each thread gets its own generator.
def _rng(index, salt):
    return random.Random(index * 7919 + salt)


def test_apply_mask_shared_input(impl):
    """Functions are thread-safe: every thread masks the same read-only inputs at once."""
    rng = random.Random(1)
    inputs = [(_payload(rng, size), _payload(rng, 4)) for size in SIZES]
    expected = [_xor(data, key) for data, key in inputs]

    def worker(index):
        for _ in range(ROUNDS // 4):
            for (data, key), want in zip(inputs, expected):
                assert impl.mask.apply_mask(data, key) == want
                assert impl.mask.apply_mask(memoryview(data), key) == want

    _hammer(worker)


def test_mask_inplace_own_buffers(impl):
    """Each thread masks its own buffers in place, in chunks, with running offsets."""

    def worker(index):
        rng = _rng(index, 2)
        for _ in range(ROUNDS // 4):
            size = rng.choice(SIZES)
            data, key = _payload(rng, size), _payload(rng, 4)
            buf = bytearray(data)
            cut = rng.randint(0, size)
            first, second = memoryview(buf)[:cut], memoryview(buf)[cut:]
            impl.mask.mask_inplace(first, key)
            impl.mask.mask_inplace(second, key, cut)
            assert bytes(buf) == _xor(data, key)

    _hammer(worker)


def test_validate_utf8_shared_input(impl):
    """validate_utf8 on shared inputs from every thread agrees with bytes.decode."""
    rng = random.Random(3)
    text = "".join(chr(rng.choice([0x41, 0xE9, 0x20AC, 0x4E2D, 0x1F600])) for _ in range(100_000))
    good = text.encode("utf-8")
    samples = [good, good[:-1], good + b"\xc0\xaf", b"\xed\xa0\x80", b"a" * 300_000 + b"\xff", b"", b"\xf4\x90\x80\x80"]

    expected = [decodes(s) for s in samples]

    def worker(index):
        for _ in range(ROUNDS // 4):
            for sample, want in zip(samples, expected):
                assert impl.utf8.validate_utf8(sample) is want

    _hammer(worker)


def test_utf8_validator_per_thread(impl):
    """One incremental validator per thread, fed the same text in each thread's own pieces."""
    text = ("wscodec \u00e9t\u00e9 \u20ac \U0001f600 " * 2000).encode("utf-8")

    def worker(index):
        rng = _rng(index, 4)
        validator = impl.utf8.Utf8Validator()
        for _ in range(ROUNDS // 4):
            pos = 0
            while pos < len(text):
                step = rng.randint(1, 5000)
                assert validator.validate(text[pos:pos + step]) is True
                pos += step
            assert validator.validate(b"", final=True) is True
            # An invalid continuation fails, and the validator is reusable after reset().
            assert validator.validate(b"\xe2\x82\x28") is False
            validator.reset()

    _hammer(worker)


def test_frame_decoders_per_thread(impl):
    """Each thread: its own FrameDecoder (a server) fed masked client frames split at random.

    The frames are built here from the RFC 6455 §5.2 layout, and encode_frame (a function,
    shared) must produce the same bytes in every thread.
    """

    def worker(index):
        rng = _rng(index, 5)
        decoder = impl.frames.FrameDecoder(client=False, max_frame_size=None)
        for _ in range(ROUNDS):
            frames = []
            stream = bytearray()
            for _ in range(rng.randint(1, 4)):
                size = rng.choice(SIZES)
                payload, key = _payload(rng, size), _payload(rng, 4)
                opcode = rng.choice([1, 2]) if size else 2
                if opcode == 1:
                    payload = payload.hex().encode("ascii")[:size]
                wire = _header(opcode, len(payload), key=key) + _xor(payload, key)
                assert impl.frames.encode_frame(opcode, payload, mask=key) == wire
                frames.append((opcode, payload))
                stream += wire
            got = []
            pos = 0
            while pos < len(stream):
                step = rng.randint(1, max(1, len(stream) // 3))
                got.extend(decoder.feed(bytes(stream[pos:pos + step])))
                pos += step
            assert [(int(f.opcode), f.fin, f.payload) for f in got] == [(op, True, p) for op, p in frames]

    _hammer(worker)


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_message_round_trips_per_thread(impl, deflate):
    """Each thread: a client encoder and a server decoder of its own (a connection each),
    with permessage-deflate state (a zlib stream per object) when negotiated."""

    def worker(index):
        rng = _rng(index, 6)
        params = PerMessageDeflate() if deflate else None
        encoder = impl.messages.MessageEncoder(client=True, deflate=params, fragment_size=rng.choice([None, 1000]))
        decoder = impl.messages.MessageDecoder(client=False, deflate=params, max_message_size=None)
        for round_ in range(ROUNDS):
            size = rng.choice(SIZES[:-1])
            if round_ % 2:
                text = ("thread %d round %d \u20ac " % (index, round_)) * (size // 20 + 1)
                wire, want = encoder.text(text), TextMessage(text)
            else:
                data = _payload(rng, size)
                wire, want = encoder.binary(data), BinaryMessage(data)
            events = []
            pos = 0
            while pos < len(wire):
                step = rng.randint(1, max(1, len(wire) // 2))
                events.extend(decoder.feed(wire[pos:pos + step]))
                pos += step
            assert events == [want]
        assert decoder.feed(encoder.close(1000, "bye")) == [Close(1000, "bye")]

    _hammer(worker)


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="needs a free-threaded CPython build"
)
def test_import_keeps_gil_disabled():
    """Every compiled module declares itself free-threading compatible: importing them all
    in a fresh interpreter, with no PYTHON_GIL override, leaves the GIL off (a module
    without the declaration would turn it back on, with a RuntimeWarning)."""
    code = (
        "import importlib, pkgutil, sys, wscodec\n"
        "mods = [m.name for m in pkgutil.iter_modules(wscodec.__path__) if m.name.endswith('_c')]\n"
        "loaded = 0\n"
        "for name in mods:\n"
        "    try: importlib.import_module('wscodec.' + name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        # an integration module needs its peer library (aiohttp...), absent here\n"
        "        if (exc.name or '').split('.')[0] == 'wscodec': raise\n"
        "    else: loaded += 1\n"
        "print(loaded, wscodec.IMPLEMENTATION, sys._is_gil_enabled())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    count, implementation, gil = proc.stdout.split()
    assert "GIL" not in proc.stderr, proc.stderr
    if implementation == "c":
        assert int(count) >= 4  # at least mask, utf8, frames, messages
    assert gil == "False"
