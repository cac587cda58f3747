"""Search over folded text on SQLite (FTS5) and PostgreSQL (tsvector): Vietnamese without diacritics."""

from __future__ import annotations

import io

import pytest
from pymarc import Field, Subfield

from server.catalog.errors import QuerySyntaxError, UnsupportedIndex, UnsupportedRelation
from server.catalog.importer import Importer
from server.catalog.marcio import read_records
from server.catalog.search import Bool, Filters, Term, search
from server.db import Database
from tests.catalog.helpers import MARC, add_libraries, make_record


@pytest.fixture
def catalog(db: Database) -> Database:
    add_libraries(db, "VN-A", "VN-B")
    records = [
        make_record("1", "Đường đến Điện Biên Phủ", "Võ Nguyên Giáp", 1964, "978-604-0-00000-0", subject="Chiến tranh"),
        make_record("2", "Truyện Kiều", "Nguyễn Du", 1995, "0-306-40615-2", subject="Thơ"),
        make_record("3", "Hoà bình và chiến tranh", "Tolstoy", 2001, subject="Tiểu thuyết"),
        make_record("4", "Thuý Kiều và Kim Trọng", "Nguyễn Văn A", 2010),
        make_record("5", "Ăn uống", "Trần B", 1999),
        make_record("6", "An toàn giao thông", "Lê C", 1999),
    ]
    Importer(db, library_isil="VN-A").run(read_records(io.BytesIO(b"".join(r.as_marc() for r in records[:4]))))
    Importer(db, library_isil="VN-B").run(read_records(io.BytesIO(b"".join(r.as_marc() for r in records[4:]))))
    return db


def titles(db: Database, *args: object, **kwargs: object) -> list[str]:
    with db.session() as session:
        return [h.record.title for h in search(session, *args, **kwargs).hits]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("duong den", "Đường đến Điện Biên Phủ"),
        ("ĐƯỜNG", "Đường đến Điện Biên Phủ"),
        ("dien bien phu", "Đường đến Điện Biên Phủ"),
        ("nguyen du", "Truyện Kiều"),
        ("hòa binh", "Hoà bình và chiến tranh"),
        ("thúy kieu", "Thuý Kiều và Kim Trọng"),
        ('"kim trong"', "Thuý Kiều và Kim Trọng"),
        ("truy*", "Truyện Kiều"),
    ],
)
def test_diacritic_insensitive(catalog: Database, query: str, expected: str) -> None:
    assert titles(catalog, query)[0] == expected


def test_relevance_prefers_title(catalog: Database) -> None:
    found = titles(catalog, "chien tranh")
    assert found[0] == "Hoà bình và chiến tranh" and "Đường đến Điện Biên Phủ" in found


def test_fielded_and_filters(catalog: Database) -> None:
    assert titles(catalog, Term("title", "kieu")) == ["Thuý Kiều và Kim Trọng", "Truyện Kiều"] or set(
        titles(catalog, Term("title", "kieu"))
    ) == {"Thuý Kiều và Kim Trọng", "Truyện Kiều"}
    assert titles(catalog, Term("author", "kieu")) == []
    assert titles(catalog, "", Filters(subject="tho")) == ["Truyện Kiều"]
    assert titles(catalog, "", Filters(isbn="9780306406157")) == ["Truyện Kiều"]
    assert titles(catalog, "", Filters(isbn="0306406152")) == ["Truyện Kiều"]
    assert titles(catalog, "", Filters(year_from=1999, year_to=2001), sort="title") == [
        "An toàn giao thông",
        "Ăn uống",
        "Hoà bình và chiến tranh",
    ]
    assert titles(catalog, "", Filters(libraries=("VN-B",)), sort="title") == ["An toàn giao thông", "Ăn uống"]
    assert titles(catalog, Bool("not", Term("any", "kieu"), Term("author", "nguyen du"))) == ["Thuý Kiều và Kim Trọng"]
    assert titles(catalog, Bool("or", Term("isbn", "0-306-40615-2"), Term("year", "1964"))) != []


