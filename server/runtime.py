"""Running the server process: the HTTP app under uvicorn plus the background services beside it.

Background services (the SIP2 listener, the MQTT ingest consumer...) implement :class:`Service` and are
listed by :func:`background_services`; all share the process's one :class:`Database`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from typing import Any, Protocol, TypeVar

import uvicorn

from server.app import create_app
from server.db import Database
from server.settings import ServerSettings

log = logging.getLogger(__name__)

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop where it is installed (not on Windows): its socket I/O and its hand-offs to the
    threads that run blocking endpoints cost a fraction of asyncio's own loop's (half a millisecond of a
    two-millisecond SRU answer). Elsewhere on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


class Service(Protocol):
    """A long-running part of the server process, started after the database is ready."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def background_services(settings: ServerSettings, db: Database) -> list[Service]:
    """The services this configuration enables, each imported only when enabled."""
    services: list[Service] = []
    if settings.sip2.enabled:
        from server.sip2.workers import sip2_service

        services.append(sip2_service(settings, db))
    from server.circulation.jobs import AnonymiseJob, HoldExpiryJob

    services += [AnonymiseJob(settings, db), HoldExpiryJob(settings, db)]
    if settings.mqtt.enabled:
        from server.ingest.consumer import IngestConsumer

        services.append(IngestConsumer(settings.mqtt, db))
    if settings.mail.mode != "off":
        from server.mail.jobs import MailJob

        services.append(MailJob(settings.mail, db))
    return services


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal capture: the process's handlers stop everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServerProcess:
    """The HTTP server and background services; ``run()`` returns after a signal or ``stop()``."""

    def __init__(self, settings: ServerSettings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.app = create_app(settings, db)
        config = uvicorn.Config(
            self.app,
            host=settings.http.host,
            port=settings.http.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.http = _EmbeddedUvicorn(config)
        self.services = background_services(settings, db)
        from server.ingest.metrics import install as install_ingest_metrics  # devices, MQTT ingest counters

        install_ingest_metrics(self.app.state.metrics.registry, db, self.services)
        self.started = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread
                break
        started: list[Service] = []
        try:
            for service in self.services:
                await service.start()
                started.append(service)
                log.info("%s started", service.name)
            serving = asyncio.create_task(self.http.serve())
            while not self.http.started and not serving.done():
                await asyncio.sleep(0.02)
            self.started.set()
            await serving
        finally:
            for service in reversed(started):
                try:
                    await service.stop()
                except Exception:
                    log.exception("%s did not stop cleanly", service.name)

    def stop(self) -> None:
        self.http.should_exit = True
