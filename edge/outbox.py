"""The durable outbox: every transactional event is committed to SQLite before it is published, and deleted
only when the server acknowledges that it stored it (a broker's PUBACK proves nothing; see docs/mqtt.md).

SQLite in WAL mode with ``synchronous=FULL``: a committed event survives kill -9 and power loss. Events that
threads add at the same time are committed together (group commit: whoever gets the connection commits every
event waiting for it, in one transaction, one fsync; each caller returns once its own events are committed, and a
refused event - a duplicate, a full outbox - fails only its own caller). Rows are
handed out oldest first; a row published but not acknowledged is due again after ``resend_after`` seconds,
and every row is due again after a reconnect (:meth:`Outbox.rewind`). The outbox is bounded: when it holds
``max_events`` rows, :meth:`Outbox.add` raises :class:`OutboxFull` and :attr:`Outbox.full` is set, which the
agent reports in its telemetry and status.

A role that keeps its own records in the same SQLite file can write them and the event in one transaction::

    with outbox.transaction() as conn:
        conn.execute("INSERT INTO loans ...")
        outbox.add(topic, event, conn=conn)

Exceptions::

    OutboxError (RuntimeError)
     ├── OutboxFull          the outbox holds max_events rows; nothing was written
     ├── DuplicateEvent      an event_id that is in the outbox already; nothing was written
     └── OutboxClosed        used after close()
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edge.contract import Event, encode

log = logging.getLogger(__name__)


class OutboxError(RuntimeError):
    """Base of the outbox errors."""


class OutboxFull(OutboxError):
    """The outbox is at its bound; the event was not written."""


class DuplicateEvent(OutboxError):
    """The event_id is in the outbox already."""


class OutboxClosed(OutboxError):
    """The outbox was closed."""


class _Waiting:
    """Events of one :meth:`Outbox.add_many` call waiting for a group commit."""

    __slots__ = ("items", "done", "error")

    def __init__(self, items: Sequence[tuple[str, Event]]) -> None:
        self.items = items
        self.done = False
        self.error: BaseException | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    event_id: str
    topic: str
    payload: bytes
    attempts: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL,
    sent REAL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent, seq);
"""


