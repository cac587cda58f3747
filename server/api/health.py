"""Liveness (``/healthz``) and readiness (``/readyz``: the database answers and its schema is current)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from server.api.deps import DatabaseDep
from server.db import DatabaseError
from server.migrate import check_schema

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(db: DatabaseDep) -> dict[str, str] | JSONResponse:
    try:
        await run_in_threadpool(check_schema, db)
    except DatabaseError as exc:
        return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
    return {"status": "ready", "database": db.dialect}
