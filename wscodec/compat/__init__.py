"""Compatibility with other libraries' call shapes.

``wscodec.compat.wsaccel`` offers wsaccel's API.  The names below come from the compiled
twin (``wscodec.compat._compat_c``) or its pure twin (``wscodec.compat._compat_py``), chosen like every
other module pair; ``IMPLEMENTATION`` says which.
"""

from typing import TYPE_CHECKING

from .. import _select

if TYPE_CHECKING:
    # The compiled twin's stub describes both twins (checked by .ci/types.sh).
    from . import _compat_c as _impl
else:
    _impl = _select.load("compat", __package__)

IMPLEMENTATION: str = _select.IMPLEMENTATIONS["compat"]

websocket_mask = _impl.websocket_mask
abnf_mask = _impl.abnf_mask
XorMaskerNull = _impl.XorMaskerNull
XorMaskerSimple = _impl.XorMaskerSimple
createXorMasker = _impl.createXorMasker
Utf8Validator = _impl.Utf8Validator

__all__ = [
    "IMPLEMENTATION",
    "websocket_mask",
    "abnf_mask",
    "XorMaskerNull",
    "XorMaskerSimple",
    "createXorMasker",
    "Utf8Validator",
]
