"""websocket-client: masking and UTF-8 validation.

``websocket._abnf.ABNF.mask`` turns both arguments into ``array.array`` before calling
``websocket._abnf._mask``; both are replaced, so a frame is masked in one pass with no
conversion.  ``websocket._utils._validate_utf8`` (behind ``websocket.validate_utf8``, which
checks text messages and close reasons) expects wsaccel's incremental validator and so
accepts text that stops in the middle of a character, such as ``b"ok\\xe4\\xb8"``; wscodec's
replacement checks whole messages and rejects it (RFC 6455 §8.1: the payload of a text
message must be valid UTF-8).

With wsaccel installed, websocket-client masks and validates with wsaccel's compiled code,
and wscodec's pure-Python twin is not installed over it (1.3-20x slower at masking); without
wsaccel its pure UTF-8 validator is some 100x slower than the pure twin's (masking ties),
and the pure twin replaces it.
"""

from .. import _select
from .. import validate_utf8 as _check
from ..compat import abnf_mask, websocket_mask

__all__ = ["patches", "validate_utf8", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "websocket"
#: wscodec's pure twin replaces websocket-client's own pure Python (measured faster).
PURE_TWIN_FASTER = True


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    from .. import compat

    both = (compat.IMPLEMENTATION, _select.IMPLEMENTATIONS["utf8"])
    return "c" if both == ("c", "c") else "python"


def speedups():
    """websocket-client's compiled code (wsaccel) that ``patches()`` would replace."""
    import websocket._abnf
    import websocket._utils

    # websocket-client binds wsaccel's classes into these modules when it imported them.
    out = []
    if getattr(websocket._abnf, "XorMaskerSimple", None) is not None:
        out.append("wsaccel.xormask.XorMaskerSimple")
    if getattr(websocket._utils, "Utf8Validator", None) is not None:
        out.append("wsaccel.utf8validator.Utf8Validator")
    return out


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
