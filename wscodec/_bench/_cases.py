"""The benchmark cases and their contenders: wscodec and every peer library that can do the job.

A contender's ``prepare(case, api)`` does all setup outside the timed code and returns a
:class:`Prepared`: one statement to time (run in a loop over names in ``ns``) and a function
giving its normalized result, which is compared with the case's expected result before any
timing.  A contender that cannot run raises :class:`Unavailable` with the reason shown in the
table: ``not installed``, ``missing: ...`` (a wscodec function not importable), ``n/a: ...``
(the library has no API for this job).

wscodec's contenders take their functions from an :class:`Api`: the public facade (what
``python -m wscodec bench`` measures) or one twin's modules (what the pytest-benchmark files
parametrize over).
"""

import collections
import importlib
import itertools
import logging

from . import _data

KiB = 1024
MiB = 1024 * 1024

NOT_INSTALLED = "not installed"

#: Display name -> (distribution name, top-level module), for the report header.
LIBRARIES = {
    "websockets": ("websockets", "websockets"),
    "aiohttp": ("aiohttp", "aiohttp"),
    "wsproto": ("wsproto", "wsproto"),
    "picows": ("picows", "picows"),
    "wsaccel": ("wsaccel", "wsaccel"),
    "tornado": ("tornado", "tornado"),
    "websocket-client": ("websocket-client", "websocket"),
    "autobahn": ("autobahn", "autobahn"),
}


class Unavailable(Exception):
    """This contender cannot run here; ``str(exc)`` says why."""


class Prepared:
    """A ready contender: ``stmt`` is timed with ``ns`` as its globals; ``result()`` is checked."""

    __slots__ = ("stmt", "ns", "result")

    def __init__(self, stmt, ns, result):
        self.stmt = stmt
        self.ns = ns
        self.result = result


class Contender:
    """One way to do a case's job; ``name`` may hold ``{wscodec}`` for the Api's label.

    ``reference=False`` marks a wscodec row that does less than the case's job (encoding
    with the caller's key skips drawing one): it is shown, never used as the ratios' base.
    """

    __slots__ = ("name", "library", "prepare", "reference")

    def __init__(self, name, library, prepare, reference=True):
        self.name = name
        self.library = library
        self.prepare = prepare
        self.reference = reference

    @property
    def is_wscodec(self):
        return self.library == "wscodec"

    def label(self, api=None):
        return self.name.format(wscodec=(api or Api()).label)


class Case:
    """One benchmark: inputs built on first use, an expected result, and contenders."""

    def __init__(self, id, group, title, build, contenders, *, nbytes=0, items=1,
                 item_label="op", quick=False, plot_rate=True):
        self.id = id
        self.group = group
        self.title = title
        self._build = build
        self._inputs = None
        self.contenders = contenders
        self.nbytes = nbytes          # payload bytes handled per timed statement
        self.items = items            # operations per timed statement (frames decoded, ...)
        self.item_label = item_label  # what one item is: "op", "frame"
        self.quick = quick            # part of the --quick selection
        self.plot_rate = plot_rate    # chart throughput (True) or time per item (False)

    @property
    def inputs(self):
        if self._inputs is None:
            self._inputs = self._build()
        return self._inputs

    @property
    def expected(self):
        return self.inputs["expected"]

    def release(self):
        """Drop the inputs (large cases hold tens of MiB)."""
        self._inputs = None

    def __repr__(self):
        return "Case(%r)" % self.id


