"""Database plumbing: the declarative base, column types shared by every domain, engines and sessions.

Nothing here connects at import time. :class:`Database` is created by the app factory (or a CLI command)
from :class:`server.settings.DatabaseSettings` and owns one engine and one session factory.

Exceptions::

    DatabaseError (RuntimeError)
     ├── DatabaseUnavailable     cannot connect (server down, database missing, bad credentials)
     └── SchemaMismatch          the schema is missing, older or newer than this code expects
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import JSON, Connection, DateTime, Engine, Enum, MetaData, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DatabaseError(RuntimeError):
    """Base of the database errors a user can act on."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or does not exist."""


class SchemaMismatch(DatabaseError):
    """The database schema is not the one this version of the code expects."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where a timezone-aware one is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enum_column(enum_cls: type[enum.StrEnum], length: int = 24) -> Enum:
    """A portable enum column stored as its string value (no native PostgreSQL enum type to migrate)."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


SQLITE_MMAP_BYTES = 1 << 30  # address space only; the operating system's page cache holds the pages
SQLITE_PAGE_BYTES = 8192


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Only a new, empty database takes it (before WAL mode is set); catalog records (~2 KB with their
        # folded texts) then share pages instead of leaving half of each 4 KB page empty, and the index trees
        # are shallower: a bulk import writes ~10 % faster.
        cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Pages are read through a shared memory map instead of being copied into each pooled connection's own
        # small cache: a connection that served nothing yet is as fast as a warm one.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    finally:
        cursor.close()


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """Create an engine with the pragmas and pool settings this project relies on (does not connect)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; issue it ourselves so that
        # "BEGIN IMMEDIATE" can be requested for write transactions (see Database.write()).
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))

        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def make_reader_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """PostgreSQL connections for :meth:`Database.read`: autocommit (no BEGIN, no COMMIT) and no liveness ping
    at checkout; a connection found dead is replaced when it is used (:meth:`Database.read` retries)."""
    return create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
    )


def make_fixed_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """PostgreSQL connections for :meth:`Database.fetch`, as the reader's, on which each statement is prepared at
    its first use and planned once for all its parameters (a generic plan). A fixed statement's plan does not
    depend on its parameters (a search of one word is the same plan for every word), and planning it again for
    each word cost as much as running it for most words."""
    engine = make_reader_engine(url, echo=echo, pool_size=pool_size)

    @event.listens_for(engine, "connect")
    def _plan_once(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        if hasattr(dbapi_connection, "prepare_threshold"):  # psycopg: prepared at the first execution
            dbapi_connection.prepare_threshold = 0
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        finally:
            cursor.close()

    return engine


def _once_more_if_dead(attempt: Callable[[], T]) -> T:
    """``attempt()``, and once more if it found its pooled connection dead (the database was restarted)."""
    try:
        return attempt()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return attempt()


FETCH_CONNECTIONS_KEPT = 4


class _Held:
    """A connection taken from a pool for :meth:`Database.fetch`, with the cursor it runs every statement on."""

    __slots__ = ("connection", "cursor")

    def __init__(self, connection: PoolProxiedConnection) -> None:
        self.connection = connection
        self.cursor = connection.cursor()

    def close(self) -> None:
        """Back to the pool it came from."""
        try:
            self.cursor.close()
        finally:
            self.connection.close()


class _Kept(ABC, Generic[K]):
    """Connections kept between statements, most recently used first (its server process is the warmest), up to
    ``FETCH_CONNECTIONS_KEPT``: one given back when as many are kept is closed. ``list.pop`` and ``list.append``
    are atomic, so threads share the stack without a lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stack: list[K] = []

    @abstractmethod
    def _close(self, kept: K) -> None:
        """Close one that is not kept."""

    def _last_kept(self) -> K | None:
        try:
            return self._stack.pop()
        except IndexError:
            return None

    def give_back(self, kept: K) -> None:
        if len(self._stack) < FETCH_CONNECTIONS_KEPT:
            self._stack.append(kept)
        else:
            self._close(kept)

    def discard_all(self) -> None:
        """Close every kept connection (before the pool is disposed of, or after a restart)."""
        while (kept := self._last_kept()) is not None:
            self._close(kept)


class _HeldConnections(_Kept[_Held]):
    """The connections :meth:`Database.fetch` keeps between statements, taken from SQLAlchemy's pool.

    Taking one from the pool for each statement, with a new cursor, cost as much as the statement on a server
    that had been idle for a few milliseconds (~0.2 ms of Python before and after its one round trip); a kept
    connection and cursor cost nothing. More are taken from the pool while more statements run at once, and go
    back to it (on SQLite the pool is the sessions' own)."""

    def take(self) -> _Held:
        return self._last_kept() or _Held(self.engine.raw_connection())

    def _close(self, kept: _Held) -> None:
        try:
            kept.close()
        except self.engine.dialect.loaded_dbapi.Error:
            log.debug("a kept connection could not be closed", exc_info=True)


class _AsyncHeldConnections(_Kept[Any]):
    """The psycopg asynchronous connections :meth:`Database.fetch_async` keeps, each with its cursor (the
    ``psycopg.AsyncCursor`` is what is kept), made as :func:`make_fixed_engine` makes its own.

    Taken by one statement at a time, so that nothing waits on a connection's own lock, and used by whichever event
    loop runs the statement (psycopg asks for the running loop at each wait). More are made while more statements
    run at once, and closed after their statement."""

    async def take(self) -> Any:
        kept = self._last_kept()
        if kept is not None:
            return kept
        import psycopg  # only PostgreSQL comes here

        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        connection = await psycopg.AsyncConnection.connect(*args, autocommit=True, prepare_threshold=0, **kwargs)
        try:
            await connection.execute("SET plan_cache_mode = force_generic_plan")
        except BaseException:
            await connection.close()
            raise
        return connection.cursor()

    def _close(self, kept: Any) -> None:
        _close_now(kept)


def _close_now(cursor: Any) -> None:
    """Close an asynchronous cursor's connection from any thread, with no event loop: what its ``close()``
    coroutine does, without awaiting anything."""
    cursor.connection.pgconn.finish()


class Database:
    """One engine and its session factory; the unit every service receives."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo, pool_size=pool_size)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine
        if self.engine.dialect.name == "sqlite":
            writer = self.engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        self._write_factory = sessionmaker(writer, expire_on_commit=False)
        # What :meth:`read` runs on: on SQLite (whose reads cost no round trips) the engine itself.
        self.reader = (
            self.engine if self.dialect == "sqlite" else make_reader_engine(url, echo=echo, pool_size=pool_size)
        )
        # What :meth:`fetch` runs on: on PostgreSQL, connections that plan each statement once.
        self.fixed = self.reader if self.dialect == "sqlite" else make_fixed_engine(url, echo=echo, pool_size=pool_size)
        self._held = _HeldConnections(self.fixed)
        self._held_async = _AsyncHeldConnections(self.fixed) if self.fixed.dialect.driver == "psycopg" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self.session_factory() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction; on SQLite it takes the write lock at BEGIN so readers never deadlock it."""
        with self._write_factory() as session, session.begin():
            yield session

    def read(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` for a hot read path that needs one consistent view from **one statement**.

        On PostgreSQL the connection is in autocommit mode and is not pinged when taken from its pool: the
        statement is the only round trip (a session costs four: ping, BEGIN, the statement, COMMIT), and it
        sees one snapshot. Several statements would each see their own; use :meth:`session` for those. When
        the database was restarted since a pooled connection was last used, SQLAlchemy finds it dead and
        discards the whole pool, and ``work`` runs once more on a new connection. On SQLite ``work`` runs
        in a transaction of the main engine, as in :meth:`session`.
        """

        def attempt() -> T:
            with self.reader.connect() as conn:
                return work(conn)

        return _once_more_if_dead(attempt)

    def fetch(self, sql: str, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """The rows of one fixed, read-only statement run straight on a kept DB-API connection and cursor
        (:class:`_HeldConnections`): for the hottest read paths (SRU's one-term search), which measured a third
        of a millisecond of SQLAlchemy around a statement of a tenth.

        ``sql`` is written for the driver, parameters in its own style (sqlite3 ``:name``, psycopg
        ``%(name)s``); nothing is compiled, no event runs, and psycopg returns results in binary (MARC as its
        bytes, not as hex text to decode). On PostgreSQL the statement is prepared on its connection at its
        first use and planned once (:func:`make_fixed_engine`): a statement whose best plan depends on its
        parameters belongs in :meth:`read`. There is no transaction around it and no ping: one
        statement sees one snapshot by itself. As in :meth:`read`, a connection found dead (the server was
        restarted) empties the pool (and the kept ones) and the statement runs once more on a new connection.
        Errors are raised as SQLAlchemy's (:class:`sqlalchemy.exc.DBAPIError` and its subclasses), as every other
        read raises.
        """
        return _once_more_if_dead(lambda: self._fetch_once(sql, params))

    def _fetch_once(self, sql: str, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        dialect = self.fixed.dialect
        held: _Held | None = None
        try:
            held = self._held.take()
            if dialect.driver == "psycopg":  # results in binary: a bytea column comes as its bytes, not as hex
                cast(Any, held.cursor).execute(sql, params, binary=True)
            else:
                held.cursor.execute(sql, params)
            rows = list(held.cursor.fetchall())
        except dialect.loaded_dbapi.Error as exc:
            dead = False
            if held is not None:  # None: the connection could not be made
                dead = dialect.is_disconnect(exc, held.connection.dbapi_connection, held.cursor)
                if dead:  # as SQLAlchemy does: after a restart, every pooled connection is dead
                    held.connection.invalidate(exc)
                    self._held.discard_all()
                    self.fixed.dispose()
                else:
                    held.close()
            raise DBAPIError.instance(
                sql, dict(params), exc, dialect.loaded_dbapi.Error, connection_invalidated=dead, dialect=dialect
            ) from exc
        except BaseException:
            if held is not None:
                held.close()
            raise
        self._held.give_back(held)
        return rows

    async def fetch_async(self, sql: str, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """:meth:`fetch` for a coroutine. On PostgreSQL the statement runs on the event loop, on a kept
        asynchronous psycopg connection (:class:`_AsyncHeldConnections`) prepared and planned as :meth:`fetch`'s:
        no thread is woken for it, which on a server that had been idle for a few milliseconds cost more than the
        statement. On SQLite, whose driver has no asynchronous interface, :meth:`fetch` runs in a worker thread.
        A connection found dead is replaced and the statement runs once more; errors are SQLAlchemy's.
        """
        if self._held_async is None:
            return await asyncio.to_thread(self.fetch, sql, params)
        try:
            return await self._fetch_async_once(self._held_async, sql, params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._fetch_async_once(self._held_async, sql, params)

    async def _fetch_async_once(
        self, kept: _AsyncHeldConnections, sql: str, params: Mapping[str, Any]
    ) -> list[Sequence[Any]]:
        dialect = self.fixed.dialect
        cursor: Any = None
        try:
            cursor = await kept.take()
            await cursor.execute(sql, params, binary=True)
            rows: list[Sequence[Any]] = await cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            dead = False
            if cursor is not None:  # None: the connection could not be made
                dead = dialect.is_disconnect(exc, cursor.connection, cursor)
                _close_now(cursor)
                if dead:  # after a restart every kept connection is dead
                    kept.discard_all()
            raise DBAPIError.instance(
                sql, dict(params), exc, dialect.loaded_dbapi.Error, connection_invalidated=dead, dialect=dialect
            ) from exc
        except BaseException:  # cancelled mid-statement: the connection's state is unknown
            if cursor is not None:
                _close_now(cursor)
            raise
        kept.give_back(cursor)
        return rows

    def ping(self) -> None:
        """Run a trivial query; raise :class:`DatabaseUnavailable` with a sentence a person can act on."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise DatabaseUnavailable(describe_connect_error(self.url, exc)) from exc

    def dispose(self) -> None:
        self._held.discard_all()
        if self._held_async is not None:
            self._held_async.discard_all()
        self.engine.dispose()
        self.reader.dispose()
        self.fixed.dispose()


def describe_connect_error(url: str, exc: OperationalError) -> str:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    safe = redact(url)
    if "does not exist" in reason:
        return f"the database in {safe} does not exist ({reason}); create it, e.g. `createdb NAME`"
    if url.startswith("sqlite"):
        return f"cannot open the SQLite database {safe} ({reason}); check that its folder exists and is writable"
    return f"cannot connect to the database {safe} ({reason}); check that the server is running and the URL"


def redact(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
