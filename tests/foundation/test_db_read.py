"""Database.read(), Database.fetch() and Database.fetch_async(): one statement on a connection that is neither
pinged nor in a transaction (PostgreSQL), and a second try on a new connection when the kept one turns out dead."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from server.db import FETCH_CONNECTIONS_KEPT, Database
from tests.support import wait_for

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


def fetched(db: Database, sql: str, params: Mapping[str, Any] | None = None) -> list[Sequence[Any]]:
    """``db.fetch_async`` on an event loop of its own: each call a new loop, as kept connections may see."""
    return asyncio.run(db.fetch_async(sql, params or {}))


def backend(db: Database) -> int:
    return int(fetched(db, "SELECT pg_backend_pid()")[0][0])


@pytest.mark.postgres
def test_an_async_fetch_keeps_its_connection_and_survives_a_restarted_server(pg_db: Database) -> None:
    pg_db.dispose()
    first = backend(pg_db)
    assert backend(pg_db) == first  # kept, and used again by another event loop
    with pg_db.engine.connect() as admin:
        assert admin.scalar(KILL_OTHERS)
    second = backend(pg_db)  # the dead connection was tried, then a new one made
    assert second != first
    assert backend(pg_db) == second


@pytest.mark.postgres
def test_an_async_fetch_is_not_in_a_transaction_and_is_planned_once(pg_db: Database) -> None:
    pg_db.dispose()  # one connection, kept for every statement below
    assert fetched(pg_db, "SELECT 1 + %(one)s", {"one": 1}) == [(2,)]
    pid = backend(pg_db)
    with pg_db.engine.connect() as admin:
        state = admin.scalar(text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
    assert state == "idle"
    statement = "SELECT count(*) FROM pg_class WHERE relname = %(name)s"
    for name in ("pg_class", "pg_proc", "no_such_relation"):
        fetched(pg_db, statement, {"name": name})
    [(generic, custom)] = fetched(
        pg_db,
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE %(text)s",
        {"text": "SELECT count(*) FROM pg_class WHERE relname = $1"},
    )
    assert (generic, custom) == (3, 0)
    assert fetched(pg_db, "SELECT %(data)s::bytea", {"data": b"\x00\x1e"}) == [(b"\x00\x1e",)]  # binary results


def test_an_async_fetch_raises_sqlalchemy_errors_and_does_not_retry_them(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    executed: list[str] = []
    if db.dialect == "postgresql":
        execute = psycopg.AsyncCursor.execute

        async def counted(cursor: psycopg.AsyncCursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            executed.append(query)
            return await execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.AsyncCursor, "execute", counted)
    with pytest.raises(DBAPIError) as raised:
        fetched(db, "SELECT * FROM no_such_table")
    assert not raised.value.connection_invalidated
    assert "no_such_table" in str(raised.value)
    if db.dialect == "postgresql":
        assert executed.count("SELECT * FROM no_such_table") == 1
    assert [tuple(row) for row in fetched(db, "SELECT 2")] == [(2,)]


def test_an_async_fetch_that_cannot_connect_raises_sqlalchemy_errors(tmp_path: Path) -> None:
    for url in (
        f"sqlite:///{tmp_path / 'missing' / 'catalog.db'}",
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=5",  # nothing listens on port 1
    ):
        db = Database(url)
        with pytest.raises(OperationalError) as raised:
            fetched(db, "SELECT 1")
        assert not raised.value.connection_invalidated
        db.dispose()


@pytest.mark.postgres
def test_an_async_fetch_keeps_a_few_connections_and_closes_the_rest(pg_db: Database) -> None:
    """Eight statements at once on one event loop run at once, on eight connections; four are kept."""
    pg_db.dispose()

    async def at_once(count: int) -> set[int]:
        statement = "SELECT pg_backend_pid() FROM pg_sleep(0.3)"
        done = await asyncio.gather(*(pg_db.fetch_async(statement, {}) for _ in range(count)))
        return {int(rows[0][0]) for rows in done}

    pids = asyncio.run(at_once(8))
    assert len(pids) == 8
    again = asyncio.run(at_once(FETCH_CONNECTIONS_KEPT + 1))
    assert len(again & pids) == FETCH_CONNECTIONS_KEPT  # the kept ones, and one more made
    with pg_db.engine.connect() as admin:
        alive = set(admin.scalars(text("SELECT pid FROM pg_stat_activity")))
    assert len(pids & alive) == FETCH_CONNECTIONS_KEPT  # the other four were closed


@pytest.mark.postgres
def test_an_async_fetch_cancelled_mid_statement_closes_its_connection(pg_db: Database) -> None:
    pg_db.dispose()
    pid = backend(pg_db)

    async def cancelled() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pg_db.fetch_async("SELECT pg_sleep(5)", {}), 0.2)

    asyncio.run(cancelled())  # ran on the kept connection, whose state is then unknown
    kept = backend(pg_db)
    assert kept != pid
    pg_db.dispose()

    def closed() -> bool:  # the cancelled connection, and the kept one now that the database is disposed of
        with pg_db.engine.connect() as admin:
            return not set(admin.scalars(text("SELECT pid FROM pg_stat_activity"))) & {pid, kept}

    assert wait_for(closed, timeout=10)
