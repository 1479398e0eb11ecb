"""Shared helpers for the atheris harnesses in this directory.

Every harness runs one input through the compiled twin and the pure twin, each fed the same
byte stream split at points the fuzzer chooses, and requires the same outcome: the same
events, or the same documented exception class with the same close code.  Any other
exception (an ``IndexError`` in the pure twin, a ``SystemError`` from the compiled one) or a
disagreement between the twins is a finding: the harness raises and libFuzzer saves the input.
"""

import importlib
import os
import sys

# Run from anywhere: the package is the directory above this one.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import atheris  # noqa: E402

with atheris.instrument_imports():
    # The pure twins and the shared modules get Python coverage feedback; the compiled twins
    # get native coverage only in a clang build (docs/contributing.md, "Fuzzing with native
    # coverage").
    import wscodec  # noqa: F401
    from wscodec import _errors  # noqa: F401
    from wscodec import handshake  # noqa: F401
    from wscodec import _frames_py, _mask_py, _messages_py, _utf8_py  # noqa: F401

import tracemalloc  # noqa: E402
import zlib  # noqa: E402

from wscodec import _deflate  # noqa: E402

ProtocolError = _errors.ProtocolError


def twins(concern):
    """``(compiled, pure)`` modules of one concern; the compiled one must have been built."""
    pure = importlib.import_module("wscodec._%s_py" % concern)
    try:
        compiled = importlib.import_module("wscodec._%s_c" % concern)
    except ImportError:
        if os.environ.get("WSCODEC_FUZZ_PURE_ONLY"):
            return None, pure
        raise SystemExit(
            "wscodec._%s_c is not built: run `python setup.py build_ext --inplace` first "
            "(or set WSCODEC_FUZZ_PURE_ONLY=1 to fuzz the pure twin alone)" % concern
        )
    return compiled, pure


def split(data, cuts):
    """``data`` cut at the sorted, de-duplicated positions in ``cuts`` (each taken modulo the
    length), as a list of chunks whose concatenation is ``data``."""
    if not data:
        return [data]
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, start = [], 0
    for p in points:
        chunks.append(data[start:p])
        start = p
    chunks.append(data[start:])
    return chunks


class Reader:
    """The harnesses' input layout, explicit so that seeds can be written by hand
    (``make_corpus.py``): configuration bytes first (``byte()``), then ``cuts()`` — one count
    byte and that many 2-byte big-endian split positions — then the payload (``rest()``).
    A short input reads as zeros."""

    def __init__(self, raw):
        self.raw = raw
        self.pos = 0

    def byte(self):
        value = self.raw[self.pos] if self.pos < len(self.raw) else 0
        self.pos += 1
        return value

    def pick(self, options):
        return options[self.byte() % len(options)]

    def cuts(self, most=8):
        count = self.byte() % (most + 1)
        return [(self.byte() << 8) | self.byte() for _ in range(count)]

    def rest(self):
        return self.raw[self.pos:]


def plain(event):
    """An event or frame as a tuple of its class name and fields, so that objects of the
    compiled and the pure twin (distinct classes) compare by value."""
    if hasattr(event, "opcode"):
        return ("Frame", int(event.opcode), event.fin, event.rsv1, event.rsv2, event.rsv3, event.payload)
    if hasattr(event, "code"):
        return ("Close", event.code, event.reason)
    return (type(event).__name__, type(event.data), event.data)


def outcome(feed, chunks, buffer_type=bytes):
    """Feed every chunk; return ``("ok", [events...])`` or ``("error", class, close_code)``.

    Only the ``ProtocolError`` family is documented for ``feed()``; anything else propagates.
    After an error the decoder must stay failed: one more ``feed()`` must raise the same class
    with the same code (DESIGN: "a decoder that has raised is finished").
    """
    events = []
    try:
        for chunk in chunks:
            events.extend(plain(e) for e in feed(buffer_type(chunk)))
    except ProtocolError as exc:
        first = (type(exc), exc.close_code)
        try:
            feed(b"\x81\x00")
        except ProtocolError as again:
            if (type(again), again.close_code) != first:
                raise AssertionError("a failed decoder raised %r, then %r" % (exc, again))
        else:
            raise AssertionError("a failed decoder accepted more input after %r" % (exc,))
        return ("error",) + first
    return ("ok", events)


