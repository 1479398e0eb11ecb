"""What inflating costs (RFC 7692 §7.2.2), against both twins: bytes handed to the inflater
and memory held, as functions of the bytes received and of the limit.  Never timed.

The bounds are the ones SECURITY.md documents ("Resource bounds", "Compressed messages"):

- inflater input: every byte handed to ``decompress()`` is counted through a counting backend
  set at the deflate indirection point (``wscodec._deflate.set_backend``), around each installed
  backend (isal, zlib-ng, the standard library's zlib) in turn.  It stays within
  ``received + inflated / 16 + 4 per final fragment``: each received byte is handed over once,
  plus the four bytes RFC 7692 §7.2.2 appends to each message, plus at most one input slice
  (64 KiB) handed over again per MiB of output.  Handing the rest of a large payload over
  again after every bounded piece of output (the quadratic pattern) breaks it at once.
- memory: the tracemalloc peak of one ``feed()`` stays within
  ``received + 2 * held + 256 per frame + 1 MiB``, where ``held`` is what the message may hold
  (its inflated size, or ``max_message_size + 1`` when it is refused): the frames' payloads,
  the inflated pieces and their join, a frame object per frame, and a constant for zlib's
  state and one output piece.
"""

import os
import random
import zlib

import pytest
from _deflate_counting import MEMORY_PER_FRAME, MEMORY_SLACK, REFEED_PER_OUTPUT, CountingZlib
from _wire import raw_frame

from wscodec import BinaryMessage, InvalidPayload, PayloadTooBig, TextMessage
from wscodec import _deflate
from wscodec._deflate_params import PerMessageDeflate

tracemalloc = pytest.importorskip("tracemalloc")  # not on PyPy: memory bounds are CPython's

BINARY, TEXT, CONT = 2, 1, 0
MiB = 1 << 20
PMD = PerMessageDeflate()
TAIL = b"\x00\x00\xff\xff"

@pytest.fixture(params=_deflate.available())
def counts(request):
    """A counting backend around each installed deflate backend in turn: the bounds hold for
    every one of them."""
    backend = CountingZlib(_deflate.BACKEND_MODULES[request.param])
    previous = _deflate.set_backend(backend)
    try:
        yield backend
    finally:
        _deflate.set_backend(previous)


