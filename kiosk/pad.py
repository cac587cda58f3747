"""The item pad: inventories the reader in a loop and turns what it finds into domain events.

New tags are read and decoded at once (format auto-detected); an undecodable tag is reported as a
``TagSeen`` without a ``tag``. A tag that says it is a patron card (ISO 28560 type of usage 8) is reported as
``PatronCardPresented``. A tag must be missing from ``misses`` inventories in a row to count as gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from edge.iso15693 import Uid
from edge.readers import PatronCardPresented, ReaderError, TagLeft, TagReader, TagSeen, read_library_tag
from edge.tags import TagFormatError

log = logging.getLogger(__name__)

__all__ = ["PadScanner", "PadEvent"]

PadEvent = TagSeen | TagLeft | PatronCardPresented

PATRON_CARD_USAGE = 8


class PadScanner:
    """Polls ``reader`` every ``interval`` seconds (in its own thread, or by calling :meth:`poll_once`)."""

    def __init__(
        self,
        reader: TagReader,
        emit: Callable[[PadEvent], None],
        *,
        interval: float = 0.05,
        misses: int = 2,
        read_attempts: int = 3,
        afi: int | None = None,
        busy: Callable[[], bool] | None = None,
        busy_interval: float = 0.3,
    ) -> None:
        self.reader = reader
        # While the kiosk is writing tags, inventories only steal air time from the writes: poll less often.
        self.busy = busy
        self.busy_interval = busy_interval
        self.emit = emit
        self.interval = interval
        self.misses = misses
        self.read_attempts = read_attempts
        self.afi = afi
        self._present: dict[Uid, int] = {}
        self._failures: dict[Uid, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = True

    @property
    def present(self) -> frozenset[Uid]:
        return frozenset(self._present)

    def poll_once(self) -> list[PadEvent]:
        try:
            found = [r.uid for r in self.reader.inventory(self.afi)]
        except ReaderError as exc:
            if self.connected:
                log.warning("pad reader %s: %s", self.reader.name, exc)
            self.connected = False
            return []
        self.connected = True
        events: list[PadEvent] = []
        for uid in found:
            if uid in self._present:
                self._present[uid] = 0
                continue
            event = self._identify(uid)
            if event is not None:
                self._present[uid] = 0
                events.append(event)
                self.emit(event)  # at once: the controller lends this one while the next is read
        for uid in list(self._present):
            if uid in found:
                continue
            self._present[uid] += 1
            if self._present[uid] >= self.misses:
                del self._present[uid]
                left = TagLeft(uid, self.reader.name)
                events.append(left)
                self.emit(left)
        return events

    def _identify(self, uid: Uid) -> PadEvent | None:
        try:
            info, tag = read_library_tag(self.reader, uid)
        except TagFormatError:
            self._failures.pop(uid, None)
            return TagSeen(uid, self.reader.name)
        except ReaderError as exc:
            # Moved out mid-read or a noisy exchange: try again next round, give up after a few.
            count = self._failures.get(uid, 0) + 1
            self._failures[uid] = count
            log.debug("reading %s failed (%d): %s", uid, count, exc)
            if count < self.read_attempts:
                return None
            self._failures.pop(uid, None)
            return TagSeen(uid, self.reader.name)
        self._failures.pop(uid, None)
        if tag.type_of_usage == PATRON_CARD_USAGE and tag.primary_item_id:
            return PatronCardPresented(tag.primary_item_id, "tag", uid=uid, reader=self.reader.name)
        return TagSeen(uid, self.reader.name, tag=tag, afi=info.afi)

    def forget(self, uid: Uid) -> None:
        """Forget a tag so that it is reported again if it is still there (after a session ends)."""
        self._present.pop(uid, None)

    def reset(self) -> None:
        self._present.clear()
        self._failures.clear()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kiosk-pad", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("pad scanner failed; continuing")
            if self.busy is not None and self.busy():
                deadline = time.monotonic() + self.busy_interval
                while self.busy() and time.monotonic() < deadline and not self._stop.wait(0.005):
                    pass
            else:
                self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
