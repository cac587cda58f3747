"""The FastAPI application factory; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from edge.cli import version
from server.api import health, metrics
from server.catalog.api import router as items_router
from server.circulation.api import router as circulation_router
from server.db import Database
from server.devices.api import router as devices_router
from server.libraries.api import router as libraries_router
from server.patrons.api import router as patrons_router
from server.settings import ServerSettings
from server.sip2.api import router as sip2_router


def api_router() -> APIRouter:
    """Everything under ``/api/v1``; each domain contributes its own router."""
    router = APIRouter(prefix="/api/v1")
    router.include_router(libraries_router)
    router.include_router(items_router)
    router.include_router(circulation_router)
    router.include_router(patrons_router)
    router.include_router(sip2_router)
    router.include_router(devices_router)
    from server.alarms.api import router as alarms_router  # gate alarms, silencing, visitor counts

    router.include_router(alarms_router)
    return router


def create_app(settings: ServerSettings, db: Database | None = None) -> FastAPI:
    """Build the app for ``settings``; ``db`` may be shared with other services of the same process."""
    database = (
        db
        if db is not None
        else Database(settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size)
    )
    owns_db = db is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="thuvien-rfid",
        version=version(),
        summary="Central server of an RFID self-service library network",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    metrics.install(app)
    from server.union.routes import routes as union_routes  # OAI-PMH /oai, SRU /sru

    # Routes are matched in order: the protocol endpoints that machines call most often come first.
    app.include_router(health.router)
    app.router.routes.extend(union_routes)
    app.include_router(api_router())
    from server.web import install as install_web  # staff web under /web

    install_web(app)
    return app