def compress(data, level=6, strategy=zlib.Z_DEFAULT_STRATEGY):
    """RFC 7692 §7.2.1 without wscodec: raw deflate, sync flush, tail removed."""
    z = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def message(compressed, fragments=1, opcode=BINARY):
    """One compressed message as ``fragments`` frames of about equal size (RSV1 on the first)."""
    step = max(1, -(-len(compressed) // fragments))
    pieces = [compressed[i : i + step] for i in range(0, len(compressed), step)] or [b""]
    return b"".join(
        raw_frame(opcode if i == 0 else CONT, p, fin=i == len(pieces) - 1, rsv1=i == 0) for i, p in enumerate(pieces)
    ), len(pieces)


def text_like(n, seed=0):
    """``n`` bytes that compress about 2:1 (hex digits), deterministic."""
    return random.Random(seed).randbytes(n // 2).hex().encode()


def feed_traced(decoder, wire):
    """``decoder.feed(wire)`` under tracemalloc: (events or the exception, peak bytes)."""
    tracemalloc.start()
    try:
        try:
            result = decoder.feed(wire)
        except Exception as exc:  # returned for the caller to check
            result = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def check_bounds(counts, wire, frames, finals, inflated, peak, held):
    """The documented bounds, with the figures in the message when one fails."""
    fed_bound = len(wire) + inflated * REFEED_PER_OUTPUT + 4 * finals
    assert counts.fed <= fed_bound, "handed %d bytes to zlib for %d received (bound %d)" % (counts.fed, len(wire), fed_bound)
    mem_bound = len(wire) + 2 * held + MEMORY_PER_FRAME * frames + MEMORY_SLACK
    assert peak <= mem_bound, "peak %d bytes for %d received, %d held (bound %d)" % (peak, len(wire), held, mem_bound)


# -- messages at the limit -------------------------------------------------------------------


@pytest.mark.parametrize("size", [1 * MiB, 4 * MiB, 16 * MiB], ids=["1MiB", "4MiB", "16MiB"])
def test_message_at_the_limit_costs_linear_input(impl, counts, size):
    """One frame, limit = size: linear, where handing the rest over again per 64 KiB was not."""
    data = text_like(size)
    wire, frames = message(compress(data))
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=size)
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(data)]
    assert counts.produced == size
    check_bounds(counts, wire, frames, 1, size, peak, size)


@pytest.mark.parametrize("limit", [None, 16 * MiB], ids=["no-limit", "limit"])
def test_output_in_pieces_is_copied_once(impl, counts, limit):
    """A message inflated in many pieces (each call is bounded by a 64 KiB input slice).

    The compiled twin copies each piece into one buffer that it grows in place (doubling, never
    past the room left under the limit) and frees the piece; the pure twin, which cannot grow a
    ``bytes`` in place, keeps the pieces and joins them.  Both stay within the documented bound
    (2 x the message); with a limit, the compiled twin holds the message about once."""
    size = 16 * MiB
    data = text_like(size, seed=5)
    wire, frames = message(compress(data))
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=limit)
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(data)]
    check_bounds(counts, wire, frames, 1, size, peak, size)
    if impl.kind == "c" and limit is not None:
        # Before, the compiled twin kept the pieces too: 2 x 16 MiB, well over this bound.
        assert peak < len(wire) + 1.25 * size, (peak, len(wire), size)


@pytest.mark.parametrize("limit", [None, 4 * MiB], ids=["no-limit", "limit"])
def test_fragmented_message(impl, counts, limit):
    data = text_like(4 * MiB, seed=1)
    wire, frames = message(compress(data), fragments=7)
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=limit)
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(data)]
    check_bounds(counts, wire, frames, 1, len(data), peak, len(data))


def test_thousands_of_tiny_fragments(impl, counts):
    """5000 fragments of a few bytes each: every byte handed over once, four more at the end."""
    data = text_like(64 * 1024, seed=2)
    compressed = compress(data)
    wire, frames = message(compressed, fragments=5000)
    assert frames > 4000
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=len(data))
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(data)]
    assert counts.fed <= len(compressed) + 4 + len(data) * REFEED_PER_OUTPUT
    check_bounds(counts, wire, frames, 1, len(data), peak, len(data))


def test_many_small_messages(impl, counts):
    """A message per frame, 2000 of them: four appended bytes each and no more."""
    texts = ["message %d " % i * 3 for i in range(2000)]
    wire = b"".join(message(compress(t.encode()), opcode=TEXT)[0] for t in texts)
    decoder = impl.messages.MessageDecoder(client=True, deflate=PerMessageDeflate(server_no_context_takeover=True))
    events, peak = feed_traced(decoder, wire)
    assert events == [TextMessage(t) for t in texts]
    compressed = sum(len(compress(t.encode())) for t in texts)
    assert counts.fed <= compressed + 4 * len(texts)
    check_bounds(counts, wire, len(texts), len(texts), sum(map(len, texts)), peak, max(map(len, texts)))


@pytest.mark.parametrize("level", [0, 6], ids=["stored", "compressed"])
def test_stored_and_compressed_blocks(impl, counts, level):
    """Stored blocks (level 0: 5 header bytes per 64 KiB) and compressed ones, 4 MiB at the limit."""
    data = os.urandom(4 * MiB) if level == 0 else text_like(4 * MiB, seed=3)
    compressed = compress(data, level=level)
    if level == 0:
        assert len(compressed) > len(data)
    wire, frames = message(compressed)
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=len(data))
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(data)]
    check_bounds(counts, wire, frames, 1, len(data), peak, len(data))


