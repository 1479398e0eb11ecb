"""Opcodes, close codes and default limits (RFC 6455 §5.2, §7.4.1, §11.7)."""

import enum

__all__ = [
    "Opcode",
    "CloseCode",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_CONTROL_PAYLOAD",
    "OPCODES",
]


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 §5.2, §11.8); 3-7 and 11-15 are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """Close, Ping and Pong: opcodes with the most significant bit set (RFC 6455 §5.5)."""
        return bool(self & 0x8)


class CloseCode(enum.IntEnum):
    """Registered close codes (RFC 6455 §7.4.1, §11.7)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


#: Default ``max_frame_size`` / ``max_message_size``: 1 MiB, as in websockets.
DEFAULT_MAX_FRAME_SIZE = 1 << 20
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
#: Control frames carry at most 125 payload bytes (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD = 125

#: The defined opcodes; every other 4-bit value is reserved (RFC 6455 §5.2).
OPCODES = frozenset(Opcode)
#: Opcode members indexed by their value (None for reserved values): a cheap int -> Opcode map.
OPCODE_BY_VALUE = tuple(Opcode(v) if v in Opcode._value2member_map_ else None for v in range(16))
