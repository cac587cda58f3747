"""Importing MARC21 files into the catalog in batches, with a per-record report.

One bad record never stops an import: it is reported with its position, byte offset (or XML line) and
reason, and nothing of it is written. Records are written in batches in one transaction each; if a batch
fails in the database, its records are retried one by one so that only the faulty ones are rejected.
Re-importing a file updates the records of the same library with the same control number (001) instead of
adding duplicates. A record whose leader/05 is ``d`` withdraws the record it matches.

Holdings and items come from an 852- or 952-style field when a :class:`HoldingsMapping` is given.
"""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import psycopg
from pymarc import Record
from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from server.catalog.holdings import HoldingsMapping, HoldingsWriter
from server.catalog.marcio import ReadOutcome, iter_chunks, outcome_of, record_from_bytes, to_iso2709
from server.catalog.models import BibIdentifier, BibRecord
from server.catalog.records import extract
from server.catalog.scan import scan_utf8
from server.catalog.service import columns
from server.db import Database, utcnow
from server.libraries.models import Library

log = logging.getLogger(__name__)

BATCH = 1000
BULK = 10_000  # records one import writes from which PostgreSQL's indexes and statistics are brought up to date
# what an import writes (bib_title_search: PostgreSQL's table of titles, which triggers fill: migration 0014)
BULK_TABLES = ("bib_records", "bib_title_search", "bib_identifiers", "holdings", "items")
SQLITE_CACHE_KIB = 256 * 1024  # page cache of the importing connection
SQLITE_ROWS_PER_INSERT = 250  # rows of one INSERT statement (fewer where the columns x rows pass SQLite's limit)
SQLITE_CHECKPOINT_PAGES = 16_384  # its WAL is checkpointed every 128 MB (8 KiB pages; 64 MB in older 4 KiB files)


@dataclass(frozen=True)
class Problem:
    """A record (or a part of it) that was not imported, and why."""

    position: int
    offset: int
    reason: str
    control_number: str | None = None


@dataclass
class ImportReport:
    read: int = 0
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    holdings: int = 0
    items: int = 0
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.added + self.updated


@dataclass
class _Prepared:
    outcome: ReadOutcome
    record: Record | None  # None when prepared in a worker process (re-read from the row for holdings)
    row: dict[str, Any]
    identifiers: list[tuple[str, str]]
    deleted: bool


def _prepare(outcome: ReadOutcome, report: ImportReport) -> _Prepared | None:
    record = outcome.record
    assert record is not None  # noqa: S101  (callers pass parsed records only)
    try:
        data = extract(record)
        raw = outcome.raw if outcome.raw is not None and outcome.raw[9:10] == b"a" else None
        marc = raw if raw is not None and not outcome.repaired else to_iso2709(record)
    except (ValueError, TypeError, UnicodeError) as exc:
        report.rejected.append(Problem(outcome.position, outcome.offset, f"cannot index the record: {exc}"))
        return None
    if len(marc) > 99_999:
        report.rejected.append(
            Problem(
                outcome.position,
                outcome.offset,
                f"record is {len(marc)} bytes, over ISO 2709's 99,999",
                data.control_number,
            )
        )
        return None
    deleted = str(record.leader)[5:6] == "d"
    return _Prepared(outcome, record, columns(data, marc), data.identifiers, deleted)


# A record prepared in a worker process: position, offset, error, warnings, (row, identifiers, deleted) or None.
_Light = tuple[int, int, str | None, tuple[str, ...], tuple[dict[str, Any], list[tuple[str, str]], bool] | None]


