"""wsaccel.xormask on wscodec: ``XorMaskerNull``, ``XorMaskerSimple``, ``createXorMasker``."""

from ...compat import XorMaskerNull, XorMaskerSimple, createXorMasker

__all__ = ["XorMaskerNull", "XorMaskerSimple", "createXorMasker"]
