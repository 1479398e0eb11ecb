"""The pure twin of ``wscodec.integrations._aiohttp_c``: aiohttp's own reader and queue.

The compiled module is a faster ``WebSocketReader``/``WebSocketDataQueue`` pair with
aiohttp's interface and behaviour; the reference it must match is aiohttp's own pair, so
without compiled extensions the aiohttp integration binds nothing (aiohttp's classes stay)
rather than a slower copy of them.
"""

from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader

__all__ = ["WebSocketDataQueue", "WebSocketReader"]
