"""Database.read() and Database.fetch(): one statement on a connection that is neither pinged nor in a transaction
(PostgreSQL), and a second try on a new connection when the pooled one turns out dead."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from server.db import FETCH_CONNECTIONS_KEPT, Database

KILL_OTHERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.mark.postgres
def test_a_read_survives_a_restarted_server(pg_db: Database) -> None:
    calls: list[int] = []

    def backend(conn: Connection) -> int:
        calls.append(1)
        return int(conn.scalar(text("SELECT pg_backend_pid()")) or 0)

    first = pg_db.read(backend)
    with pg_db.engine.connect() as admin:  # as a restart does: every connection of the pool is gone
        assert admin.scalar(KILL_OTHERS)
    second = pg_db.read(backend)
    assert second != first
    assert len(calls) == 3  # the dead connection was tried (no ping found it dead first), then a new one


@pytest.mark.postgres
def test_reads_are_not_in_a_transaction_and_take_no_ping(pg_db: Database) -> None:
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    pg_db.read(lambda conn: conn.scalar(text("SELECT 1")))  # the pool has a connection now
    event.listen(pg_db.reader, "before_cursor_execute", note)
    try:
        in_transaction = pg_db.read(lambda conn: conn.scalar(text("SELECT now() <> statement_timestamp()")))
    finally:
        event.remove(pg_db.reader, "before_cursor_execute", note)
    assert in_transaction is False  # autocommit: the statement is its own transaction
    assert statements == ["SELECT now() <> statement_timestamp()"]


def test_other_errors_are_not_retried(db: Database) -> None:
    calls: list[int] = []

    def broken(conn: Connection) -> None:
        calls.append(1)
        conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError) as raised:
        db.read(broken)
    assert not raised.value.connection_invalidated
    assert len(calls) == 1
    assert db.read(lambda conn: conn.scalar(text("SELECT 2"))) == 2


@pytest.mark.postgres
def test_a_fetch_survives_a_restarted_server(pg_db: Database) -> None:
    pg_db.dispose()  # no connection left from other tests (the one before killed them all)
    checkouts: list[int] = []
    invalidated: list[int] = []
    event.listen(pg_db.fixed, "checkout", lambda *_args: checkouts.append(1))
    event.listen(pg_db.fixed, "invalidate", lambda *_args: invalidated.append(1))
    [(first,)] = pg_db.fetch("SELECT pg_backend_pid()", {})
    [(again,)] = pg_db.fetch("SELECT pg_backend_pid()", {})
    assert again == first and len(checkouts) == 1  # the connection is kept between statements
    with pg_db.engine.connect() as admin:
        assert admin.scalar(KILL_OTHERS)
    [(second,)] = pg_db.fetch("SELECT pg_backend_pid() + %(zero)s", {"zero": 0})
    assert second != first
    assert len(invalidated) == 1  # the dead connection was tried (no ping found it dead first),
    assert len(checkouts) == 2  # then a new one was taken from the pool


@pytest.mark.postgres
def test_a_fetch_is_not_in_a_transaction(pg_db: Database) -> None:
    """Autocommit: nothing begins a transaction around the statement, and none is left open on the connection
    kept for the next (its server process is idle, not idle in a transaction)."""
    assert pg_db.fetch("SELECT 1 + %(one)s", {"one": 1}) == [(2,)]
    [(pid,)] = pg_db.fetch("SELECT pg_backend_pid()", {})
    with pg_db.engine.connect() as admin:
        state = admin.scalar(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
    assert state == "idle"


@pytest.mark.postgres
def test_a_fetched_statement_is_planned_once_for_all_its_parameters(pg_db: Database) -> None:
    """Prepared at its first execution, then run on one generic plan, whatever the parameters."""
    pg_db.dispose()  # one connection, kept for every statement below
    statement = "SELECT count(*) FROM pg_class WHERE relname = %(name)s"
    for name in ("pg_class", "pg_proc", "no_such_relation"):
        pg_db.fetch(statement, {"name": name})
    [(generic, custom)] = pg_db.fetch(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %(text)s",
        {"text": "SELECT count(*) FROM pg_class WHERE relname = $1"},
    )
    assert (generic, custom) == (3, 0)
    # the reader's statements are planned for their parameters
    assert pg_db.read(lambda conn: conn.exec_driver_sql("SHOW plan_cache_mode").scalar()) == "auto"


def test_fetch_raises_sqlalchemy_errors_and_does_not_retry_them(db: Database) -> None:
    db.dispose()  # no kept connection: the failing statement takes one from the pool
    checkouts: list[int] = []
    event.listen(db.fixed, "checkout", lambda *_args: checkouts.append(1))
    with pytest.raises(DBAPIError) as raised:
        db.fetch("SELECT * FROM no_such_table", {})
    assert not raised.value.connection_invalidated
    assert "no_such_table" in str(raised.value)
    assert len(checkouts) == 1
    assert [tuple(row) for row in db.fetch("SELECT 2", {})] == [(2,)]


def test_a_fetch_that_cannot_connect_raises_sqlalchemy_errors(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}")  # a directory that does not exist
    with pytest.raises(OperationalError) as raised:
        db.fetch("SELECT 1", {})
    assert not raised.value.connection_invalidated
    db.dispose()


@pytest.mark.postgres
def test_fetch_keeps_a_few_connections_and_gives_the_rest_back(pg_db: Database) -> None:
    """Eight statements at once take eight connections; four are kept for the next statements, four go back."""
    pg_db.dispose()
    with ThreadPoolExecutor(8) as pool:
        pids = set(pool.map(lambda _: pg_db.fetch("SELECT pg_backend_pid() FROM pg_sleep(0.3)", {})[0][0], range(8)))
    assert len(pids) == 8
    pool_of_connections = pg_db.fixed.pool
    assert isinstance(pool_of_connections, QueuePool)
    assert pool_of_connections.checkedout() == FETCH_CONNECTIONS_KEPT
    checkouts: list[int] = []
    event.listen(pg_db.fixed, "checkout", lambda *_args: checkouts.append(1))
    [(pid,)] = pg_db.fetch("SELECT pg_backend_pid()", {})
    assert pid in pids and not checkouts
