"""The facade binds the twin it should: a silent fallback to pure Python fails here."""

import importlib
import os
import subprocess
import sys

import pytest

import wscodec
from wscodec import _select

CONCERNS = ["mask", "utf8", "frames", "messages"]


def test_implementation_matches_switch():
    if _select.NO_EXTENSIONS:
        assert wscodec.IMPLEMENTATION == "python"
        assert set(_select.IMPLEMENTATIONS.values()) == {"python"}
    else:
        # A normal CPython install must have every compiled twin loaded.
        assert wscodec.IMPLEMENTATION == "c", _select.IMPLEMENTATIONS
        assert all(_select.IMPLEMENTATIONS[c] == "c" for c in CONCERNS), _select.IMPLEMENTATIONS


def test_facade_names_come_from_selected_twin():
    suffix = "c" if wscodec.IMPLEMENTATION == "c" else "py"
    mask = importlib.import_module("wscodec._mask_" + suffix)
    utf8 = importlib.import_module("wscodec._utf8_" + suffix)
    frames = importlib.import_module("wscodec._frames_" + suffix)
    assert wscodec.apply_mask is mask.apply_mask
    assert wscodec.mask_inplace is mask.mask_inplace
    assert wscodec.validate_utf8 is utf8.validate_utf8
    assert wscodec.Utf8Validator is utf8.Utf8Validator
    assert wscodec.FrameDecoder is frames.FrameDecoder
    assert wscodec.encode_frame is frames.encode_frame
    assert wscodec.Frame is frames.Frame
    messages = importlib.import_module("wscodec._messages_" + suffix)
    assert wscodec.MessageDecoder is messages.MessageDecoder
    assert wscodec.MessageEncoder is messages.MessageEncoder


def test_compiled_twins_are_extension_modules():
    if _select.NO_EXTENSIONS:
        return
    for concern in CONCERNS:
        module = importlib.import_module("wscodec._%s_c" % concern)
        assert module.__file__.endswith((".so", ".pyd")), module.__file__


def test_no_extensions_switch_forces_pure_twin():
    env = dict(os.environ, WSCODEC_NO_EXTENSIONS="1")
    out = subprocess.run(
        [sys.executable, "-c", "import wscodec; print(wscodec.IMPLEMENTATION)"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out == "python"


def test_public_names():
    for name in wscodec.__all__:
        assert hasattr(wscodec, name), name
    assert isinstance(wscodec.__version__, str)


def _package(tmp_path, monkeypatch, files):
    """A throwaway package ``selpkg`` with the given module files, importable for this test."""
    pkg = tmp_path / "selpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in files.items():
        (pkg / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(_select.IMPLEMENTATIONS, "thing", raising=False)
    for name in list(sys.modules):
        if name == "selpkg" or name.startswith("selpkg."):
            monkeypatch.delitem(sys.modules, name)


def test_load_falls_back_when_the_compiled_twin_is_absent(tmp_path, monkeypatch):
    _package(tmp_path, monkeypatch, {"_thing_py.py": "KIND = 'py'\n"})
    monkeypatch.setattr(_select, "NO_EXTENSIONS", False)
    assert _select.load("thing", "selpkg").KIND == "py"
    assert _select.IMPLEMENTATIONS["thing"] == "python"


def test_load_prefers_the_compiled_twin_in_any_package(tmp_path, monkeypatch):
    # A module named like a compiled twin stands in for the extension module here.
    _package(tmp_path, monkeypatch, {"_thing_c.py": "KIND = 'c'\n", "_thing_py.py": "KIND = 'py'\n"})
    monkeypatch.setattr(_select, "NO_EXTENSIONS", False)
    assert _select.load("thing", "selpkg").KIND == "c"
    assert _select.IMPLEMENTATIONS["thing"] == "c"


def test_load_is_loud_when_a_built_module_fails_to_import(tmp_path, monkeypatch):
    # A compiled twin that is present but broken (here: it imports something missing) must
    # not be replaced silently by the slow twin.
    _package(tmp_path, monkeypatch, {
        "_thing_c.py": "import wscodec_no_such_module_for_this_test\n",
        "_thing_py.py": "KIND = 'py'\n",
    })
    monkeypatch.setattr(_select, "NO_EXTENSIONS", False)
    with pytest.raises(ModuleNotFoundError) as info:
        _select.load("thing", "selpkg")
    assert info.value.name == "wscodec_no_such_module_for_this_test"
    assert "thing" not in _select.IMPLEMENTATIONS


def test_load_honours_no_extensions(tmp_path, monkeypatch):
    _package(tmp_path, monkeypatch, {"_thing_c.py": "KIND = 'c'\n", "_thing_py.py": "KIND = 'py'\n"})
    monkeypatch.setattr(_select, "NO_EXTENSIONS", True)
    assert _select.load("thing", "selpkg").KIND == "py"


def test_host_library_pairs_live_beside_their_integration():
    # The codec's package root holds no module named after a host library.
    top = os.path.dirname(wscodec.__file__)
    hosts = ("aiohttp", "wsproto", "websockets", "tornado", "autobahn", "websocket_client", "compat")
    named = [n for n in os.listdir(top) if any(h in n for h in hosts) and n != "compat"]
    assert not named, named
