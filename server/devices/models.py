"""Device registry and everything devices report: events (idempotent by ``event_id``), telemetry samples,
commands sent to them, gate alarms and visitor counts."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, enum_column, utcnow


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    GATE = "gate"
    STATION = "station"


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


class Device(Base):
    """A kiosk, gate or staff station; ``device_id`` is also its MQTT username and topic level."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[DeviceKind] = mapped_column(enum_column(DeviceKind))
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    credential_hash: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[DeviceState] = mapped_column(enum_column(DeviceState), default=DeviceState.UNKNOWN)
    last_seen_at: Mapped[dt.datetime | None]
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reader_state: Mapped[str | None] = mapped_column(String(32))
    outbox_depth: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]


class EventStatus(StrEnum):
    APPLIED = "applied"
    QUARANTINED = "quarantined"


class DeviceEvent(Base):
    """An event a device sent, stored once by its ``event_id`` in the same transaction as its effects."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_device_time", "device_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]]
    status: Mapped[EventStatus] = mapped_column(enum_column(EventStatus), default=EventStatus.APPLIED)
    reason: Mapped[str | None] = mapped_column(Text)


class TelemetrySample(Base):
    __tablename__ = "telemetry_samples"
    __table_args__ = (Index("ix_telemetry_device_time", "device_id", "sampled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    sampled_at: Mapped[dt.datetime]
    metrics: Mapped[dict[str, Any]]


class CommandStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


class DeviceCommand(Base):
    """A command sent to a device (ping, reload-config, silence-alarm, encode-tag...) and its result."""

    __tablename__ = "device_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    command_id: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(32))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    status: Mapped[CommandStatus] = mapped_column(enum_column(CommandStatus), default=CommandStatus.PENDING)
    result: Mapped[dict[str, Any] | None]
    completed_at: Mapped[dt.datetime | None]


class AlarmClass(StrEnum):
    THEFT_ATTEMPT = "theft_attempt"
    SECURITY_WRITE_FAILED = "security_write_failed"
    UNKNOWN_TAG = "unknown_tag"


class GateAlarm(Base):
    """A gate alarm with the item it named and the server's classification of it."""

    __tablename__ = "gate_alarms"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    antenna: Mapped[int | None]
    tag_uid: Mapped[str | None] = mapped_column(String(16))
    item_barcode: Mapped[str | None] = mapped_column(String(64))
    owner_isil: Mapped[str | None] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    classification: Mapped[AlarmClass] = mapped_column(enum_column(AlarmClass))
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(Text)


class VisitorCount(Base):
    """Visitors in and out through one gate during one period."""

    __tablename__ = "visitor_counts"
    __table_args__ = (UniqueConstraint("device_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), index=True)
    period_start: Mapped[dt.datetime] = mapped_column(index=True)
    period_end: Mapped[dt.datetime]
    count_in: Mapped[int] = mapped_column(default=0)
    count_out: Mapped[int] = mapped_column(default=0)
