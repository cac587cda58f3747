"""Importing files: counts, re-import updates, holdings and items from 952/852, no half-written records."""

from __future__ import annotations

import io
import threading

import pytest
from pymarc import Field, Subfield
from sqlalchemy import func, select, text

from server.catalog import importer
from server.catalog.holdings import KOHA_952, MARC_852
from server.catalog.importer import Importer, ImportReport, _Prepared, _Writer
from server.catalog.marcio import ReadOutcome, read_records
from server.catalog.models import BibIdentifier, BibRecord, Holding, Item
from server.db import Database
from tests.catalog.helpers import MARC, add_libraries, make_record


def import_file(db: Database, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
    with (MARC / name).open("rb") as fh:
        return Importer(db, **kwargs).run(read_records(fh))  # type: ignore[arg-type]


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_vietnamese_file_and_reimport_updates(db: Database) -> None:
    add_libraries(db, "VN-HDU")
    report = import_file(db, "vie_loc.mrc", library_isil="VN-HDU")
    assert (report.read, report.added, report.updated, len(report.rejected)) == (121, 121, 0, 0)
    again = import_file(db, "vie_loc.mrc", library_isil="VN-HDU")
    assert (again.added, again.updated) == (0, 121)
    assert count(db, BibRecord) == 121
    with db.session() as session:
        record = session.scalar(select(BibRecord).where(BibRecord.title.like("%Chế Lan Viên%")))
        assert record is not None and record.title_folded.startswith("tho che lan vien")
        assert record.marc[9:10] == b"a"


def test_import_broken_files_counts(db: Database) -> None:
    report = import_file(db, "bad_records.mrc")
    assert (report.read, report.imported, len(report.rejected)) == (9, 2, 7)
    assert count(db, BibRecord) == 2
    report = import_file(db, "utf8_invalid.mrc")
    assert report.imported == 1 and report.warnings  # a bad subfield code, repaired and reported
    report = import_file(db, "marc8.dat")
    assert report.imported == 1
    report = import_file(db, "batch.xml")
    assert report.imported == 2


def test_loc_sample_identifiers(db: Database) -> None:
    with (MARC / "loc_books_20k.mrc").open("rb") as fh:
        outcomes = [o for _, o in zip(range(300), read_records(fh), strict=False)]
    report = Importer(db).run(outcomes)
    assert report.imported == 300
    with db.session() as session:
        schemes = set(session.scalars(select(BibIdentifier.scheme).distinct()))
    assert {"isbn", "lccn"} <= schemes


def test_holdings_and_items_from_952(db: Database) -> None:
    add_libraries(db, "VN-HDU", "VN-HDU-KM")
    items = [
        Field(
            tag="952",
            indicators=[" ", " "],
            subfields=[
                Subfield("a", "VN-HDU"),
                Subfield("o", "895.92 NG-D"),
                Subfield("p", "HDU000001"),
                Subfield("y", "book"),
                Subfield("g", "85.000 đ"),
            ],
        ),
        Field(
            tag="952",
            indicators=[" ", " "],
            subfields=[Subfield("a", "VN-HDU-KM"), Subfield("o", "895.92 NG-D"), Subfield("p", "KM000001")],
        ),
    ]
    data = make_record("h1", "Truyện Kiều", "Nguyễn Du", 1995, extra=items).as_marc()
    report = Importer(db, library_isil="VN-HDU", holdings=KOHA_952).run(read_records(io.BytesIO(data)))
    assert (report.imported, report.holdings, report.items) == (1, 2, 2)
    again = Importer(db, library_isil="VN-HDU", holdings=KOHA_952).run(read_records(io.BytesIO(data)))
    assert (again.updated, again.holdings, again.items) == (1, 0, 0)
    with db.session() as session:
        item = session.scalar(select(Item).where(Item.barcode == "HDU000001"))
        assert item is not None and item.price_vnd == 85000 and item.owner_isil == "VN-HDU"
    assert count(db, Holding) == 2


def test_holdings_from_852_and_conflicting_barcode(db: Database) -> None:
    add_libraries(db, "VN-HDU")
    f852 = Field(
        tag="852",
        indicators=[" ", " "],
        subfields=[Subfield("a", "VN-HDU"), Subfield("h", "959.7"), Subfield("p", "B1")],
    )
    first = make_record("a1", "Một", extra=[f852]).as_marc()
    second = make_record("a2", "Hai", extra=[f852]).as_marc()
    report = Importer(db, holdings=MARC_852).run(read_records(io.BytesIO(first + second)))
    assert report.imported == 2 and report.items == 1
    assert any("already belongs" in w.reason for w in report.warnings)


def test_deleted_leader_withdraws(db: Database) -> None:
    data = make_record("d1", "Bị xoá").as_marc()
    Importer(db).run(read_records(io.BytesIO(data)))
    deleted = bytearray(data)
    deleted[5:6] = b"d"
    report = Importer(db).run(read_records(io.BytesIO(bytes(deleted))))
    assert report.withdrawn == 1
    with db.session() as session:
        record = session.scalar(select(BibRecord))
        assert record is not None and record.deleted_at is not None


def test_unknown_library_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="no library"):
        Importer(db, library_isil="VN-NOPE")


def test_parallel_import_gives_the_same_result(db: Database) -> None:
    add_libraries(db, "VN-A")
    data = (MARC / "bad_records.mrc").read_bytes()[:-100] + (MARC / "vie_loc.mrc").read_bytes()
    report = Importer(db, library_isil="VN-A", holdings=KOHA_952, batch_size=50).run_iso2709(
        io.BytesIO(data), workers=2
    )
    sequential = Importer(db, library_isil="VN-A").run(read_records(io.BytesIO(data)))
    assert (report.read, report.added, len(report.rejected)) == (sequential.read, 123, len(sequential.rejected))
    assert (sequential.updated, sequential.added) == (121, 2)  # the two good bad_records.mrc lack a 001
    assert [p.position for p in report.rejected] == [p.position for p in sequential.rejected]


