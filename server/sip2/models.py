"""Per-account SIP2 settings, as the mature servers offer them, stored in the database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow

ALL_OPERATIONS = (
    "patron_status",
    "checkout",
    "checkin",
    "block_patron",
    "item_information",
    "item_status_update",
    "patron_enable",
    "hold",
    "renew",
    "renew_all",
    "fee_paid",
    "end_session",
)


class Sip2Account(Base):
    """A self-check machine's SIP2 login and how the server talks to it."""

    __tablename__ = "sip2_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    institution_id: Mapped[str] = mapped_column(String(64))
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"))
    terminal_location: Mapped[str] = mapped_column(String(64), default="")
    encoding: Mapped[str] = mapped_column(String(16), default="utf-8")
    terminator: Mapped[str] = mapped_column(String(4), default="\r")
    field_delimiter: Mapped[str] = mapped_column(String(1), default="|")
    error_detection: Mapped[bool] = mapped_column(default=True)
    allowed_operations: Mapped[list[Any]] = mapped_column(default=lambda: list(ALL_OPERATIONS))
    fees_block_checkout: Mapped[bool] = mapped_column(default=True)
    accept_offline: Mapped[bool] = mapped_column(default=True)
    hold_alerts: Mapped[bool] = mapped_column(default=True)
    sort_bins: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
