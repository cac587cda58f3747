"""The byte-stream port a driver talks through (a pyserial object, or anything with the same methods)."""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from .errors import ReaderConnectionError, ReaderTimeoutError

log = logging.getLogger(__name__)

__all__ = ["Port", "FrameParser", "ResyncParser", "exchange", "read_available", "TRACE", "PORT_ERRORS"]

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


class ResyncParser(abc.ABC, Generic[F]):
    """An incremental frame parser that resynchronises after garbage: bytes that cannot start a valid frame are
    discarded (the latest 512 kept in ``garbage`` for error reports), and an incomplete frame is given up only
    when a complete valid frame starts later in the buffer.

    A protocol implements :meth:`_try` and may narrow :meth:`_could_start` and :meth:`_resume_at`.
    """

    label = "reader"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.discarded = 0
        self.garbage = bytearray()

    @abc.abstractmethod
    def _try(self, start: int) -> tuple[F, int] | str:
        """The frame at ``start`` with its size, ``"bad"`` if none can start there, or ``"incomplete"``."""

    def _could_start(self, byte: int) -> bool:
        """Whether a frame may begin with ``byte`` (a cheap test before :meth:`_try`)."""
        return True

    def _resume_at(self, n: int) -> int:
        """Where to continue after dropping ``n`` bytes (a protocol with a start byte skips to the next one)."""
        return n

    def feed(self, data: bytes) -> list[F]:
        self.buffer += data
        frames: list[F] = []
        while self.buffer:
            result = self._try(0)
            if isinstance(result, tuple):
                frame, size = result
                del self.buffer[:size]
                frames.append(frame)
                continue
            if result == "bad":
                self._drop(1)
                continue
            # incomplete at 0: is there a complete valid frame later on?
            for start in range(1, len(self.buffer)):
                if self._could_start(self.buffer[start]) and isinstance(self._try(start), tuple):
                    self._drop(start)
                    break
            else:
                break
        return frames

    def _drop(self, n: int) -> None:
        n = self._resume_at(n)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s: discarding %d byte(s) %s", self.label, n, bytes(self.buffer[:n]).hex())
        self.garbage += self.buffer[:n]
        del self.garbage[:-512]
        del self.buffer[:n]
        self.discarded += n

    def reset(self) -> bytes:
        """Forget everything; return the discarded and the unparsed bytes."""
        rest = bytes(self.garbage) + bytes(self.buffer)
        self.discarded += len(self.buffer)
        self.buffer.clear()
        self.garbage.clear()
        return rest


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
