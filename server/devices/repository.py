"""Queries of the devices domain (no rules here: see :mod:`server.devices.service`)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.devices.models import Device, DeviceCommand, DeviceEvent, EventStatus, TelemetrySample
from server.libraries.models import Library

log = logging.getLogger(__name__)


def get(session: Session, device_id: str, *, include_retired: bool = False) -> Device | None:
    query = select(Device).where(Device.device_id == device_id)
    if not include_retired:
        query = query.where(Device.retired_at.is_(None))
    return session.scalar(query)


def list_with_library(
    session: Session, *, library_isil: str | None = None, include_retired: bool = False
) -> list[tuple[Device, str]]:
    query = select(Device, Library.isil).join(Library, Library.id == Device.library_id).order_by(Device.device_id)
    if library_isil is not None:
        query = query.where(Library.isil == library_isil)
    if not include_retired:
        query = query.where(Device.retired_at.is_(None))
    return [(device, isil) for device, isil in session.execute(query).all()]


def library_of(session: Session, device: Device) -> Library:
    library = session.get(Library, device.library_id)
    assert library is not None  # foreign key
    return library


def library_by_isil(session: Session, isil: str) -> Library | None:
    return session.scalar(select(Library).where(Library.isil == isil))


def telemetry(session: Session, device_id: str, limit: int) -> list[TelemetrySample]:
    query = (
        select(TelemetrySample)
        .where(TelemetrySample.device_id == device_id)
        .order_by(TelemetrySample.sampled_at.desc(), TelemetrySample.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def events(session: Session, device_id: str | None, status: EventStatus | None, limit: int) -> list[DeviceEvent]:
    query = select(DeviceEvent).order_by(DeviceEvent.received_at.desc(), DeviceEvent.id.desc()).limit(limit)
    if device_id is not None:
        query = query.where(DeviceEvent.device_id == device_id)
    if status is not None:
        query = query.where(DeviceEvent.status == status)
    return list(session.scalars(query))


def quarantine_reasons(session: Session) -> list[str | None]:
    query = select(DeviceEvent.reason).where(DeviceEvent.status == EventStatus.QUARANTINED)
    return list(session.scalars(query))


def count_events(session: Session, status: EventStatus) -> int:
    return int(session.scalar(select(func.count()).select_from(DeviceEvent).where(DeviceEvent.status == status)) or 0)


def commands(session: Session, device_id: str, limit: int) -> list[DeviceCommand]:
    query = (
        select(DeviceCommand)
        .where(DeviceCommand.device_id == device_id)
        .order_by(DeviceCommand.issued_at.desc(), DeviceCommand.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def command(session: Session, command_id: str) -> DeviceCommand | None:
    return session.scalar(select(DeviceCommand).where(DeviceCommand.command_id == command_id))
