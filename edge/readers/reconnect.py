"""A TagReader that reconnects with exponential backoff, telling "unplugged" from "connected but silent"."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from edge.iso15693 import SystemInfo, Uid

from .base import Capability, InventoryResult, ReaderState, TagReader
from .errors import ReaderConnectionError, ReaderTimeoutError

__all__ = ["ReconnectingReader"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class ReconnectingReader:
    """Wraps a reader factory (for example ``lambda: open_reader(url)``).

    ``state`` is CONNECTED after a successful exchange, SILENT after ``silent_after`` timeouts in a row with
    the port open, UNPLUGGED when the port cannot be opened or fails, CLOSED after close(). Every call makes
    at most one connection attempt and raises on failure; :meth:`connect` loops with backoff until it works.
    """

    def __init__(
        self,
        factory: Callable[[], TagReader],
        *,
        name: str = "reader",
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        silent_after: int = 2,
        on_state: Callable[[ReaderState], None] | None = None,
    ) -> None:
        self.name = name
        self._factory = factory
        self._reader: TagReader | None = None
        self._lock = threading.RLock()
        self._state = ReaderState.UNPLUGGED
        self._timeouts = 0
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.silent_after = silent_after
        self.on_state = on_state
        self._closed = threading.Event()

    @property
    def state(self) -> ReaderState:
        return self._state

    @property
    def capabilities(self) -> frozenset[Capability]:
        reader = self._reader
        return reader.capabilities if reader is not None else frozenset()

    def _set(self, state: ReaderState) -> None:
        if state != self._state:
            log.info("%s: %s -> %s", self.name, self._state.value, state.value)
            self._state = state
            if self.on_state is not None:
                self.on_state(state)

    def _ensure(self) -> TagReader:
        if self._closed.is_set():
            raise ReaderConnectionError(f"{self.name}: closed")
        if self._reader is None:
            try:
                self._reader = self._factory()
            except ReaderConnectionError:
                self._set(ReaderState.UNPLUGGED)
                raise
        return self._reader

    def connect(self, stop: threading.Event | None = None, *, attempts: int | None = None) -> bool:
        """Try to open the reader until it works (True), ``stop`` is set or ``attempts`` run out (False)."""
        delay = self.backoff_initial
        tried = 0
        stop = stop or self._closed
        while not stop.is_set() and not self._closed.is_set():
            tried += 1
            try:
                with self._lock:
                    self._ensure()
                return True
            except ReaderConnectionError as exc:
                log.warning("%s: cannot connect (%s); retrying in %.1fs", self.name, exc, delay)
            if attempts is not None and tried >= attempts:
                return False
            stop.wait(delay)
            delay = min(self.backoff_max, delay * 2)
        return False

    def call(self, operation: Callable[[TagReader], T]) -> T:
        with self._lock:
            reader = self._ensure()
            try:
                result = operation(reader)
            except ReaderConnectionError:
                self._drop()
                self._set(ReaderState.UNPLUGGED)
                raise
            except ReaderTimeoutError:
                self._timeouts += 1
                if self._timeouts >= self.silent_after:
                    self._set(ReaderState.SILENT)
                raise
            self._timeouts = 0
            self._set(ReaderState.CONNECTED)
            return result

    def _drop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except (ReaderConnectionError, OSError):
                pass

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        return self.call(lambda r: r.inventory(afi))

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        return self.call(lambda r: r.read_blocks(uid, first, count))

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        self.call(lambda r: r.write_blocks(uid, first, data))

    def write_afi(self, uid: Uid, afi: int) -> None:
        self.call(lambda r: r.write_afi(uid, afi))

    def set_eas(self, uid: Uid) -> None:
        self.call(lambda r: r.set_eas(uid))

    def reset_eas(self, uid: Uid) -> None:
        self.call(lambda r: r.reset_eas(uid))

    def eas_alarm(self) -> bool:
        return self.call(lambda r: r.eas_alarm())

    def system_info(self, uid: Uid) -> SystemInfo:
        return self.call(lambda r: r.system_info(uid))

    def set_outputs(self, outputs: dict[int, bool]) -> None:
        self.call(lambda r: r.set_outputs(outputs))

    def read_inputs(self) -> dict[int, bool]:
        return self.call(lambda r: r.read_inputs())

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._drop()
        self._set(ReaderState.CLOSED)
