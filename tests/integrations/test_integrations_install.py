"""install()/uninstall(): what gets patched, exact restoration, idempotence."""

import importlib
import os

import pytest
from _peers import allow_pure_twin, require

import wscodec
from wscodec import _select, integrations

MISSING = object()


def importable(name):
    try:
        integrations.patches(name)
    except ImportError:
        return False
    return True


AVAILABLE = [n for n in integrations.SUPPORTED if importable(n) and integrations.patches(n)]


def snapshot(name):
    out = []
    for owner, attribute, _ in integrations.patches(name):
        current = owner.__dict__.get(attribute, MISSING) if isinstance(owner, type) else getattr(
            owner, attribute, MISSING
        )
        out.append((owner, attribute, current))
    return out


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    # What the patches do is tested here on both twins; when install() declines the pure
    # twins is tested in test_integrations_failsafe.py.
    allow_pure_twin(monkeypatch)
    integrations.uninstall()
    yield
    integrations.uninstall()


def test_peers_under_test_are_importable():
    # With the `integrations` extra every library is installed; a missing one would silently
    # shrink the parametrized tests below.
    require("wsproto", "websockets", "websocket", "tornado", "autobahn", "aiohttp", "gunicorn")
    expected = {"websockets", "websocket_client", "tornado", "autobahn", "gunicorn"}
    if not _select.NO_EXTENSIONS:
        # Only the compiled FrameProtocol replaces wsproto's (its pure twin is wsproto's own),
        # and only the compiled reader replaces aiohttp's (likewise).
        expected.update(("wsproto", "aiohttp"))
    assert set(AVAILABLE) == expected


def test_aiohttp_reader_and_queue_bound_together():
    require("aiohttp")
    import aiohttp._websocket.reader as reader
    import aiohttp.client
    import aiohttp.web_ws

    if _select.NO_EXTENSIONS:
        # The pure twin is aiohttp's own pair: nothing to replace, never reported.
        assert integrations.patches("aiohttp") == []
        assert integrations.install("aiohttp") == []
        return
    from wscodec.integrations import _aiohttp_c

    assert integrations.install("aiohttp") == ["aiohttp"]
    for owner in (aiohttp.web_ws, aiohttp.client):
        assert owner.WebSocketReader is _aiohttp_c.WebSocketReader
        assert owner.WebSocketDataQueue is _aiohttp_c.WebSocketDataQueue
    # aiohttp's own module keeps its classes (its tests and its internals use them).
    assert reader.WebSocketReader is not _aiohttp_c.WebSocketReader
    assert integrations.uninstall("aiohttp") == ["aiohttp"]
    for owner in (aiohttp.web_ws, aiohttp.client):
        assert owner.WebSocketReader is reader.WebSocketReader
        assert owner.WebSocketDataQueue is reader.WebSocketDataQueue


@pytest.mark.parametrize("name", AVAILABLE)
def test_install_patches_and_uninstall_restores_exactly(name):
    before = snapshot(name)
    assert integrations.install(name) == [name]
    assert integrations.installed() == [name]
    assert integrations.verify(name) == []
    triples = integrations.patches(name)
    assert triples, name
    for owner, attribute, replacement in triples:
        current = owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)
        assert current is replacement
        # Every replacement comes from wscodec itself.
        target = getattr(replacement, "__func__", replacement)
        assert target.__module__.startswith("wscodec"), (attribute, target)
    # Idempotent: a second install changes nothing.
    after_first = snapshot(name)
    assert integrations.install(name) == [name]
    assert [c for *_, c in snapshot(name)] == [c for *_, c in after_first]
    assert integrations.uninstall() == [name]
    assert [c for *_, c in snapshot(name)] == [c for *_, c in before]
    assert integrations.uninstall() == []
    assert integrations.installed() == []
    assert integrations.verify(name) == ["%s is not installed" % name]


def test_install_without_names_patches_every_importable_library():
    require("tornado")
    assert integrations.install() == AVAILABLE
    assert integrations.installed() == AVAILABLE
    assert integrations.install() == AVAILABLE
    assert integrations.uninstall("tornado") == ["tornado"]
    assert "tornado" not in integrations.installed()
    assert integrations.uninstall() == [n for n in AVAILABLE if n != "tornado"]


def test_bad_names():
    with pytest.raises(ValueError):
        integrations.install("flask")
    with pytest.raises(TypeError):
        integrations.install(b"tornado")
    with pytest.raises(ValueError):
        integrations.uninstall("flask")
    assert integrations.installed() == []


def test_verify_notices_a_rebinding():
    require("tornado")
    integrations.install("tornado")
    import tornado.util
    import tornado.websocket

    saved = tornado.websocket._websocket_mask
    tornado.websocket._websocket_mask = tornado.util._websocket_mask_python
    try:
        problems = integrations.verify("tornado")
        assert len(problems) == 1 and "_websocket_mask" in problems[0]
    finally:
        tornado.websocket._websocket_mask = saved


