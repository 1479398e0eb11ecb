"""The facade binds the twin it should: a silent fallback to pure Python fails here."""

import importlib
import os
import subprocess
import sys

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
