"""Loan policy rules as pure functions (no database): which policy applies, due dates, fines, blocks.

A policy row names a library, a patron category and an item type; ``None`` in any of them means "any".
The policy that applies is the most specific match: the one naming the most of the three, ties broken
library > patron category > item type. With no matching row the built-in defaults apply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Policy:
    """The rules one loan is made under (a snapshot of a ``LoanPolicy`` row, or the defaults)."""

    library_id: int | None = None
    patron_category: str | None = None
    item_type: str | None = None
    loan_days: int = 14
    renewals_allowed: int = 2
    max_items: int = 5
    fine_per_day_vnd: int = 1000
    max_fine_vnd: int | None = None
    hold_shelf_days: int = 7
    fee_block_threshold_vnd: int = 50000

    def matches(self, library_id: int | None, patron_category: str | None, item_type: str | None) -> bool:
        return (
            (self.library_id is None or self.library_id == library_id)
            and (self.patron_category is None or self.patron_category == patron_category)
            and (self.item_type is None or self.item_type == item_type)
        )

    @property
    def specificity(self) -> tuple[int, bool, bool, bool]:
        named = (self.library_id is not None, self.patron_category is not None, self.item_type is not None)
        return (sum(named), *named)


DEFAULT_POLICY = Policy()


def resolve_policy(
    policies: Iterable[Policy], library_id: int | None, patron_category: str | None, item_type: str | None
) -> Policy:
    """The most specific policy matching the three keys (see the module docstring)."""
    best: Policy | None = None
    for policy in policies:
        if policy.matches(library_id, patron_category, item_type) and (
            best is None or policy.specificity > best.specificity
        ):
            best = policy
    return best if best is not None else DEFAULT_POLICY


def end_of_local_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """23:59:59 local time on ``day``, as an aware UTC datetime (loans fall due at closing of the day)."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone).astimezone(dt.UTC)


def local_date(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def due_date(
    start: dt.datetime, loan_days: int, zone: ZoneInfo, next_opening_day: Callable[[dt.date], dt.date]
) -> dt.datetime:
    """Due at the end of the local day ``loan_days`` after ``start``, moved to the next opening day."""
    if loan_days < 0:
        raise ValueError(f"loan period must not be negative: {loan_days!r}")
    day = next_opening_day(local_date(start, zone) + dt.timedelta(days=loan_days))
    return end_of_local_day(day, zone)


def days_overdue(due_at: dt.datetime, returned_at: dt.datetime, zone: ZoneInfo) -> int:
    """Whole local days between the due day and the return day (0 when on time)."""
    return max(0, (local_date(returned_at, zone) - local_date(due_at, zone)).days)


def overdue_fine(days_late: int, fine_per_day_vnd: int, max_fine_vnd: int | None) -> int:
    """The fine in đồng for ``days_late`` days; never negative, never above the cap."""
    if days_late <= 0 or fine_per_day_vnd <= 0:
        return 0
    fine = days_late * fine_per_day_vnd
    return min(fine, max_fine_vnd) if max_fine_vnd is not None else fine


def can_renew(renewals_done: int, renewals_allowed: int, others_waiting: bool) -> bool:
    return renewals_done < renewals_allowed and not others_waiting


# Block codes, each with the sentence shown to the patron (kiosk screen, SIP2 AF, staff web).
BLOCK_CARD_EXPIRED = "card_expired"
BLOCK_STAFF = "staff_block"
BLOCK_FEES = "fees_over_limit"
BLOCK_TOO_MANY_ITEMS = "too_many_items"
BLOCK_PIN_LOCKED = "pin_locked"
BLOCK_ERASED = "patron_erased"

BLOCK_MESSAGES = {
    BLOCK_CARD_EXPIRED: "Thẻ đã hết hạn — vui lòng gia hạn thẻ tại quầy / "
    "Your card has expired — please renew it at the desk",
    BLOCK_FEES: "Bạn còn nợ {owed} đồng, vượt mức {limit} đồng — vui lòng thanh toán / "
    "You owe {owed} VND, over the {limit} VND limit — please pay first",
    BLOCK_TOO_MANY_ITEMS: "Bạn đã mượn tối đa {limit} tài liệu / You already have the maximum of {limit} items",
    BLOCK_PIN_LOCKED: "Nhập sai mã PIN quá nhiều lần — thử lại sau / Too many wrong PINs — try again later",
    BLOCK_ERASED: "Thẻ không còn hiệu lực / This card is no longer valid",
}


@dataclass(frozen=True)
class Block:
    """Why a patron may not borrow: a stable code and a sentence the patron can understand."""

    code: str
    reason: str

    @property
    def denies_renewal(self) -> bool:
        return self.code != BLOCK_TOO_MANY_ITEMS


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def patron_blocks(
    *,
    today: dt.date,
    expires_on: dt.date,
    staff_reasons: Iterable[str],
    owed_vnd: int,
    fee_limit_vnd: int,
    open_loans: int,
    max_items: int,
    pin_locked: bool = False,
    erased: bool = False,
    fees_block: bool = True,
) -> tuple[Block, ...]:
    """Every block that applies now, most serious first (an empty tuple: the patron may borrow)."""
    blocks: list[Block] = []
    if erased:
        blocks.append(Block(BLOCK_ERASED, BLOCK_MESSAGES[BLOCK_ERASED]))
    blocks.extend(Block(BLOCK_STAFF, reason) for reason in staff_reasons)
    if expires_on < today:
        blocks.append(Block(BLOCK_CARD_EXPIRED, BLOCK_MESSAGES[BLOCK_CARD_EXPIRED]))
    if pin_locked:
        blocks.append(Block(BLOCK_PIN_LOCKED, BLOCK_MESSAGES[BLOCK_PIN_LOCKED]))
    if fees_block and owed_vnd > fee_limit_vnd:
        message = BLOCK_MESSAGES[BLOCK_FEES].format(owed=_money(owed_vnd), limit=_money(fee_limit_vnd))
        blocks.append(Block(BLOCK_FEES, message))
    if open_loans >= max_items:
        blocks.append(Block(BLOCK_TOO_MANY_ITEMS, BLOCK_MESSAGES[BLOCK_TOO_MANY_ITEMS].format(limit=max_items)))
    return tuple(blocks)
