"""Loan policies, loans, renewals, holds, fees, payments and client transaction keys.

Money is integer Vietnamese đồng (VND has no minor unit). A loan keeps the patron's category and home
library so that statistics survive when the patron link is removed for privacy (``patron_id`` NULL).
At most one open loan per item is enforced by a partial unique index, so two kiosks can never lend the
same copy even if their transactions race.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, or_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, enum_column, utcnow


class LoanPolicy(Base):
    """Rules for a patron category × item type × library; NULL in a key column means "any"."""

    __tablename__ = "loan_policies"
    __table_args__ = (UniqueConstraint("library_id", "patron_category", "item_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"))
    patron_category: Mapped[str | None] = mapped_column(ForeignKey("patron_categories.code"))
    item_type: Mapped[str | None] = mapped_column(ForeignKey("item_types.code"))
    loan_days: Mapped[int] = mapped_column(default=14)
    renewals_allowed: Mapped[int] = mapped_column(default=2)
    max_items: Mapped[int] = mapped_column(default=5)
    fine_per_day_vnd: Mapped[int] = mapped_column(default=1000)
    max_fine_vnd: Mapped[int | None]
    hold_shelf_days: Mapped[int] = mapped_column(default=7)
    fee_block_threshold_vnd: Mapped[int] = mapped_column(default=50000)


class LoanState(StrEnum):
    ACTIVE = "active"
    RETURNED = "returned"
    LOST = "lost"
    CLAIMS_RETURNED = "claims_returned"


OPEN_LOAN_STATES = (LoanState.ACTIVE, LoanState.LOST, LoanState.CLAIMS_RETURNED)


class Loan(Base):
    """A loan of one item; ``returned_at`` is set on checkin. ``channel`` says where it was made."""

    __tablename__ = "loans"
    __table_args__ = (
        Index(
            "uq_loans_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("ix_loans_patron_open", "patron_id", "returned_at"),
        Index("ix_loans_checked_out", "checked_out_at"),
        Index("ix_loans_returned_at", "returned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))
    patron_category: Mapped[str] = mapped_column(String(32))
    patron_home_library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"))
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"), index=True)
    state: Mapped[LoanState] = mapped_column(enum_column(LoanState), default=LoanState.ACTIVE)
    checked_out_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime]
    returned_at: Mapped[dt.datetime | None]
    returned_library_id: Mapped[int | None] = mapped_column(ForeignKey("libraries.id"))
    renewals: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(String(16), default="desk")
    terminal: Mapped[str | None] = mapped_column(String(64))
    offline: Mapped[bool] = mapped_column(default=False)
    review_reason: Mapped[str | None] = mapped_column(Text)
    anonymised_at: Mapped[dt.datetime | None]

    renewal_log: Mapped[list[Renewal]] = relationship(back_populates="loan", cascade="all, delete-orphan")


class Renewal(Base):
    __tablename__ = "renewals"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), index=True)
    renewed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    previous_due_at: Mapped[dt.datetime]
    new_due_at: Mapped[dt.datetime]
    channel: Mapped[str] = mapped_column(String(16), default="desk")

    loan: Mapped[Loan] = relationship(back_populates="renewal_log")


class HoldState(StrEnum):
    WAITING = "waiting"
    IN_TRANSIT = "in_transit"
    READY = "ready"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Hold(Base):
    """A patron's request for a title (or a specific item), trapped on return and kept on the hold shelf.

    ``expires_at`` is when the hold lapses: while waiting, the date the patron no longer wants it after (may
    be unset; see :func:`still_wanted`); once trapped, the last day it is kept on the hold shelf.
    """

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_record_state", "record_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("bib_records.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    pickup_library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"))
    state: Mapped[HoldState] = mapped_column(enum_column(HoldState), default=HoldState.WAITING)
    placed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    trapped_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]


def still_wanted(now: dt.datetime) -> ColumnElement[bool]:
    """Condition on waiting holds: the patron still wants the title at ``now`` (no date, or not yet past it)."""
    return or_(Hold.expires_at.is_(None), Hold.expires_at > now)


class FeeKind(StrEnum):
    OVERDUE = "overdue"
    LOST = "lost"
    DAMAGE = "damage"
    CARD = "card"
    OTHER = "other"


class Fee(Base):
    """An amount a patron owes, in đồng; ``paid_vnd`` grows with payments, ``waived`` closes it."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id"))
    kind: Mapped[FeeKind] = mapped_column(enum_column(FeeKind))
    amount_vnd: Mapped[int]
    paid_vnd: Mapped[int] = mapped_column(default=0)
    waived: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patron_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    fee_id: Mapped[int | None] = mapped_column(ForeignKey("fees.id"))
    amount_vnd: Mapped[int]
    method: Mapped[str] = mapped_column(String(16), default="cash")
    reference: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ClientTransaction(Base):
    """The stored answer to an operation keyed by a client's transaction key (idempotent retries)."""

    __tablename__ = "client_transactions"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))
    response: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
