"""The pure twin of ``wscodec.integrations._wsproto_c``: wsproto's own ``FrameProtocol``.

The compiled module is a faster FrameProtocol with wsproto's interface and behaviour; the
reference it must match is wsproto's class itself, so without compiled extensions the
wsproto integration binds wsproto's own class (a no-op) rather than a slower copy of it.
"""

from wsproto.frame_protocol import FrameProtocol

__all__ = ["FrameProtocol"]
