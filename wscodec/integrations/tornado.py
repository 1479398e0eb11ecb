"""tornado: masking.

tornado masks every frame a client sends and unmasks every frame a server receives with
``tornado.util._websocket_mask(mask, data)``, which ``tornado.websocket`` binds by name at
import; both bindings are replaced with wscodec's kernel (same arguments, same ``bytes``
result, ``ValueError`` for a key that is not 4 bytes).

With tornado's compiled ``tornado.speedups`` loaded, wscodec's pure-Python twin is not
installed over it (it is 5-55x slower); without it, tornado's ``_websocket_mask_python``
is a per-byte loop some 100x slower than the pure twin, which is then installed.
"""

__all__ = ["patches", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "tornado"
#: wscodec's pure twin replaces tornado's own pure Python (measured faster).
PURE_TWIN_FASTER = True


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    from .. import compat

    return compat.IMPLEMENTATION


def speedups():
    """tornado's compiled code that ``patches()`` would replace (empty without it)."""
    import tornado.util

    if tornado.util._websocket_mask is tornado.util._websocket_mask_python:
        return []
    # Anything else is tornado.speedups.websocket_mask (or a compiled stand-in).
    return ["tornado.speedups.websocket_mask"]


def patches():
    import tornado.util
    import tornado.websocket

    from ..compat import websocket_mask

    return [
        (tornado.util, "_websocket_mask", websocket_mask),
        (tornado.websocket, "_websocket_mask", websocket_mask),
    ]
