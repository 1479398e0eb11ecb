"""websocket-client: masking and UTF-8 validation.

``websocket._abnf.ABNF.mask`` turns both arguments into ``array.array`` before calling
``websocket._abnf._mask``; both are replaced, so a frame is masked in one pass with no
conversion.  ``websocket._utils._validate_utf8`` (behind ``websocket.validate_utf8``, which
checks text messages and close reasons) expects wsaccel's incremental validator and so
accepts text that stops in the middle of a character, such as ``b"ok\\xe4\\xb8"``; wscodec's
replacement checks whole messages and rejects it (RFC 6455 §8.1: the payload of a text
message must be valid UTF-8).
"""

from .. import validate_utf8 as _check
from ..compat import abnf_mask, websocket_mask

__all__ = ["patches", "validate_utf8"]


def validate_utf8(utfbytes):
    """``True`` when ``utfbytes`` is complete, valid UTF-8 (RFC 3629).

    A ``str`` is valid when it encodes to UTF-8 (it holds no lone surrogates).
    """
    if isinstance(utfbytes, str):
        try:
            utfbytes.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return _check(utfbytes)


# ``ABNF.mask`` is a staticmethod: the wrapper is made once so that ``patches()`` always
# names the same object (``verify()`` compares identities).
_abnf_mask = staticmethod(abnf_mask)


def patches():
    import websocket._abnf
    import websocket._utils

    return [
        (websocket._abnf, "_mask", websocket_mask),
        (websocket._abnf.ABNF, "mask", _abnf_mask),
        (websocket._utils, "_validate_utf8", validate_utf8),
    ]
