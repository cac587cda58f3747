"""The typed ports kiosk, gate and station code program against, and the domain events they see.

``TagReader`` is what every RFID driver implements (FEIG, 3M 810, PC/SC, the simulators through them);
``CardReader`` is what patron-card sources implement (PC/SC, keyboard-wedge scanners). Neither exposes bytes
of a wire protocol: UIDs are :class:`~edge.iso15693.Uid`, memory is ``bytes`` in memory order.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from edge.iso15693 import SystemInfo, Uid
from edge.tags import LibraryTag, TagFormatError
from edge.tags import decode as decode_tag

__all__ = [
    "Capability",
    "InventoryResult",
    "TagSeen",
    "TagLeft",
    "PatronCardPresented",
    "ReaderState",
    "TagReader",
    "CardReader",
    "read_library_tag",
    "PresenceTracker",
]


class Capability(StrEnum):
    INVENTORY = "inventory"
    INVENTORY_AFI = "inventory_afi"
    READ = "read"
    WRITE = "write"
    LOCK = "lock"
    AFI = "afi"
    DSFID = "dsfid"
    EAS = "eas"
    SYSTEM_INFO = "system_info"
    OUTPUTS = "outputs"
    INPUTS = "inputs"
    BUFFERED_READ = "buffered_read"
    CONFIG = "config"
    TRANSPARENT = "transparent"


@dataclass(frozen=True, slots=True)
class InventoryResult:
    """One tag found by an inventory."""

    uid: Uid
    dsfid: int | None = None
    antenna: int | None = None


@dataclass(frozen=True, slots=True)
class TagSeen:
    """A tag entered a reader's field (with its decoded data when it could be read)."""

    uid: Uid
    reader: str = ""
    antenna: int | None = None
    tag: LibraryTag | None = None
    afi: int | None = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class TagLeft:
    """A tag is no longer answering in a reader's field."""

    uid: Uid
    reader: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class PatronCardPresented:
    """A patron showed a card: ``card_id`` is what to send as the SIP2 patron identifier."""

    card_id: str
    source: str  # "pcsc", "wedge", "tag"
    uid: Uid | None = None
    reader: str = ""
    at: float = field(default_factory=time.time)


class ReaderState(StrEnum):
    CONNECTED = "connected"
    SILENT = "silent"  # port open, reader does not answer
    UNPLUGGED = "unplugged"  # port cannot be opened / went away
    CLOSED = "closed"


@runtime_checkable
class TagReader(Protocol):
    """An ISO 15693 reader. Methods block; every implementation is thread-safe per instance."""

    name: str
    capabilities: frozenset[Capability]

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        """Tags in the field (only those with a matching AFI when ``afi`` is given)."""
        ...

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        """``count`` blocks from ``first``, concatenated in memory order."""
        ...

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        """Write whole blocks from ``first`` (``len(data)`` must be a multiple of the block size)."""
        ...

    def write_afi(self, uid: Uid, afi: int) -> None: ...

    def set_eas(self, uid: Uid) -> None: ...

    def reset_eas(self, uid: Uid) -> None: ...

    def eas_alarm(self) -> bool:
        """True if any tag in the field has its EAS bit set."""
        ...

    def system_info(self, uid: Uid) -> SystemInfo: ...

    def set_outputs(self, outputs: dict[int, bool]) -> None: ...

    def read_inputs(self) -> dict[int, bool]: ...

    def close(self) -> None: ...


@runtime_checkable
class CardReader(Protocol):
    """A source of patron cards."""

    name: str

    def wait_for_card(self, timeout: float | None = None) -> PatronCardPresented | None:
        """Block until a card is presented (None on timeout)."""
        ...

    def close(self) -> None: ...


def read_library_tag(reader: TagReader, uid: Uid, *, max_bytes: int = 112) -> tuple[SystemInfo, LibraryTag]:
    """System info, then enough user memory to decode the tag (format auto-detected).

    Reads 9 blocks first (a 34-byte ISO 28560-3 basic block); reads the rest of memory (up to ``max_bytes``)
    only when that is not enough.
    """
    info = reader.system_info(uid)
    block_size = info.block_size or 4
    blocks = info.block_count or 28
    limit = max(1, min(blocks, max_bytes // block_size))
    first = min(limit, max(1, (36 + block_size - 1) // block_size))
    data = reader.read_blocks(uid, 0, first)
    try:
        tag = decode_tag(data, block_size=block_size, dsfid=info.dsfid)
        if "extension_incomplete" not in tag.extras or first >= limit:
            return info, tag
    except TagFormatError:
        if first >= limit:
            raise
    data += reader.read_blocks(uid, first, limit - first)
    return info, decode_tag(data, block_size=block_size, dsfid=info.dsfid)


class PresenceTracker:
    """Turns successive inventories into ``TagSeen``/``TagLeft`` events.

    A tag counts as gone after it is missing from ``misses`` inventories in a row, so one missed
    anticollision round does not produce a spurious TagLeft/TagSeen pair.
    """

    def __init__(self, reader_name: str = "", *, misses: int = 2) -> None:
        if misses < 1:
            raise ValueError(f"misses must be >= 1, got {misses!r}")
        self.reader_name = reader_name
        self.misses = misses
        self._present: dict[Uid, int] = {}

    @property
    def present(self) -> frozenset[Uid]:
        return frozenset(self._present)

    def update(self, results: Iterable[InventoryResult]) -> list[TagSeen | TagLeft]:
        events: list[TagSeen | TagLeft] = []
        seen: dict[Uid, InventoryResult] = {r.uid: r for r in results}
        for uid, r in seen.items():
            if uid not in self._present:
                events.append(TagSeen(uid, self.reader_name, r.antenna))
            self._present[uid] = 0
        for uid in list(self._present):
            if uid in seen:
                continue
            self._present[uid] += 1
            if self._present[uid] >= self.misses:
                del self._present[uid]
                events.append(TagLeft(uid, self.reader_name))
        return events


def chunks(data: bytes, size: int) -> Sequence[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
