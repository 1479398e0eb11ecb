"""install() when a host library is not what the patches expect: a renamed attribute, an error
while building the patches, a version wscodec is not tested with, or a compiled speedup the
pure twins would slow down.  None of them may pass silently (IntegrationWarning), and none may
stop the other libraries from being installed.

Renamed attributes, broken libraries and unknown versions are simulated with fake host
modules in sys.modules; the speedup checks use the real peers.
"""

import contextlib
import re
import sys
from importlib import metadata
import types
import warnings

import pytest
from _peers import host_compiled, require

from wscodec import _select, integrations
from wscodec.compat import websocket_mask
from wscodec.integrations import IntegrationWarning


@contextlib.contextmanager
def errors_but_untested_version():
    """Every warning is an error but the one for a host version CI does not pin: the suite
    also runs on older CPythons, with the newest host releases they can install (that
    warning has tests of its own, with fake hosts)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*a version wscodec is not tested with",
                                category=IntegrationWarning)
        yield


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    # monkeypatch is set up first, so it is undone last: after uninstall() below, and never
    # under patches still in place.
    monkeypatch.setattr(integrations, "_version_warned", set())
    monkeypatch.setattr(integrations, "_skipped", {})
    integrations.uninstall()
    yield
    integrations.uninstall()


def python_mask(mask, data):
    """A host library's pure-Python masking function (what tornado falls back to)."""
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def fake_tornado(monkeypatch, version="6.6.1", renamed=False):
    """A tornado whose masking is pure Python (no tornado.speedups), at ``version``;
    ``renamed``: tornado.util calls its function ``_websocket_mask_v2``."""
    top = types.ModuleType("tornado")
    top.version = version
    util = types.ModuleType("tornado.util")
    util._websocket_mask_python = python_mask
    setattr(util, "_websocket_mask_v2" if renamed else "_websocket_mask", python_mask)
    websocket = types.ModuleType("tornado.websocket")
    websocket._websocket_mask = python_mask

    class WebSocketProtocol13:
        async def _receive_frame(self):
            raise AssertionError("not called")

    websocket.WebSocketProtocol13 = WebSocketProtocol13
    top.util, top.websocket = util, websocket
    for module in (top, util, websocket):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return util, websocket


def broken_websocket_client(monkeypatch):
    """A websocket-client whose ``_abnf`` has no ``ABNF`` class any more."""
    top = types.ModuleType("websocket")
    top.__version__ = "1.9.2"
    abnf = types.ModuleType("websocket._abnf")
    abnf._mask = python_mask
    utils = types.ModuleType("websocket._utils")
    utils._validate_utf8 = lambda data: True
    top._abnf, top._utils = abnf, utils
    for module in (top, abnf, utils):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    return abnf


def messages(record, name):
    return [str(w.message) for w in record if w.category is IntegrationWarning and name in str(w.message)]


# --- a patched attribute the library renamed ----------------------------------------------


def test_renamed_attribute_is_neither_patched_nor_reported(monkeypatch):
    util, websocket = fake_tornado(monkeypatch, renamed=True)
    with pytest.warns(IntegrationWarning) as record:
        done = integrations.install()
    assert "tornado" not in done
    assert "tornado" not in integrations.installed()
    (message,) = messages(record, "tornado")
    assert "tornado.util._websocket_mask" in message and "6.6.1" in message
    # Nothing of tornado was touched: not the renamed module, not the one that still has it.
    assert not hasattr(util, "_websocket_mask")
    assert util._websocket_mask_v2 is python_mask
    assert websocket._websocket_mask is python_mask
    problems = integrations.verify("tornado")
    assert problems and "tornado.util._websocket_mask" in problems[0]


def test_renamed_attribute_named_explicitly_raises(monkeypatch):
    util, websocket = fake_tornado(monkeypatch, renamed=True)
    with pytest.raises(AttributeError, match=r"tornado\.util\._websocket_mask"):
        integrations.install("tornado")
    assert integrations.installed() == []
    assert not hasattr(util, "_websocket_mask")
    assert websocket._websocket_mask is python_mask
    assert integrations.verify("tornado") != []