def test_vietnamese_sort_and_paging(catalog: Database) -> None:
    every = titles(catalog, "", sort="title", limit=10)
    assert every == [
        "An toàn giao thông",
        "Ăn uống",
        "Đường đến Điện Biên Phủ",
        "Hoà bình và chiến tranh",
        "Thuý Kiều và Kim Trọng",
        "Truyện Kiều",
    ]
    with catalog.session() as session:
        page = search(session, "", sort="title", limit=2, offset=2)
    assert page.total == 6 and [r.title for r in page.records] == every[2:4]
    assert titles(catalog, "", sort="-year", limit=1) == ["Thuý Kiều và Kim Trọng"]


def test_errors(catalog: Database) -> None:
    with catalog.session() as session:
        with pytest.raises(QuerySyntaxError):
            search(session, '"unbalanced')
        with pytest.raises(UnsupportedIndex):
            search(session, Term("colour", "red"))
        with pytest.raises(UnsupportedRelation):
            search(session, Term("title", "x", "<"))
        with pytest.raises(ValueError, match="unknown sort"):
            search(session, "x", sort="colour")
        assert search(session, "***").total == 0


def test_deleted_records_are_not_found(catalog: Database) -> None:
    from server.catalog.models import BibRecord
    from server.catalog.service import delete_record

    with catalog.write() as session:
        record = search(session, "truyen kieu").records[0]
        delete_record(session, session.get(BibRecord, record.id))  # type: ignore[arg-type]
    assert titles(catalog, "truyen kieu") == []
    assert titles(catalog, "kieu") == ["Thuý Kiều và Kim Trọng"]
    with catalog.session() as session:
        assert search(session, Term("title", "kieu")).total == 1
        assert search(session, "kieu", filters=Filters(year_from=1990)).total == 1


def test_a_record_leaves_and_reenters_the_index_with_its_deletion(catalog: Database) -> None:
    """SQLite's FTS5 index holds only live records (the triggers follow ``deleted_at``); PostgreSQL filters."""
    from sqlalchemy import update

    from server.catalog.models import BibRecord
    from server.db import utcnow

    with catalog.session() as session:
        (record_id,) = [r.id for r in search(session, "truyen kieu").records]
    for deleted_at, found in ((utcnow(), []), (None, ["Truyện Kiều"])):
        with catalog.write() as session:
            session.execute(update(BibRecord).where(BibRecord.id == record_id).values(deleted_at=deleted_at))
        assert titles(catalog, "truyen kieu") == found
    with catalog.write() as session:  # a deleted record edited stays out; edited back in, it is found as edited
        session.execute(update(BibRecord).where(BibRecord.id == record_id).values(deleted_at=utcnow()))
        session.execute(update(BibRecord).where(BibRecord.id == record_id).values(title_folded="truyen kieu moi"))
    assert titles(catalog, "moi") == []
    with catalog.write() as session:
        session.execute(update(BibRecord).where(BibRecord.id == record_id).values(deleted_at=None))
    assert titles(catalog, "kieu moi") == ["Truyện Kiều"]
    if catalog.dialect == "sqlite":
        with catalog.session() as session:
            from sqlalchemy import text

            session.execute(text("INSERT INTO bib_fts(bib_fts, rank) VALUES ('integrity-check', 0)"))


def test_vietnamese_loc_records(db: Database) -> None:
    with (MARC / "vie_loc.mrc").open("rb") as fh:
        Importer(db).run(read_records(fh))
    assert titles(db, "che lan vien")[0].startswith("Thơ Chế Lan Viên")
    assert titles(db, "chiến tranh nhân dân")
    with db.session() as session:
        assert search(session, "viet nam").total == search(session, "Việt Nam").total > 10


def test_add_record_keeps_demo_path(db: Database) -> None:
    from server.catalog.service import add_record

    with db.write() as session:
        add_record(
            session,
            make_record(
                "z",
                "Lịch sử Hải Dương",
                extra=[Field(tag="650", indicators=[" ", "0"], subfields=[Subfield("a", "Địa chí")])],
            ),
        )
    assert titles(db, "hai duong") == ["Lịch sử Hải Dương"]
    assert titles(db, Term("subject", "dia chi")) == ["Lịch sử Hải Dương"]