def _prepare_chunks(chunks: list[tuple[int, int, bytes, str | None]]) -> list[_Light]:
    """Read and index ISO 2709 chunks (in a worker process: returns only picklable plain data).

    Well-formed UTF-8 records that need no repair are read straight from their bytes (:mod:`server.catalog.scan`);
    the others go through pymarc, which repairs them or says why they are rejected.
    """
    out: list[_Light] = []
    for position, offset, chunk, problem in chunks:
        if problem is not None:
            out.append((position, offset, problem, (), None))
            continue
        stripped = chunk.lstrip(b"\r\n")  # files sometimes carry newlines between records
        scanned = scan_utf8(stripped)
        if scanned is not None:
            fields, marc = scanned
            data = extract(fields)
            if len(marc) <= 99_999:
                row = columns(data, marc)
                deleted = fields.leader[5:6] == "d"
                out.append((position, offset + len(chunk) - len(stripped), None, (), (row, data.identifiers, deleted)))
                continue
        outcome = outcome_of(position, offset, chunk)
        if outcome.record is None:
            out.append((position, outcome.offset, outcome.error or "unreadable", outcome.warnings, None))
            continue
        report = ImportReport()
        prepared = _prepare(outcome, report)
        if prepared is None:
            out.append((position, outcome.offset, report.rejected[0].reason, outcome.warnings, None))
        else:
            payload = (prepared.row, prepared.identifiers, prepared.deleted)
            out.append((position, outcome.offset, None, outcome.warnings, payload))
    return out


