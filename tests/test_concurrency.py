"""Concurrency: the GIL is released in long kernels, independent decoders run in parallel, and
a decoder or validator shared between threads fails loudly instead of corrupting its state.

* ``test_kernel_releases_gil``: while a compiled kernel works on a large buffer, another
  thread makes progress.  The switch interval is raised to 60 s, so the only way the other
  thread can run is that the kernel gave the GIL up; the same call on a small buffer (kept
  under the GIL) is the control that shows the measurement can fail.
* ``test_independent_decoders``: many threads, each with its own ``MessageDecoder``, decode
  large masked (and compressed) messages at once; every result is checked against the data
  the thread encoded with its own plain XOR framing.
* ``test_shared_*``: one decoder or validator used by two threads at once.  The second caller
  gets ``RuntimeError`` (both twins), the first one's results are still exact, and the object
  still decodes correctly afterwards.
"""

import random
import sys
import threading
import time
import zlib

import pytest

import wscodec
from wscodec import BinaryMessage, PerMessageDeflate, TextMessage

from _twins import KINDS, Twin

BIG = 4 << 20        # well above every GIL-release threshold (256 KiB at most)
HUGE = 64 << 20      # long enough (milliseconds) for a loaded machine to wake another thread
SMALL = 1000         # below all of them
THREADS = 8


