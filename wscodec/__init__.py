"""wscodec: a fast WebSocket (RFC 6455 / RFC 7692) codec.

The byte work every WebSocket library repeats — masking, UTF-8 validation, frame parsing and
framing — compiled with Cython, behind a small sans-IO API.  Each compiled module has a
pure-Python twin with identical behaviour; ``IMPLEMENTATION`` says which one is loaded.
"""

__version__ = "0.1.0"

from ._constants import CloseCode, Opcode
from ._errors import HandshakeError, InvalidPayload, PayloadTooBig, ProtocolError
from ._select import IMPLEMENTATION, frames as _frames, mask as _mask, utf8 as _utf8
from ._select import messages as _messages
from ._simd import level as _simd_level
from ._events import BinaryMessage, Close, Ping, Pong, TextMessage
from ._deflate_params import PerMessageDeflate
from ._deflate import set_deflate_backend
from .handshake import accept_key, generate_key

apply_mask = _mask.apply_mask
mask_inplace = _mask.mask_inplace
validate_utf8 = _utf8.validate_utf8
Utf8Validator = _utf8.Utf8Validator
Frame = _frames.Frame
FrameDecoder = _frames.FrameDecoder
encode_frame = _frames.encode_frame
encode_frame_header = _frames.encode_frame_header
MessageDecoder = _messages.MessageDecoder
MessageEncoder = _messages.MessageEncoder
#: The SIMD instruction set the compiled kernels chose at import ("avx2", "ssse3", "sse2",
#: "neon" or "none"); ``WSCODEC_SIMD`` forces one (see ``wscodec._simd``).
SIMD = _simd_level()


#: The deflate backend in use ("isal", "zlib-ng" or "zlib"); read through ``__getattr__`` below
#: so that it follows ``set_deflate_backend()`` (declared here for type checkers).
DEFLATE_BACKEND: "str | None"


def __getattr__(name: str) -> "str | None":
    # DEFLATE_BACKEND: the deflate backend in use ("isal", "zlib-ng" or "zlib"), read when asked
    # so that it follows set_deflate_backend(); WSCODEC_DEFLATE_BACKEND forces one at import.
    if name == "DEFLATE_BACKEND":
        from ._deflate import backend_name

        return backend_name()
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


__all__ = [
    "IMPLEMENTATION",
    "SIMD",
    "DEFLATE_BACKEND",
    "set_deflate_backend",
    "__version__",
    "Opcode",
    "CloseCode",
    "ProtocolError",
    "InvalidPayload",
    "PayloadTooBig",
    "HandshakeError",
    "apply_mask",
    "mask_inplace",
    "validate_utf8",
    "Utf8Validator",
    "Frame",
    "FrameDecoder",
    "encode_frame",
    "encode_frame_header",
    "PerMessageDeflate",
    "MessageDecoder",
    "MessageEncoder",
    "TextMessage",
    "BinaryMessage",
    "Ping",
    "Pong",
    "Close",
    "accept_key",
    "generate_key",
]
