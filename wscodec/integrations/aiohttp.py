"""aiohttp: the WebSocket reader and its message queue.

aiohttp's reader (``aiohttp._websocket.reader_c.WebSocketReader``) is compiled with Cython
and ``cimport``s its own masking kernel, so no Python-level name reaches its hot loop: only a
whole reader can speed it up.  wscodec binds a compiled ``WebSocketReader`` with aiohttp's
constructor, ``feed_data``/``feed_eof`` contract, messages, ``WebSocketError`` close codes
and texts, and size limits, together with the ``WebSocketDataQueue`` it feeds (same
``read()``, flow control and stall/resume), where ``aiohttp.web_ws`` (server) and
``aiohttp.client`` (``ClientSession.ws_connect``) look both names up when a connection
starts.  The two go together: aiohttp's compiled reader only accepts its own queue, and a
stalled parse is parked on the queue.  Connections created after ``install()`` use them.
Without compiled extensions there is nothing to replace (the pure twin is aiohttp's own
pair) and ``install()`` does not report aiohttp.
"""

from .. import _select

__all__ = ["patches", "WebSocketReader", "WebSocketDataQueue", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "aiohttp"
#: Without compiled extensions ``patches()`` is empty: nothing to compare.
PURE_TWIN_FASTER = False


def _implementation():
    return _select.load("aiohttp", __package__)


def __getattr__(name):
    if name in ("WebSocketReader", "WebSocketDataQueue"):
        return getattr(_implementation(), name)
    raise AttributeError(name)


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    _implementation()
    return _select.IMPLEMENTATIONS["aiohttp"]


def speedups():
    """aiohttp's compiled reader (``aiohttp._websocket.reader_c``) when it is in use."""
    import aiohttp._websocket.reader as reader

    if reader.WebSocketReader.__module__.endswith("_c"):
        return ["aiohttp._websocket.reader_c.WebSocketReader"]
    return []


def patches():
    import aiohttp._websocket.reader as reader
    import aiohttp.client
    import aiohttp.web_ws

    impl = _implementation()
    if impl.WebSocketReader is reader.WebSocketReader:
        # Pure twins (no compiled extensions): aiohttp's own classes are the reference
        # implementation, so there is nothing to replace.
        return []
    triples = []
    for owner in (aiohttp.web_ws, aiohttp.client):
        triples.append((owner, "WebSocketDataQueue", impl.WebSocketDataQueue))
        triples.append((owner, "WebSocketReader", impl.WebSocketReader))
    return triples