def test_text_searches_in_every_order(catalog: Database) -> None:
    kieu = Term("title", "kieu")
    assert titles(catalog, kieu, sort="title") == ["Thuý Kiều và Kim Trọng", "Truyện Kiều"]
    assert titles(catalog, kieu, sort="-title") == ["Truyện Kiều", "Thuý Kiều và Kim Trọng"]
    assert titles(catalog, kieu, sort="year") == ["Truyện Kiều", "Thuý Kiều và Kim Trọng"]
    assert titles(catalog, kieu, sort="-year") == ["Thuý Kiều và Kim Trọng", "Truyện Kiều"]
    with catalog.session() as session:
        newest_first = [record.id for record in search(session, kieu, sort="new").records]
    assert len(newest_first) == 2 and newest_first == sorted(newest_first, reverse=True)
    assert titles(catalog, Term("title", "truyen kieu", "phrase")) == ["Truyện Kiều"]
    assert titles(catalog, Term("title", "kieu truyen", "phrase")) == []
    assert titles(catalog, Term("title", "nguyen")) == []  # an author's word, not a title's
    with catalog.session() as session:
        page = search(session, kieu, sort="title", limit=1, offset=1)
    assert page.total == 2 and [r.title for r in page.records] == ["Truyện Kiều"]


@pytest.mark.postgres
def test_a_title_search_is_answered_by_the_index_of_titles(pg_db: Database) -> None:
    """A title search is answered by the GIN index of migration 0014's table of titles."""
    from sqlalchemy import event

    from server.catalog.search import find

    records = [make_record(str(n), f"Truyện số {n}", "Nguyễn Du") for n in range(20)]
    Importer(pg_db).run(read_records(io.BytesIO(b"".join(r.as_marc() for r in records))))
    statements: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object) -> None:
        statements.append((statement, parameters))

    event.listen(pg_db.engine, "before_cursor_execute", capture)
    try:
        with pg_db.session() as session:
            assert find(session, Term("title", "truyen"), sort="new", limit=5)[0] == 20
    finally:
        event.remove(pg_db.engine, "before_cursor_execute", capture)
    [(statement, parameters)] = statements
    with pg_db.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ix_bib_title_search" in plan, plan


@pytest.mark.postgres
def test_the_table_of_titles_follows_every_change_of_the_catalog(pg_db: Database) -> None:
    """Migration 0014's triggers: a bulk load, a re-import, a new title, a withdrawal and its undoing, a delete."""
    from sqlalchemy import select, text

    from server.catalog.models import BibRecord
    from server.catalog.service import apply_marc, delete_record

    # every record not deleted has exactly one row, holding its title's words; no other row exists
    out_of_step = text(
        "SELECT count(*) FROM bib_records AS r FULL JOIN bib_title_search AS s ON s.id = r.id "
        "WHERE (r.id IS NOT NULL AND r.deleted_at IS NULL) IS DISTINCT FROM (s.id IS NOT NULL) "
        "OR (s.id IS NOT NULL AND s.title_vector <> setweight(to_tsvector('simple', r.title_folded), 'A'))"
    )

    def check(word: str, expected: int) -> None:
        with pg_db.session() as session:
            assert session.scalar(out_of_step) == 0
            assert search(session, Term("title", word)).total == expected
            assert search(session, Bool("and", Term("title", word), Term("year", "1990", ">"))).total == expected

    data = b"".join(make_record(f"t-{n}", f"Lịch sử {n}", year=2000).as_marc() for n in range(30))
    Importer(pg_db).run_iso2709(io.BytesIO(data), workers=1)
    check("lich", 30)
    Importer(pg_db).run_iso2709(io.BytesIO(data), workers=1)  # re-imported: updated, not doubled
    check("lich", 30)
    with pg_db.write() as session:
        record = session.scalars(select(BibRecord).where(BibRecord.control_number == "t-0")).one()
        apply_marc(record, make_record("t-0", "Địa lý", year=2000))
        delete_record(session, session.scalars(select(BibRecord).where(BibRecord.control_number == "t-1")).one())
    check("lich", 28)
    check("dia", 1)
    with pg_db.write() as session:
        session.scalars(select(BibRecord).where(BibRecord.control_number == "t-1")).one().deleted_at = None
        session.delete(session.scalars(select(BibRecord).where(BibRecord.control_number == "t-2")).one())
    check("lich", 28)
