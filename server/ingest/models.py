"""Broker accounts that are not devices: library-scoped accounts (a library's monitoring station, a branch
broker's bridge), confined by the generated ACL to the topics of the devices registered to their library."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, enum_column, utcnow


class AccountAccess(StrEnum):
    READ = "read"  # reads every topic of its library's devices (monitoring)
    BRIDGE = "bridge"  # reads and writes them, plus its bridge notifications (a branch broker's bridge)


class MqttAccount(Base):
    """A library account; ``username`` is its MQTT username (never a device id)."""

    __tablename__ = "mqtt_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    access: Mapped[AccountAccess] = mapped_column(enum_column(AccountAccess))
    credential_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]
