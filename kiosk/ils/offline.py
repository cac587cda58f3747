"""Offline operation: a durable journal of transactions done while the library system was unreachable,
replayed first (SIP2 ``no block = Y`` with the original dates) as soon as it answers again.

Two policies (site configuration):

* ``finish-session`` — new sessions are refused while offline (the patron cannot be verified); a session
  already in progress finishes and its transactions are journalled.
* ``store-and-forward`` — new sessions are accepted too (the patron is not verified; the ILS sees the loans
  later with ``no block``).

:class:`ResilientIls` wraps any :class:`~kiosk.ils.port.Ils` and implements the same port.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from .errors import IlsUnavailable
from .port import Ils, ItemInfo, LoanResult, PatronInfo, RenewAllResult, ReturnResult

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["OfflinePolicy", "Journal", "OutboxJournal", "JournalEntry", "ResilientIls", "ReplayReport"]


class OfflinePolicy(StrEnum):
    FINISH_SESSION = "finish-session"
    STORE_AND_FORWARD = "store-and-forward"


@dataclass(frozen=True)
class JournalEntry:
    id: int
    op: str  # "checkout" | "checkin"
    patron_id: str
    item_id: str
    at: dt.datetime
    due: dt.datetime | None
    state: str  # "pending" | "sent" | "conflict"
    note: str = ""
    key: str = ""  # the event id when the journal is an edge outbox


class Journal:
    """Transactions waiting for the library system, in a SQLite file (WAL, synchronous FULL)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL,"
            " patron_id TEXT NOT NULL, item_id TEXT NOT NULL, at TEXT NOT NULL, due TEXT,"
            " state TEXT NOT NULL DEFAULT 'pending', note TEXT NOT NULL DEFAULT '')"
        )

    def add(self, op: str, patron_id: str, item_id: str, at: dt.datetime, due: dt.datetime | None) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO journal (op, patron_id, item_id, at, due) VALUES (?, ?, ?, ?, ?)",
                (op, patron_id, item_id, at.isoformat(), due.isoformat() if due else None),
            )
            return int(cur.lastrowid or 0)

    def entries(self, state: str | None = "pending") -> list[JournalEntry]:
        with self._lock:
            if state is None:
                rows = self._db.execute("SELECT * FROM journal ORDER BY id").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM journal WHERE state = ? ORDER BY id", (state,)).fetchall()
        return [
            JournalEntry(
                id=row[0],
                op=row[1],
                patron_id=row[2],
                item_id=row[3],
                at=dt.datetime.fromisoformat(row[4]),
                due=dt.datetime.fromisoformat(row[5]) if row[5] else None,
                state=row[6],
                note=row[7],
            )
            for row in rows
        ]

    def mark(self, entry_id: int, state: str, note: str = "") -> None:
        with self._lock:
            self._db.execute("UPDATE journal SET state = ?, note = ? WHERE id = ?", (state, note, entry_id))

    def pending_count(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM journal WHERE state = 'pending'").fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class OutboxJournal:
    """The same journal kept in an :class:`edge.outbox.Outbox` (its own file, so the uplink never publishes
    it): each transaction is an event, committed before the patron sees "recorded"; a replayed or conflicting
    transaction is acknowledged (deleted) — conflicts are reported to staff by the caller first."""

    def __init__(self, path: Path | str, *, device_id: str = "kiosk") -> None:
        from edge.outbox import Outbox

        self.outbox = Outbox(path)
        self.device_id = device_id
        self._keys: dict[int, str] = {}

    def add(self, op: str, patron_id: str, item_id: str, at: dt.datetime, due: dt.datetime | None) -> int:
        from edge.contract import Event, new_event_id

        event = Event(
            event_id=new_event_id(),
            device_id=self.device_id,
            kind=f"offline_{op}",
            occurred_at=at.astimezone(dt.UTC),
            data={
                "op": op,
                "patron_id": patron_id,
                "item_id": item_id,
                "at": at.isoformat(),
                "due": due.isoformat() if due else None,
            },
        )
        self.outbox.add(f"kiosk/{self.device_id}/offline/{op}", event)
        return self.outbox.depth()

    def entries(self, state: str | None = "pending") -> list[JournalEntry]:
        from edge.contract import Event, decode

        if state not in ("pending", None):
            return []
        out = []
        for row in self.outbox.due(limit=100_000):
            data = decode(Event, row.payload).data
            self._keys[row.seq] = row.event_id
            out.append(
                JournalEntry(
                    id=row.seq,
                    op=str(data["op"]),
                    patron_id=str(data["patron_id"]),
                    item_id=str(data["item_id"]),
                    at=dt.datetime.fromisoformat(str(data["at"])),
                    due=dt.datetime.fromisoformat(str(data["due"])) if data.get("due") else None,
                    state="pending",
                    key=row.event_id,
                )
            )
        return out

    def mark(self, entry_id: int, state: str, note: str = "") -> None:
        key = self._keys.pop(entry_id, None)
        if key is not None and state in ("sent", "conflict"):
            self.outbox.acknowledge([key])

    def pending_count(self) -> int:
        return self.outbox.depth()

    def close(self) -> None:
        self.outbox.close()


@dataclass(frozen=True)
class ReplayReport:
    sent: int = 0
    conflicts: int = 0
    remaining: int = 0


class ResilientIls:
    """An :class:`Ils` that journals checkouts and checkins while offline and replays them first when back."""

    def __init__(
        self,
        inner: Ils,
        journal: Journal | OutboxJournal,
        *,
        policy: OfflinePolicy = OfflinePolicy.FINISH_SESSION,
        loan_days: int = 14,
        on_conflict: Callable[[JournalEntry, str], None] | None = None,
    ) -> None:
        self.inner = inner
        self.journal = journal
        self.policy = policy
        self.loan_days = loan_days
        self.on_conflict = on_conflict
        self._replay_lock = threading.Lock()
        self.offline = False

    def _online(self) -> None:
        """Replay anything journalled before a new online transaction (raises IlsUnavailable)."""
        if self.journal.pending_count():
            report = self.replay()
            if report.remaining:
                raise IlsUnavailable("journalled transactions are still waiting for the library system")

    def replay(self) -> ReplayReport:
        """Send journalled transactions in order; stop at the first that cannot reach the ILS."""
        sent = conflicts = 0
        with self._replay_lock:
            for entry in self.journal.entries():
                try:
                    if entry.op == "checkout":
                        loan = self.inner.checkout(
                            entry.patron_id, entry.item_id, no_block=True, when=entry.at, due=entry.due
                        )
                        ok, messages = loan.ok, loan.screen_messages
                    else:
                        back = self.inner.checkin(entry.item_id, no_block=True, when=entry.at)
                        ok, messages = back.ok, back.screen_messages
                except IlsUnavailable:
                    self.offline = True
                    break
                if ok:
                    self.journal.mark(entry.id, "sent")
                    sent += 1
                else:
                    note = "; ".join(messages) or "refused by the library system"
                    self.journal.mark(entry.id, "conflict", note)
                    conflicts += 1
                    log.warning("offline %s of %s refused on replay: %s", entry.op, entry.item_id, note)
                    if self.on_conflict is not None:
                        self.on_conflict(entry, note)
            remaining = self.journal.pending_count()
        if not remaining:
            self.offline = False
        if sent or conflicts:
            log.info("offline replay: %d sent, %d conflicts, %d remaining", sent, conflicts, remaining)
        return ReplayReport(sent, conflicts, remaining)

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            self._online()
            result = fn()
        except IlsUnavailable:
            self.offline = True
            raise
        self.offline = False
        return result

    def ping(self) -> bool:
        if not self.inner.ping():
            self.offline = True
            return False
        return self.replay().remaining == 0

    def patron_info(self, patron_id: str, pin: str = "") -> PatronInfo:
        try:
            return self._call(lambda: self.inner.patron_info(patron_id, pin))
        except IlsUnavailable:
            if self.policy is OfflinePolicy.STORE_AND_FORWARD:
                return PatronInfo(patron_id=patron_id, valid=True, offline=True)
            raise

    def checkout(
        self,
        patron_id: str,
        item_id: str,
        pin: str = "",
        *,
        no_block: bool = False,
        when: dt.datetime | None = None,
        due: dt.datetime | None = None,
    ) -> LoanResult:
        try:
            return self._call(
                lambda: self.inner.checkout(patron_id, item_id, pin, no_block=no_block, when=when, due=due)
            )
        except IlsUnavailable:
            at = when or dt.datetime.now().astimezone()
            due_at = due or at + dt.timedelta(days=self.loan_days)
            self.journal.add("checkout", patron_id, item_id, at, due_at)
            log.info("offline checkout of %s journalled", item_id)
            return LoanResult(ok=True, item_id=item_id, due=due_at, offline=True, desensitize=True)

    def checkin(self, item_id: str, *, no_block: bool = False, when: dt.datetime | None = None) -> ReturnResult:
        try:
            return self._call(lambda: self.inner.checkin(item_id, no_block=no_block, when=when))
        except IlsUnavailable:
            self.journal.add("checkin", "", item_id, when or dt.datetime.now().astimezone(), None)
            log.info("offline checkin of %s journalled", item_id)
            return ReturnResult(ok=True, item_id=item_id, resensitize=True, offline=True)

    def renew(self, patron_id: str, item_id: str, pin: str = "") -> LoanResult:
        return self._call(lambda: self.inner.renew(patron_id, item_id, pin))

    def renew_all(self, patron_id: str, pin: str = "") -> RenewAllResult:
        return self._call(lambda: self.inner.renew_all(patron_id, pin))

    def item_info(self, item_id: str) -> ItemInfo:
        return self._call(lambda: self.inner.item_info(item_id))

    def end_session(self, patron_id: str, pin: str = "") -> None:
        try:
            self._call(lambda: self.inner.end_session(patron_id, pin))
        except IlsUnavailable:
            log.info("end of session for %s not sent (offline)", patron_id)

    def close(self) -> None:
        self.inner.close()
        self.journal.close()
