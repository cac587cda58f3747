"""Patrons, patron categories, cards (several per patron) and staff blocks.

Only what circulation needs is stored (Vietnam's Personal Data Protection Law 91/2025/QH15): a name,
contact for notices and receipts, home library, category and card expiry.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, enum_column, utcnow


class PatronCategory(Base):
    """A class of patron the loan policies distinguish (adult, child, student, staff...)."""

    __tablename__ = "patron_categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))


class Patron(Base):
    """A registered library user. ``erased_at`` marks a patron whose personal data was erased on request."""

    __tablename__ = "patrons"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    home_library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("patron_categories.code"))
    expires_on: Mapped[dt.date]
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    pin_failed_attempts: Mapped[int] = mapped_column(default=0)
    pin_locked_until: Mapped[dt.datetime | None]
    keep_history: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    erased_at: Mapped[dt.datetime | None]

    cards: Mapped[list[PatronCard]] = relationship(back_populates="patron", cascade="all, delete-orphan")
    blocks: Mapped[list[PatronBlock]] = relationship(back_populates="patron", cascade="all, delete-orphan")


class CardKind(StrEnum):
    BARCODE = "barcode"
    RFID_UID = "rfid_uid"
    CITIZEN_ID = "citizen_id"


class PatronCard(Base):
    """A card number a patron identifies with (library barcode card, RFID card UID, chip ID card)."""

    __tablename__ = "patron_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[CardKind] = mapped_column(enum_column(CardKind), default=CardKind.BARCODE)
    active: Mapped[bool] = mapped_column(default=True)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    patron: Mapped[Patron] = relationship(back_populates="cards")


class PatronBlock(Base):
    """A block placed by staff (or by a rule), with a reason the patron can understand."""

    __tablename__ = "patron_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="staff")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    lifted_at: Mapped[dt.datetime | None]

    patron: Mapped[Patron] = relationship(back_populates="blocks")
