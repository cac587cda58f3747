"""The protocol endpoints of the catalog outside ``/api/v1``: OAI-PMH at ``/oai`` and SRU at ``/sru``.

Plain Starlette routes: their arguments are the protocols' own (read from the query string or the form body
by each endpoint, every error answered in the protocol's XML), so FastAPI's parameter handling would only
add time to every request; they are documented in ``docs/catalog.md`` rather than in the OpenAPI schema.
"""

from __future__ import annotations

from starlette.routing import Match, Route
from starlette.types import Scope

from server.union import oai, sru


class ProtocolRoute(Route):
    """A plain route that names itself in the request scope, as FastAPI's routes do, so that the request
    metrics count it under its path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


routes = [
    ProtocolRoute("/oai", oai.endpoint, methods=["GET", "POST"], name="oai"),
    ProtocolRoute("/sru", sru.endpoint, methods=["GET", "POST"], name="sru"),
]
