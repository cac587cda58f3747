"""A running SIP2 server on 127.0.0.1 (event loop in a background thread) over a small test world."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from server.circulation.service import CirculationService
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings, Sip2Settings
from server.sip2.server import Sip2Server
from tests.circulation.builders import Clock, World, at, build_world
from tests.sip2.rawclient import RawClient, frame

DATE = "20261126    100000"  # the fixed clock, local time, as SIP2 writes it
BLANK = " " * 18


@dataclass
class Running:
    server: Sip2Server
    service: CirculationService
    clock: Clock
    db: Database
    world: World
    loop: asyncio.AbstractEventLoop

    @property
    def port(self) -> int:
        return self.server.port


def start_server(db: Database, world: World, clock: Clock, **sip2: object) -> Iterator[Running]:
    settings = ServerSettings(
        demo=True,
        database=DatabaseSettings(url=db.url),
        sip2=Sip2Settings(host="127.0.0.1", port=0, **sip2),  # type: ignore[arg-type]
    )
    service = CirculationService(db, settings, clock=clock)
    server = Sip2Server(settings, db, service=service)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sip2-test-loop", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield Running(server, service, clock, db, world, loop)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(at(2026, 11, 26))


@pytest.fixture
def sip(sqlite_db: Database, clock: Clock) -> Iterator[Running]:
    world = build_world(sqlite_db)
    yield from start_server(sqlite_db, world, clock)


@pytest.fixture
def sip_pg(pg_db: Database, clock: Clock) -> Iterator[Running]:
    world = build_world(pg_db, extra_items=0)
    yield from start_server(pg_db, world, clock)


@pytest.fixture
def connect(sip: Running) -> Iterator[Callable[[], RawClient]]:
    """Open raw clients to the test server; all are closed at teardown."""
    opened: list[RawClient] = []

    def open_one() -> RawClient:
        client = RawClient(sip.port)
        opened.append(client)
        return client

    yield open_one
    for client in opened:
        client.close()


@pytest.fixture
def client(connect: Callable[[], RawClient]) -> RawClient:
    """A raw client signed in as the kiosk account (the login reply asserted)."""
    c = connect()
    assert c.login() == frame("941", 0)
    return c
