"""Reference data circulation reads on every operation and staff change rarely, cached per process.

Loan policies, item types (whether they circulate), library calendars (opening weekdays and closures) and
library names/ISILs are re-read at most every :data:`CACHE_SECONDS`, so an edit applies within that time in
every server process; :meth:`ReferenceCache.invalidate` drops them at once (tests, a process that made the
edit itself). The snapshot is replaced whole, never mutated, so threads can read it without a lock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.models import ItemType
from server.circulation import policies
from server.circulation.models import LoanPolicy
from server.libraries.models import Closure, Library, OpeningDay

CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class LibraryRef:
    isil: str
    name: str


@dataclass(frozen=True)
class Reference:
    """One consistent read of the reference tables."""

    loaded: float
    policies: list[policies.Policy]
    circulates: dict[str, bool]
    weekdays: dict[int, frozenset[int]]
    closures: dict[int, frozenset[dt.date]]
    libraries: dict[int, LibraryRef]

    def circulating(self, item_type: str) -> bool:
        """Whether items of ``item_type`` may be lent (an unknown type does)."""
        return self.circulates.get(item_type, True)

    def library(self, library_id: int | None) -> LibraryRef | None:
        return self.libraries.get(library_id) if library_id is not None else None

    def next_opening(self, library_id: int, day: dt.date) -> dt.date:
        """``day`` or the next day the library opens; a library without a calendar is always open."""
        weekdays = self.weekdays.get(library_id)
        if not weekdays:
            return day
        closed = self.closures.get(library_id, frozenset())
        for offset in range(367):
            candidate = day + dt.timedelta(days=offset)
            if candidate.weekday() in weekdays and candidate not in closed:
                return candidate
        return day


def load(session: Session) -> Reference:
    """Read every reference table (five small queries)."""
    rows = [
        policies.Policy(
            library_id=row.library_id,
            patron_category=row.patron_category,
            item_type=row.item_type,
            loan_days=row.loan_days,
            renewals_allowed=row.renewals_allowed,
            max_items=row.max_items,
            fine_per_day_vnd=row.fine_per_day_vnd,
            max_fine_vnd=row.max_fine_vnd,
            hold_shelf_days=row.hold_shelf_days,
            fee_block_threshold_vnd=row.fee_block_threshold_vnd,
        )
        for row in session.scalars(select(LoanPolicy))
    ]
    weekdays: dict[int, set[int]] = {}
    for library_id, weekday in session.execute(select(OpeningDay.library_id, OpeningDay.weekday)):
        weekdays.setdefault(library_id, set()).add(weekday)
    closures: dict[int, set[dt.date]] = {}
    for library_id, day in session.execute(select(Closure.library_id, Closure.day)):
        closures.setdefault(library_id, set()).add(day)
    circulates = {code: flag for code, flag in session.execute(select(ItemType.code, ItemType.circulates))}
    libraries = {
        library_id: LibraryRef(isil, name)
        for library_id, isil, name in session.execute(select(Library.id, Library.isil, Library.name))
    }
    return Reference(
        time.monotonic(),
        rows,
        circulates,
        {k: frozenset(v) for k, v in weekdays.items()},
        {k: frozenset(v) for k, v in closures.items()},
        libraries,
    )


class ReferenceCache:
    """The current :class:`Reference`, reloaded in the caller's session when older than ``ttl`` seconds."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._current: Reference | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> Reference:
        current = self._current
        if current is not None and time.monotonic() - current.loaded < self.ttl:
            return current
        with self._lock:  # one thread reloads; the others wait and take its result
            current = self._current
            if current is None or time.monotonic() - current.loaded >= self.ttl:
                current = self._current = load(session)
            return current

    def library(self, session: Session, library_id: int | None) -> LibraryRef | None:
        """A library's ISIL and name; a library created since the last load triggers a reload."""
        ref = self.get(session)
        found = ref.library(library_id)
        if found is None and library_id is not None:
            self.invalidate()
            found = self.get(session).library(library_id)
        return found

    def invalidate(self) -> None:
        self._current = None
