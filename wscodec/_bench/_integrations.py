"""Benchmark cases for the drop-in speedups: each library's hot path, without and with wscodec.

``cases()`` returns them in the format of ``python -m wscodec bench`` (this package), which
lists them under ``integrations/``; ``bench/test_bench_integrations.py`` runs the same
cases under pytest-benchmark.  In each case the library as installed (``<library>``) and the
library with wscodec installed (``<library> + wscodec``) do the same job on the same input,
and their results are checked equal before anything is timed.

The timed rounds of both contenders are interleaved, so neither statement may depend on
whether ``install()`` is in effect: each contender gets the objects it needs when it is
prepared (a connection already built with wscodec's FrameProtocol, the replacement function
itself), and the websockets cases bind ``Frame.parse``/``Frame.serialize`` for their own
contender in the timed statement (a class attribute store, the same cost for both).
"""

import collections
import os

from .. import integrations
from . import _cases

__all__ = ["cases"]

KiB = 1024
MiB = 1024 * 1024
KEY = b"\x37\xfa\x21\x3d"
SMALL_FRAMES = 1000
SMALL_SIZE = 125


def _payload(size, seed):
    # Deterministic bytes (not all-equal, so no contender can special-case them).
    return bytes((i * 131 + seed * 17 + (i >> 8)) & 0xFF for i in range(size))


