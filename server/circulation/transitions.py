"""The loan lifecycle as a declarative transition table, with a permission and hooks per transition.

===============  =============================  ===============  =============  ===================================
transition       from (loan state)              to               channels       hooks, in order
===============  =============================  ===============  =============  ===================================
checkout         (no loan)                      active           desk, api      open_loan, fulfil_hold
self_checkout    (no loan)                      active           sip2, kiosk    open_loan, fulfil_hold
checkin          active, lost, claims_returned  returned         every channel  close_loan, accrue_fine, route_item
renew            active                         active           every channel  extend_due
mark_lost        active, claims_returned        lost             desk, api      charge_replacement
claims_returned  active, lost                   claims_returned  desk, api      flag_claim
===============  =============================  ===============  =============  ===================================

A channel outside a transition's set gets :class:`OperationNotPermitted`; a loan in a state outside
``from`` gets :class:`TransitionNotAllowed`. Hooks hold the rules (due dates on the library calendar,
fines on return, hold trapping and transit routing); the service decides *whether* to act (blocks,
item availability) and calls :func:`apply` inside its one database transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.models import Item, ItemStatus
from server.circulation import policies
from server.circulation.errors import OperationNotPermitted, TransitionNotAllowed
from server.circulation.models import Fee, FeeKind, Hold, HoldState, Loan, LoanState, Renewal, still_wanted
from server.libraries.repository import next_opening_day
from server.patrons.models import Patron

log = logging.getLogger(__name__)

STAFF_CHANNELS = frozenset({"desk", "api"})
SELF_SERVICE_CHANNELS = frozenset({"sip2", "kiosk"})
ALL_CHANNELS = STAFF_CHANNELS | SELF_SERVICE_CHANNELS

DEFAULT_REPLACEMENT_FEE_VND = 100_000

# What checkin tells the returning station to do with the item.
ROUTE_SHELF = "shelf"
ROUTE_HOLD_HERE = "hold_here"
ROUTE_HOLD_OTHER_BRANCH = "hold_other_branch"
ROUTE_TRANSIT = "transit"


@dataclass
class LoanContext:
    """Everything a transition's hooks read and write; ``outcome`` collects what the caller reports."""

    session: Session
    item: Item
    policy: policies.Policy
    now: dt.datetime
    zone: ZoneInfo
    channel: str
    library_id: int
    patron: Patron | None = None
    loan: Loan | None = None
    terminal: str | None = None
    due_at: dt.datetime | None = None
    offline: bool = False
    held: bool = True  # False: nobody holds the item's title, so the hold hooks need not look
    outcome: dict[str, object] = field(default_factory=dict)
    calendar: Callable[[Session, int, dt.date], dt.date] = next_opening_day

    def next_opening(self, day: dt.date) -> dt.date:
        """The first day on or after ``day`` the item's library opens."""
        return self.calendar(self.session, self.item.library_id, day)


Hook = Callable[[LoanContext], None]


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[LoanState | None]
    target: LoanState
    channels: frozenset[str]
    hooks: tuple[Hook, ...]


def open_loan(ctx: LoanContext) -> None:
    patron = ctx.patron
    if patron is None:
        raise TransitionNotAllowed(detail="a loan needs a patron")
    due = ctx.due_at or policies.due_date(ctx.now, ctx.policy.loan_days, ctx.zone, ctx.next_opening)
    loan = Loan(
        item_id=ctx.item.id,
        patron_id=patron.id,
        patron_category=patron.category_code,
        patron_home_library_id=patron.home_library_id,
        library_id=ctx.library_id,
        checked_out_at=ctx.now,
        due_at=due,
        channel=ctx.channel,
        terminal=ctx.terminal,
        offline=ctx.offline,
    )
    ctx.session.add(loan)
    ctx.loan = loan
    ctx.item.status = ItemStatus.ON_LOAN


