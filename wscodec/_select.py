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

__all__ = [
    "NO_EXTENSIONS", "IMPLEMENTATION", "IMPLEMENTATIONS", "CODEC", "load", "fallback_reason",
    "mask", "utf8", "frames", "messages",
]


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

#: The codec's own module pairs (their compiled twins make ``IMPLEMENTATION == "c"``).
CODEC = ("mask", "utf8", "frames", "messages")

IMPLEMENTATION: str = "c" if all(IMPLEMENTATIONS[c] == "c" for c in CODEC) else "python"


def _compiled_files(directory: str, concern: str) -> "tuple[list[str], list[str]]":
    """The compiled modules of ``concern`` in ``directory``: (loadable here, for another Python)."""
    import glob
    from importlib.machinery import EXTENSION_SUFFIXES

    here, other = [], []
    for path in glob.glob(os.path.join(glob.escape(directory), "_%s_c.*" % concern)):
        name = os.path.basename(path)
        if any(name == "_%s_c%s" % (concern, suffix) for suffix in EXTENSION_SUFFIXES):
            here.append(path)
        elif name.endswith((".so", ".pyd")):
            other.append(path)
    return here, other


def fallback_reason() -> "str | None":
    """Why the codec runs its pure-Python twins here, as a sentence; None when it runs the
    compiled ones.  ``python -m wscodec bench`` prints it, so that a measurement of the pure
    twins is never mistaken for what ``pip install wscodec`` gives on CPython.

    Tells apart: ``WSCODEC_NO_EXTENSIONS``, an interpreter other than CPython, a source
    checkout without compiled modules that hides an installed wscodec which has them (``python
    -m`` and ``python -c`` put the current directory first on ``sys.path``), compiled modules
    built for another Python, a checkout never built, and an install made without them.
    """
    import sys

    pure = [c for c in CODEC if IMPLEMENTATIONS.get(c) != "c"]
    if not pure:
        return None
    if _flag("WSCODEC_NO_EXTENSIONS"):
        return ("WSCODEC_NO_EXTENSIONS=%s is set in the environment, which forces the "
                "pure-Python twins" % os.environ["WSCODEC_NO_EXTENSIONS"].strip())
    if platform.python_implementation() != "CPython":
        return ("%s runs the pure-Python twins (the compiled ones are CPython extension "
                "modules)" % platform.python_implementation())
    package = os.path.dirname(os.path.abspath(__file__))
    which = "compiled modules (%s)" % ", ".join("_%s_c" % c for c in pure)
    # Another wscodec on sys.path, after this one, that has them: this one hides it.
    for entry in sys.path:
        candidate = os.path.abspath(os.path.join(entry or os.getcwd(), "wscodec"))
        if candidate == package or not os.path.isfile(os.path.join(candidate, "__init__.py")):
            continue
        if all(_compiled_files(candidate, c)[0] for c in CODEC):
            return ("the wscodec imported is the source checkout at %s, which lacks its %s, and it "
                    "hides the compiled wscodec installed at %s: `python -m` (and `python -c`) "
                    "put the current directory first on sys.path. Run the command from another "
                    "directory (or use the `wscodec` command), or build the checkout in place "
                    "(`pip install -e .`)" % (package, which, candidate))
    other = [os.path.basename(p) for c in pure for p in _compiled_files(package, c)[1]]
    if other:
        return ("the compiled modules in %s were built for another Python (%s), not for this "
                "one (%s %s): rebuild them with this interpreter"
                % (package, ", ".join(sorted(other)[:3]), platform.python_implementation(),
                   platform.python_version()))
    checkout = os.path.isfile(os.path.join(os.path.dirname(package), "setup.py"))
    if checkout:
        return ("the wscodec imported is a source checkout at %s whose %s were never built: "
                "run `pip install -e .` (or `python setup.py build_ext --inplace`) there, which "
                "needs a C compiler and Cython" % (package, which))
    return ("wscodec at %s was installed without its %s: built from source where they could not "
            "be compiled (no C compiler, or Cython missing; pip's build log says \"could not "
            "compile\"). Install a wheel (`pip install --only-binary wscodec wscodec`) or "
            "install a C compiler and reinstall" % (package, which))
