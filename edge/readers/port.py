"""The byte-stream port a driver talks through (a pyserial object, or anything with the same methods)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from .errors import ReaderConnectionError, ReaderTimeoutError

log = logging.getLogger(__name__)

__all__ = ["Port", "FrameParser", "exchange", "read_available", "TRACE", "PORT_ERRORS"]

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


F = TypeVar("F")


class FrameParser(Protocol[F]):
    """A driver's incremental frame parser: ``feed`` bytes in, complete frames out; ``reset`` drops a partial one."""

    def feed(self, data: bytes) -> list[F]: ...

    def reset(self) -> bytes: ...


def exchange(
    port: Port,
    parser: FrameParser[F],
    frame: bytes,
    *,
    matches: Callable[[F], bool],
    timeout: float,
    name: str,
    label: str,
    what: str,
) -> F:
    """Send ``frame`` and return the first response frame that ``matches``; others are stale and skipped.

    The input is drained first so that a late answer to an earlier request cannot pass for this one; port
    failures become :class:`ReaderConnectionError`, silence until ``timeout`` a :class:`ReaderTimeoutError`
    carrying any partial frame. The caller holds the driver's lock.
    """
    parser.reset()
    try:
        port.reset_input_buffer()
    except PORT_ERRORS as exc:
        raise ReaderConnectionError(f"{name}: port failed: {exc}") from exc
    log.log(TRACE, "%s TX %s", label, frame)
    try:
        port.write(frame)
    except PORT_ERRORS as exc:
        raise ReaderConnectionError(f"{name}: write failed: {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = read_available(port, deadline)
        except PORT_ERRORS as exc:
            raise ReaderConnectionError(f"{name}: read failed: {exc}") from exc
        if not chunk:
            if time.monotonic() >= deadline:
                raise ReaderTimeoutError(f"{name}: no answer to {what} within {timeout}s", data=parser.reset())
            continue
        log.log(TRACE, "%s RX %s", label, chunk)
        for response in parser.feed(chunk):
            if matches(response):
                return response
            log.debug("%s: ignoring a stale response while waiting for %s", label, what)
