"""The RF field of a simulated reader: which virtual tags are present on which antenna, and faults."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from edge.iso15693 import Uid

from .tag import VirtualTag

__all__ = ["TagField", "Faults", "FAULT_KINDS"]

FAULT_KINDS = ("noise", "drop", "corrupt", "silent", "leave_mid_write", "collision", "no_tag", "unplug")


class TagField:
    """Thread-safe set of virtual tags; the control API places, removes and moves them at run time."""

    def __init__(self, tags: Iterable[VirtualTag] = ()) -> None:
        self._lock = threading.RLock()
        self._tags: dict[Uid, VirtualTag] = {}
        self._listeners: list[Callable[[], None]] = []
        for tag in tags:
            self._tags[tag.uid] = tag

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def place(self, tag: VirtualTag, *, antenna: int | None = None) -> None:
        with self._lock:
            tag.present = True
            tag.state = "ready"
            if antenna is not None:
                tag.antenna = antenna
            self._tags[tag.uid] = tag
        self._changed()

    def remove(self, uid: Uid) -> VirtualTag:
        """Take the tag out of the field (it stays known, ``present`` False)."""
        with self._lock:
            tag = self._tags.get(uid)
            if tag is None:
                raise KeyError(f"no virtual tag {uid}")
            tag.present = False
            tag.state = "ready"
        self._changed()
        return tag

    def forget(self, uid: Uid) -> None:
        with self._lock:
            self._tags.pop(uid, None)
        self._changed()

    def move(self, uid: Uid, antenna: int) -> None:
        with self._lock:
            tag = self.get(uid)
            tag.antenna = antenna
            tag.present = True
        self._changed()

    def get(self, uid: Uid) -> VirtualTag:
        with self._lock:
            tag = self._tags.get(uid)
        if tag is None:
            raise KeyError(f"no virtual tag {uid}")
        return tag

    def all(self) -> list[VirtualTag]:
        with self._lock:
            return list(self._tags.values())

    def present(self, antenna: int | None = None) -> list[VirtualTag]:
        with self._lock:
            return [t for t in self._tags.values() if t.present and (antenna is None or t.antenna == antenna)]

    def transceive(self, frame: bytes, antenna: int | None = None) -> list[bytes]:
        """Send one air frame; every present tag that answers contributes a response."""
        with self._lock:
            answers = [t.handle(frame) for t in self.present(antenna)]
        return [a for a in answers if a is not None]

    def rf_reset(self) -> None:
        with self._lock:
            for tag in self._tags.values():
                tag.state = "ready"


@dataclass
class _Fault:
    kind: str
    remaining: int
    size: int = 4


class Faults:
    """One-shot (or n-shot) faults the simulator applies to the next matching exchanges.

    ``noise``: garbage bytes before the next response; ``drop``: the next response is not sent; ``corrupt``:
    one response byte flipped (CRC error); ``silent``: the next n requests get no answer at all;
    ``leave_mid_write``: the next write stores only its first block and the tag leaves the field;
    ``collision``: the next inventory loses the tags of collided slots; ``no_tag``: the next n requests get
    the protocol's "no transponder" error (FEIG 0x01, 3M 0x06); ``unplug``: the link closes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[_Fault] = deque()

    def inject(self, kind: str, count: int = 1, *, size: int = 4) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        if count < 1:
            raise ValueError(f"fault count must be >= 1, got {count!r}")
        with self._lock:
            self._pending.append(_Fault(kind, count, size))

    def take(self, kind: str) -> _Fault | None:
        with self._lock:
            for fault in self._pending:
                if fault.kind == kind:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._pending.remove(fault)
                    return fault
        return None

    def pending(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(f.kind, f.remaining) for f in self._pending]

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