@pytest.mark.postgres
def test_a_record_the_database_refuses_is_reported_and_the_rest_imported(pg_db: Database) -> None:
    """PostgreSQL refuses a 70-character control number (the column holds 64): only that record is rejected,
    from a batch written by COPY."""
    titles = {"ok-1": "Truyện Kiều", "x" * 70: "Quá dài", "ok-2": "Lục Vân Tiên"}
    records = [make_record(control, title) for control, title in titles.items()]
    data = b"".join(record.as_marc() for record in records)
    report = Importer(pg_db).run_iso2709(io.BytesIO(data), workers=1)
    assert (report.read, report.added) == (3, 2)
    [problem] = report.rejected
    assert problem.position == 2 and problem.control_number == "x" * 70
    assert problem.reason.startswith("database refused the record: StringDataRightTruncation")
    with pg_db.session() as session:
        assert sorted(session.scalars(select(BibRecord.control_number))) == ["ok-1", "ok-2"]


def test_a_later_batch_updates_a_record_an_earlier_batch_added(db: Database) -> None:
    """Batches are written in threads of their own while the next are prepared (on PostgreSQL in two lanes at
    once, by control number): a record repeated in a later batch updates the one an earlier batch added."""
    numbers = [f"n-{n}" for n in range(13)]
    records = [make_record(number, f"{number} bản cũ") for number in numbers]
    records += [make_record(number, f"{number} bản mới") for number in numbers]
    data = b"".join(record.as_marc() for record in records)
    report = Importer(db, batch_size=1).run_iso2709(io.BytesIO(data), workers=1)
    assert (report.read, report.added, report.updated, report.rejected) == (26, 13, 13, [])
    with db.session() as session:
        titles = {number: title for number, title in session.execute(select(BibRecord.control_number, BibRecord.title))}
    assert titles == {number: f"{number} bản mới" for number in numbers}


def test_writer_lanes_keep_each_control_number_in_one_lane() -> None:
    """Two lanes write at once; a control number always goes to the same one, so its batches stay in order."""
    seen: list[tuple[str, list[str]]] = []

    def flush(batch: list[_Prepared]) -> ImportReport:
        seen.append((threading.current_thread().name, [p.row["control_number"] for p in batch]))
        return ImportReport(added=len(batch))

    report = ImportReport()
    with _Writer(flush, report, size=2, lanes=2) as writer:
        for position in range(1, 41):
            row = {"control_number": f"c-{position % 7}"}
            writer.add(_Prepared(ReadOutcome(position, 0, None, None), None, row, [], False))
    assert report.added == 40
    lanes: dict[str, set[str]] = {}
    for thread, numbers in seen:
        for number in numbers:
            lanes.setdefault(number, set()).add(thread)
    assert len(lanes) == 7 and all(len(threads) == 1 for threads in lanes.values())
    assert len({thread for thread, _ in seen}) == 2  # both lanes were used


@pytest.mark.postgres
def test_a_bulk_load_leaves_postgresql_indexes_merged_and_tables_vacuumed(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pending_pages(index: str) -> int:
        with pg_db.write() as session:
            return int(session.scalar(text(f"SELECT gin_clean_pending_list('{index}')")) or 0)

    data = b"".join(make_record(f"b-{n}", f"Sách {n}").as_marc() for n in range(3))
    Importer(pg_db).run_iso2709(io.BytesIO(data), workers=1)
    assert pending_pages("ix_bib_fulltext") > 0  # a small import leaves merging to autovacuum
    monkeypatch.setattr(importer, "BULK", 3)
    Importer(pg_db).run_iso2709(io.BytesIO(data), workers=1)
    assert pending_pages("ix_bib_fulltext") == 0 and pending_pages("ix_bib_title_search") == 0
    with pg_db.session() as session:
        done = text(
            "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = :t"
        )
        visible = text("SELECT relallvisible = relpages FROM pg_class WHERE relname = :t")
        for table in importer.BULK_TABLES:
            assert session.execute(done, {"t": table}).one() == (True, True)
        assert session.scalar(visible, {"t": "bib_records"})  # every page all-visible: hint bits set


def test_sqlite_takes_many_records_in_one_insert_and_indexes_them_all(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows go in a few at a time per INSERT (FTS5 writes its index at every statement's savepoint), the last
    INSERT holding the remainder; every record is stored and found by its words."""
    from sqlalchemy import event

    from server.catalog.search import Term, find

    monkeypatch.setattr(importer, "SQLITE_ROWS_PER_INSERT", 3)
    inserts: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO bib_records"):
            inserts.append(statement)

    event.listen(sqlite_db.engine, "before_cursor_execute", capture)
    try:
        data = b"".join(make_record(f"m-{n}", f"Sách số {n} về biển", isbn="").as_marc() for n in range(10))
        report = Importer(sqlite_db).run_iso2709(io.BytesIO(data), workers=1)
    finally:
        event.remove(sqlite_db.engine, "before_cursor_execute", capture)
    assert report.added == 10
    assert [statement.count("), (") + 1 for statement in inserts] == [3, 3, 3, 1]
    with sqlite_db.session() as session:
        assert session.scalar(select(func.count()).select_from(BibRecord)) == 10
        assert find(session, Term("title", "bien"))[0] == 10
        assert find(session, Term("title", "7"))[0] == 1
