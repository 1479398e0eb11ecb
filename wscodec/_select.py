"""Pick the compiled or the pure-Python twin of each module pair.

Every concern is a pair of modules in one package: ``_<concern>_c`` (Cython) beside
``_<concern>_py`` (its pure-Python twin).  The codec's pairs live in ``wscodec``; a host
library's pairs live next to the module that installs them (``wscodec.integrations``,
``wscodec.compat``) and are loaded through the same ``load()``.

``WSCODEC_NO_EXTENSIONS=1`` forces the pure twins; interpreters other than CPython always get
them.  A compiled module that was not built (its file is absent: a pure install, or a source
build that could not compile it) falls back to its twin.  A compiled module that is present
but fails to import is a broken build, and its ``ImportError`` propagates: silently running
the slow twin would hide it.

``IMPLEMENTATION`` is ``"c"`` when every codec pair below loaded its compiled twin, else
``"python"``.  ``IMPLEMENTATIONS`` maps each concern loaded so far (the codec's at import,
a host library's when its integration is first used) to ``"c"`` or ``"python"``.
"""

import importlib
import os
import platform
from types import ModuleType
from typing import TYPE_CHECKING, Dict

__all__ = ["NO_EXTENSIONS", "IMPLEMENTATION", "IMPLEMENTATIONS", "load", "mask", "utf8", "frames", "messages"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


NO_EXTENSIONS = _flag("WSCODEC_NO_EXTENSIONS") or platform.python_implementation() != "CPython"

#: concern -> "c" | "python", for each module pair loaded so far.
IMPLEMENTATIONS: Dict[str, str] = {}


def load(concern: str, package: str = "wscodec") -> ModuleType:
    """Return the module implementing ``concern`` (``"mask"``, ``"utf8"``, ...) from ``package``."""
    if not NO_EXTENSIONS:
        name = "%s._%s_c" % (package, concern)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only the module's own absence means "not built"; anything it fails to find
            # while importing is a broken build and must be loud.
            if exc.name != name:
                raise
        else:
            IMPLEMENTATIONS[concern] = "c"
            return module
    module = importlib.import_module("%s._%s_py" % (package, concern))
    IMPLEMENTATIONS[concern] = "python"
    return module


if TYPE_CHECKING:
    # Type checkers read the compiled twins' stubs (``_<concern>_c.pyi``), which describe both
    # twins: .ci/types.sh checks each stub against the compiled and the pure module (stubtest).
    from . import _frames_c as frames
    from . import _messages_c as messages
    from . import _mask_c as mask
    from . import _utf8_c as utf8
else:
    mask = load("mask")
    utf8 = load("utf8")
    frames = load("frames")
    messages = load("messages")

IMPLEMENTATION: str = "c" if all(IMPLEMENTATIONS[c] == "c" for c in ("mask", "utf8", "frames", "messages")) else "python"