class Importer:
    """Writes parsed records of one library into the catalog."""

    def __init__(
        self,
        db: Database,
        *,
        library_isil: str | None = None,
        holdings: HoldingsMapping | None = None,
        batch_size: int = BATCH,
    ) -> None:
        self.db = db
        self.holdings = holdings
        self.batch_size = batch_size
        self.library_id: int | None = None
        self._libraries: dict[str, int] = {}
        with db.session() as session:
            for lib in session.scalars(select(Library)):
                self._libraries[lib.isil.upper()] = lib.id
        if library_isil is not None:
            found = self._libraries.get(library_isil.upper())
            if found is None:
                raise ValueError(f"no library with ISIL {library_isil!r}")
            self.library_id = found
        self._writer = HoldingsWriter(self._libraries)

    def run(
        self, outcomes: Iterable[ReadOutcome], progress: Callable[[ReadOutcome], None] | None = None
    ) -> ImportReport:
        report = ImportReport()
        with self._writer_for(report) as writer:
            for outcome in outcomes:
                report.read += 1
                for note in outcome.warnings:
                    report.warnings.append(Problem(outcome.position, outcome.offset, note))
                if outcome.record is None:
                    report.rejected.append(Problem(outcome.position, outcome.offset, outcome.error or "unreadable"))
                else:
                    prepared = _prepare(outcome, report)
                    if prepared is not None:
                        writer.add(prepared)
                if progress is not None:
                    progress(outcome)
        self._settle(report)
        log.info(
            "import: %d read, %d added, %d updated, %d rejected",
            report.read,
            report.added,
            report.updated,
            len(report.rejected),
        )
        return report

    def run_iso2709(
        self, stream: BinaryIO, workers: int = 2, progress: Callable[[ReadOutcome], None] | None = None
    ) -> ImportReport:
        """Import an ISO 2709 stream, reading and indexing in ``workers`` processes while this one writes."""
        report = ImportReport()
        with self._writer_for(report) as writer:
            if workers < 2:
                for block in _blocks(iter_chunks(stream), 250):
                    self._collect(_prepare_chunks(block), report, writer, progress)
            else:
                context = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                    pending: deque[Future[list[_Light]]] = deque()
                    for block in _blocks(iter_chunks(stream), 250):
                        pending.append(pool.submit(_prepare_chunks, block))
                        if len(pending) < workers * 3:
                            continue
                        self._collect(pending.popleft().result(), report, writer, progress)
                    while pending:
                        self._collect(pending.popleft().result(), report, writer, progress)
        self._settle(report)
        return report

    def _settle(self, report: ImportReport) -> None:
        """After a bulk load into PostgreSQL, VACUUM (ANALYZE) the tables it wrote, as autovacuum would.

        Autovacuum comes only a minute or more later (and never where it is switched off), while the catalog is
        already being searched. Until then GIN keeps the new entries in a pending list that every search reads
        through, the planner makes plans for tables it has no statistics for, and each search that first reads
        a new row sets the row's hint bits and writes its page back. VACUUM merges the pending lists, sets the
        hint bits and the visibility map, and ANALYZE gathers the statistics (1.7 s after 250,000 records).
        """
        if self.db.dialect != "postgresql" or report.imported + report.withdrawn < BULK:
            return
        with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table_name in BULK_TABLES:
                conn.execute(text(f"VACUUM (ANALYZE) {table_name}"))

    def _collect(
        self,
        lights: list[_Light],
        report: ImportReport,
        writer: _Writer,
        progress: Callable[[ReadOutcome], None] | None,
    ) -> None:
        for position, offset, error, notes, payload in lights:
            report.read += 1
            outcome = ReadOutcome(position, offset, None, None, error, notes)
            for note in notes:
                report.warnings.append(Problem(position, offset, note))
            if payload is None:
                report.rejected.append(Problem(position, offset, error or "unreadable"))
            else:
                row, identifiers, deleted = payload
                writer.add(_Prepared(outcome, None, row, identifiers, deleted))
            if progress is not None:
                progress(outcome)

    def _writer_for(self, report: ImportReport) -> _Writer:
        # PostgreSQL indexes two batches at once, on two connections. SQLite has one writer at a time, and
        # holdings touch rows records share (locations, item types, barcodes): those imports keep one lane.
        lanes = 2 if self.db.dialect == "postgresql" and self.holdings is None else 1
        return _Writer(self._flush, report, self.batch_size, lanes)

    def _flush(self, batch: list[_Prepared]) -> ImportReport:
        """Write one batch in one transaction (record by record if the database refuses it); what it did."""
        report = ImportReport()
        try:
            with self.db.write() as session:
                self._write(session, batch, report)
        except _REFUSED:
            report = ImportReport()
            log.warning("a batch of %d records failed; retrying one by one", len(batch), exc_info=True)
            for one in batch:
                single = ImportReport()
                try:
                    with self.db.write() as session:
                        self._write(session, [one], single)
                except _REFUSED as exc:
                    orig = getattr(exc, "orig", None) or exc
                    reason = f"database refused the record: {type(orig).__name__}: {orig}"
                    report.rejected.append(
                        Problem(
                            one.outcome.position, one.outcome.offset, reason.splitlines()[0], one.row["control_number"]
                        )
                    )
                    continue
                _merge(report, single)
        return report

    def _write(self, session: Session, batch: list[_Prepared], report: ImportReport) -> None:
        table = cast(Table, BibRecord.__table__)
        if session.get_bind().dialect.name == "sqlite":
            # Each record adds to six indexes and the FTS5 index at random places; with SQLite's default 2 MB
            # page cache a large catalog rereads their pages for every batch.
            session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
            # A checkpoint every 4 MB of WAL (the default) wrote the same index pages back after every batch.
            session.execute(text(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}"))
        numbers = {p.row["control_number"] for p in batch if p.row["control_number"]}
        existing: dict[str, int] = {}
        if numbers:
            # By control number alone, the library checked here: with the library in the WHERE clause SQLite
            # chose the library's index and read every record of the library for each batch.
            by_number = _BY_CONTROL_NUMBER_PG if session.get_bind().dialect.name == "postgresql" else _BY_CONTROL_NUMBER
            existing = {
                str(number): rid
                for number, rid, library_id in session.execute(by_number, {"numbers": list(numbers)})
                if library_id == self.library_id
            }
        now = utcnow()
        to_insert: list[_Prepared] = []
        to_update: list[tuple[int, _Prepared]] = []
        withdraw: list[int] = []
        pending: dict[str, _Prepared] = {}
        for prepared in batch:
            number = prepared.row["control_number"]
            rid = existing.get(number) if number else None
            if prepared.deleted:
                if rid is not None:
                    withdraw.append(rid)
                continue
            if rid is not None:
                to_update.append((rid, prepared))
            elif number and number in pending:
                pending[number].row.update(prepared.row)  # same record twice in one batch: the later wins
                pending[number].record = prepared.record
                pending[number].identifiers = prepared.identifiers
            else:
                to_insert.append(prepared)
                if number:
                    pending[number] = prepared
        ids = _new_ids(session, len(to_insert))
        if to_insert:
            constants = {
                "source_library_id": self.library_id,
                "local_history": False,
                "digitised": False,
                "created_at": now,
                "updated_at": now,
            }
            names = list(to_insert[0].row)
            values = [(rid, *[p.row[name] for name in names]) for rid, p in zip(ids, to_insert, strict=True)]
            _insert_many(session, table, ["id", *names], values, constants)
        if to_update:
            rows = [{**p.row, "b_id": rid, "updated_at": now, "deleted_at": None} for rid, p in to_update]
            session.connection().execute(update(table).where(table.c.id == bindparam("b_id")), rows)
            session.execute(delete(BibIdentifier).where(BibIdentifier.record_id.in_([rid for rid, _ in to_update])))
        if withdraw:
            session.execute(update(table).where(table.c.id.in_(withdraw)).values(deleted_at=now, updated_at=now))
        written = list(zip(ids, to_insert, strict=True)) + to_update
        identifier_rows = [(rid, scheme, value) for rid, p in written for scheme, value in p.identifiers]
        if identifier_rows:
            identifiers = cast(Table, BibIdentifier.__table__)
            _insert_many(session, identifiers, ["record_id", "scheme", "value"], identifier_rows, {})
        if self.holdings is not None:
            for rid, prepared in written:
                self._holdings(session, rid, prepared, report)
        report.added += len(to_insert)
        report.updated += len(to_update)
        report.withdrawn += len(withdraw)

    def _holdings(self, session: Session, record_id: int, prepared: _Prepared, report: ImportReport) -> None:
        assert self.holdings is not None  # noqa: S101
        record = prepared.record if prepared.record is not None else record_from_bytes(prepared.row["marc"])
        made = self._writer.apply(session, record_id, record, self.holdings, self.library_id)
        report.holdings += made.holdings
        report.items += made.items
        position, offset = prepared.outcome.position, prepared.outcome.offset
        report.warnings += [Problem(position, offset, note) for note in made.warnings]


# What the database raises for a batch it refuses: through SQLAlchemy, or from the driver for a COPY.
_REFUSED = (SQLAlchemyError, psycopg.Error)

# Fixed statements (compiled once): a select() with a list of 500 values costs more to build than to run.
_BY_CONTROL_NUMBER = text(
    "SELECT control_number, id, source_library_id FROM bib_records WHERE control_number IN :numbers"
).bindparams(bindparam("numbers", expanding=True))


# On PostgreSQL a list of 1,000 values (default selectivity 0.5 % each) makes a table that has not been analysed
# yet, as during a first import, look entirely selected: the planner chose a sequential scan for every batch.
# Joined to the array the lookup stays an index probe per number.
_BY_CONTROL_NUMBER_PG = text(
    "SELECT b.control_number, b.id, b.source_library_id"
    " FROM unnest(CAST(:numbers AS varchar[])) AS n(number) JOIN bib_records b ON b.control_number = n.number"
)


_COLUMN_TYPES = "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"


def _insert_many(
    session: Session, table: Table, names: list[str], rows: list[tuple[Any, ...]], constants: dict[str, Any]
) -> None:
    """Insert ``rows`` (values of ``names``) plus ``constants`` in every row, at driver level.

    PostgreSQL takes them by binary COPY: an executemany costs the server an executor start per row and
    psycopg a Python round of parameter handling per row, together more than the rows' own indexing; in
    binary the server also reads numbers and MARC bytes without parsing text. SQLite takes
    them by INSERTs of many rows each. The ids are taken beforehand (:func:`_new_ids`): INSERT ... RETURNING
    that keeps the rows' order is a statement per row on SQLite, and SQLAlchemy's per-row parameter
    processing costs as much as the insert. The constants go through their columns' bind processors once
    (SQLite stores datetimes as text).
    """
    conn = session.connection()
    dialect = conn.dialect
    fixed: list[Any] = []
    for name, value in constants.items():
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        fixed.append(processor(value) if processor is not None else value)
    tail = tuple(fixed)
    columns_sql = ", ".join([*names, *constants])
    if dialect.name == "postgresql":
        driver = cast(psycopg.Connection[Any], conn.connection.driver_connection)
        types: dict[str, int] = {
            str(name): int(oid) for name, oid in conn.exec_driver_sql(_COLUMN_TYPES, (table.name,))
        }
        statement = f"COPY {table.name} ({columns_sql}) FROM STDIN (FORMAT BINARY)"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types([types[name] for name in [*names, *constants]])
            for row in rows:
                copy.write_row(row + tail)
        return
    # Many rows to a statement: a statement that fires the FTS5 trigger opens a savepoint, and FTS5 writes its
    # pending index to disk at every savepoint (one segment per record through executemany, merged later).
    width = len(names) + len(constants)
    limit = cast(sqlite3.Connection, conn.connection.driver_connection).getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, limit // width))
    marker = "(" + ", ".join(["?"] * width) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params = [value for row in chunk for value in (*row, *tail)]
        values = ", ".join([marker] * len(chunk))
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns_sql}) VALUES {values}", tuple(params))


