"""Bibliographic records, their identifiers, holdings per library, item types and items."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, enum_column, utcnow


class BibRecord(Base):
    """One bibliographic record: the MARC21 record kept whole plus what search and display need.

    ``marc`` holds the record as ISO 2709 in UTF-8 (leader/09 = ``a``); ``title_folded``, ``authors_folded``,
    ``subjects_folded`` and ``search_text`` (the rest: publisher, standard numbers) are the folded
    (diacritic-free, casefolded) texts the search indexes are built over (SQLite: the FTS5 table ``bib_fts`` of
    the records not deleted, kept by triggers; PostgreSQL: a generated weighted ``tsvector`` column with a GIN
    index; migrations ``0004_catalog`` and ``0011_fts_live_records``).
    ``title_key`` is the duplicate-matching key, ``sort_key`` the Vietnamese alphabetical key
    (:mod:`server.catalog.sortkey`).
    ``updated_at`` is the OAI-PMH datestamp; a deleted record keeps its row with ``deleted_at`` set
    (persistent deletions).
    """

    __tablename__ = "bib_records"
    __table_args__ = (Index("ix_bib_records_updated_id", "updated_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    control_number: Mapped[str | None] = mapped_column(String(64), index=True)
    marc: Mapped[bytes] = mapped_column(LargeBinary)
    title: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[str] = mapped_column(Text, default="")
    subjects: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None] = mapped_column(index=True)
    language: Mapped[str | None] = mapped_column(String(3))
    search_text: Mapped[str] = mapped_column(Text, default="")
    title_folded: Mapped[str] = mapped_column(Text, default="")
    authors_folded: Mapped[str] = mapped_column(Text, default="")
    subjects_folded: Mapped[str] = mapped_column(Text, default="")
    title_key: Mapped[str] = mapped_column(String(255), default="", index=True)
    sort_key: Mapped[str] = mapped_column(String(255), default="", index=True)
    local_history: Mapped[bool] = mapped_column(default=False)
    digitised: Mapped[bool] = mapped_column(default=False)
    source_library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None]

    identifiers: Mapped[list[BibIdentifier]] = relationship(back_populates="record", cascade="all, delete-orphan")
    holdings: Mapped[list[Holding]] = relationship(back_populates="record")


class BibIdentifier(Base):
    """A normalised standard number of a record: ``isbn`` (ISBN-13), ``issn``, ``lccn``, ``oclc``..."""

    __tablename__ = "bib_identifiers"
    __table_args__ = (Index("ix_bib_identifiers_scheme_value", "scheme", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id", ondelete="CASCADE"), index=True)
    scheme: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))

    record: Mapped[BibRecord] = relationship(back_populates="identifiers")


class Holding(Base):
    """A library's holding of a record (call number, location); items hang off it."""

    __tablename__ = "holdings"
    __table_args__ = (UniqueConstraint("record_id", "library_id", "call_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id"), index=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    call_number: Mapped[str] = mapped_column(String(128), default="")

    record: Mapped[BibRecord] = relationship(back_populates="holdings")
    items: Mapped[list[Item]] = relationship(back_populates="holding")


class ItemType(Base):
    """A circulation class of items (book, periodical, audiovisual, reference...)."""

    __tablename__ = "item_types"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    circulates: Mapped[bool] = mapped_column(default=True)


class ItemStatus(StrEnum):
    AVAILABLE = "available"
    ON_LOAN = "on_loan"
    ON_HOLD_SHELF = "on_hold_shelf"
    IN_TRANSIT = "in_transit"
    LOST = "lost"
    CLAIMS_RETURNED = "claims_returned"
    MISSING = "missing"
    IN_PROCESSING = "in_processing"
    WITHDRAWN = "withdrawn"


class SecurityState(StrEnum):
    """What the item's tag was last set to: secured (alarms at the gate) or not."""

    SECURED = "secured"
    UNSECURED = "unsecured"
    UNKNOWN = "unknown"


class Item(Base):
    """A physical copy: barcode, owner, how many parts its set has, status and the security state last written.

    Its RFID tags (one per part) are :class:`ItemTag` rows.
    """

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id"), index=True)
    holding_id: Mapped[int | None] = mapped_column(ForeignKey("holdings.id"), index=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    item_type: Mapped[str] = mapped_column(ForeignKey("item_types.code"))
    status: Mapped[ItemStatus] = mapped_column(enum_column(ItemStatus), default=ItemStatus.AVAILABLE, index=True)
    owner_isil: Mapped[str | None] = mapped_column(String(32))
    set_parts_total: Mapped[int] = mapped_column(default=1)
    security_state: Mapped[SecurityState] = mapped_column(enum_column(SecurityState), default=SecurityState.UNKNOWN)
    security_written_at: Mapped[dt.datetime | None]
    flag_reason: Mapped[str | None] = mapped_column(Text)
    price_vnd: Mapped[int | None]
    properties: Mapped[str | None] = mapped_column(String(255))  # SIP2 CH "item properties", set by self-checks
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    holding: Mapped[Holding | None] = relationship(back_populates="items")
    record: Mapped[BibRecord] = relationship()
    tags: Mapped[list[ItemTag]] = relationship(back_populates="item", cascade="all, delete-orphan")


class ItemTag(Base):
    """An RFID tag on an item; a multi-part set (book + CD) has one tag per part, all with the item's id.

    ``uid`` is the tag's ISO 15693 UID as 16 upper-case hex digits, most significant byte first (E0...).
    """

    __tablename__ = "item_tags"
    __table_args__ = (UniqueConstraint("item_id", "part_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = mapped_column(String(16), unique=True)
    part_number: Mapped[int] = mapped_column(default=1)
    tag_format: Mapped[str] = mapped_column(String(16), default="iso28560-3")
    programmed_at: Mapped[dt.datetime | None]

    item: Mapped[Item] = relationship(back_populates="tags")
