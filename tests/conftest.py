"""Fixtures for every suite: databases on SQLite and on the real PostgreSQL, migrated once per session.

``db`` is parametrised over both back ends; each test starts from empty tables. PostgreSQL gets a fresh
database per test session (``thuvien_test_<random>``), dropped at the end, so runs never collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from server import migrate
from server.db import Base, Database
from tests.support import port_open, require

PG_ADMIN_URL = os.environ.get("THUVIEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    return port_open("127.0.0.1", 5432)


@contextmanager
def fresh_pg_database(label: str = "") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    require(_pg_available(), "PostgreSQL at 127.0.0.1:5432")
    name = f"thuvien_test_{label}{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'thuvien.db'}"


@pytest.fixture(scope="session")
def migrated_sqlite(sqlite_url: str) -> Iterator[Database]:
    db = Database(sqlite_url)
    migrate.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def migrated_pg(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    migrate.upgrade(db)
    yield db
    db.dispose()


def empty_tables(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database on each back end in turn."""
    database: Database = request.getfixturevalue("migrated_sqlite" if request.param == "sqlite" else "migrated_pg")
    empty_tables(database)
    yield database
    empty_tables(database)


@pytest.fixture
def sqlite_db(migrated_sqlite: Database) -> Iterator[Database]:
    empty_tables(migrated_sqlite)
    yield migrated_sqlite
    empty_tables(migrated_sqlite)


@pytest.fixture
def pg_db(migrated_pg: Database) -> Iterator[Database]:
    empty_tables(migrated_pg)
    yield migrated_pg
    empty_tables(migrated_pg)
