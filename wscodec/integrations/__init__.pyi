# Types of wscodec.integrations (the module is edited often; this stub keeps its public names
# typed and `.ci/types.sh` runs stubtest so that it cannot fall behind the module).
from typing import Dict, List, Tuple

__all__ = [
    "SUPPORTED",
    "TESTED",
    "IntegrationWarning",
    "install",
    "uninstall",
    "installed",
    "patches",
    "verify",
]

SUPPORTED: Tuple[str, ...]
TESTED: Dict[str, Tuple[Tuple[Tuple[int, ...], Tuple[int, ...]], ...]]

class IntegrationWarning(UserWarning): ...

def patches(name: str) -> List[Tuple[object, str, object]]: ...
def install(*names: str) -> List[str]: ...
def uninstall(*names: str) -> List[str]: ...
def installed() -> List[str]: ...
def verify(name: str) -> List[str]: ...
