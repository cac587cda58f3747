"""The protocol endpoints of the catalog outside ``/api/v1``: OAI-PMH at ``/oai`` and SRU at ``/sru``."""

from __future__ import annotations

from fastapi import APIRouter

from server.union import oai, sru

router = APIRouter()
router.include_router(oai.router)
router.include_router(sru.router)