# --- an error while building one library's patches ----------------------------------------


def test_error_building_patches_skips_that_library_only(monkeypatch):
    abnf = broken_websocket_client(monkeypatch)
    util, websocket = fake_tornado(monkeypatch)
    with pytest.warns(IntegrationWarning) as record:
        done = integrations.install()
    # tornado (a well-formed fake, pure Python, so installed on both twins) still is.
    assert "tornado" in done and "websocket_client" not in done
    assert websocket._websocket_mask is websocket_mask
    (message,) = messages(record, "websocket_client")
    assert "AttributeError" in message and "ABNF" in message
    assert abnf._mask is python_mask
    assert "websocket_client" not in integrations.installed()
    assert "AttributeError" in integrations.verify("websocket_client")[0]


def test_error_building_patches_named_explicitly_raises(monkeypatch):
    abnf = broken_websocket_client(monkeypatch)
    with pytest.raises(AttributeError, match="ABNF"):
        integrations.install("websocket_client")
    assert integrations.installed() == []
    assert abnf._mask is python_mask


def test_any_error_building_patches_is_contained(monkeypatch):
    from wscodec.integrations import tornado as integration

    fake_tornado(monkeypatch)

    def boom():
        raise RuntimeError("something else changed")

    monkeypatch.setattr(integration, "patches", boom)
    # (No match= here: pytest.warns re-emits the warnings it did not match, and on the pure
    # twins install() also warns about the real peers' speedups.)
    with pytest.warns(IntegrationWarning) as record:
        assert "tornado" not in integrations.install()
    (message,) = messages(record, "tornado")
    assert "RuntimeError: something else changed" in message
    with pytest.raises(RuntimeError):
        integrations.install("tornado")


def test_error_reading_the_library_state_is_contained(monkeypatch):
    from wscodec.integrations import tornado as integration

    util, websocket = fake_tornado(monkeypatch)

    def boom():
        raise KeyError("speedups")

    monkeypatch.setattr(integration, "implementation", lambda: "python")
    monkeypatch.setattr(integration, "speedups", boom)
    with pytest.warns(IntegrationWarning) as record:
        assert "tornado" not in integrations.install()
    (message,) = messages(record, "tornado")
    assert "KeyError" in message
    assert websocket._websocket_mask is python_mask
    with pytest.raises(KeyError):
        integrations.install("tornado")


# --- versions ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["7.0", "6.5.2", "6.7b1", "unknown"])
def test_untested_version_installs_and_warns_once(monkeypatch, version):
    util, websocket = fake_tornado(monkeypatch, version=version)
    with pytest.warns(IntegrationWarning, match=r"tornado is installed on tornado %s, a version "
                      % re.escape(version)):
        assert integrations.install("tornado") == ["tornado"]
    assert websocket._websocket_mask is websocket_mask
    assert util._websocket_mask is websocket_mask
    assert integrations.verify("tornado") == []
    # Once per library and version: again (filterwarnings = error would raise on a warning).
    integrations.uninstall()
    assert integrations.install("tornado") == ["tornado"]


