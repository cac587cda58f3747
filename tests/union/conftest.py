"""A live HTTP server (uvicorn in a thread) over the test database, for the independent OAI-PMH/SRU clients."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import uvicorn

from server.app import create_app
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings
from server.union.oai import ProviderConfig
from tests.support import free_port, wait_for


class LiveServer:
    def __init__(self, db: Database, page_size: int = 25) -> None:
        settings = ServerSettings(demo=True, database=DatabaseSettings(url=db.url))
        self.app = create_app(settings, db)
        self.app.state.oai = ProviderConfig(domain="test.lib.vn", page_size=page_size)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,  # as `thuvien server` runs
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        if not wait_for(lambda: self.server.started, timeout=15):
            raise RuntimeError("uvicorn did not start")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(10)


@pytest.fixture
def live(db: Database) -> Iterator[LiveServer]:
    with LiveServer(db) as server:
        yield server
