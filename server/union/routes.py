"""The protocol endpoints of the catalog outside ``/api/v1``: OAI-PMH at ``/oai`` and SRU at ``/sru``.

Plain Starlette routes: their arguments are the protocols' own (read from the query string or the form body
by each endpoint, every error answered in the protocol's XML), so FastAPI's parameter handling would only
add time to every request; they are documented in ``docs/catalog.md`` rather than in the OpenAPI schema.
"""

from __future__ import annotations

from starlette.routing import Route

from server.union import oai, sru

routes = [
    Route("/oai", oai.endpoint, methods=["GET", "POST"], name="oai"),
    Route("/sru", sru.endpoint, methods=["GET", "POST"], name="sru"),
]
