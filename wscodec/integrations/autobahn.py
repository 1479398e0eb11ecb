"""autobahn: masking and UTF-8 validation.

``autobahn.websocket.protocol`` binds ``create_xor_masker``, ``XorMaskerNull`` and
``Utf8Validator`` by name at import and builds one masker per frame and one validator per
connection from them.  wscodec's replacements keep the same interface: maskers with
``process(data)``, ``pointer()`` and ``reset()`` that continue through a payload across
calls, and a validator whose ``validate(data)`` returns ``(valid, ends_on_codepoint,
current_index, total_index)``.

With autobahn's NVX (its compiled masker and validator, ``autobahn.websocket.USES_NVX``)
in use, wscodec's pure-Python twin is not installed over it (its validator is 2-30x slower,
its masker up to 25x on large payloads); autobahn's own
pure-Python masker and validator are slower than the pure twin, which then replaces them.
"""

__all__ = ["patches", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "autobahn"
#: wscodec's pure twin replaces autobahn's own pure Python (measured faster).
PURE_TWIN_FASTER = True

# Where autobahn defines its pure-Python masker and validator (used without NVX).
_PURE_MODULES = ("autobahn.websocket.xormasker", "autobahn.websocket.utf8validator")


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    from .. import compat

    return compat.IMPLEMENTATION


def speedups():
    """autobahn's compiled code that ``patches()`` would replace (empty without it)."""
    import autobahn.websocket.protocol as protocol

    out = []
    for attribute in ("create_xor_masker", "Utf8Validator"):
        obj = getattr(protocol, attribute, None)
        # Anything not from autobahn's pure modules is NVX's CFFI code (or wsaccel's).
        if obj is not None and getattr(obj, "__module__", None) not in _PURE_MODULES:
            out.append("%s.%s" % (obj.__module__, attribute))
    return out


def patches():
    import autobahn.websocket.protocol as protocol

    from ..compat import Utf8Validator, XorMaskerNull, createXorMasker

    return [
        (protocol, "create_xor_masker", createXorMasker),
        (protocol, "XorMaskerNull", XorMaskerNull),
        (protocol, "Utf8Validator", Utf8Validator),
    ]
