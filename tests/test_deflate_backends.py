"""Deflate backends (isal, zlib-ng, the standard library's zlib) for permessage-deflate (RFC 7692),
against both twins: every backend's output is read by every other and by stdlib zlib, and every
backend reads what every other sends, at every window size on both sides, with and without
context takeover, split anywhere.

What wscodec sends is checked with a strict reference inflater (stdlib zlib handed at most 200
bytes of output per call, so a back-reference further than the agreed window fails with "invalid
distance too far back" instead of being read from the output of the same call).

CI installs isal and zlib-ng and sets WSCODEC_REQUIRE_DEFLATE_BACKENDS=1, so a backend that fails
to import fails there rather than leaving its tests out; the suite also runs without them.
"""

import os
import random
import subprocess
import sys
import zlib

import pytest
from _wire import parse_frames, raw_frame

import wscodec
from wscodec import BinaryMessage, InvalidPayload, PayloadTooBig, TextMessage, _deflate
from wscodec._deflate_params import PerMessageDeflate

BACKENDS = _deflate.available()
ALL_KNOWN = ["isal", "zlib-ng", "zlib"]
BINARY, TEXT, CONT = 2, 1, 0
TAIL = b"\x00\x00\xff\xff"
PRESETS = ["speed", "balanced", "size"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Every installed backend in turn, forced by name."""
    previous = _deflate.set_backend(_deflate.BACKEND_MODULES[request.param])
    _deflate.set_deflate_backend(request.param)
    try:
        yield request.param
    finally:
        _deflate.set_backend(previous)


def test_backends_required_in_ci():
    """CI's test stages install isal and zlib-ng: there every backend must import."""
    if os.environ.get("WSCODEC_REQUIRE_DEFLATE_BACKENDS") != "1":
        pytest.skip("WSCODEC_REQUIRE_DEFLATE_BACKENDS is not set (a run without the optional backends)")
    assert BACKENDS == ALL_KNOWN


def test_default_is_the_fastest_installed():
    code = "import wscodec, wscodec._deflate as d; print(wscodec.DEFLATE_BACKEND, d.available())"
    env = dict(os.environ)
    env.pop("WSCODEC_DEFLATE_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    name, _, rest = out.strip().partition(" ")
    installed = eval(rest)  # a list literal printed by the child
    assert installed[-1] == "zlib"
    assert name == installed[0]
    assert [b for b in ALL_KNOWN if b in installed] == installed


@pytest.mark.parametrize("name", ALL_KNOWN + ["zlib_ng", "ISAL", "nope"])
def test_environment_variable_forces_a_backend(name):
    code = "import wscodec; print(wscodec.DEFLATE_BACKEND)"
    env = dict(os.environ, WSCODEC_DEFLATE_BACKEND=name)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    canonical = {"zlib_ng": "zlib-ng", "ISAL": "isal"}.get(name, name)
    if canonical in BACKENDS:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == canonical
    else:
        # Unknown, or not installed: the import fails rather than measure another backend.
        assert proc.returncode != 0
        assert "WSCODEC_DEFLATE_BACKEND" in proc.stderr or "unknown deflate backend" in proc.stderr


def test_set_deflate_backend():
    previous = _deflate.set_backend(_deflate.backend())
    try:
        for name in BACKENDS:
            wscodec.set_deflate_backend(name)
            assert wscodec.DEFLATE_BACKEND == name
            assert _deflate.backend() is _deflate.BACKEND_MODULES[name]
        assert wscodec.set_deflate_backend(None) == BACKENDS[-1]
        assert wscodec.DEFLATE_BACKEND == BACKENDS[0]
        with pytest.raises(ValueError, match="unknown deflate backend"):
            wscodec.set_deflate_backend("brotli")
        with pytest.raises(TypeError):
            wscodec.set_deflate_backend(3)
        for name in ALL_KNOWN:
            if name not in BACKENDS:
                with pytest.raises(ValueError, match="not installed"):
                    wscodec.set_deflate_backend(name)
    finally:
        _deflate.set_backend(previous)


# -- which compressor a stream gets ---------------------------------------------------------


@pytest.mark.parametrize("compression", PRESETS + [0, 1, 4, 6, 9])
@pytest.mark.parametrize("bits", range(8, 16))
def test_plan_is_honoured_by_its_backend(backend, bits, compression):
    name, level, wbits, mem_level, strategy = _deflate.compressor_plan(bits, compression)
    assert name in BACKENDS
    if bits == 8:
        # zlib cannot compress with an 8-bit raw window: 9 bits, Huffman coding only.
        assert (wbits, strategy) == (9, zlib.Z_HUFFMAN_ONLY)
        assert name != "isal"  # isal has no Huffman-only strategy
    else:
        assert (wbits, strategy) == (bits, zlib.Z_DEFAULT_STRATEGY)
    if name == "isal":
        assert 0 <= level <= 3
    if isinstance(compression, int) and name != "isal":
        assert level == compression
    # The forced backend is used wherever it can be, else the standard library.
    assert name in (backend, "zlib")
    if backend != "isal" or bits != 8 and not isinstance(compression, int):
        assert name == backend


def test_automatic_choice_per_preset():
    previous = _deflate.set_backend(_deflate.backend())
    try:
        _deflate.set_deflate_backend(None)
        fast = next(b for b in ("isal", "zlib-ng", "zlib") if b in BACKENDS)
        assert _deflate.compressor_plan(12, "speed")[:2] == (fast, {"isal": 1, "zlib-ng": 2, "zlib": 1}[fast])
        small = "zlib-ng" if "zlib-ng" in BACKENDS else "zlib"
        assert _deflate.compressor_plan(12, "size")[:2] == (small, 6)
        assert _deflate.compressor_plan(12, 6)[:2] == (small, 6)
    finally:
        _deflate.set_backend(previous)


@pytest.mark.parametrize("bad, exc", [("fast", ValueError), (10, ValueError), (-1, ValueError), (True, TypeError),
                                      (None, TypeError), (6.0, TypeError)])
def test_compression_argument_checked(impl, bad, exc):
    with pytest.raises(exc):
        impl.messages.MessageEncoder(compression=bad)


def test_encoder_properties(impl):
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate())
    assert enc.compression == "speed" and enc.skip_incompressible is True
    enc = impl.messages.MessageEncoder(compression=3, skip_incompressible=False)
    assert enc.compression == 3 and enc.skip_incompressible is False
    with pytest.raises(TypeError):
        impl.messages.MessageEncoder(skip_incompressible=1)


# -- interoperability -----------------------------------------------------------------------


def corpus(seed, count=3):
    """Messages with repeats at distances from 100 B to 20 KiB, so every window size matters."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        parts = []
        for dist in (100, 300, 600, 1200, 5000, 20000)[: 3 + i]:
            block = rng.randbytes(64)
            parts.append(block + bytes(rng.choice(b"abcdefgh {}:,\"") for _ in range(dist)) + block)
        out.append(b"".join(parts))
    return out


def strict_inflate(z, data):
    """Inflate with at most 200 bytes of output per call (see the module docstring)."""
    out = []
    while True:
        chunk = z.decompress(data, 200)
        out.append(chunk)
        data = z.unconsumed_tail
        if not data and len(chunk) < 200:
            return b"".join(out)


def agreement(server_bits, client_bits, takeover):
    return PerMessageDeflate(
        server_no_context_takeover=not takeover,
        client_no_context_takeover=not takeover,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
    )


def payloads_of(wire, masked):
    """[(rsv1, payload)] of single-frame messages (independent parser)."""
    out = []
    for fin, rsv1, opcode, is_masked, _, payload in parse_frames(wire):
        assert fin and is_masked == masked and opcode == BINARY
        out.append((rsv1, payload))
    return out


@pytest.mark.parametrize("takeover", [True, False], ids=["takeover", "no-takeover"])
@pytest.mark.parametrize("compression", ["speed", "size"])
def test_what_each_backend_sends_inflates_everywhere(impl, backend, compression, takeover):
    """Sent by wscodec through ``backend`` at each window (both sides' parameters), read by the
    strict stdlib zlib inflater and by wscodec's decoder through every backend."""
    messages = corpus(1)
    for bits in range(8, 16):
        for client in (False, True):
            deflate = agreement(bits, 23 - bits, takeover)  # the other side's window differs
            own_bits = deflate.window_bits(client)
            enc = impl.messages.MessageEncoder(client=client, deflate=deflate, compression=compression,
                                               skip_incompressible=False)
            wire = b"".join(enc.binary(m) for m in messages)
            ref = zlib.decompressobj(-own_bits)
            for (rsv1, payload), message in zip(payloads_of(wire, client), messages):
                assert rsv1
                if not takeover:
                    ref = zlib.decompressobj(-own_bits)
                assert strict_inflate(ref, payload + TAIL) == message, (bits, client)
            for reader in BACKENDS:
                _deflate.set_deflate_backend(reader)
                dec = impl.messages.MessageDecoder(client=not client, deflate=deflate, max_message_size=None)
                assert dec.feed(wire) == [BinaryMessage(m) for m in messages], (bits, client, reader)
            _deflate.set_deflate_backend(backend)


@pytest.mark.parametrize("takeover", [True, False], ids=["takeover", "no-takeover"])
def test_each_backend_reads_every_backends_stream(impl, backend, takeover):
    """Streams made directly by every backend's compressor (as a peer would), at the window
    agreed for the peer, read by wscodec's decoder through ``backend``."""
    messages = corpus(2)
    for writer in BACKENDS:
        module = _deflate.BACKEND_MODULES[writer]
        levels = (0, 1, 3) if writer == "isal" else (1, 6, 9)
        for bits in range(9, 16):
            for level in levels:
                deflate = agreement(15, bits, takeover)  # the client (the peer) sends with `bits`
                z = module.compressobj(level, zlib.DEFLATED, -bits, 8 if writer != "isal" else 1)
                frames = []
                for m in messages:
                    if not takeover:
                        z = module.compressobj(level, zlib.DEFLATED, -bits, 8 if writer != "isal" else 1)
                    out = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
                    assert out.endswith(TAIL)
                    frames.append(raw_frame(BINARY, out[:-4], rsv1=True, key=b"abcd"))
                dec = impl.messages.MessageDecoder(deflate=deflate, max_message_size=None)
                assert dec.feed(b"".join(frames)) == [BinaryMessage(m) for m in messages], (writer, bits, level)


def test_window_8_agreed_both_ways(impl, backend):
    """An 8-bit window (RFC 7692 §7.1.2): sent Huffman-only (no back-references at all, read by
    an 8-bit inflater), and a peer's 9-bit stream is read."""
    deflate = agreement(8, 8, True)
    messages = [b"abcdefgh" * 300 + os.urandom(100) + b"abcdefgh" * 300] * 3
    enc = impl.messages.MessageEncoder(deflate=deflate)
    wire = b"".join(enc.binary(m) for m in messages)
    ref = zlib.decompressobj(-8)
    for (rsv1, payload), m in zip(payloads_of(wire, False), messages):
        assert rsv1
        assert strict_inflate(ref, payload + TAIL) == m
    z = zlib.compressobj(6, zlib.DEFLATED, -9)
    frames = []
    for m in messages:
        out = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
        frames.append(raw_frame(BINARY, out[:-4], rsv1=True, key=b"abcd"))
    assert impl.messages.MessageDecoder(deflate=deflate).feed(b"".join(frames)) == [BinaryMessage(m) for m in messages]


@pytest.mark.parametrize("compression", PRESETS)
def test_twins_send_the_same_bytes(c_twin, py_twin, backend, compression):
    deflate = agreement(12, 12, True)
    messages = [m.decode("latin-1") for m in corpus(3)]
    outs = []
    for twin in (c_twin, py_twin):
        enc = twin.messages.MessageEncoder(deflate=deflate, compression=compression)
        outs.append([enc.text(m) for m in messages])
    assert outs[0] == outs[1]


def test_split_anywhere(impl, backend):
    """Two small compressed messages (context takeover, fragmented), fed split at every position
    through ``backend``'s inflater."""
    deflate = agreement(15, 10, True)
    z = zlib.compressobj(6, zlib.DEFLATED, -10)
    texts = ["héllo wörld, héllo wörld!", "héllo wörld again"]
    wire = b""
    for t in texts:
        c = z.compress(t.encode()) + z.flush(zlib.Z_SYNC_FLUSH)
        c = c[:-4]
        half = len(c) // 2
        wire += raw_frame(TEXT, c[:half], fin=False, rsv1=True, key=b"wxyz")
        wire += raw_frame(CONT, c[half:], key=b"wxyz")
    expected = [TextMessage(t) for t in texts]
    for cut in range(len(wire) + 1):
        for cut2 in (cut, min(len(wire), cut + 7)):
            dec = impl.messages.MessageDecoder(deflate=deflate)
            events = dec.feed(wire[:cut]) + dec.feed(wire[cut:cut2]) + dec.feed(wire[cut2:])
            assert events == expected, cut


def test_corrupt_data_is_1007_for_every_backend(impl, backend):
    dec = impl.messages.MessageDecoder(deflate=PerMessageDeflate())
    with pytest.raises(InvalidPayload) as info:
        dec.feed(raw_frame(BINARY, b"\xff\xff\xff\xff\xff", rsv1=True, key=b"abcd"))
    assert info.value.close_code == 1007


@pytest.mark.parametrize("across", [False, True], ids=["same-message", "previous-message"])
def test_too_far_back_is_never_misread(impl, backend, across):
    """A back-reference beyond the agreed window (here 9 bits) is never read as other bytes: the
    message is refused with 1007, or read as the sender meant it: zlib and zlib-ng read a
    reference into the output of the same call, and isal's inflater keeps 32 KiB of history
    whatever the window (lenient with a peer that breaks its window, never wrong)."""
    block = os.urandom(1000)
    z = zlib.compressobj(6, zlib.DEFLATED, -15)
    messages = [block, block] if across else [block * 3]
    frames = []
    for m in messages:
        out = z.compress(m) + z.flush(zlib.Z_SYNC_FLUSH)
        frames.append(raw_frame(BINARY, out[:-4], rsv1=True, key=b"abcd"))
    dec = impl.messages.MessageDecoder(deflate=agreement(15, 9, True))
    try:
        events = dec.feed(b"".join(frames))
    except InvalidPayload as exc:
        assert exc.close_code == 1007
    else:
        assert events == [BinaryMessage(m) for m in messages]
        if across:
            # zlib's and zlib-ng's windows hold 512 bytes of earlier messages, never 1000.
            assert backend == "isal"


@pytest.mark.parametrize("limit", [0, 1000, 65536])
def test_bomb_limit_for_every_backend(impl, backend, limit):
    """The same message size limit while inflating, whatever the backend (RFC 7692 §8)."""
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = bomb.compress(b"\x00" * (8 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    wire = raw_frame(BINARY, out[:-4], rsv1=True, key=b"abcd")
    dec = impl.messages.MessageDecoder(deflate=PerMessageDeflate(), max_message_size=limit)
    with pytest.raises(PayloadTooBig) as info:
        dec.feed(wire)
    assert info.value.close_code == 1009
    exact = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = exact.compress(b"\x00" * limit) + exact.flush(zlib.Z_SYNC_FLUSH)
    dec = impl.messages.MessageDecoder(deflate=PerMessageDeflate(), max_message_size=limit)
    assert dec.feed(raw_frame(BINARY, out[:-4], rsv1=True, key=b"abcd")) == [BinaryMessage(b"\x00" * limit)]


# -- messages that do not compress ----------------------------------------------------------


def json_like(n, seed=0):
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "user", "id", "text", "value"]
    out = []
    while sum(map(len, out)) < n:
        out.append('{"%s":"%s %d"},' % (rng.choice(words), rng.choice(words), rng.randrange(1000)))
    return "".join(out)[:n].encode()


@pytest.mark.parametrize("takeover", [True, False], ids=["takeover", "no-takeover"])
def test_incompressible_messages_go_uncompressed(impl, backend, takeover):
    """With ``skip_incompressible`` (the default), a random 64 KiB message goes with RSV1 unset
    and its bytes as they are; compressible ones around it still compress, and the stream stays
    readable by stdlib zlib (the compressor's window still matches the peer's)."""
    deflate = agreement(12, 12, takeover)
    enc = impl.messages.MessageEncoder(deflate=deflate)
    noise = os.urandom(64 * 1024)
    small_noise = os.urandom(2000)  # below the probe: compressed, then sent as is
    text = json_like(16 * 1024)
    messages = [text, noise, text, small_noise, text, b"tiny", os.urandom(100)]
    wire = b"".join(enc.binary(m) for m in messages)
    sent = payloads_of(wire, False)
    assert [rsv1 for rsv1, _ in sent] == [True, False, True, False, True, True, True]
    assert sent[1][1] == noise and sent[3][1] == small_noise
    assert len(sent[0][1]) < len(text) // 2
    ref = zlib.decompressobj(-12)
    for (rsv1, payload), m in zip(sent, messages):
        if rsv1:
            if not takeover:
                ref = zlib.decompressobj(-12)
            assert strict_inflate(ref, payload + TAIL) == m
        else:
            assert payload == m
    assert impl.messages.MessageDecoder(client=True, deflate=deflate).feed(wire) == [BinaryMessage(m) for m in messages]


def test_skip_incompressible_off_compresses_everything(impl, backend):
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate(), skip_incompressible=False)
    noise = os.urandom(64 * 1024)
    sent = payloads_of(enc.binary(noise) + enc.binary(noise[:2000]), False)
    assert [rsv1 for rsv1, _ in sent] == [True, True]
    z = zlib.decompressobj(-15)
    assert [z.decompress(p + TAIL) for _, p in sent] == [noise, noise[:2000]]


def test_compress_false_still_skips_one_message(impl, backend):
    enc = impl.messages.MessageEncoder(deflate=PerMessageDeflate())
    text = json_like(4096).decode()
    sent = [enc.text(text, compress=False), enc.text(text)]
    rsv1s = [f[1] for w in sent for f in parse_frames(w)]
    assert rsv1s == [False, True]