class Outbox:
    """A bounded SQLite outbox shared by the threads of one process (one connection behind a lock)."""

    def __init__(self, path: Path | str, *, max_events: int = 100_000, resend_after: float = 10.0) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events!r}")
        if resend_after <= 0:
            raise ValueError(f"resend_after must be positive, got {resend_after!r}")
        self.path = Path(path)
        self.max_events = max_events
        self.resend_after = resend_after
        self.full = False
        self.commits = 0  # transactions that committed new events (each one fsync)
        self._lock = threading.RLock()
        self._waiting: list[_Waiting] = []
        self._waiting_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.executescript(_SCHEMA)
        self._conn: sqlite3.Connection | None = conn
        self._depth = self._count()
        self.full = self._depth >= self.max_events

    # -- writing -------------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the outbox's connection (BEGIN IMMEDIATE ... COMMIT, or ROLLBACK)."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            depth = self._depth
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                self._depth = depth
                raise
            conn.execute("COMMIT")
            self.commits += 1
            self.full = self._depth >= self.max_events

    def add(self, topic: str, event: Event, *, conn: sqlite3.Connection | None = None) -> str:
        """Commit ``event`` for ``topic`` (or add it to the caller's :meth:`transaction`); its event_id."""
        self.add_many([(topic, event)], conn=conn)
        return event.event_id

    def add_many(self, items: Sequence[tuple[str, Event]], *, conn: sqlite3.Connection | None = None) -> None:
        """Commit several events (all or none), together with what other threads add at the same moment."""
        if conn is not None:
            self._insert(conn, items)
            return
        mine = _Waiting(items)
        with self._waiting_lock:
            self._waiting.append(mine)
        with self._lock:
            if not mine.done:
                self._commit_waiting()
        if mine.error is not None:
            raise mine.error

    def _commit_waiting(self) -> None:
        """Commit every waiting caller's events in one transaction, each behind its own savepoint."""
        with self._waiting_lock:
            group, self._waiting = self._waiting, []
        try:
            with self.transaction() as conn:
                for waiting in group:
                    conn.execute("SAVEPOINT one")
                    try:
                        self._insert(conn, waiting.items)
                    except OutboxError as exc:
                        conn.execute("ROLLBACK TO one")
                        waiting.error = exc
                    conn.execute("RELEASE one")
        except Exception as exc:
            for waiting in group:
                if waiting.error is None:
                    # Each caller gets its own exception object, of the outbox's own kind (OutboxClosed...).
                    error = (type(exc)(str(exc)) if isinstance(exc, OutboxError)
                             else OutboxError(f"the outbox {self.path} could not commit: {exc}"))
                    error.__cause__ = exc
                    waiting.error = error
        finally:
            for waiting in group:
                waiting.done = True

    def _insert(self, conn: sqlite3.Connection, items: Sequence[tuple[str, Event]]) -> None:
        if self._depth + len(items) > self.max_events:
            self.full = True
            log.error("outbox %s is full (%d events): new events are refused", self.path, self._depth)
            raise OutboxFull(f"the outbox holds {self._depth} events, its bound is {self.max_events}")
        now = time.time()
        try:
            conn.executemany(
                "INSERT INTO outbox (event_id, topic, payload, created) VALUES (?, ?, ?, ?)",
                [(event.event_id, topic, encode(event), now) for topic, event in items],
            )
        except sqlite3.IntegrityError as exc:
            raise DuplicateEvent(f"an event_id of this batch is in the outbox already: {exc}") from exc
        self._depth += len(items)

    # -- sending -------------------------------------------------------------------------------------------

    def due(self, limit: int = 100, *, now: float | None = None, resend: bool = True) -> list[OutboxRow]:
        """Up to ``limit`` rows to publish, oldest first: never sent, or (with ``resend``) sent at least
        ``resend_after`` seconds ago."""
        cutoff = (time.time() if now is None else now) - self.resend_after
        query = "SELECT seq, event_id, topic, payload, attempts FROM outbox WHERE sent IS NULL"
        if resend:
            query += " OR sent <= :cutoff"
        with self._lock:
            rows = (
                self._connection().execute(query + " ORDER BY seq LIMIT :limit", {"cutoff": cutoff, "limit": limit})
            ).fetchall()
        return [OutboxRow(*row) for row in rows]

    def mark_sent(self, seqs: Iterable[int], *, now: float | None = None) -> None:
        """Record that rows were handed to the broker (they become due again after ``resend_after``)."""
        at = time.time() if now is None else now
        with self._lock, self._bookkeeping() as conn:
            conn.executemany(
                "UPDATE outbox SET sent = ?, attempts = attempts + 1 WHERE seq = ?", [(at, s) for s in seqs]
            )

    def rewind(self) -> None:
        """Make every row due now (after a reconnect: the broker may have lost what it had)."""
        with self._lock, self._bookkeeping() as conn:
            conn.execute("UPDATE outbox SET sent = NULL WHERE sent IS NOT NULL")

    @contextmanager
    def _bookkeeping(self) -> Iterator[sqlite3.Connection]:
        # Marks and deletions need no fsync: losing one after power loss only causes a resend, which the
        # server drops by event_id. NORMAL keeps WAL consistent; FULL is restored for new events.
        conn = self._connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            conn.execute("PRAGMA synchronous=FULL")

    def acknowledge(self, event_ids: Iterable[str]) -> int:
        """Delete the rows the server acknowledged; how many were still there."""
        ids = list(event_ids)
        if not ids:
            return 0
        with self._lock:
            with self._bookkeeping() as conn:
                before = conn.total_changes
                conn.executemany("DELETE FROM outbox WHERE event_id = ?", [(i,) for i in ids])
                removed = conn.total_changes - before
            self._depth = max(0, self._depth - removed)
            if self.full and self._depth < self.max_events:
                self.full = False
                log.warning("outbox %s has room again (%d events)", self.path, self._depth)
        return removed

    # -- state ---------------------------------------------------------------------------------------------

    def depth(self) -> int:
        with self._lock:
            return self._depth

    def oldest_age(self, *, now: float | None = None) -> float | None:
        """Seconds since the oldest unacknowledged event was committed (None when empty)."""
        with self._lock:
            row = self._connection().execute("SELECT MIN(created) FROM outbox").fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, (time.time() if now is None else now) - float(row[0]))

    def event_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._connection().execute("SELECT event_id FROM outbox ORDER BY seq")]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _count(self) -> int:
        row = self._connection().execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(row[0])

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OutboxClosed(f"the outbox {self.path} is closed")
        return self._conn
