"""REST routes: gate alarms (list, acknowledge), silencing a gate, visitor counts."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.api.deps import SessionDep
from server.devices.models import AlarmClass, VisitorCount

from . import service
from .errors import AlarmNotFound, SilenceRefused

router = APIRouter(prefix="/alarms", tags=["alarms"])


class AlarmPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    device_id: str
    occurred_at: dt.datetime
    antenna: int | None
    tag_uid: str | None
    item_barcode: str | None
    owner_isil: str | None
    item_id: int | None
    loan_id: int | None
    classification: AlarmClass
    acknowledged_at: dt.datetime | None
    note: str | None


class AcknowledgeBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class SilenceBody(BaseModel):
    seconds: int = Field(default=60, ge=1, le=service.MAX_SILENCE_S)


class SilencePublic(BaseModel):
    command_id: str
    device_id: str
    seconds: int
    expires_at: dt.datetime


class VisitorPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    device_id: str
    period_start: dt.datetime
    period_end: dt.datetime
    count_in: int
    count_out: int


@router.get("", response_model=list[AlarmPublic])
def list_alarms(
    session: SessionDep,
    device_id: str | None = None,
    unacknowledged: bool = False,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AlarmPublic]:
    rows = service.list_alarms(session, device_id=device_id, unacknowledged=unacknowledged, limit=limit)
    return [AlarmPublic.model_validate(a) for a in rows]


@router.post("/{alarm_id}/acknowledge", response_model=AlarmPublic)
def acknowledge(alarm_id: int, body: AcknowledgeBody, session: SessionDep) -> AlarmPublic:
    try:
        return AlarmPublic.model_validate(service.acknowledge(session, alarm_id, note=body.note))
    except AlarmNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/gates/{device_id}/silence", response_model=SilencePublic, status_code=202)
def silence(device_id: str, body: SilenceBody, session: SessionDep) -> SilencePublic:
    try:
        command = service.silence_gate(session, device_id, body.seconds)
    except SilenceRefused as exc:
        raise HTTPException(422, str(exc)) from None
    return SilencePublic(
        command_id=command.command_id, device_id=device_id, seconds=body.seconds, expires_at=command.expires_at
    )


@router.get("/visitors", response_model=list[VisitorPublic])
def visitors(
    session: SessionDep, device_id: str | None = None, limit: int = Query(default=96, ge=1, le=10000)
) -> list[VisitorPublic]:
    query = select(VisitorCount).order_by(VisitorCount.period_start.desc()).limit(limit)
    if device_id is not None:
        query = query.where(VisitorCount.device_id == device_id)
    return [VisitorPublic.model_validate(v) for v in session.scalars(query)]
