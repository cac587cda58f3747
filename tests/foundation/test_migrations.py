from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from server import migrate
from server.catalog.schema import include_object
from server.db import Base, Database, SchemaMismatch
from tests.conftest import fresh_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema at all, on each back end."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'm.db'}")
        yield database
        database.dispose()
        return
    with fresh_pg_database("m") as url:
        database = Database(url)
        yield database
        database.dispose()


def test_upgrade_downgrade_upgrade(blank: Database) -> None:
    with pytest.raises(SchemaMismatch, match="no thuvien schema"):
        migrate.check_schema(blank)
    migrate.upgrade(blank)
    migrate.check_schema(blank)
    tables = set(inspect(blank.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    migrate.downgrade(blank)
    assert set(inspect(blank.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(blank)
    migrate.check_schema(blank)


def test_models_match_migrations(blank: Database) -> None:
    """Autogenerate finds nothing to do: the migrations describe exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade(blank)
    with blank.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []


def test_newer_schema_is_refused(blank: Database) -> None:
    migrate.upgrade(blank)
    with blank.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('ffff_from_the_future')"))
    with pytest.raises(SchemaMismatch, match="newer than this version"):
        migrate.check_schema(blank)


def test_search_text_is_rewritten_both_ways(blank: Database) -> None:
    """0010 keeps only the publisher and numbers in ``search_text``; its downgrade restores every word."""
    from pymarc import Field, Subfield

    from server.catalog.search import search
    from server.catalog.service import add_record
    from tests.catalog.helpers import make_record

    migrate.upgrade(blank)
    publisher = Field(tag="260", indicators=[" ", " "], subfields=[Subfield("b", "Nhà xuất bản Văn học")])
    record = make_record("m-1", "Truyện Kiều", "Nguyễn Du", 1990, isbn="9786049690594", extra=[publisher])
    with blank.write() as session:
        add_record(session, record)
    rest = "nha xuat ban van hoc 9786049690594"
    with blank.session() as session:
        assert session.scalar(text("SELECT search_text FROM bib_records")) == rest
    migrate.downgrade(blank, "0004_catalog")
    with blank.session() as session:
        everything = session.scalar(text("SELECT search_text FROM bib_records"))
        assert everything is not None and everything.startswith("truyen kieu nguyen du") and everything.endswith(rest)
    migrate.upgrade(blank)
    with blank.session() as session:
        assert session.scalar(text("SELECT search_text FROM bib_records")) == rest
        assert search(session, "kieu nguyen du van hoc").total == 1  # every field still searched


@pytest.mark.postgres
def test_marc_is_compressed_with_lz4_on_postgresql() -> None:
    """0012 has PostgreSQL compress MARC records with LZ4; a long record reads back whole; the downgrade undoes it."""
    from server.catalog.service import add_record
    from tests.catalog.helpers import make_record

    compression = text(
        "SELECT attcompression FROM pg_attribute WHERE attrelid = 'bib_records'::regclass AND attname = 'marc'"
    )
    with fresh_pg_database("lz4") as url:
        database = Database(url)
        try:
            migrate.upgrade(database)
            with database.session() as session:
                assert session.scalar(compression) == "l"
            record = make_record("lz4-1", "Đại Việt sử ký toàn thư " * 150, "Ngô Sĩ Liên", 1993)
            with database.write() as session:
                marc = add_record(session, record).marc
            assert len(marc) > 2_000  # over the TOAST threshold: stored compressed
            with database.session() as session:
                assert session.scalar(text("SELECT pg_column_compression(marc) FROM bib_records")) == "lz4"
                assert session.scalar(text("SELECT marc FROM bib_records")) == marc
            migrate.downgrade(database, "0011_fts_live_records")
            with database.session() as session:
                assert session.scalar(compression) == ""
                assert session.scalar(text("SELECT marc FROM bib_records")) == marc
        finally:
            database.dispose()
