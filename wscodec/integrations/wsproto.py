"""wsproto: the whole frame layer.

wsproto is pure Python: ``wsproto.connection.Connection`` creates a
``wsproto.frame_protocol.FrameProtocol`` (imported by name into ``wsproto.connection``) and
every byte goes through it: header parsing, a stateful XOR masker per frame, a ``codecs``
incremental UTF-8 decoder per text message, close-payload checks, and the
permessage-deflate extension hooks.  wscodec binds a compiled FrameProtocol with the same
constructor, methods, frames (``wsproto.frame_protocol.Frame``), exceptions
(``ParseFailed`` with the same close codes) and extension hooks in its place.  Connections
created after ``install()`` use it.  Without compiled extensions there is nothing to
replace (the pure twin is wsproto's own class) and ``install()`` does not report wsproto.
"""

from .. import _select

__all__ = ["patches", "FrameProtocol", "implementation", "speedups"]

#: The library's top-level package (its version is read from it).
PACKAGE = "wsproto"
#: Without compiled extensions ``patches()`` is empty: nothing to compare.
PURE_TWIN_FASTER = False


def _implementation():
    return _select.load("wsproto", __package__)


def __getattr__(name):
    if name == "FrameProtocol":
        return _implementation().FrameProtocol
    raise AttributeError(name)


def implementation():
    """``"c"`` or ``"python"``: which of wscodec's twins ``patches()`` binds."""
    _implementation()
    return _select.IMPLEMENTATIONS["wsproto"]


def speedups():
    """wsproto is pure Python: nothing compiled to keep."""
    return []


def patches():
    import wsproto.connection
    import wsproto.frame_protocol

    cls = _implementation().FrameProtocol
    if cls is wsproto.frame_protocol.FrameProtocol:
        # Pure twins (no compiled extensions): wsproto's own class is already the reference
        # implementation, so there is nothing to replace.
        return []
    return [(wsproto.connection, "FrameProtocol", cls)]