def same(label, compiled, pure, data):
    """Fail loudly (with the input) when the twins disagree."""
    if compiled is None or compiled == pure:
        return
    raise AssertionError(
        "%s: twins disagree on %r\n  compiled: %r\n  pure:     %r" % (label, data[:200], compiled, pure)
    )


def same_kind(whole, split_outcome, data):
    """The stream in one piece and split: the same events, or both an error.

    The close code may differ with the split, and that is allowed: when one chunk holds a
    completed frame that the message layer would refuse (1007) and a later header the frame
    layer refuses (1002), the frame layer raises first (DESIGN: "frames completed earlier in
    the same chunk are not returned"), while a cut between them lets the message layer see the
    frame first.  Either close code is a correct failure of the connection.
    """
    if whole[0] != split_outcome[0] or (whole[0] == "ok" and whole != split_outcome):
        raise AssertionError(
            "split changed the outcome on %r\n  whole: %r\n  split: %r" % (data[:200], whole, split_outcome)
        )


BUFFER_TYPES = (bytes, bytearray, memoryview)


# -- the resource oracle (SECURITY.md, "Resource bounds") -----------------------------------

# The counting backend and the documented allowances are the tests' own (one copy of each).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from _deflate_counting import MEMORY_PER_FRAME, MEMORY_SLACK, REFEED_PER_OUTPUT, CountingZlib  # noqa: E402

COUNTS = CountingZlib()


#: Memory is traced for one input in MEMORY_SAMPLE (chosen by a hash of the input, so a saved
#: input replays the same way): tracing every allocation slows the harness about fivefold.
MEMORY_SAMPLE = 8


def watch_resources():
    """Count inflater bytes from now on (call once, before fuzzing)."""
    _deflate.set_backend(COUNTS)


def bounded(label, data, limit, feed, drive):
    """``drive(feed)``'s outcome, after checking what it cost against the documented bounds.

    ``feed`` is the decoder's ``feed``, ``data`` every byte it is given, ``limit`` its
    ``max_message_size``.  Output of the inflater: at most the message bytes delivered plus
    ``limit + 1`` (the one message that may be open or refused when the input ends), plus
    ``limit + 1`` per frame header the chunk that raised could hold (what it completed is
    dropped with it).  Input
    handed to it: at most the bytes received, 4 appended per message (a message takes at least
    a 2-byte header: at most 2 per byte received) and 1/16 of the output.  Peak memory: the
    bytes received, twice what the messages hold, 256 bytes per frame (at most one per 2
    bytes received) and 1 MiB, checked on one input in ``MEMORY_SAMPLE``.  A violation is a
    finding.
    """
    delivered = 0
    lost = 0

    def counting_feed(chunk):
        nonlocal delivered, lost
        try:
            events = feed(chunk)
        except Exception:
            # A decoder that raises returns nothing of the chunk it was fed (DESIGN.md): the
            # messages it completed in that chunk were inflated and dropped, each at most
            # ``limit + 1`` bytes, one at most per 2-byte frame header.
            if limit is not None:
                lost += (limit + 1) * (memoryview(chunk).nbytes // 2 + 1)
            raise
        for event in events:
            value = getattr(event, "data", None)
            if isinstance(value, str):
                delivered += len(value.encode("utf-8"))
            elif value is not None:
                delivered += len(value)
        return events

    COUNTS.reset()
    traced = zlib.crc32(data) % MEMORY_SAMPLE == 0
    if traced:
        tracemalloc.start()
        try:
            result = drive(counting_feed)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    else:
        result = drive(counting_feed)
        peak = 0
    received = len(data)
    produced = COUNTS.produced
    if limit is not None and produced > delivered + lost + limit + 1:
        raise AssertionError("%s: inflated %d bytes, %d delivered, limit %d, on %r"
                             % (label, produced, delivered, limit, data[:200]))
    if COUNTS.fed > 3 * received + produced * REFEED_PER_OUTPUT:
        raise AssertionError("%s: handed %d bytes to zlib for %d received, %d inflated, on %r"
                             % (label, COUNTS.fed, received, produced, data[:200]))
    held = max(produced, received)
    if peak > received + 2 * held + MEMORY_PER_FRAME * (received // 2 + 1) + MEMORY_SLACK:
        raise AssertionError("%s: peak memory %d bytes for %d received, %d inflated, on %r"
                             % (label, peak, received, produced, data[:200]))
    return result


def run(test_one):
    """Standard libFuzzer entry: ``python fuzz/<harness>.py [corpus dir] [-flags]``."""
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()
