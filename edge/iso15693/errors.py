"""Errors of the ISO 15693 layer.

::

    Iso15693Error                    base; ``.data`` carries the offending bytes
    ├── UidError                     not an 8-byte UID
    ├── FrameError                   a frame that cannot be parsed
    │   ├── CrcError                 wrong CRC-16/X-25
    │   └── TruncatedFrameError      shorter than its command needs
    └── TagError                     the tag answered with the error flag; ``.code`` is an :class:`ErrorCode`
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "ErrorCode",
    "Iso15693Error",
    "UidError",
    "FrameError",
    "CrcError",
    "TruncatedFrameError",
    "TagError",
]


class ErrorCode(IntEnum):
    """ISO 15693-3 response error codes (0xA0-0xDF are manufacturer specific)."""

    NOT_SUPPORTED = 0x01
    NOT_RECOGNISED = 0x02
    OPTION_NOT_SUPPORTED = 0x03
    UNKNOWN = 0x0F
    BLOCK_NOT_AVAILABLE = 0x10
    BLOCK_ALREADY_LOCKED = 0x11
    BLOCK_LOCKED = 0x12
    BLOCK_NOT_PROGRAMMED = 0x13
    BLOCK_NOT_LOCKED = 0x14


class Iso15693Error(Exception):
    """Base of every error of :mod:`edge.iso15693`."""

    def __init__(self, message: str, *, data: bytes = b"") -> None:
        super().__init__(message)
        self.data = data


class UidError(Iso15693Error, ValueError):
    """Not a valid UID."""


class FrameError(Iso15693Error):
    """A frame that cannot be parsed."""


class CrcError(FrameError):
    """The CRC-16/X-25 does not match."""


class TruncatedFrameError(FrameError):
    """The frame is shorter than its command needs."""


class TagError(Iso15693Error):
    """The tag set the error flag; ``code`` says why."""

    def __init__(self, code: int, *, data: bytes = b"") -> None:
        self.code = code
        try:
            name = ErrorCode(code).name
        except ValueError:
            name = "CUSTOM" if 0xA0 <= code <= 0xDF else "RFU"
        self.name = name
        super().__init__(f"tag error 0x{code:02X} ({name})", data=data)
