"""Harvest sources, the original records members sent (never destroyed) and merge decisions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class HarvestSource(Base):
    """Another library's OAI-PMH provider, harvested incrementally from ``last_datestamp``."""

    __tablename__ = "harvest_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    base_url: Mapped[str] = mapped_column(String(512))
    metadata_prefix: Mapped[str] = mapped_column(String(32), default="marc21")
    set_spec: Mapped[str | None] = mapped_column(String(128))
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"))
    last_datestamp: Mapped[str | None] = mapped_column(String(32))
    last_run_at: Mapped[dt.datetime | None]


class SourceRecord(Base):
    """A member's original record as harvested or imported, linked to the shared record it was matched to."""

    __tablename__ = "source_records"
    __table_args__ = (UniqueConstraint("source_id", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_sources.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(255))
    datestamp: Mapped[str | None] = mapped_column(String(32))
    marc: Mapped[bytes | None] = mapped_column(LargeBinary)
    deleted: Mapped[bool] = mapped_column(default=False)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("bib_records.id"), index=True)
    harvested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RecordMerge(Base):
    """A duplicate match a cataloguer may review: ``merged`` source record attached to ``kept`` record."""

    __tablename__ = "record_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id"), index=True)
    source_record_id: Mapped[int] = mapped_column(ForeignKey("source_records.id"))
    match_key: Mapped[str] = mapped_column(String(32))
    score: Mapped[float]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[dt.datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    undone_at: Mapped[dt.datetime | None]
