"""The byte-stream port a driver talks through (a pyserial object, or anything with the same methods)."""

from __future__ import annotations

import logging
import time
from typing import Protocol

__all__ = ["Port", "read_available", "TRACE", "PORT_ERRORS"]

try:
    import termios

    PORT_ERRORS: tuple[type[BaseException], ...] = (OSError, termios.error)
except ImportError:  # pragma: no cover - not POSIX
    PORT_ERRORS = (OSError,)
"""What a failing port raises (pyserial's SerialException is an OSError; tcflush raises termios.error)."""

TRACE = 5  # log level below DEBUG for raw frames
logging.addLevelName(TRACE, "TRACE")


class Port(Protocol):
    timeout: float | None

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    @property
    def in_waiting(self) -> int: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


def read_available(port: Port, deadline: float) -> bytes:
    """Block until at least one byte arrives or ``deadline`` (monotonic) passes; return what is there."""
    if time.monotonic() >= deadline:
        return b""
    first = port.read(1)
    if not first:
        return b""
    waiting = port.in_waiting
    return first + port.read(waiting) if waiting else first
