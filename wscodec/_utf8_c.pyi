# Types of the UTF-8 pair (RFC 3629): this stub describes the compiled twin and, through the
# selector, the public names; `.ci/types.sh` checks it against both twins (stubtest).
from typing import final

from typing_extensions import Buffer

__all__ = ["validate_utf8", "Utf8Validator"]

def validate_utf8(data: Buffer) -> bool: ...
@final
class Utf8Validator:
    def __init__(self) -> None: ...
    def validate(self, data: Buffer, final: bool = False) -> bool: ...
    def reset(self) -> None: ...
