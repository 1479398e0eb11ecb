# Types of the masking pair (RFC 6455 §5.3): this stub describes the compiled twin and, through
# the selector, the public names; `.ci/types.sh` checks it against both twins (stubtest).
from typing_extensions import Buffer

__all__ = ["apply_mask", "mask_inplace"]

def apply_mask(data: Buffer, mask: Buffer) -> bytes: ...
def mask_inplace(buffer: Buffer, mask: Buffer, offset: int = 0) -> None: ...