# -- bombs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fragments", [1, 16])
@pytest.mark.parametrize("inflated", [1 * MiB, 1 * MiB + 1, 64 * MiB], ids=["at", "one-over", "64x"])
def test_bomb(impl, counts, inflated, fragments):
    """Zeros compress about 1000:1; at the limit a bomb is a message, beyond it 1009 with no
    more inflated than the limit allows and no more input handed over than the bound."""
    limit = 1 * MiB
    wire, frames = message(compress(bytes(inflated), level=9), fragments=fragments)
    assert len(wire) < inflated // 500
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=limit)
    result, peak = feed_traced(decoder, wire)
    if inflated <= limit:
        assert result == [BinaryMessage(bytes(inflated))]
    else:
        assert isinstance(result, PayloadTooBig) and result.close_code == 1009, result
        # Refused on the first byte beyond the limit: zlib never produced more.
        assert counts.produced == limit + 1
    check_bounds(counts, wire, frames, 1, min(inflated, limit + 1), peak, min(inflated, limit + 1))


def test_bomb_without_a_limit_is_inflated_whole(impl, counts):
    """``max_message_size=None`` is the caller's choice: the message is inflated, linearly."""
    wire, frames = message(compress(bytes(16 * MiB), level=9))
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=None)
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(bytes(16 * MiB))]
    check_bounds(counts, wire, frames, 1, 16 * MiB, peak, 16 * MiB)


def test_junk_after_the_final_block_is_not_inflated(impl, counts):
    """4 MiB after a BFINAL block: refused (1007) having handed over at most one slice of it."""
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    ended = z.compress(b"hello") + z.flush(zlib.Z_FINISH)
    wire, frames = message(ended + bytes(4 * MiB))
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=8 * MiB)
    result, peak = feed_traced(decoder, wire)
    assert isinstance(result, InvalidPayload) and result.close_code == 1007, result
    assert counts.fed <= len(ended) + 64 * 1024
    check_bounds(counts, wire, frames, 1, 5, peak, 5)


@pytest.mark.parametrize("limit", [None, 300_000], ids=["no-limit", "limit"])
def test_bfinal_message_larger_than_one_slice(impl, counts, limit):
    """A message ended by a BFINAL block (RFC 7692 §7.2.3.4) that takes several calls to
    inflate.  zlib keeps returning the appended tail as ``unconsumed_tail`` once the stream
    has ended, so a loop waiting for the input to be used up never ended (and grew
    ``unused_data`` by four bytes a turn): the end of the stream ends the loop."""
    data = text_like(300_000, seed=4)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    wire, frames = message(z.compress(data) + z.flush(zlib.Z_FINISH))
    decoder = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=limit)
    events, peak = feed_traced(decoder, wire)
    assert events == [BinaryMessage(data)]
    assert counts.calls <= 2 * (len(wire) // (64 * 1024) + 2)
    check_bounds(counts, wire, frames, 1, len(data), peak, len(data))


def _finished(data):
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    return z.compress(data) + z.flush(zlib.Z_FINISH)


@pytest.mark.parametrize("size", [100, 40_000, 300_000])
def test_data_after_bfinal_in_large_payloads(impl, counts, size):
    """Payloads longer than one slice handed to the inflater: the end is found in any slice,
    and what follows it is judged as in one slice (RFC 7692 §7.2.1, §7.2.3.4)."""
    data = os.urandom(size // 2).hex().encode()
    for after, ok in [(b"", True), (b"\x00", True), (b"\x00\x00", False), (bytes(100_000), False)]:
        wire = raw_frame(BINARY, _finished(data) + after, rsv1=True)
        for limit in (None, size + len(after)):  # inflated size + the frame must fit
            dec = impl.messages.MessageDecoder(client=True, deflate=PMD, max_message_size=limit)
            if ok:
                assert dec.feed(wire) == [BinaryMessage(data)]
            else:
                with pytest.raises(InvalidPayload):
                    dec.feed(wire)
