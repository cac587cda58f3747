from __future__ import annotations

import datetime as dt

import pytest

from server.circulation.service import CirculationService
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings
from tests.circulation.builders import Clock, World, at, build_world


@pytest.fixture
def clock() -> Clock:
    return Clock(at(2026, 11, 26))


@pytest.fixture
def world(db: Database) -> World:
    return build_world(db)


@pytest.fixture
def service(db: Database, world: World, clock: Clock) -> CirculationService:
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=db.url))
    return CirculationService(db, settings, clock=clock)


__all__ = ["dt"]
