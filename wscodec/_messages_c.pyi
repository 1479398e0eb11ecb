# Types of the message pair (RFC 6455 §5.4-§5.6, RFC 7692): this stub describes the compiled
# twin and, through the selector, the public names; `.ci/types.sh` checks it against both
# twins (stubtest).
from typing import Literal, Optional, Union, final

from typing_extensions import Buffer

from ._deflate_params import PerMessageDeflate as PerMessageDeflate
from ._events import BinaryMessage as BinaryMessage
from ._events import Close as Close
from ._events import Ping as Ping
from ._events import Pong as Pong
from ._events import TextMessage as TextMessage

__all__ = [
    "MessageDecoder",
    "MessageEncoder",
    "PerMessageDeflate",
    "TextMessage",
    "BinaryMessage",
    "Ping",
    "Pong",
    "Close",
]

@final
class MessageDecoder:
    def __init__(
        self,
        *,
        client: bool = False,
        max_message_size: Optional[int] = 1048576,
        deflate: Optional[PerMessageDeflate] = None,
    ) -> None: ...
    @property
    def client(self) -> bool: ...
    @property
    def max_message_size(self) -> Optional[int]: ...
    @property
    def deflate(self) -> Optional[PerMessageDeflate]: ...
    def feed(self, data: Buffer) -> list[Union[TextMessage, BinaryMessage, Ping, Pong, Close]]: ...

@final
class MessageEncoder:
    def __init__(
        self,
        *,
        client: bool = False,
        deflate: Optional[PerMessageDeflate] = None,
        fragment_size: Optional[int] = None,
        compression: Union[Literal["speed", "balanced", "size"], int] = "speed",
        skip_incompressible: bool = True,
    ) -> None: ...
    @property
    def client(self) -> bool: ...
    @property
    def deflate(self) -> Optional[PerMessageDeflate]: ...
    @property
    def fragment_size(self) -> Optional[int]: ...
    @property
    def compression(self) -> Union[Literal["speed", "balanced", "size"], int]: ...
    @property
    def skip_incompressible(self) -> bool: ...
    def text(self, data: str, compress: bool = True) -> bytes: ...
    def binary(self, data: Buffer, compress: bool = True) -> bytes: ...
    def ping(self, data: Union[Buffer, str] = b"") -> bytes: ...
    def pong(self, data: Union[Buffer, str] = b"") -> bytes: ...
    def close(self, code: Optional[int] = 1000, reason: str = "") -> bytes: ...
