"""wsaccel.utf8validator on wscodec: ``Utf8Validator``."""

from ...compat import Utf8Validator

__all__ = ["Utf8Validator"]