def _text(size):
    words = "wscodec drop-in ünïcødé 速度 speed "
    return (words * (size // len(words) + 1)).encode()[:size].decode("utf-8", "ignore").encode()


# The host's own object for each attribute a patch replaces, for the libraries whose patches
# are empty when wscodec has nothing to replace (its pure twin is the library's own code).
_HOST_OBJECTS = {
    "wsproto": lambda: {"FrameProtocol": _attr("wsproto.connection", "FrameProtocol")},
    "aiohttp": lambda: {name: _attr("aiohttp.web_ws", name)
                        for name in ("WebSocketReader", "WebSocketDataQueue")},
}


def _attr(module, name):
    import importlib

    return getattr(importlib.import_module(module), name)


def _originals(name, with_wscodec):
    """attribute -> (the library's own object, the one ``install(name)`` binds in its place),
    for each attribute ``install(name)`` replaces.

    The contender "<library> + wscodec" is the library as it runs once ``install()`` has run
    here: where ``install()`` would leave the library as it is (the pure-Python twins against
    its compiled speedup, or nothing to replace), that row says so and why, instead of timing
    a replacement no application would get.
    """
    if name in integrations.installed():
        raise _cases.Unavailable("n/a: wscodec.integrations is installed in this process")
    try:
        plan = integrations._plan(name)
    except ImportError:
        raise _cases.Unavailable(_cases.NOT_INSTALLED) from None
    if plan.action != "patch":
        if with_wscodec:
            raise _cases.Unavailable(
                "not timed: install() leaves %s as it is here (the row above): %s"
                % (plan.at, plan.reason))
        if name in _HOST_OBJECTS and plan.action == "nothing":
            return {attribute: (obj, None) for attribute, obj in _HOST_OBJECTS[name]().items()}
        if plan.error is not None:
            raise _cases.Unavailable("error: %s" % plan.reason)
    out = {}
    triples = plan.triples if plan.action == "patch" else integrations.patches(name)
    for owner, attribute, replacement in triples:
        current = owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)
        out[attribute] = (current, replacement)
    return out


def _check_twin(api):
    if api is not None and api.twin == "python":
        raise _cases.Unavailable("n/a: the integrations bind the facade's twin")


class _Case:
    """Builds a ``wscodec._bench`` Case with two contenders: the library, and it + wscodec."""

    def __init__(self, id, title, library, build, prepare, *, nbytes=0, items=1,
                 item_label="op", quick=False, plot_rate=True, cleanup=None):
        self.library = library
        self.prepare = prepare

        def contender(with_wscodec):
            def run(case, api):
                if with_wscodec:
                    _check_twin(api)
                return prepare(case, with_wscodec)

            if with_wscodec:
                return _cases.Contender("%s + {wscodec}" % library, "wscodec", run)
            return _cases.Contender(library, library, run)

        case = _cases.Case(
            "integrations/" + id, "integrations", title, build,
            [contender(False), contender(True)], nbytes=nbytes, items=items,
            item_label=item_label, quick=quick, plot_rate=plot_rate,
        )
        if cleanup is not None:
            release = case.release

            def release_and_restore():
                cleanup()
                release()

            case.release = release_and_restore
        self.case = case


# == wsproto ==============================================================================


def _wsproto_decode(frames, size, text):
    def build():
        import wscodec

        opcode = wscodec.Opcode.TEXT if text else wscodec.Opcode.BINARY
        payload = _text(size) if text else _payload(size, 1)
        stream = b"".join(
            wscodec.encode_frame(opcode, payload, mask=KEY) for _ in range(frames)
        )
        data = payload.decode() if text else payload
        return {"stream": stream, "expected": (frames, data)}

    def prepare(case, with_wscodec):
        originals = _originals("wsproto", with_wscodec)
        from wsproto import Connection, ConnectionType

        original, replacement = originals["FrameProtocol"]
        cls = replacement if with_wscodec else original
        conn = Connection(ConnectionType.SERVER)
        # What install() does for connections created after it: this one uses ``cls``.
        conn._proto = cls(False, [])
        drain = collections.deque(maxlen=1)
        ns = {"conn": conn, "stream": case.inputs["stream"], "drain": drain.extend}

        def result():
            check = Connection(ConnectionType.SERVER)
            check._proto = cls(False, [])
            check.receive_data(case.inputs["stream"])
            events = list(check.events())
            return (len(events), events[-1].data)

        return _cases.Prepared("conn.receive_data(stream); drain(conn.events())", ns,
                                     result)

    return build, prepare


def _wsproto_send(size):
    def build():
        data = _payload(size, 2)
        return {"data": data, "expected": data}

    def prepare(case, with_wscodec):
        originals = _originals("wsproto", with_wscodec)
        from wsproto import Connection, ConnectionType
        from wsproto.events import BytesMessage
        from wsproto.frame_protocol import FrameDecoder

        original, replacement = originals["FrameProtocol"]
        cls = replacement if with_wscodec else original
        conn = Connection(ConnectionType.CLIENT)
        conn._proto = cls(True, [])
        event = BytesMessage(data=case.inputs["data"])
        ns = {"conn": conn, "event": event}

        def result():
            decoder = FrameDecoder(client=False)
            decoder.receive_bytes(conn.send(event))
            return decoder.process_buffer().payload

        return _cases.Prepared("conn.send(event)", ns, result)

    return build, prepare


# == websockets ===========================================================================


def _websockets_restore():
    try:
        import websockets.frames as frames
    except ImportError:
        return
    saved = _websockets_saved
    if saved:
        frames.Frame.parse = saved["parse"]
        frames.Frame.serialize = saved["serialize"]


_websockets_saved = {}


def _websockets_decode(frames_per_op, size, text):
    def build():
        import wscodec

        opcode = wscodec.Opcode.TEXT if text else wscodec.Opcode.BINARY
        payload = _text(size) if text else _payload(size, 3)
        stream = b"".join(
            wscodec.encode_frame(opcode, payload, mask=KEY) for _ in range(frames_per_op)
        )
        return {"stream": stream, "expected": (frames_per_op, payload)}

    def prepare(case, with_wscodec):
        originals = _originals("websockets", with_wscodec)
        import websockets.frames as frames
        from websockets.protocol import Protocol, Side, State

        _websockets_saved.setdefault("parse", originals["parse"][0])
        _websockets_saved.setdefault("serialize", originals["serialize"][0])
        parse = originals["parse"][1 if with_wscodec else 0]
        protocol = Protocol(Side.SERVER, state=State.OPEN, max_size=None)
        ns = {"Frame": frames.Frame, "parse": parse, "p": protocol,
              "stream": case.inputs["stream"]}

        def result():
            frames.Frame.parse = parse
            try:
                check = Protocol(Side.SERVER, state=State.OPEN, max_size=None)
                check.receive_data(case.inputs["stream"])
                events = check.events_received()
            finally:
                _websockets_restore()
            return (len(events), bytes(events[-1].data))

        return _cases.Prepared(
            "Frame.parse = parse; p.receive_data(stream); p.events_received()", ns, result
        )

    return build, prepare


def _websockets_serialize(size):
    def build():
        data = _payload(size, 4)
        return {"data": data, "expected": data}

    def prepare(case, with_wscodec):
        originals = _originals("websockets", with_wscodec)
        import websockets.frames as frames

        _websockets_saved.setdefault("parse", originals["parse"][0])
        _websockets_saved.setdefault("serialize", originals["serialize"][0])
        serialize = originals["serialize"][1 if with_wscodec else 0]
        frame = frames.Frame(frames.Opcode.BINARY, case.inputs["data"])
        ns = {"Frame": frames.Frame, "serialize": serialize, "frame": frame}

        def result():
            import wscodec

            wire = serialize(frame, mask=True)
            decoded = wscodec.FrameDecoder(max_frame_size=None).feed(wire)
            return decoded[0].payload

        return _cases.Prepared(
            "Frame.serialize = serialize; frame.serialize(mask=True)", ns, result
        )

    return build, prepare


# == websocket-client, tornado, autobahn ==================================================


def _mask_build(size, seed):
    def build():
        data = _payload(size, seed)
        return {"data": data, "expected": bytes(b ^ KEY[i & 3] for i, b in enumerate(data))}

    return build


def _websocket_client_mask(case, with_wscodec):
    originals = _originals("websocket_client", with_wscodec)
    original, replacement = originals["mask"]  # staticmethod objects from ABNF.__dict__
    fn = (replacement if with_wscodec else original).__func__
    ns = {"mask": fn, "key": KEY, "data": case.inputs["data"]}
    return _cases.Prepared("mask(key, data)", ns, lambda: fn(KEY, case.inputs["data"]))


def _websocket_client_utf8_build(size):
    def build():
        return {"data": _text(size), "expected": True}

    return build


def _websocket_client_utf8(case, with_wscodec):
    originals = _originals("websocket_client", with_wscodec)
    original, replacement = originals["_validate_utf8"]
    fn = replacement if with_wscodec else original
    ns = {"validate": fn, "data": case.inputs["data"]}
    return _cases.Prepared("validate(data)", ns, lambda: fn(case.inputs["data"]))


def _tornado_mask(case, with_wscodec):
    originals = _originals("tornado", with_wscodec)
    original, replacement = originals["_websocket_mask"]
    fn = replacement if with_wscodec else original
    ns = {"mask": fn, "key": KEY, "data": case.inputs["data"]}
    return _cases.Prepared("mask(key, data)", ns, lambda: fn(KEY, case.inputs["data"]))


def _autobahn_mask(case, with_wscodec):
    originals = _originals("autobahn", with_wscodec)
    original, replacement = originals["create_xor_masker"]
    create = replacement if with_wscodec else original
    data = case.inputs["data"]
    ns = {"create": create, "key": KEY, "data": data, "n": len(data)}
    # autobahn makes one masker per frame (protocol.py), so the factory is part of the work.
    return _cases.Prepared("create(key, n).process(data)", ns,
                                 lambda: create(KEY, len(data)).process(data))


def _autobahn_utf8_build(size):
    def build():
        data = _text(size)
        return {"data": data, "expected": (True, True, len(data), len(data))}

    return build


def _autobahn_utf8(case, with_wscodec):
    originals = _originals("autobahn", with_wscodec)
    original, replacement = originals["Utf8Validator"]
    cls = replacement if with_wscodec else original
    validator = cls()
    ns = {"v": validator, "data": case.inputs["data"]}

    def result():
        return tuple(cls().validate(case.inputs["data"]))

    # autobahn resets its per-connection validator at each message, then validates.
    return _cases.Prepared("v.reset(); v.validate(data)", ns, result)


# == aiohttp ==============================================================================


class _FlowControl:
    """The protocol side of aiohttp's queue: pause/resume reading (no transport here)."""

    _reading_paused = False

    def pause_reading(self):
        self._reading_paused = True

    def resume_reading(self):
        self._reading_paused = False


# A queue limit the benchmarks never reach: parsing never stalls mid-read.
_AIOHTTP_LIMIT = 2 ** 30


def _aiohttp_decode(frames, size, text, read_size=None):
    def build():
        import wscodec

        opcode = wscodec.Opcode.TEXT if text else wscodec.Opcode.BINARY
        payload = _text(size) if text else _payload(size, 8)
        stream = b"".join(
            wscodec.encode_frame(opcode, payload, mask=KEY) for _ in range(frames)
        )
        step = read_size or len(stream)
        reads = [stream[i:i + step] for i in range(0, len(stream), step)]
        return {"reads": reads, "expected": (frames, payload.decode() if text else payload)}

    def prepare(case, with_wscodec):
        originals = _originals("aiohttp", with_wscodec)
        if "WebSocketReader" not in originals:
            raise _cases.Unavailable("n/a: no compiled reader (nothing replaced)")
        queue_cls = originals["WebSocketDataQueue"][1 if with_wscodec else 0]
        reader_cls = originals["WebSocketReader"][1 if with_wscodec else 0]
        reads = case.inputs["reads"]
        ns = {"Q": queue_cls, "R": reader_cls, "flow": _FlowControl(), "reads": reads,
              "limit": _AIOHTTP_LIMIT, "drain": collections.deque(maxlen=0).extend}

        def result():
            queue = queue_cls(_FlowControl(), _AIOHTTP_LIMIT, loop=None)
            reader = reader_cls(queue, 0, compress=False, decode_text=True)
            for data in reads:
                if reader.feed_data(data) != (False, b""):
                    raise AssertionError(queue.exception())
            messages = [msg for msg, _ in queue._buffer]
            return (len(messages), messages[-1].data)

        # A connection's reader and queue, as aiohttp.web_ws makes them at prepare(), fed
        # the socket reads; the queue (messages held until read) goes with each round.
        return _cases.Prepared(
            "r = R(Q(flow, limit, loop=None), 0, compress=False, decode_text=True); "
            "drain(map(r.feed_data, reads))",
            ns, result,
        )

    return build, prepare


def cases():
    """Every integration case (``wscodec._bench`` Case objects), in report order."""
    out = []

    def add(id, title, library, build, prepare, **kw):
        out.append(_Case(id, title, library, build, prepare, **kw).case)

    b, p = _wsproto_decode(SMALL_FRAMES, SMALL_SIZE, True)
    add("wsproto/decode-text-125B-x1000", "wsproto: a server decodes 1000 masked 125 B text "
        "frames (one chunk) into events", "wsproto", b, p, nbytes=SMALL_FRAMES * SMALL_SIZE,
        items=SMALL_FRAMES, item_label="frame", quick=True, plot_rate=False)
    b, p = _wsproto_decode(4, MiB, False)
    add("wsproto/decode-binary-1MiB-x4", "wsproto: a server decodes 4 masked 1 MiB binary "
        "frames", "wsproto", b, p, nbytes=4 * MiB, items=4, item_label="frame")
    b, p = _wsproto_send(SMALL_SIZE)
    add("wsproto/send-binary-125B", "wsproto: a client sends a 125 B binary message "
        "(masked)", "wsproto", b, p, nbytes=SMALL_SIZE, quick=True, plot_rate=False)

    b, p = _websockets_decode(1, MiB, False)
    add("websockets/decode-binary-1MiB", "websockets: a server Protocol decodes a masked "
        "1 MiB binary frame", "websockets", b, p, nbytes=MiB, item_label="frame",
        quick=True, cleanup=_websockets_restore)
    b, p = _websockets_decode(100, SMALL_SIZE, True)
    add("websockets/decode-text-125B-x100", "websockets: a server Protocol decodes 100 "
        "masked 125 B text frames", "websockets", b, p, nbytes=100 * SMALL_SIZE, items=100,
        item_label="frame", quick=True, plot_rate=False, cleanup=_websockets_restore)
    b, p = _websockets_serialize(SMALL_SIZE)
    add("websockets/serialize-125B-masked", "websockets: Frame.serialize, 125 B, masked "
        "(client)", "websockets", b, p, nbytes=SMALL_SIZE, quick=True, plot_rate=False,
        cleanup=_websockets_restore)

    for size, label, quick in [(125, "125B", True), (64 * KiB, "64KiB", True)]:
        add("websocket-client/mask-%s" % label, "websocket-client: ABNF.mask of %s" % label,
            "websocket-client", _mask_build(size, 5), _websocket_client_mask, nbytes=size,
            quick=quick)
    add("websocket-client/validate-utf8-4KiB", "websocket-client: validate_utf8 of a 4 KiB "
        "text message", "websocket-client", _websocket_client_utf8_build(4 * KiB),
        _websocket_client_utf8, nbytes=4 * KiB)

    for size, label in [(125, "125B"), (64 * KiB, "64KiB")]:
        add("tornado/mask-%s" % label, "tornado: _websocket_mask of %s" % label, "tornado",
            _mask_build(size, 6), _tornado_mask, nbytes=size, quick=True)

    for size, label in [(125, "125B"), (KiB, "1KiB"), (64 * KiB, "64KiB")]:
        add("autobahn/mask-%s" % label, "autobahn: create_xor_masker + process of %s" % label,
            "autobahn", _mask_build(size, 7), _autobahn_mask, nbytes=size, quick=True)
    add("autobahn/validate-utf8-4KiB", "autobahn: Utf8Validator on a 4 KiB text message",
        "autobahn", _autobahn_utf8_build(4 * KiB), _autobahn_utf8, nbytes=4 * KiB)

    b, p = _aiohttp_decode(SMALL_FRAMES, SMALL_SIZE, True)
    add("aiohttp/decode-text-125B-x1000", "aiohttp: a server reader decodes 1000 masked "
        "125 B text frames (one read) into its queue", "aiohttp", b, p,
        nbytes=SMALL_FRAMES * SMALL_SIZE, items=SMALL_FRAMES, item_label="frame", quick=True,
        plot_rate=False)
    b, p = _aiohttp_decode(SMALL_FRAMES, SMALL_SIZE, False)
    add("aiohttp/decode-binary-125B-x1000", "aiohttp: a server reader decodes 1000 masked "
        "125 B binary frames (one read) into its queue", "aiohttp", b, p,
        nbytes=SMALL_FRAMES * SMALL_SIZE, items=SMALL_FRAMES, item_label="frame",
        plot_rate=False)
    b, p = _aiohttp_decode(4, MiB, False)
    add("aiohttp/decode-binary-1MiB-x4", "aiohttp: a server reader decodes 4 masked 1 MiB "
        "binary frames (one read)", "aiohttp", b, p, nbytes=4 * MiB, items=4,
        item_label="frame", quick=True)
    b, p = _aiohttp_decode(1, MiB, False, read_size=64 * KiB)
    add("aiohttp/decode-binary-1MiB-64KiB-reads", "aiohttp: a server reader decodes a "
        "masked 1 MiB binary frame arriving in 64 KiB reads", "aiohttp", b, p, nbytes=MiB,
        item_label="frame")
    b, p = _aiohttp_decode(1, MiB, True, read_size=64 * KiB)
    add("aiohttp/decode-text-1MiB-64KiB-reads", "aiohttp: a server reader decodes a "
        "masked 1 MiB text frame arriving in 64 KiB reads", "aiohttp", b, p, nbytes=MiB,
        item_label="frame")
    return out
