"""The staff administration web: server-rendered pages under ``/web`` on the same services as the REST API."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from server.web import errors
from server.web.core import PREFIX, STATIC


def router() -> APIRouter:
    """Every staff page, one module per area."""
    from server.web.pages import admin, auth, catalog, desk, devices, home, merges, patrons, reports, tags

    web = APIRouter(prefix=PREFIX, include_in_schema=False)
    for module in (auth, home, catalog, merges, patrons, desk, devices, tags, reports, admin):
        web.include_router(module.router)
    return web


def install(app: FastAPI) -> None:
    """Mount the staff pages, their static files and their error pages on ``app``."""
    errors.install(app)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")
    app.include_router(router())
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        # The server's root (the demo's "web" URL) opens the staff pages.
        app.add_api_route("/", lambda: RedirectResponse(f"{PREFIX}/", status_code=307), include_in_schema=False)