def _new_ids(session: Session, count: int) -> list[int]:
    """``count`` fresh record ids: from the sequence on PostgreSQL; above the largest on SQLite, whose write
    transaction holds the database's write lock from its start (:meth:`server.db.Database.write`)."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        stmt = text("SELECT nextval(pg_get_serial_sequence('bib_records', 'id')) FROM generate_series(1, :n)")
        return [int(rid) for rid in session.scalars(stmt, {"n": count}).all()]
    top = int(session.scalar(select(func.max(BibRecord.id))) or 0)
    return list(range(top + 1, top + 1 + count))


class _Writer:
    """Gathers prepared records into batches and writes them in threads of their own while the caller reads on.

    The database's work on a batch (and the wait for its commit) overlaps the reading and indexing of the
    following ones. Records go into ``lanes`` by control number, each lane writing its batches one at a time
    and in order on a connection of its own: a lane's batch is written only once its previous one is done,
    so a record repeated later in the file always finds (and updates) the earlier one. Each batch's outcome is
    merged into ``report`` before its lane takes the next.
    """

    def __init__(
        self, flush: Callable[[list[_Prepared]], ImportReport], report: ImportReport, size: int, lanes: int
    ) -> None:
        self._flush = flush
        self._report = report
        self._size = size
        self._threads = [ThreadPoolExecutor(1, thread_name_prefix=f"marc-import-writer-{n}") for n in range(lanes)]
        self._pending: list[Future[ImportReport] | None] = [None] * lanes
        self._open: list[list[_Prepared]] = [[] for _ in range(lanes)]

    def add(self, prepared: _Prepared) -> None:
        number = prepared.row["control_number"]
        lane = zlib.crc32(number.encode()) % len(self._open) if number else prepared.outcome.position % len(self._open)
        batch = self._open[lane]
        batch.append(prepared)
        if len(batch) >= self._size:
            self._submit(lane)

    def _submit(self, lane: int) -> None:
        batch, self._open[lane] = self._open[lane], []
        self._wait(lane)
        self._pending[lane] = self._threads[lane].submit(self._flush, batch)

    def _wait(self, lane: int) -> None:
        pending, self._pending[lane] = self._pending[lane], None
        if pending is not None:
            _merge(self._report, pending.result())

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                for lane, batch in enumerate(self._open):
                    if batch:
                        self._submit(lane)
                for lane in range(len(self._pending)):
                    self._wait(lane)
                # Problems found while reading and those the database found come back at different times.
                self._report.rejected.sort(key=lambda problem: problem.position)
                self._report.warnings.sort(key=lambda problem: problem.position)
        finally:
            for thread in self._threads:
                thread.shutdown(wait=True)


def _blocks(
    chunks: Iterable[tuple[int, int, bytes, str | None]], size: int
) -> Iterator[list[tuple[int, int, bytes, str | None]]]:
    block: list[tuple[int, int, bytes, str | None]] = []
    for chunk in chunks:
        block.append(chunk)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def _merge(into: ImportReport, part: ImportReport) -> None:
    into.added += part.added
    into.updated += part.updated
    into.withdrawn += part.withdrawn
    into.holdings += part.holdings
    into.items += part.items
    into.rejected += part.rejected
    into.warnings += part.warnings
