"""Errors of the reader layer.

::

    ReaderError                         base; ``.data`` carries the offending bytes (or b"")
    ├── ReaderConnectionError           port cannot be opened or vanished ("unplugged")
    ├── ReaderTimeoutError              port open but no (complete) answer ("connected but silent")
    ├── ProtocolError                   a frame that breaks the reader protocol (CRC, length, echo)
    ├── ReaderStatusError               the reader reported a failure status (``.status``)
    │   ├── NoTagError                  no transponder answered
    │   └── TagResponseError            the tag answered with an ISO 15693 error (``.code``)
    ├── UnsupportedOperationError       this reader model cannot do that
    └── ReaderUrlError (ValueError)     a reader URL that cannot be understood
"""

from __future__ import annotations

__all__ = [
    "ReaderError",
    "ReaderConnectionError",
    "ReaderTimeoutError",
    "ProtocolError",
    "ReaderStatusError",
    "NoTagError",
    "TagResponseError",
    "UnsupportedOperationError",
    "ReaderUrlError",
]


class ReaderError(Exception):
    def __init__(self, message: str, *, data: bytes = b"") -> None:
        super().__init__(message)
        self.data = data


class ReaderConnectionError(ReaderError):
    """The port cannot be opened, or it went away (unplugged)."""


class ReaderTimeoutError(ReaderError):
    """The port is open but the reader did not answer in time (connected but silent)."""


class ProtocolError(ReaderError):
    """A frame violating the reader protocol."""


class ReaderStatusError(ReaderError):
    """The reader reported a failure status."""

    def __init__(self, message: str, *, status: int, data: bytes = b"") -> None:
        super().__init__(message, data=data)
        self.status = status


class NoTagError(ReaderStatusError):
    """No transponder answered (left the field, never there, or EAS not set)."""


class TagResponseError(ReaderStatusError):
    """The tag answered with an ISO 15693 error code."""

    def __init__(self, message: str, *, status: int, code: int, data: bytes = b"") -> None:
        super().__init__(message, status=status, data=data)
        self.code = code


class UnsupportedOperationError(ReaderError):
    """The reader (model or configuration) does not support this operation."""


class ReaderUrlError(ReaderError, ValueError):
    """A reader URL that cannot be understood."""