class Api:
    """Where wscodec's contenders get their functions.

    ``Api()`` is the public facade (``wscodec.apply_mask``...).  ``Api("c")`` and
    ``Api("python")`` are one twin's modules (``wscodec._mask_c``...), for benchmarks
    parametrized over the twins.  A name that does not import raises :class:`Unavailable`:
    the table then says ``missing``, it never falls back to something else.
    """

    # Public name -> the module pairs ("concerns") that may define it.
    _CONCERNS = {
        "apply_mask": ("mask",),
        "mask_inplace": ("mask",),
        "validate_utf8": ("utf8",),
        "Utf8Validator": ("utf8",),
        "Frame": ("frames",),
        "FrameDecoder": ("frames",),
        "encode_frame": ("frames",),
        "encode_frame_header": ("frames",),
        "MessageDecoder": ("messages",),
        "MessageEncoder": ("messages",),
        "PerMessageDeflate": ("messages", "deflate"),
    }

    def __init__(self, twin=None):
        if twin not in (None, "c", "python"):
            raise ValueError("twin must be None, 'c' or 'python', not %r" % (twin,))
        self.twin = twin

    @property
    def label(self):
        return "wscodec" if self.twin is None else "wscodec[%s]" % self.twin

    def get(self, name):
        try:
            import wscodec
        except Exception as exc:  # a half-built tree: report, do not crash the whole run
            raise Unavailable("missing: wscodec does not import (%s)" % exc) from None
        if self.twin is None:
            obj = getattr(wscodec, name, None)
            if obj is None:
                raise Unavailable("missing: wscodec.%s not importable yet" % name)
            return obj
        suffix = "c" if self.twin == "c" else "py"
        for concern in self._CONCERNS.get(name, ()):
            try:
                module = importlib.import_module("wscodec._%s_%s" % (concern, suffix))
            except ImportError:
                continue
            obj = getattr(module, name, None)
            if obj is not None:
                return obj
        raise Unavailable("missing: %s twin of wscodec.%s not importable" % (self.twin, name))

    def opcode(self, name):
        return getattr(self.get("Opcode") if self.twin is None else _constants().Opcode, name)


def _constants():
    from wscodec import _constants

    return _constants