def fulfil_hold(ctx: LoanContext) -> None:
    """A patron borrowing what they requested closes their hold."""
    assert ctx.patron is not None
    if not ctx.held:
        return
    hold = ctx.session.scalar(
        select(Hold)
        .where(
            Hold.patron_id == ctx.patron.id,
            Hold.record_id == ctx.item.record_id,
            Hold.state.in_((HoldState.WAITING, HoldState.READY, HoldState.IN_TRANSIT)),
        )
        .order_by(Hold.placed_at, Hold.id)
        .limit(1)
    )
    if hold is not None:
        hold.state = HoldState.FULFILLED
        hold.closed_at = ctx.now
        hold.item_id = ctx.item.id
        ctx.outcome["hold_fulfilled"] = hold.id


def close_loan(ctx: LoanContext) -> None:
    assert ctx.loan is not None
    ctx.loan.returned_at = ctx.now
    ctx.loan.returned_library_id = ctx.library_id


def accrue_fine(ctx: LoanContext) -> None:
    loan = ctx.loan
    assert loan is not None
    if loan.state is not LoanState.ACTIVE:
        return  # lost or claimed: settled by staff, not by the overdue clock
    late = policies.days_overdue(loan.due_at, ctx.now, ctx.zone)
    amount = policies.overdue_fine(late, ctx.policy.fine_per_day_vnd, ctx.policy.max_fine_vnd)
    ctx.outcome["fine_vnd"] = amount
    if amount and loan.patron_id is not None:
        ctx.session.add(
            Fee(
                patron_id=loan.patron_id,
                loan_id=loan.id,
                library_id=loan.library_id,
                kind=FeeKind.OVERDUE,
                amount_vnd=amount,
                description=f"Phạt quá hạn {late} ngày / Overdue {late} days: {ctx.item.barcode}",
                created_at=ctx.now,
            )
        )


def route_item(ctx: LoanContext) -> None:
    """Send the returned item to the hold shelf, to another branch, or back to its shelf."""
    route_returned_item(ctx)


def _wanted_by(session: Session, item: Item, now: dt.datetime) -> Hold | None:
    """The hold the returned item goes to: one already sending this copy, else the oldest waiting one still
    wanted at ``now``. Row-locked, so a concurrent change or cancellation of it waits or is seen."""
    in_transit = session.scalar(
        select(Hold)
        .where(Hold.item_id == item.id, Hold.state == HoldState.IN_TRANSIT)
        .limit(1)
        .with_for_update(key_share=True)
    )
    return in_transit or session.scalar(
        select(Hold)
        .where(
            Hold.record_id == item.record_id,
            Hold.state == HoldState.WAITING,
            (Hold.item_id.is_(None)) | (Hold.item_id == item.id),
            still_wanted(now),
        )
        .order_by(Hold.placed_at, Hold.id)
        .limit(1)
        .with_for_update(key_share=True)
    )


def route_returned_item(ctx: LoanContext) -> None:
    item, session = ctx.item, ctx.session
    hold = _wanted_by(session, item, ctx.now) if ctx.held else None
    if hold is not None:
        hold.item_id = item.id
        ctx.outcome["hold_id"] = hold.id
        if hold.pickup_library_id == ctx.library_id:
            hold.state = HoldState.READY
            hold.trapped_at = ctx.now
            shelf_day = policies.local_date(ctx.now, ctx.zone) + dt.timedelta(days=ctx.policy.hold_shelf_days)
            hold.expires_at = policies.end_of_local_day(
                ctx.calendar(session, hold.pickup_library_id, shelf_day), ctx.zone
            )
            item.status = ItemStatus.ON_HOLD_SHELF
            ctx.outcome["route"] = ROUTE_HOLD_HERE
        else:
            hold.state = HoldState.IN_TRANSIT
            item.status = ItemStatus.IN_TRANSIT
            ctx.outcome["route"] = ROUTE_HOLD_OTHER_BRANCH
        ctx.outcome["destination_library_id"] = hold.pickup_library_id
        return
    if item.library_id != ctx.library_id:
        item.status = ItemStatus.IN_TRANSIT
        ctx.outcome["route"] = ROUTE_TRANSIT
        ctx.outcome["destination_library_id"] = item.library_id
        return
    item.status = ItemStatus.AVAILABLE
    ctx.outcome["route"] = ROUTE_SHELF


