"""ISO/IEC 15693 vicinity cards: UIDs, CRCs, request/response frames, system info, NXP EAS, air timing.

Pure code, no I/O. Errors (see :mod:`edge.iso15693.errors`)::

    Iso15693Error
    ├── UidError
    ├── FrameError
    │   ├── CrcError
    │   └── TruncatedFrameError
    └── TagError (.code: ErrorCode)
"""

from . import commands
from .commands import Command, Request, RequestFlag, ResponseFlag
from .crc import crc16_ccitt_false, crc16_genibus, crc16_mcrf4xx, crc16_x25
from .errors import (
    CrcError,
    ErrorCode,
    FrameError,
    Iso15693Error,
    TagError,
    TruncatedFrameError,
    UidError,
)
from .sysinfo import SystemInfo
from .timing import HIGH_RATE, AirTiming
from .uid import Uid

__all__ = [
    "commands",
    "Command",
    "Request",
    "RequestFlag",
    "ResponseFlag",
    "crc16_x25",
    "crc16_mcrf4xx",
    "crc16_genibus",
    "crc16_ccitt_false",
    "Iso15693Error",
    "UidError",
    "FrameError",
    "CrcError",
    "TruncatedFrameError",
    "TagError",
    "ErrorCode",
    "SystemInfo",
    "AirTiming",
    "HIGH_RATE",
    "Uid",
]