def _peer(module, *attrs):
    """Import ``module`` (ImportError -> not installed) and return it or its ``attrs``."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise Unavailable(NOT_INSTALLED) from None
    if not attrs:
        return mod
    try:
        values = tuple(getattr(mod, a) for a in attrs)
    except AttributeError as exc:
        raise Unavailable("n/a: %s" % exc) from None
    return values[0] if len(attrs) == 1 else values


def _installed(top_module):
    """``top_module`` imports; else Unavailable(not installed)."""
    _peer(top_module)


class _Transport:
    """The least an asyncio transport must offer to picows' and aiohttp's writers.

    ``write``/``writelines`` are C-level bound methods (a bounded deque's ``append``) so the
    sink costs the writers no more than a real transport call would; ``capture=True`` keeps
    everything written instead, to check the bytes.
    """

    class _Socket:
        def fileno(self):
            return -1

    def __init__(self, capture=False):
        self.out = [] if capture else collections.deque(maxlen=2)
        self.write = self.out.append
        self.writelines = self.out.append
        # picows writes straight to the socket when the transport's buffer is empty; a
        # non-empty buffer makes it hand the bytes to write() instead.
        self.get_write_buffer_size = itertools.repeat(1).__next__
        self.is_closing = False.__bool__

    def get_extra_info(self, name, default=None):
        return self._Socket() if name == "socket" else default

    def written(self):
        parts = []
        for item in self.out:
            parts.extend(item if isinstance(item, list) else [item])
        self.out.clear()
        return b"".join(bytes(p) for p in parts)


# == masking (RFC 6455 §5.3) ===========================================================

MASK_SIZES = [16, 125, KiB, 64 * KiB, MiB, 16 * MiB]


def _size_label(n):
    if n >= MiB and n % MiB == 0:
        return "%dMiB" % (n // MiB)
    if n >= KiB and n % KiB == 0:
        return "%dKiB" % (n // KiB)
    return "%dB" % n


def _human_size(n):
    label = _size_label(n)
    return label[:-3] + " " + label[-3:] if label.endswith("iB") else label[:-1] + " B"


def _mask_inputs(size):
    def build():
        data = _data.payload(size)
        key = _data.MASK_KEY
        return {"data": data, "key": key, "expected": _data.xor_mask(data, key)}

    return build


def _out_of_place(case, stmt, **names):
    ns = {"data": case.inputs["data"], "key": case.inputs["key"]}
    ns.update(names)
    fn = eval(compile("lambda: " + stmt, "<bench>", "eval"), ns)
    return Prepared(stmt, ns, lambda: bytes(fn()))


def _wscodec_apply_mask(case, api):
    return _out_of_place(case, "apply_mask(data, key)", apply_mask=api.get("apply_mask"))


def _websockets_apply_mask(case, api):
    _installed("websockets")
    try:
        from websockets.speedups import apply_mask
    except ImportError:
        raise Unavailable("n/a: websockets installed without its C speedups") from None
    return _out_of_place(case, "apply_mask(data, key)", apply_mask=apply_mask)


def _aiohttp_mask_fn():
    _installed("aiohttp")
    try:
        from aiohttp._websocket.mask import _websocket_mask_cython
    except ImportError:
        raise Unavailable("n/a: aiohttp installed without its compiled mask") from None
    return _websocket_mask_cython


def _aiohttp_copy_mask(case, api):
    # aiohttp only masks in place (its writer copies the payload into a bytearray first),
    # so out of place it is that copy plus the in-place mask, as aiohttp itself does it.
    mask = _aiohttp_mask_fn()
    ns = {"data": case.inputs["data"], "key": case.inputs["key"], "mask": mask}

    def result():
        buf = bytearray(ns["data"])
        mask(ns["key"], buf)
        return bytes(buf)

    return Prepared("_buf = bytearray(data); mask(key, _buf)", ns, result)


def _tornado_mask(case, api):
    _installed("tornado")
    try:
        from tornado.speedups import websocket_mask
    except ImportError:
        raise Unavailable("n/a: tornado installed without its C speedups") from None
    return _out_of_place(case, "websocket_mask(key, data)", websocket_mask=websocket_mask)


def _wsaccel_mask(case, api):
    masker = _peer("wsaccel.xormask", "XorMaskerSimple")
    return _out_of_place(case, "XorMaskerSimple(key).process(data)", XorMaskerSimple=masker)


def _websocket_client_mask(case, api):
    abnf = _peer("websocket._abnf", "ABNF")
    return _out_of_place(case, "ABNF.mask(key, data)", ABNF=abnf)


def _wsproto_mask(case, api):
    masker = _peer("wsproto.frame_protocol", "XorMaskerSimple")
    return _out_of_place(case, "XorMaskerSimple(key).process(data)", XorMaskerSimple=masker)


def _autobahn_mask(case, api):
    create = _peer("autobahn.websocket.xormasker", "create_xor_masker")
    size = len(case.inputs["data"])
    return _out_of_place(case, "create_xor_masker(key, size).process(data)",
                         create_xor_masker=create, size=size)


def _picows_mask(case, api):
    _installed("picows")
    raise Unavailable("n/a: picows has no public mask function")


def _wscodec_mask_inplace(case, api):
    mask_inplace = api.get("mask_inplace")
    ns = {"buf": bytearray(case.inputs["data"]), "key": case.inputs["key"],
          "mask_inplace": mask_inplace}

    def result():
        buf = bytearray(case.inputs["data"])
        mask_inplace(buf, ns["key"])
        return bytes(buf)

    # Masking the same buffer again and again toggles it; the work per call is the same.
    return Prepared("mask_inplace(buf, key)", ns, result)


def _aiohttp_mask_inplace(case, api):
    mask = _aiohttp_mask_fn()
    ns = {"buf": bytearray(case.inputs["data"]), "key": case.inputs["key"], "mask": mask}

    def result():
        buf = bytearray(case.inputs["data"])
        mask(ns["key"], buf)
        return bytes(buf)

    return Prepared("mask(key, buf)", ns, result)


def _autobahn_label():
    try:
        from autobahn.websocket import USES_NVX
    except Exception:
        return ""
    return " (NVX C)" if USES_NVX else " (pure Python)"


def _websocket_client_label():
    # websocket-client masks and validates with wsaccel when wsaccel is installed.
    try:
        import websocket._abnf as abnf
    except Exception:
        return ""
    return " (wsaccel inside)" if hasattr(abnf, "XorMaskerSimple") else " (pure Python)"


def _mask_cases():
    cases = []
    for size in MASK_SIZES:
        label = _size_label(size)
        cases.append(Case(
            "mask/apply_mask/%s" % label, "mask: out of place",
            "apply_mask, out of place, %s" % _human_size(size), _mask_inputs(size), [
                Contender("{wscodec} apply_mask", "wscodec", _wscodec_apply_mask),
                Contender("websockets speedups.apply_mask", "websockets", _websockets_apply_mask),
                Contender("aiohttp bytearray + _websocket_mask_cython", "aiohttp",
                          _aiohttp_copy_mask),
                Contender("tornado speedups.websocket_mask", "tornado", _tornado_mask),
                Contender("wsaccel XorMaskerSimple", "wsaccel", _wsaccel_mask),
                Contender("websocket-client ABNF.mask" + _websocket_client_label(),
                          "websocket-client", _websocket_client_mask),
                Contender("wsproto XorMaskerSimple", "wsproto", _wsproto_mask),
                Contender("autobahn create_xor_masker" + _autobahn_label(), "autobahn",
                          _autobahn_mask),
                Contender("picows", "picows", _picows_mask),
            ], nbytes=size, quick=size <= KiB))
    for size in MASK_SIZES:
        label = _size_label(size)
        cases.append(Case(
            "mask/mask_inplace/%s" % label, "mask: in place",
            "mask_inplace, in place on a bytearray, %s" % _human_size(size), _mask_inputs(size), [
                Contender("{wscodec} mask_inplace", "wscodec", _wscodec_mask_inplace),
                Contender("aiohttp _websocket_mask_cython", "aiohttp", _aiohttp_mask_inplace),
            ], nbytes=size, quick=size <= KiB))
    return cases


# == UTF-8 validation (RFC 3629; RFC 6455 §8.1) ===========================================

UTF8_KINDS = ["ascii", "chinese", "mixed"]
UTF8_SIZES = [125, MiB]


def _utf8_inputs(kind, size):
    def build():
        return {"data": _data.utf8_text(kind, size), "expected": True}

    return build


def _wscodec_validate_utf8(case, api):
    validate_utf8 = api.get("validate_utf8")
    ns = {"data": case.inputs["data"], "validate_utf8": validate_utf8}
    return Prepared("validate_utf8(data)", ns, lambda: validate_utf8(ns["data"]) is True)


def _wscodec_utf8_validator(case, api):
    validator = api.get("Utf8Validator")()
    ns = {"data": case.inputs["data"], "v": validator}
    # final=True answers for a whole message and resets the validator for the next one.
    return Prepared("v.validate(data, final=True)", ns,
                    lambda: validator.validate(ns["data"], final=True) is True)


def _bytes_decode(case, api):
    ns = {"data": case.inputs["data"]}
    return Prepared("data.decode('utf-8')", ns,
                    lambda: isinstance(ns["data"].decode("utf-8"), str))


def _dfa_validator(module, attr):
    # wsaccel's and autobahn's validators are incremental: reset, then validate one message;
    # (valid, ends_on_codepoint, ...) must both be true for a complete message.
    def prepare(case, api):
        validator = _peer(module, attr)()
        ns = {"data": case.inputs["data"], "v": validator}

        def result():
            validator.reset()
            answer = validator.validate(ns["data"])
            return bool(answer[0] and answer[1])

        return Prepared("v.reset(); v.validate(data)", ns, result)

    return prepare


def _websocket_client_utf8(case, api):
    validate = _peer("websocket._utils", "_validate_utf8")
    ns = {"data": case.inputs["data"], "_validate_utf8": validate}
    return Prepared("_validate_utf8(data)", ns, lambda: validate(ns["data"]) is True)


def _websocket_client_utf8_label():
    try:
        import websocket._utils as utils
    except Exception:
        return ""
    return " (wsaccel inside)" if hasattr(utils, "Utf8Validator") else " (pure Python)"


def _utf8_cases():
    cases = []
    for size in UTF8_SIZES:
        for kind in UTF8_KINDS:
            label = _size_label(size)
            cases.append(Case(
                "utf8/%s/%s" % (kind, label), "utf8",
                "UTF-8 validation, %s text, %s" % (kind, _human_size(size)), _utf8_inputs(kind, size), [
                    Contender("{wscodec} validate_utf8", "wscodec", _wscodec_validate_utf8),
                    Contender("{wscodec} Utf8Validator(final=True)", "wscodec",
                              _wscodec_utf8_validator),
                    Contender("bytes.decode('utf-8') (reference)", "python", _bytes_decode),
                    Contender("wsaccel Utf8Validator", "wsaccel",
                              _dfa_validator("wsaccel.utf8validator", "Utf8Validator")),
                    Contender("autobahn Utf8Validator" + _autobahn_label(), "autobahn",
                              _dfa_validator("autobahn.websocket.utf8validator",
                                             "Utf8Validator")),
                    Contender("websocket-client _validate_utf8" + _websocket_client_utf8_label(),
                              "websocket-client", _websocket_client_utf8),
                ], nbytes=size, quick=size <= 125))
    return cases


# == decoding frames (RFC 6455 §5.2) =======================================================

TEXT_FRAMES = 10_000
TEXT_SIZE = 125
BINARY_FRAMES = 16
BINARY_SIZE = MiB


def _decode_inputs(text, count, size, chunk_size):
    def build():
        if text:
            payloads = _data.json_texts(count, size)
            expected = [p.decode("utf-8") for p in payloads]
        else:
            payloads = [_data.payload(size, seed=i) for i in range(count)]
            expected = payloads
        stream = _data.masked_stream(1 if text else 2, payloads)
        return {"chunks": _data.split(stream, chunk_size), "text": text, "expected": expected}

    return build


def _payloads(items, attr):
    out = []
    for item in items:
        value = getattr(item, attr)
        out.append(value if isinstance(value, str) else bytes(value))
    return out


def _wscodec_frame_decoder(case, api):
    FrameDecoder = api.get("FrameDecoder")
    chunks = case.inputs["chunks"]

    # The caller's job with a frame decoder: feed chunks, decode text payloads to str.
    if case.inputs["text"]:
        def run():
            decoder = FrameDecoder(client=False)
            out = []
            for chunk in chunks:
                for frame in decoder.feed(chunk):
                    out.append(frame.payload.decode("utf-8"))
            return out

        return Prepared("run()", {"run": run}, run)

    def run():
        decoder = FrameDecoder(client=False)
        out = []
        for chunk in chunks:
            out += decoder.feed(chunk)
        return out

    return Prepared("run()", {"run": run}, lambda: _payloads(run(), "payload"))


def _wscodec_message_decoder(case, api):
    MessageDecoder = api.get("MessageDecoder")
    chunks = case.inputs["chunks"]

    def run():
        decoder = MessageDecoder(client=False)
        out = []
        for chunk in chunks:
            out += decoder.feed(chunk)
        return out

    return Prepared("run()", {"run": run}, lambda: _payloads(run(), "data"))


class _ReadingProtocol:
    """What aiohttp's data queue asks of its protocol (flow control)."""

    _reading_paused = False

    def pause_reading(self):
        self._reading_paused = True

    def resume_reading(self):
        self._reading_paused = False


def _aiohttp_reader(case, api):
    _installed("aiohttp")
    try:
        from aiohttp._websocket.reader_c import WebSocketDataQueue, WebSocketReader
    except ImportError:
        raise Unavailable("n/a: aiohttp installed without its compiled reader") from None
    chunks = case.inputs["chunks"]
    protocol = _ReadingProtocol()
    # aiohttp refuses a payload >= max_msg_size; the queue limit is set high enough that the
    # reader never stalls (flow control is not what is measured).
    max_msg_size = 4 * MiB

    def run():
        queue = WebSocketDataQueue(protocol, 1 << 30, loop=None)
        reader = WebSocketReader(queue, max_msg_size, compress=False, decode_text=True)
        for chunk in chunks:
            reader.feed_data(chunk)
        return queue._buffer  # (WSMessage, size) pairs, as the reader queued them

    def result():
        out = []
        for message, _size in run():
            out.append(message.data if isinstance(message.data, str) else bytes(message.data))
        return out

    return Prepared("run()", {"run": run}, result)


def _websockets_parser(case, api):
    _installed("websockets")
    from websockets.frames import Frame
    from websockets.streams import StreamReader

    chunks = case.inputs["chunks"]
    text = case.inputs["text"]
    max_size = MiB

    # websockets' sans-I/O protocol drives Frame.parse, a generator, over a StreamReader;
    # this driver does the same and decodes text payloads to str.
    def parser(reader, out):
        read_exact = reader.read_exact
        while True:
            frame = yield from Frame.parse(read_exact, mask=True, max_size=max_size)
            out.append(frame.data.decode("utf-8") if text else frame)

    def run():
        reader = StreamReader()
        out = []
        gen = parser(reader, out)
        next(gen)
        for chunk in chunks:
            reader.feed_data(chunk)
            next(gen)
        return out

    def result():
        out = run()
        return out if text else _payloads(out, "data")

    return Prepared("run()", {"run": run}, result)


def _wsproto_decoder(case, api):
    FrameProtocol = _peer("wsproto.frame_protocol", "FrameProtocol")
    chunks = case.inputs["chunks"]
    empty = "" if case.inputs["text"] else b""

    # wsproto hands out what it has of a frame as soon as it arrives (frame_finished=False
    # for the first pieces); the caller joins the pieces into the frame's payload.
    def run():
        protocol = FrameProtocol(client=False, extensions=[])
        out = []
        parts = []
        for chunk in chunks:
            protocol.receive_bytes(chunk)
            for frame in protocol.received_frames():
                if not frame.frame_finished:
                    parts.append(frame.payload)
                elif parts:
                    parts.append(frame.payload)
                    out.append(empty.join(parts))
                    parts = []
                else:
                    out.append(frame.payload)
        return out

    def result():
        return [p if isinstance(p, str) else bytes(p) for p in run()]

    return Prepared("run()", {"run": run}, result)


def _picows_decoder(case, api):
    _installed("picows")
    raise Unavailable("n/a: picows parses frames only inside a connected WSProtocol "
                      "(socket + event loop)")


def _decode_contenders():
    return [
        Contender("{wscodec} FrameDecoder", "wscodec", _wscodec_frame_decoder),
        Contender("{wscodec} MessageDecoder", "wscodec", _wscodec_message_decoder),
        Contender("aiohttp reader_c WebSocketReader", "aiohttp", _aiohttp_reader),
        Contender("websockets Frame.parse + StreamReader", "websockets", _websockets_parser),
        Contender("wsproto FrameProtocol", "wsproto", _wsproto_decoder),
        Contender("picows", "picows", _picows_decoder),
    ]


def _decode_cases():
    cases = []
    for chunk_size, chunk_label in [(None, "one chunk"), (4 * KiB, "4 KiB chunks")]:
        cases.append(Case(
            "decode/text-125B-x10000/%s" % chunk_label.replace(" KiB", "KiB").replace(" ", "-"), "decode: text",
            "decode %d masked %d B text frames to str, %s" % (TEXT_FRAMES, TEXT_SIZE, chunk_label),
            _decode_inputs(True, TEXT_FRAMES, TEXT_SIZE, chunk_size), _decode_contenders(),
            nbytes=TEXT_FRAMES * TEXT_SIZE, items=TEXT_FRAMES, item_label="frame", quick=True,
            plot_rate=False))
    for chunk_size, chunk_label in [(None, "one chunk"), (64 * KiB, "64 KiB chunks")]:
        cases.append(Case(
            "decode/binary-1MiB-x16/%s" % chunk_label.replace(" KiB", "KiB").replace(" ", "-"), "decode: binary",
            "decode %d masked 1 MiB binary frames, %s" % (BINARY_FRAMES, chunk_label),
            _decode_inputs(False, BINARY_FRAMES, BINARY_SIZE, chunk_size), _decode_contenders(),
            nbytes=BINARY_FRAMES * BINARY_SIZE, items=BINARY_FRAMES, item_label="frame"))
    return cases


# == inflating (permessage-deflate, RFC 7692 §7.2.2) ======================================

INFLATE_SIZES = [1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB]


def _inflate_inputs(size):
    def build():
        import zlib

        # Hex digits of pseudo-random bytes: about 2:1, so the compressed payload is large
        # and inflating it takes many calls (the case the input-slicing bound is about).
        data = _data.payload(size // 2, seed=7).hex().encode()
        z = zlib.compressobj(6, zlib.DEFLATED, -15)
        compressed = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
        assert compressed.endswith(b"\x00\x00\xff\xff")
        frame = bytearray(_data.build_frame(BINARY, compressed[:-4]))  # §7.2.1: tail removed
        frame[0] |= 0x40  # RSV1: a compressed message (§6)
        return {"wire": bytes(frame), "expected": [data]}

    return build


def _wscodec_inflate(case, api):
    MessageDecoder = api.get("MessageDecoder")
    PerMessageDeflate = api.get("PerMessageDeflate")
    ns = {"MessageDecoder": MessageDecoder, "deflate": PerMessageDeflate(), "wire": case.inputs["wire"],
          "limit": case.nbytes}
    # A client's decoder (server frames are unmasked) with the limit at the message's size:
    # the inflater is bounded by the room left on every call.
    stmt = "MessageDecoder(client=True, deflate=deflate, max_message_size=limit).feed(wire)"

    def result():
        decoder = MessageDecoder(client=True, deflate=ns["deflate"], max_message_size=ns["limit"])
        return [event.data for event in decoder.feed(ns["wire"])]

    return Prepared(stmt, ns, result)


def _inflate_cases():
    cases = []
    for size in INFLATE_SIZES:
        label = _size_label(size)
        cases.append(Case(
            "inflate/%s/limit-at-size" % label, "inflate",
            "inflate one %s compressed binary message (about 2:1), max_message_size = its size"
            % _human_size(size),
            _inflate_inputs(size),
            [Contender("{wscodec} MessageDecoder(deflate=...)", "wscodec", _wscodec_inflate)],
            nbytes=size, item_label="message", quick=size <= MiB))
    return cases


# == encoding frames (RFC 6455 §5.2, masking keys §5.3 / §10.3) ==========================

ENCODE_SIZES = [125, 64 * KiB]
BINARY = 2


def _encode_inputs(size, masked):
    def build():
        data = _data.payload(size, seed=5)
        return {"data": data, "masked": masked, "expected": (True, BINARY, masked, data)}

    return build


def _encoded(fn):
    return lambda: _data.parse_one_frame(fn())


def _wscodec_encode(fixed_key):
    def prepare(case, api):
        encode_frame = api.get("encode_frame")
        ns = {"data": case.inputs["data"], "encode_frame": encode_frame,
              "BINARY": api.opcode("BINARY"),
              "mask": _data.MASK_KEY if fixed_key else case.inputs["masked"]}
        # As each side calls it: a server leaves mask at its default (False), as picows'
        # server-side send takes no mask argument either; a client passes mask=True or a key.
        stmt = "encode_frame(BINARY, data, mask=mask)" if ns["mask"] else "encode_frame(BINARY, data)"
        return Prepared(stmt, ns, _encoded(lambda: encode_frame(ns["BINARY"], ns["data"],
                                                                 mask=ns["mask"])))

    return prepare


class _NoLoop:
    """picows' WSTransport only asks its loop for a future (its disconnect notice); sending
    never touches the loop, so no event loop (and no socket) is created."""

    def create_future(self):
        return None


def _picows_encode(case, api):
    picows = _peer("picows")
    masked = case.inputs["masked"]
    loop = _NoLoop()
    logger = logging.getLogger("wscodec.bench.picows")

    def transport(capture):
        # A client-side transport masks (with libc rand(), picows' choice); server-side not.
        underlying = _Transport(capture)
        return underlying, picows.WSTransport(masked, underlying, logger, loop)

    _, timed = transport(False)
    sink, checked = transport(True)
    ns = {"t": timed, "BINARY": picows.WSMsgType.BINARY, "data": case.inputs["data"]}

    def result():
        checked.send(ns["BINARY"], ns["data"])
        return sink.written()

    return Prepared("t.send(BINARY, data)", ns, _encoded(result))


def _websockets_encode(case, api):
    Frame, Opcode = _peer("websockets.frames", "Frame", "Opcode")
    ns = {"Frame": Frame, "OP_BINARY": Opcode.BINARY, "data": case.inputs["data"],
          "masked": case.inputs["masked"]}
    stmt = "Frame(OP_BINARY, data).serialize(mask=masked)"
    return Prepared(stmt, ns, _encoded(lambda: Frame(Opcode.BINARY, ns["data"]).serialize(
        mask=ns["masked"])))


def _aiohttp_encode(case, api):
    # The frame-building core of aiohttp's writer; send_frame() around it is a coroutine that
    # adds compression and flow control, neither of which is measured here.
    WebSocketWriter = _peer("aiohttp._websocket.writer", "WebSocketWriter")
    masked = case.inputs["masked"]
    timed = WebSocketWriter(_ReadingProtocol(), _Transport(False), use_mask=masked)
    sink = _Transport(True)
    checked = WebSocketWriter(_ReadingProtocol(), sink, use_mask=masked)
    ns = {"w": timed, "data": case.inputs["data"]}

    def result():
        checked._write_websocket_frame(ns["data"], BINARY, 0)
        return sink.written()

    return Prepared("w._write_websocket_frame(data, 2, 0)", ns, _encoded(result))


def _wsproto_encode(case, api):
    FrameProtocol = _peer("wsproto.frame_protocol", "FrameProtocol")
    protocol = FrameProtocol(client=case.inputs["masked"], extensions=[])
    ns = {"p": protocol, "data": case.inputs["data"]}
    return Prepared("p.send_data(data)", ns, _encoded(lambda: protocol.send_data(ns["data"])))


def _wscodec_header_writelines(case, api):
    # A server's zero-copy send: the header alone, then the payload object itself, handed to
    # the transport together (as picows' send hands its frame to the transport).
    encode_frame_header = api.get("encode_frame_header")
    timed, sink = _Transport(False), _Transport(True)
    ns = {"t": timed, "encode_frame_header": encode_frame_header, "BINARY": api.opcode("BINARY"),
          "data": case.inputs["data"]}

    def result():
        sink.writelines([encode_frame_header(ns["BINARY"], len(ns["data"])), ns["data"]])
        return sink.written()

    return Prepared("t.writelines([encode_frame_header(BINARY, len(data)), data])", ns,
                    _encoded(result))


def _websocket_client_encode(case, api):
    ABNF = _peer("websocket._abnf", "ABNF")
    ns = {"ABNF": ABNF, "data": case.inputs["data"], "m": int(case.inputs["masked"])}
    # ABNF(fin, rsv1, rsv2, rsv3, opcode, mask, data): what create_frame() builds, with the
    # mask flag set as the case asks (websocket-client itself always masks: it is a client).
    stmt = "ABNF(1, 0, 0, 0, 2, m, data).format()"
    return Prepared(stmt, ns, _encoded(lambda: ABNF(1, 0, 0, 0, 2, ns["m"], ns["data"]).format()))


def _encode_cases():
    cases = []
    for size in ENCODE_SIZES:
        for masked in (False, True):
            label = _size_label(size)
            contenders = [Contender("{wscodec} encode_frame", "wscodec", _wscodec_encode(False))]
            if masked:
                contenders.append(Contender("{wscodec} encode_frame(mask=key), caller's key",
                                            "wscodec", _wscodec_encode(True), reference=False))
            else:
                contenders.append(Contender("{wscodec} encode_frame_header + writelines",
                                            "wscodec", _wscodec_header_writelines))
            contenders += [
                Contender("picows WSTransport.send", "picows", _picows_encode),
                Contender("websockets Frame.serialize", "websockets", _websockets_encode),
                Contender("aiohttp WebSocketWriter._write_websocket_frame", "aiohttp",
                          _aiohttp_encode),
                Contender("wsproto FrameProtocol.send_data", "wsproto", _wsproto_encode),
                Contender("websocket-client ABNF.format", "websocket-client",
                          _websocket_client_encode),
            ]
            what = "masked (client)" if masked else "unmasked (server)"
            cases.append(Case(
                "encode/%s/%s" % (label, "masked" if masked else "unmasked"), "encode",
                "encode one %s binary frame, %s" % (_human_size(size), what), _encode_inputs(size, masked),
                contenders, nbytes=size, quick=size <= 125, plot_rate=False))
    return cases


def all_cases():
    """Every case, in report order."""
    return (_mask_cases() + _utf8_cases() + _decode_cases() + _inflate_cases() + _encode_cases()
            + _deflate_echo_cases() + _integration_cases())


def _deflate_echo_cases():
    """permessage-deflate echo (compression presets and deflate backends), in
    ``wscodec._bench._deflate_echo``."""
    from ._deflate_echo import cases

    return cases()


def _integration_cases():
    """The drop-in speedups (``wscodec.integrations``): each peer library's hot path without
    and with wscodec installed; the cases live in ``wscodec._bench._integrations`` (benchmark
    code imports the integrations, never the reverse)."""
    from ._integrations import cases

    return cases()


def select(cases, *, quick=False, filters=()):
    """The cases --quick and --filter (case-insensitive substrings of the id) leave."""
    chosen = []
    for case in cases:
        if quick and not case.quick:
            continue
        if filters and not any(f.lower() in case.id.lower() for f in filters):
            continue
        chosen.append(case)
    return chosen


def prepare(case, contender, api=None):
    """Prepare ``contender`` for ``case`` and check its result.

    Returns the :class:`Prepared`; raises :class:`Unavailable` when it cannot run, and
    :class:`WrongResult` when it runs but fails or answers wrongly.
    """
    prepared = contender.prepare(case, api or Api())
    try:
        got = prepared.result()
    except Unavailable:
        raise
    except Exception as exc:
        raise WrongResult("error: %s: %s" % (type(exc).__name__, exc)) from exc
    if got != case.expected:
        raise WrongResult("wrong result (not timed)")
    return prepared


class WrongResult(Exception):
    """A contender that ran but did not produce the expected result; it is not timed."""
