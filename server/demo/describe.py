"""The ``thuvien demo --describe`` document: every demo identifier as one JSON object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.demo import data
from server.demo.parts import DemoConfig, DemoPart, demo_parts
from server.demo.seed import generated_items


def describe(config: DemoConfig, parts: Sequence[DemoPart] | None = None) -> dict[str, Any]:
    """The document for ``config``; ``parts`` are the running parts (their addresses are then included)."""
    items = [*data.HIGHLIGHTS, *generated_items()]
    doc: dict[str, Any] = {
        "libraries": [
            {"isil": lib.isil, "name": lib.name, "kind": lib.kind, "parent": lib.parent} for lib in data.LIBRARIES
        ],
        "patrons": [
            {
                "card": p.card,
                "pin": p.pin,
                "name": p.name,
                "category": p.category,
                "library": p.library,
                "note": p.note,
            }
            for p in data.PATRONS
        ],
        "items": [
            {
                "barcode": i.barcode,
                "title": i.title,
                "library": i.library,
                "item_type": i.item_type,
                "tag_uids": list(i.tag_uids),
                "note": i.note,
            }
            for i in items
        ],
        "staff": [
            {"username": s.username, "password": s.password, "name": s.name, "role": s.role, "library": s.library}
            for s in data.STAFF
        ],
        "sip2_accounts": [
            {
                "login": a.login,
                "password": a.password,
                "institution": a.institution,
                "library": a.library,
                "location": a.location,
                "host": config.host,
                "port": config.sip2_port,
            }
            for a in data.SIP2_ACCOUNTS
        ],
        "urls": {
            "web": config.base_url + "/",
            "api": config.base_url + "/api/v1",
            "api_docs": config.base_url + "/api/v1/docs",
            "openapi": config.base_url + "/api/v1/openapi.json",
            "healthz": config.base_url + "/healthz",
            "readyz": config.base_url + "/readyz",
            "metrics": config.base_url + "/metrics",
            "sip2": f"tcp://{config.host}:{config.sip2_port}",
        },
        "database": config.database_url,
    }
    for part in demo_parts(config) if parts is None else parts:
        doc.update(part.describe(config))
    return doc
