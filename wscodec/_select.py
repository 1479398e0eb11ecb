"""Pick the compiled or the pure-Python twin of each module pair.

``WSCODEC_NO_EXTENSIONS=1`` forces the pure twins; interpreters other than CPython always get
them.  A compiled module that is missing (not built) falls back to its twin;
``IMPLEMENTATION`` is ``"c"`` only when every compiled twin loaded.
"""

import importlib
import os
import platform
from typing import TYPE_CHECKING

__all__ = ["NO_EXTENSIONS", "IMPLEMENTATION", "IMPLEMENTATIONS", "mask", "utf8", "frames", "messages"]


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _flag("WSCODEC_NO_EXTENSIONS") or platform.python_implementation() != "CPython"

#: concern -> "c" | "python", for each module pair loaded so far.
IMPLEMENTATIONS = {}


def load(concern):
    """Return the module implementing ``concern`` (``"mask"``, ``"utf8"``, ...)."""
    if not NO_EXTENSIONS:
        try:
            module = importlib.import_module("wscodec._%s_c" % concern)
        except ImportError:
            pass
        else:
            IMPLEMENTATIONS[concern] = "c"
            return module
    module = importlib.import_module("wscodec._%s_py" % concern)
    IMPLEMENTATIONS[concern] = "python"
    return module


if TYPE_CHECKING:
    from . import _frames_py as frames
    from . import _messages_py as messages
    from . import _mask_py as mask
    from . import _utf8_py as utf8
else:
    mask = load("mask")
    utf8 = load("utf8")
    frames = load("frames")
    messages = load("messages")

IMPLEMENTATION = "c" if all(v == "c" for v in IMPLEMENTATIONS.values()) else "python"