def _xor(data, key):
    """RFC 6455 §5.3 masking as one big-integer XOR (independent of the code under test)."""
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def _frame(opcode, payload, key, fin=True, rsv1=False):
    """A masked client frame (RFC 6455 §5.2), written out here rather than by the encoder."""
    n = len(payload)
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    if n < 126:
        head = bytes([first, 0x80 | n])
    elif n < 65536:
        head = bytes([first, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + key + _xor(payload, key)


def _text(size, seed):
    """About ``size`` bytes of UTF-8 mixing 1- to 4-byte characters (a random block repeated)."""
    rng = random.Random(seed)
    block = "".join(rng.choice("aé€😀 z") for _ in range(4000))
    return block * max(1, size // len(block.encode()))


# -- the GIL is released in long kernels ----------------------------------------------------


def _progress_during(call):
    """How many steps another thread took while ``call()`` ran, with preemption disabled."""
    counter = [0]
    started = threading.Event()
    done = threading.Event()

    def spin():
        started.set()
        while not done.is_set():
            counter[0] += 1
            time.sleep(0)   # lets the caller take the GIL back between steps

    old = sys.getswitchinterval()
    sys.setswitchinterval(60.0)
    thread = threading.Thread(target=spin)
    try:
        thread.start()
        started.wait()
        time.sleep(0.01)
        best = 0
        for _ in range(10):   # a loaded machine may not schedule the spinner at once
            before = counter[0]
            call()
            best = max(best, counter[0] - before)
            if best:
                break
        return best
    finally:
        done.set()
        thread.join()
        sys.setswitchinterval(old)


def _kernels(size):
    """Compiled calls whose work is proportional to ``size``."""
    from wscodec import _frames_c, _mask_c, _messages_c, _utf8_c

    key = b"\x37\xfa\x21\x3d"
    payload = bytes(random.Random(size).getrandbits(8) for _ in range(64)) * (size // 64)
    text = ("a" * size).encode()
    masked_frame = _frame(0x2, payload, key)
    masked_text = _frame(0x1, text, key)
    buf = bytearray(payload)
    return {
        "apply_mask": lambda: _mask_c.apply_mask(payload, key),
        "mask_inplace": lambda: _mask_c.mask_inplace(buf, key),
        "validate_utf8": lambda: _utf8_c.validate_utf8(text),
        "Utf8Validator": lambda: _utf8_c.Utf8Validator().validate(text),
        "FrameDecoder": lambda: _frames_c.FrameDecoder(max_frame_size=None).feed(masked_frame),
        "MessageDecoder": lambda: _messages_c.MessageDecoder(max_message_size=None).feed(masked_text),
        "encode_frame": lambda: _frames_c.encode_frame(2, payload, mask=key),
    }


KERNELS = ["FrameDecoder", "MessageDecoder", "Utf8Validator", "apply_mask", "encode_frame",
           "mask_inplace", "validate_utf8"]   # the keys of _kernels(); no import at collection


@pytest.mark.c_extension
@pytest.mark.skipif("c" not in KINDS, reason="the compiled twin is not built (WSCODEC_NO_EXTENSIONS=1)")
@pytest.mark.parametrize("name", KERNELS)
def test_kernel_releases_gil(name):
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        # Free-threaded CPython with the GIL off: there is no GIL to release, and the control
        # below (a small call keeps other threads out) cannot hold.
        pytest.skip("the GIL is disabled in this interpreter")
    big = _kernels(HUGE)[name]
    small = _kernels(SMALL)[name]
    assert _progress_during(big) > 0, "%s held the GIL for %d bytes" % (name, HUGE)
    # Control: the small call keeps the GIL, so the spinner cannot move (the test can fail).
    assert _progress_during(small) == 0


# -- many threads, independent decoders, large payloads -------------------------------------


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
def test_independent_decoders(impl, deflate):
    agreement = PerMessageDeflate() if deflate else None
    errors = []
    barrier = threading.Barrier(THREADS)

    def worker(index):
        try:
            key = bytes([index + 1, 0x80, 0x7F, 0xFF - index])
            text = _text(300_000 + index * 10_001, index)
            binary = random.Random(index).randbytes(600_000 + index * 4_099)
            if agreement is not None:
                # RFC 7692 §7.2.1: compress, drop the final empty block's 00 00 FF FF.
                c = zlib.compressobj(wbits=-15)
                stream = _frame(0x1, (c.compress(text.encode()) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], key, rsv1=True)
                c = zlib.compressobj(wbits=-15)
                stream += _frame(0x2, (c.compress(binary) + c.flush(zlib.Z_SYNC_FLUSH))[:-4], key, rsv1=True)
            else:
                half = len(text.encode()) // 2
                raw = text.encode()
                stream = _frame(0x1, raw[:half], key, fin=False) + _frame(0x0, raw[half:], key)
                stream += _frame(0x2, binary, key)
            decoder = impl.messages.MessageDecoder(max_message_size=None, deflate=agreement)
            barrier.wait()
            for _ in range(3):
                events = []
                rng = random.Random(index)
                pos = 0
                while pos < len(stream):
                    step = rng.choice([1, 7, 4096, 300_000, 1 << 20])
                    events.extend(decoder.feed(stream[pos:pos + step]))
                    pos += step
                assert events == [TextMessage(text), BinaryMessage(binary)], index
        except BaseException as exc:   # reported by the main thread
            errors.append((index, exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


# -- shared objects fail loudly ---------------------------------------------------------------


def _shared(first, second, check, rounds=200):
    """Run ``first()`` (long) in one thread and ``second()`` (short) in a loop in another.

    Returns how many ``RuntimeError`` each side saw; every ``first()`` that returned is
    checked with ``check``; any other exception fails the test.
    """
    seen = {"first": 0, "second": 0}
    errors = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                second()
            except RuntimeError as exc:
                assert "one thread at a time" in str(exc), exc
                seen["second"] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)   # switch threads as often as possible
    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        for _ in range(rounds):
            try:
                check(first())
            except RuntimeError as exc:
                assert "one thread at a time" in str(exc), exc
                seen["first"] += 1
            if seen["first"] + seen["second"] >= 2:
                break
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    assert not errors, errors
    assert seen["second"] or seen["first"], "the two threads never overlapped"
    return seen


def _size(impl):
    """The compiled twin only lets another thread in while a kernel runs without the GIL, so
    its calls must be long; the pure twin can be switched out between any two bytecodes."""
    return HUGE if impl.kind == "c" else BIG


def test_shared_frame_decoder(impl):
    key = b"\x01\x02\x03\x04"
    payload = bytes(range(256)) * (_size(impl) // 256)
    frame = _frame(0x2, payload, key)
    ping = _frame(0x9, b"", key)
    decoder = impl.frames.FrameDecoder(max_frame_size=None)

    def check(frames):
        assert [(f.opcode, f.payload) for f in frames] == [(2, payload)]

    # Each call of the second thread is a whole frame: two calls that merely alternate are
    # indistinguishable from one thread's use, and only an overlap can be detected.
    _shared(lambda: decoder.feed(frame), lambda: decoder.feed(ping), check)
    # Neither side left a broken state: the decoder reads a fresh frame exactly.
    assert [(f.opcode, f.payload) for f in decoder.feed(_frame(0x1, b"ok", key))] == [(1, b"ok")]


def test_shared_message_decoder(impl):
    key = b"\x01\x02\x03\x04"
    text = _text(_size(impl), 1)
    stream = _frame(0x1, text.encode(), key)
    decoder = impl.messages.MessageDecoder(max_message_size=None)

    def check(events):
        assert events == [TextMessage(text)]

    _shared(lambda: decoder.feed(stream), lambda: decoder.feed(b""), check)
    assert decoder.feed(_frame(0x2, b"ok", key)) == [BinaryMessage(b"ok")]


def test_shared_utf8_validator(impl):
    text = _text(_size(impl), 2).encode()
    validator = impl.utf8.Utf8Validator()

    def check(ok):
        assert ok is True

    _shared(lambda: validator.validate(text, final=True), lambda: validator.validate(b""), check)
    validator.reset()
    assert validator.validate(b"\xce\xba\xe1\xbd\xb9", final=True) is True
    assert validator.validate(b"\xed\xa0\x80", final=True) is False


@pytest.mark.parametrize("name", ["FrameDecoder", "MessageDecoder", "Utf8Validator"])
def test_docstring_says_not_shared(impl, name):
    module = {"FrameDecoder": impl.frames, "MessageDecoder": impl.messages, "Utf8Validator": impl.utf8}[name]
    doc = " ".join(getattr(module, name).__doc__.split())
    assert "one thread at a time" in doc and "RuntimeError" in doc


def test_public_names_are_the_checked_ones():
    # The facade exports the twin the tests above exercise (no wrapper in between).
    twin = Twin(wscodec.IMPLEMENTATION)
    assert wscodec.FrameDecoder is twin.frames.FrameDecoder
    assert wscodec.MessageDecoder is twin.messages.MessageDecoder
    assert wscodec.Utf8Validator is twin.utf8.Utf8Validator
