"""aiohttp: nothing is replaced yet.

aiohttp's reader (``aiohttp._websocket.reader_c.WebSocketReader``) is compiled with Cython
and ``cimport``s its own masking kernel, so no Python-level name reaches its hot loop: only a
whole replacement reader (same ``feed_data``/``feed_eof`` contract, data queue and flow
control, errors and close codes), bound where ``aiohttp.web_ws`` and ``aiohttp.client``
import ``WebSocketReader``, could speed it up.  That reader is not part of this release, so
``patches()`` is empty and ``install()`` never reports aiohttp as patched.
"""

__all__ = ["patches"]


def patches():
    import aiohttp  # noqa: F401  (ImportError when aiohttp is not installed)

    return []