def test_tornado_mask_is_wscodecs_and_agrees_with_tornado():
    require("tornado")
    import tornado.util
    import tornado.websocket

    original = tornado.websocket._websocket_mask
    integrations.install("tornado")
    patched = tornado.websocket._websocket_mask
    assert patched is not original
    for n in (0, 1, 5, 125, 4096, 70000):
        data = os.urandom(n)
        key = os.urandom(4)
        assert patched(key, data) == original(key, data) == tornado.util._websocket_mask_python(
            key, data
        )
    with pytest.raises(ValueError):
        patched(b"abc", b"x")


def test_websocket_client_rejects_truncated_utf8_only_with_wscodec():
    require("websocket")
    import websocket
    import websocket._abnf

    before = websocket._utils.validate_utf8(b"ok\xe4\xb8")
    integrations.install("websocket_client")
    assert websocket._utils.validate_utf8(b"ok\xe4\xb8") is False
    assert websocket._utils.validate_utf8("héllo".encode()) is True
    assert websocket._utils.validate_utf8("héllo") is True
    assert websocket._utils.validate_utf8("\ud800") is False
    assert websocket._utils.validate_utf8(b"\xed\xa0\x80") is False
    # A text message that stops mid-character is refused when the message is assembled,
    # and so is a close reason that does (RFC 6455 §8.1, §5.5.1).
    cont = websocket._abnf.continuous_frame(False, False)
    frame = websocket.ABNF(1, 0, 0, 0, websocket.ABNF.OPCODE_TEXT, 0, b"ok\xe4\xb8")
    cont.add(frame)
    with pytest.raises(websocket.WebSocketPayloadException):
        cont.extract(frame)
    close = websocket.ABNF(1, 0, 0, 0, websocket.ABNF.OPCODE_CLOSE, 0, b"\x03\xe8ok\xe4\xb8")
    with pytest.raises(websocket.WebSocketProtocolException):
        close.validate()
    integrations.uninstall()
    assert websocket._utils.validate_utf8(b"ok\xe4\xb8") is before


def test_websocket_client_masking_agrees():
    require("websocket")
    import websocket

    key = b"\x01\x02\x03\x04"
    data = os.urandom(1000)
    expected = websocket.ABNF.mask(key, data)
    frame = websocket.ABNF(1, 0, 0, 0, websocket.ABNF.OPCODE_BINARY, 1, data)
    frame.get_mask_key = lambda n: key
    wire = frame.format()
    integrations.install("websocket_client")
    assert websocket.ABNF.mask(key, data) == expected
    assert websocket.ABNF.mask(key.decode("latin-1"), data.decode("latin-1")) == expected
    assert websocket._abnf._mask(key, data) == expected
    frame = websocket.ABNF(1, 0, 0, 0, websocket.ABNF.OPCODE_BINARY, 1, data)
    frame.get_mask_key = lambda n: key
    assert frame.format() == wire


def test_autobahn_maskers_and_validator():
    require("autobahn")
    import autobahn.websocket.protocol as protocol

    original_masker = protocol.create_xor_masker
    original_validator = protocol.Utf8Validator
    integrations.install("autobahn")
    key = os.urandom(4)
    data = os.urandom(3000)
    ours, theirs = protocol.create_xor_masker(key, len(data)), original_masker(key, len(data))
    for a, b in ((0, 7), (7, 1000), (1000, 3000)):
        assert ours.process(data[a:b]) == theirs.process(data[a:b])
        assert ours.pointer() == theirs.pointer() == b
    for sample in (b"ok\xe4\xb8", "µ@ßöäüàá".encode(), b"\xed\xa0\x80", b"ab\xc0\xaf"):
        assert protocol.Utf8Validator().validate(sample) == original_validator().validate(sample)


def test_websockets_apply_mask():
    require("websockets")
    import websockets.frames

    original = websockets.frames.apply_mask
    integrations.install("websockets")
    assert websockets.frames.apply_mask is wscodec.apply_mask
    data, key = os.urandom(777), os.urandom(4)
    assert websockets.frames.apply_mask(data, key) == original(data, key)
    integrations.uninstall()
    assert websockets.frames.apply_mask is original


def test_integration_modules_import_their_library_only_when_asked():
    # Importing wscodec.integrations must not import any peer library.
    import subprocess
    import sys

    code = (
        "import sys, wscodec.integrations;"
        "print(sorted(m for m in ('tornado','websockets','wsproto','aiohttp','autobahn','websocket')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for name in integrations.SUPPORTED:
        importlib.import_module("wscodec.integrations." + name)