def test_tested_version_installs_without_warning(monkeypatch):
    fake_tornado(monkeypatch, version="6.6.3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert integrations.install("tornado") == ["tornado"]


def test_pinned_versions_are_tested():
    # The versions CI pins (pyproject.toml's `integrations` extra) and the oldest websockets
    # the `test` extra allows (CI runs the websockets tests on it) are inside TESTED.
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    pins = dict(p.split("==") for p in extras["integrations"])
    names = {"websocket-client": "websocket_client"}
    for dist, version in pins.items():
        name = names.get(dist, dist)
        if name in integrations.SUPPORTED:
            assert integrations._is_tested(name, version), (name, version)
    assert "websockets>=13" in extras["test"]
    assert integrations._is_tested("websockets", "13.1")
    assert not integrations._is_tested("websockets", "12.0")
    assert not integrations._is_tested("tornado", "6.7.0")


# --- the pure twins and the libraries' own compiled speedups -------------------------------


SPEEDUP_TARGETS = {
    "websockets": ("websockets.frames", "apply_mask"),
    "websocket_client": ("websocket._utils", "_validate_utf8"),
    "tornado": ("tornado.websocket", "_websocket_mask"),
    "autobahn": ("autobahn.websocket.protocol", "create_xor_masker"),
}


@pytest.mark.parametrize("name", sorted(SPEEDUP_TARGETS))
def test_pure_twins_never_replace_a_compiled_speedup(monkeypatch, name):
    module_name, attribute = SPEEDUP_TARGETS[name]
    owner = require(module_name)
    if not host_compiled(name):
        pytest.skip("%s runs without its compiled speedups here" % name)
    from importlib import import_module

    integration = import_module("wscodec.integrations." + name)
    if not _select.NO_EXTENSIONS:
        # The compiled twins replace it...
        assert integrations.install(name) == [name]
        integrations.uninstall()
        # ...and what the pure twins would do is decided from implementation().
        monkeypatch.setattr(integration, "implementation", lambda: "python")
    before = getattr(owner, attribute)
    for names in ((name,), ()):
        with pytest.warns(IntegrationWarning) as record:
            assert name not in integrations.install(*names)
        (message,) = messages(record, name + " not installed")
        dist = name.replace("_", "-")
        assert "%s %s runs its compiled" % (dist, metadata.version(dist)) in message
        assert getattr(owner, attribute) is before
    assert "compiled" in integrations.verify(name)[0]


def test_pure_twin_replaces_pure_python_where_faster(monkeypatch):
    # tornado without tornado.speedups masks byte by byte in Python.
    tornado_util = require("tornado.util")
    import tornado.websocket

    python = tornado_util._websocket_mask_python
    monkeypatch.setattr(tornado_util, "_websocket_mask", python)
    monkeypatch.setattr(tornado.websocket, "_websocket_mask", python)
    with errors_but_untested_version():
        assert integrations.install("tornado") == ["tornado"]
    assert tornado.websocket._websocket_mask is websocket_mask


def test_websockets_own_pure_python_is_kept_on_the_pure_twins(monkeypatch):
    # websockets without its speedups (as on PyPy): its pure-Python parse was not slower than
    # the pure twin's, so the pure twins leave it alone, silently; the compiled twins do not.
    frames = require("websockets.frames")
    import websockets.utils

    monkeypatch.setattr(frames, "apply_mask", websockets.utils.apply_mask)
    parse = frames.Frame.__dict__["parse"]
    with errors_but_untested_version():
        done = integrations.install("websockets")
    if _select.NO_EXTENSIONS:
        assert done == []
        assert frames.Frame.__dict__["parse"] is parse
        assert frames.apply_mask is websockets.utils.apply_mask
    else:
        assert done == ["websockets"]
        assert frames.Frame.__dict__["parse"] is not parse


# --- verify() -------------------------------------------------------------------------------


def test_verify_reports_a_patched_attribute_deleted_since(monkeypatch):
    util, websocket = fake_tornado(monkeypatch)
    assert integrations.install("tornado") == ["tornado"]
    del util._websocket_mask
    problems = integrations.verify("tornado")
    assert len(problems) == 1 and "tornado.util._websocket_mask is 'missing'" in problems[0]
    util._websocket_mask = websocket_mask
    assert integrations.verify("tornado") == []


def test_warning_class_is_exported_and_filterable(monkeypatch):
    assert issubclass(IntegrationWarning, UserWarning)
    assert "IntegrationWarning" in integrations.__all__
    fake_tornado(monkeypatch, renamed=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=IntegrationWarning)
        assert "tornado" not in integrations.install()
