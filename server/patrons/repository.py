"""Queries over patrons: by card number, with their open loans, ready holds and unpaid fees."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.circulation.models import Fee, Loan
from server.patrons.models import Patron, PatronBlock, PatronCard


def by_card(session: Session, number: str, *, lock: bool = False) -> Patron | None:
    """The patron holding the active card ``number`` (``lock``: row lock until the transaction ends)."""
    stmt = select(Patron).join(PatronCard).where(PatronCard.number == number, PatronCard.active.is_(True))
    if lock:
        stmt = stmt.with_for_update(of=Patron, key_share=True)
    return session.scalar(stmt)


def primary_card(session: Session, patron_id: int) -> str:
    number = session.scalar(
        select(PatronCard.number)
        .where(PatronCard.patron_id == patron_id)
        .order_by(PatronCard.active.desc(), PatronCard.id)
        .limit(1)
    )
    return number or ""


def open_loans(session: Session, patron_id: int) -> Sequence[Loan]:
    return session.scalars(
        select(Loan).where(Loan.patron_id == patron_id, Loan.returned_at.is_(None)).order_by(Loan.due_at, Loan.id)
    ).all()


def open_loan_count(session: Session, patron_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Loan).where(Loan.patron_id == patron_id, Loan.returned_at.is_(None))
        )
        or 0
    )


def unpaid_fees(session: Session, patron_id: int) -> Sequence[Fee]:
    return session.scalars(
        select(Fee)
        .where(Fee.patron_id == patron_id, Fee.waived.is_(False), Fee.paid_vnd < Fee.amount_vnd)
        .order_by(Fee.created_at, Fee.id)
    ).all()


def owed_vnd(session: Session, patron_id: int) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Fee.amount_vnd - Fee.paid_vnd), 0)).where(
            Fee.patron_id == patron_id, Fee.waived.is_(False), Fee.paid_vnd < Fee.amount_vnd
        )
    )
    return int(total or 0)


def active_block_reasons(session: Session, patron_id: int) -> list[str]:
    return list(
        session.scalars(
            select(PatronBlock.reason)
            .where(PatronBlock.patron_id == patron_id, PatronBlock.lifted_at.is_(None))
            .order_by(PatronBlock.id)
        )
    )


def owed_and_open_loans(session: Session, patron_id: int) -> tuple[int, int]:
    """What the patron owes (đồng) and how many loans they have open, in one round trip."""
    owed = (
        select(func.coalesce(func.sum(Fee.amount_vnd - Fee.paid_vnd), 0))
        .where(Fee.patron_id == patron_id, Fee.waived.is_(False), Fee.paid_vnd < Fee.amount_vnd)
        .scalar_subquery()
    )
    count = (
        select(func.count())
        .select_from(Loan)
        .where(Loan.patron_id == patron_id, Loan.returned_at.is_(None))
        .scalar_subquery()
    )
    row = session.execute(select(owed, count)).one()
    return int(row[0] or 0), int(row[1] or 0)
