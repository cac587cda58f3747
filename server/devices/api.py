"""REST routes: devices with their status, telemetry, events, quarantine and commands."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from server.api.deps import SessionDep
from server.devices import repository, service
from server.devices.errors import DeviceError, DeviceNotFound
from server.devices.models import CommandStatus, DeviceKind, DeviceState, EventStatus

log = logging.getLogger(__name__)

router = APIRouter(prefix="/devices", tags=["devices"])


class DevicePublic(BaseModel):
    device_id: str
    kind: DeviceKind
    library: str
    name: str
    state: DeviceState
    last_seen_at: dt.datetime | None
    versions: dict[str, Any]
    config: dict[str, Any]
    reader_state: str | None
    outbox_depth: int | None


class TelemetryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sampled_at: dt.datetime
    metrics: dict[str, Any]


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    device_id: str
    kind: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    status: EventStatus
    reason: str | None
    payload: dict[str, Any]


class CommandCreate(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    ttl_seconds: int = Field(default=300, ge=1, le=7 * 86_400)


class CommandPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    command_id: str
    device_id: str
    name: str
    args: dict[str, Any]
    issued_at: dt.datetime
    expires_at: dt.datetime
    status: CommandStatus
    result: dict[str, Any] | None
    completed_at: dt.datetime | None


def _public(device: Any, isil: str) -> DevicePublic:
    return DevicePublic(
        device_id=device.device_id,
        kind=device.kind,
        library=isil,
        name=device.name,
        state=device.state,
        last_seen_at=device.last_seen_at,
        versions=device.versions,
        config=device.config,
        reader_state=device.reader_state,
        outbox_depth=device.outbox_depth,
    )


@router.get("", response_model=list[DevicePublic])
def list_devices(session: SessionDep, library: str | None = None) -> list[DevicePublic]:
    return [_public(d, isil) for d, isil in repository.list_with_library(session, library_isil=library)]


@router.get("/quarantine", response_model=list[EventPublic])
def quarantine(session: SessionDep, limit: int = Query(default=100, ge=1, le=1000)) -> list[EventPublic]:
    rows = repository.events(session, None, EventStatus.QUARANTINED, limit)
    return [EventPublic.model_validate(r) for r in rows]


@router.get("/quarantine/summary", response_model=dict[str, int])
def quarantine_summary(session: SessionDep) -> dict[str, int]:
    return service.quarantine_summary(session)


@router.get("/{device_id}", response_model=DevicePublic)
def get_device(device_id: str, session: SessionDep) -> DevicePublic:
    device = repository.get(session, device_id)
    if device is None:
        raise HTTPException(404, f"no active device {device_id!r}")
    return _public(device, repository.library_of(session, device).isil)


@router.get("/{device_id}/telemetry", response_model=list[TelemetryPublic])
def device_telemetry(
    device_id: str, session: SessionDep, limit: int = Query(default=60, ge=1, le=10_000)
) -> list[TelemetryPublic]:
    return [TelemetryPublic.model_validate(t) for t in repository.telemetry(session, device_id, limit)]


@router.get("/{device_id}/events", response_model=list[EventPublic])
def device_events(
    device_id: str,
    session: SessionDep,
    status: EventStatus | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[EventPublic]:
    return [EventPublic.model_validate(e) for e in repository.events(session, device_id, status, limit)]


@router.get("/{device_id}/commands", response_model=list[CommandPublic])
def device_commands(
    device_id: str, session: SessionDep, limit: int = Query(default=50, ge=1, le=1000)
) -> list[CommandPublic]:
    return [CommandPublic.model_validate(c) for c in repository.commands(session, device_id, limit)]


@router.post("/{device_id}/commands", response_model=CommandPublic, status_code=202)
def send_command(device_id: str, body: CommandCreate, session: SessionDep) -> CommandPublic:
    try:
        command = service.issue_command(
            session, device_id, body.name, body.args, ttl=dt.timedelta(seconds=body.ttl_seconds)
        )
    except DeviceNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except DeviceError as exc:
        raise HTTPException(422, str(exc)) from None
    return CommandPublic.model_validate(command)
