"""Circulation fixtures. The domain tests run on SQLite (fast); ``test_postgres.py`` repeats the lifecycle
and the races on the real PostgreSQL server (each engineer's suite must stay within a few minutes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.circulation.service import CirculationService
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings
from tests.circulation.builders import Clock, World, at, build_world


@pytest.fixture
def clock() -> Clock:
    return Clock(at(2026, 11, 26))


@pytest.fixture
def db(sqlite_db: Database) -> Iterator[Database]:
    yield sqlite_db


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)


def make_service(db: Database, clock: Clock) -> CirculationService:
    return CirculationService(db, ServerSettings(demo=True, database=DatabaseSettings(url=db.url)), clock=clock)


@pytest.fixture
def service(db: Database, world: World, clock: Clock) -> CirculationService:
    return make_service(db, clock)
