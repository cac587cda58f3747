"""Outgoing mail, queued in the same transaction as whatever asked for it and delivered later."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class OutgoingMail(Base):
    """One message to one address; pending while ``sent_at`` is empty, retried at ``next_attempt_at``.

    ``event_id`` is the device event that asked for it (at most one mail per event); ``attempts`` counts
    delivery tries and ``last_error`` keeps the latest failure.
    """

    __tablename__ = "outgoing_mails"
    __table_args__ = (Index("ix_outgoing_mails_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
