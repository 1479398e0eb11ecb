"""wsaccel's API on wscodec: code written for wsaccel runs unchanged.

wsaccel's two modules are mirrored (``wscodec.compat.wsaccel.xormask`` and
``wscodec.compat.wsaccel.utf8validator``) and their names are also available here::

    from wscodec.compat.wsaccel import XorMaskerSimple, createXorMasker, Utf8Validator

    masker = createXorMasker(b"abcd", 1024)
    masker.process(b"hello")      # masked bytes; the next call continues the payload
    masker.pointer()              # 5
    Utf8Validator().validate(b"ok\\xe4\\xb8")   # (True, False, 4, 4): valid so far, mid-character

For code that imports ``wsaccel`` itself, ``alias()`` makes ``import wsaccel``,
``wsaccel.xormask`` and ``wsaccel.utf8validator`` resolve to these modules (call it before
that code is imported); ``unalias()`` undoes it.
"""

import sys
from types import ModuleType
from typing import Dict, Optional

from . import utf8validator, xormask
from .utf8validator import Utf8Validator
from .xormask import XorMaskerNull, XorMaskerSimple, createXorMasker

__all__ = ["XorMaskerNull", "XorMaskerSimple", "createXorMasker", "Utf8Validator", "alias", "unalias"]

_NAMES = ("wsaccel", "wsaccel.xormask", "wsaccel.utf8validator")
_saved: Optional[Dict[str, Optional[ModuleType]]] = None


def alias() -> None:
    """Make ``import wsaccel`` (and its two modules) give wscodec's implementation."""
    global _saved
    if _saved is not None:
        return
    _saved = {name: sys.modules.get(name) for name in _NAMES}
    sys.modules["wsaccel"] = sys.modules[__name__]
    sys.modules["wsaccel.xormask"] = xormask
    sys.modules["wsaccel.utf8validator"] = utf8validator


def unalias() -> None:
    """Undo ``alias()``: the previous ``sys.modules`` entries come back."""
    global _saved
    if _saved is None:
        return
    for name, module in _saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    _saved = None
