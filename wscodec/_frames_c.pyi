# Types of the frame pair (RFC 6455 §5.2): this stub describes the compiled twin and, through
# the selector, the public names; `.ci/types.sh` checks it against both twins (stubtest).
from typing import Literal, Optional, Tuple, Union, final

from typing_extensions import Buffer

from ._constants import Opcode

__all__ = ["Frame", "FrameDecoder", "encode_frame", "encode_frame_header"]

@final
class Frame:
    def __init__(
        self,
        opcode: int,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
        payload: Buffer = b"",
    ) -> None: ...
    @property
    def opcode(self) -> Opcode: ...
    @property
    def fin(self) -> bool: ...
    @property
    def rsv1(self) -> bool: ...
    @property
    def rsv2(self) -> bool: ...
    @property
    def rsv3(self) -> bool: ...
    @property
    def payload(self) -> bytes: ...

@final
class FrameDecoder:
    def __init__(
        self, *, client: bool = False, max_frame_size: Optional[int] = 1048576, allow_rsv1: bool = False
    ) -> None: ...
    @property
    def client(self) -> bool: ...
    @property
    def allow_rsv1(self) -> bool: ...
    @property
    def max_frame_size(self) -> Optional[int]: ...
    def partial_frame(self) -> Optional[Tuple[int, bool, bool, Optional[int]]]: ...
    def feed(self, data: Buffer) -> list[Frame]: ...

def encode_frame(
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    mask: Union[bool, Buffer, None] = False,
    rsv1: bool = False,
) -> bytes: ...
def encode_frame_header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    mask: Union[Literal[False], Buffer, None] = False,
    rsv1: bool = False,
) -> bytes: ...
