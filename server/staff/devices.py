"""Staff operations on devices and gate alarms, with the library scope checked before the devices service runs.

Provisioning, commands and credentials are the devices service's (:mod:`server.devices.service`); this module
adds who may do them (a library administrator provisions, a librarian sends commands and acknowledges alarms)
and the alarm acknowledgement itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.catalog.models import BibRecord, Item
from server.db import utcnow
from server.devices import service as devices
from server.devices.models import Device, DeviceCommand, GateAlarm, TelemetrySample
from server.libraries.models import Library
from server.staff.service import Level, Principal

log = logging.getLogger(__name__)

#: Commands a librarian may send from the web (``encode-tag`` goes through tag programming).
STAFF_COMMANDS = ("ping", "reload-config", "silence-alarm", "set-mode")


class DeviceAdminError(ValueError):
    code = "device_error"


def devices_in_scope(session: Session, principal: Principal) -> list[tuple[Device, Library]]:
    scope = principal.scope(Level.READ)
    rows = session.execute(
        select(Device, Library).join(Library, Library.id == Device.library_id)
        .where(Device.library_id.in_(scope), Device.retired_at.is_(None))
        .order_by(Library.id, Device.device_id)
    ).all()
    return [(device, library) for device, library in rows]


def device_in_scope(session: Session, principal: Principal, device_id: str) -> Device:
    device = session.scalar(select(Device).where(Device.device_id == device_id))
    if device is None:
        raise DeviceAdminError(f"no device {device_id!r}")
    principal.require(device.library_id, Level.READ, "view_device")
    return device


def telemetry_series(session: Session, device_id: str, limit: int = 120) -> tuple[list[str], dict[str, list[float]]]:
    """The last samples, oldest first, with each numeric metric as a series."""
    samples = list(session.scalars(
        select(TelemetrySample).where(TelemetrySample.device_id == device_id)
        .order_by(TelemetrySample.sampled_at.desc()).limit(limit)
    ))[::-1]
    labels = [s.sampled_at.strftime("%H:%M") for s in samples]
    series: dict[str, list[float]] = {}
    for index, sample in enumerate(samples):
        for key, value in sample.metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                series.setdefault(key, [0.0] * len(samples))[index] = float(value)
    return labels, series


def send_command(session: Session, principal: Principal, device_id: str, name: str, args: dict[str, Any] | None,
                 *, ttl_minutes: int = 5, ip: str | None) -> DeviceCommand:
    device = device_in_scope(session, principal, device_id)
    principal.require(device.library_id, Level.CIRCULATE, "send_command")
    if name not in STAFF_COMMANDS:
        raise DeviceAdminError(f"command {name!r} cannot be sent from here")
    command = devices.issue_command(session, device_id, name, args, ttl=dt.timedelta(minutes=ttl_minutes),
                                    issued_by=principal.user_id)
    record(session, actor_kind="staff", actor_id=str(principal.user_id), action="device.command",
           target_type="device", target_id=device_id, library_id=device.library_id,
           details={"command": name, "command_id": command.command_id}, ip=ip)
    return command


def provision(session: Session, principal: Principal, *, device_id: str, kind: str, library_id: int, name: str,
              ) -> devices.Provisioned:
    """Create a device; the password in the result is shown once and never stored in clear."""
    principal.require(library_id, Level.ADMINISTER, "provision_device")
    library = session.get(Library, library_id)
    if library is None:
        raise DeviceAdminError(f"no library {library_id!r}")
    return devices.add_device(session, device_id.strip(), kind, library.isil, name=name.strip()[:255],
                              actor=str(principal.user_id))


def rotate(session: Session, principal: Principal, device_id: str) -> devices.Provisioned:
    device = device_in_scope(session, principal, device_id)
    principal.require(device.library_id, Level.ADMINISTER, "rotate_credentials")
    return devices.rotate_credentials(session, device_id, actor=str(principal.user_id))


@dataclass(frozen=True)
class AlarmRow:
    alarm: GateAlarm
    library_code: str
    title: str | None


def alarms_in_scope(session: Session, principal: Principal, *, open_only: bool = False, limit: int = 100
                    ) -> list[AlarmRow]:
    scope = principal.scope(Level.READ)
    stmt = (
        select(GateAlarm, Library.isil, BibRecord.title)
        .outerjoin(Library, Library.id == GateAlarm.library_id)
        .outerjoin(Item, Item.id == GateAlarm.item_id)
        .outerjoin(BibRecord, BibRecord.id == Item.record_id)
        .where(GateAlarm.library_id.in_(scope))
        .order_by(GateAlarm.occurred_at.desc(), GateAlarm.id.desc())
        .limit(limit)
    )
    if open_only:
        stmt = stmt.where(GateAlarm.acknowledged_at.is_(None))
    return [AlarmRow(alarm, code or "", title) for alarm, code, title in session.execute(stmt)]


def alarm_trend(session: Session, principal: Principal, days: int = 30, *, now: dt.datetime | None = None
                ) -> tuple[list[str], dict[str, list[float]]]:
    """Alarms per day and classification over the last ``days`` days (UTC+7 days)."""
    from server.reports.service import LOCAL, local_midnight

    now = now or utcnow()
    first = now.astimezone(LOCAL).date() - dt.timedelta(days=days - 1)
    labels = [(first + dt.timedelta(days=i)) for i in range(days)]
    rows = session.execute(
        select(GateAlarm.occurred_at, GateAlarm.classification)
        .where(GateAlarm.library_id.in_(principal.scope(Level.READ)), GateAlarm.occurred_at >= local_midnight(first))
    ).all()
    series: dict[str, list[float]] = {}
    for occurred, klass in rows:
        index = (occurred.astimezone(LOCAL).date() - first).days
        if 0 <= index < days:
            series.setdefault(str(klass), [0.0] * days)[index] += 1
    return [d.strftime("%d/%m") for d in labels], series


def acknowledge(session: Session, principal: Principal, alarm_id: int, note: str, *, ip: str | None) -> GateAlarm:
    alarm = session.get(GateAlarm, alarm_id)
    if alarm is None:
        raise DeviceAdminError(f"no alarm {alarm_id!r}")
    principal.require(alarm.library_id, Level.CIRCULATE, "acknowledge_alarm")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = utcnow()
        alarm.acknowledged_by = principal.user_id
        alarm.note = note.strip()[:1000] or None
        record(session, actor_kind="staff", actor_id=str(principal.user_id), action="alarm.acknowledged",
               target_type="alarm", target_id=alarm.id, library_id=alarm.library_id, ip=ip)
    return alarm


def open_alarm_count(session: Session, principal: Principal) -> int:
    return int(session.scalar(
        select(func.count(GateAlarm.id)).where(GateAlarm.library_id.in_(principal.scope(Level.READ)),
                                               GateAlarm.acknowledged_at.is_(None))
    ) or 0)