def extend_due(ctx: LoanContext) -> None:
    loan = ctx.loan
    assert loan is not None
    new_due = ctx.due_at or policies.due_date(ctx.now, ctx.policy.loan_days, ctx.zone, ctx.next_opening)
    new_due = max(new_due, loan.due_at)
    ctx.session.add(
        Renewal(
            loan_id=loan.id, renewed_at=ctx.now, previous_due_at=loan.due_at, new_due_at=new_due, channel=ctx.channel
        )
    )
    loan.due_at = new_due
    loan.renewals += 1


def charge_replacement(ctx: LoanContext) -> None:
    loan = ctx.loan
    assert loan is not None
    ctx.item.status = ItemStatus.LOST
    amount = ctx.item.price_vnd or DEFAULT_REPLACEMENT_FEE_VND
    if loan.patron_id is not None:
        ctx.session.add(
            Fee(
                patron_id=loan.patron_id,
                loan_id=loan.id,
                library_id=loan.library_id,
                kind=FeeKind.LOST,
                amount_vnd=amount,
                description=f"Bồi thường tài liệu mất / Lost item: {ctx.item.barcode}",
                created_at=ctx.now,
            )
        )
    ctx.outcome["fee_vnd"] = amount


def flag_claim(ctx: LoanContext) -> None:
    loan = ctx.loan
    assert loan is not None
    ctx.item.status = ItemStatus.CLAIMS_RETURNED
    loan.review_reason = "bạn đọc báo đã trả / patron claims to have returned it"


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition("checkout", frozenset({None}), LoanState.ACTIVE, STAFF_CHANNELS, (open_loan, fulfil_hold)),
        Transition(
            "self_checkout", frozenset({None}), LoanState.ACTIVE, SELF_SERVICE_CHANNELS, (open_loan, fulfil_hold)
        ),
        Transition(
            "checkin",
            frozenset({LoanState.ACTIVE, LoanState.LOST, LoanState.CLAIMS_RETURNED}),
            LoanState.RETURNED,
            ALL_CHANNELS,
            (close_loan, accrue_fine, route_item),
        ),
        Transition("renew", frozenset({LoanState.ACTIVE}), LoanState.ACTIVE, ALL_CHANNELS, (extend_due,)),
        Transition(
            "mark_lost",
            frozenset({LoanState.ACTIVE, LoanState.CLAIMS_RETURNED}),
            LoanState.LOST,
            STAFF_CHANNELS,
            (charge_replacement,),
        ),
        Transition(
            "claims_returned",
            frozenset({LoanState.ACTIVE, LoanState.LOST}),
            LoanState.CLAIMS_RETURNED,
            STAFF_CHANNELS,
            (flag_claim,),
        ),
    )
}


def permitted(name: str, channel: str) -> bool:
    return channel in TRANSITIONS[name].channels


def apply(name: str, ctx: LoanContext) -> Loan:
    """Run transition ``name`` on ``ctx.loan`` (``None`` for a new loan); returns the loan afterwards."""
    transition = TRANSITIONS[name]
    if ctx.channel not in transition.channels:
        raise OperationNotPermitted(detail=f"{name} via {ctx.channel}")
    current = ctx.loan.state if ctx.loan is not None else None
    if current not in transition.sources:
        raise TransitionNotAllowed(detail=f"{name} from {current}")
    for hook in transition.hooks:
        hook(ctx)
    assert ctx.loan is not None
    ctx.loan.state = transition.target
    log.debug("loan %s: %s -> %s (%s)", ctx.loan.id, current, transition.target, name)
    return ctx.loan
