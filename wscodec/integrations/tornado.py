"""tornado: masking.

tornado masks every frame a client sends and unmasks every frame a server receives with
``tornado.util._websocket_mask(mask, data)``, which ``tornado.websocket`` binds by name at
import; both bindings are replaced with wscodec's kernel (same arguments, same ``bytes``
result, ``ValueError`` for a key that is not 4 bytes).
"""

__all__ = ["patches"]


def patches():
    import tornado.util
    import tornado.websocket

    from ..compat import websocket_mask

    return [
        (tornado.util, "_websocket_mask", websocket_mask),
        (tornado.websocket, "_websocket_mask", websocket_mask),
    ]
