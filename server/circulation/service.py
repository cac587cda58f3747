"""The circulation service: lending, returning, renewing, holds, fees and patron status.

Every operation is one database transaction (``Database.write()``: ``BEGIN IMMEDIATE`` on SQLite, row locks
``FOR NO KEY UPDATE`` on the item and the patron on PostgreSQL; the partial unique index
``uq_loans_open_item`` is the last guard), so two kiosks can never lend the same copy. Operations that change
something accept a client transaction ``key``: a retried call with the same key returns the stored result
instead of acting twice, as long as the loan it made is still the current state of the item.

The lifecycle rules are in :mod:`server.circulation.transitions`, the policy arithmetic in
:mod:`server.circulation.policies`; this module decides whether to act and raises the errors of
:mod:`server.circulation.errors`. Callers (SIP2, REST, staff web) map those to their own presentation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from server.audit.service import record as audit
from server.catalog.models import BibRecord, Holding, Item, ItemStatus
from server.circulation import policies
from server.circulation import transitions as tr
from server.circulation.errors import (
    CirculationError,
    FeeNotFound,
    HoldNotFound,
    HoldRefused,
    InvalidPin,
    ItemAlreadyOnLoan,
    ItemNotFound,
    ItemNotLoanable,
    ItemOnHoldForAnother,
    LoanNotFound,
    PatronBlocked,
    PatronNotFound,
    PaymentRefused,
    RenewalRefused,
)
from server.circulation.models import (
    ClientTransaction,
    Fee,
    Hold,
    HoldState,
    Loan,
    LoanState,
    Payment,
    still_wanted,
)
from server.circulation.reference import ReferenceCache
from server.circulation.results import (
    CheckinResult,
    CheckoutResult,
    FeeInfo,
    HoldInfo,
    HoldResult,
    HoldTrap,
    ItemInformation,
    ItemPropertiesChange,
    ItemSummary,
    LoanChange,
    LoanInfo,
    PatronStatus,
    PaymentResult,
    RenewAllResult,
    RenewFailure,
    RenewResult,
    from_json,
    to_json,
)
from server.db import Database, utcnow
from server.libraries.models import Library, Location
from server.patrons import repository as patrons
from server.patrons.models import Patron, PatronBlock
from server.security import verify_secret
from server.settings import ServerSettings

log = logging.getLogger(__name__)

R = TypeVar("R")

ACTIVE_HOLD_STATES = (HoldState.WAITING, HoldState.IN_TRANSIT, HoldState.READY)
UNLOANABLE_STATUSES = (ItemStatus.LOST, ItemStatus.MISSING, ItemStatus.WITHDRAWN, ItemStatus.IN_PROCESSING)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class _Described:
    """What an operation shows of an item besides its own row, and whether anyone holds its title."""

    title: str
    location: str | None
    call_number: str | None
    held: bool


_SQLITE_WRITERS: weakref.WeakKeyDictionary[Database, threading.Lock] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS_GUARD = threading.Lock()


# The hot path's statements, built once (building them costs more CPU than PostgreSQL spends running them).
_STORED = select(ClientTransaction.operation, ClientTransaction.response).where(
    ClientTransaction.key == bindparam("key")
)
_FORGET = delete(ClientTransaction).where(ClientTransaction.key == bindparam("key"))
_REMEMBER = insert(ClientTransaction)
_LEND_ITEM = (
    select(
        Item,
        BibRecord.title,
        Location.name,
        Holding.call_number,
        select(Hold.id)
        .where(Hold.record_id == Item.record_id, Hold.state.in_(ACTIVE_HOLD_STATES))
        .exists()
        .label("held"),
    )
    .join(BibRecord, BibRecord.id == Item.record_id)
    .outerjoin(Location, Location.id == Item.location_id)
    .outerjoin(Holding, Holding.id == Item.holding_id)
    .where(Item.barcode == bindparam("barcode"))
    .with_for_update(of=Item, key_share=True)
)
_OPEN_LOAN = select(Loan).where(Loan.item_id == bindparam("item_id"), Loan.returned_at.is_(None))
_STANDING = select(
    select(func.coalesce(func.sum(Fee.amount_vnd - Fee.paid_vnd), 0))
    .where(Fee.patron_id == bindparam("patron_id"), Fee.waived.is_(False), Fee.paid_vnd < Fee.amount_vnd)
    .scalar_subquery(),
    select(func.count())
    .select_from(Loan)
    .where(Loan.patron_id == bindparam("patron_id"), Loan.returned_at.is_(None))
    .scalar_subquery(),
    select(PatronBlock.id)
    .where(PatronBlock.patron_id == bindparam("patron_id"), PatronBlock.lifted_at.is_(None))
    .exists(),
)


def _standing(session: Session, patron_id: int) -> tuple[int, int, bool]:
    """What the patron owes (đồng), how many loans they have open and whether a block stands: one round trip.

    Read after the patron's row lock is granted, so a concurrent loan or fee of theirs is counted.
    """
    row = session.execute(_STANDING, {"patron_id": patron_id}).one()
    return int(row[0] or 0), int(row[1] or 0), bool(row[2])


def _hold_settings(hold: Hold) -> dict[str, object]:
    """What :meth:`CirculationService.change_hold` may change, as the audit log records it."""
    expires = hold.expires_at.isoformat() if hold.expires_at is not None else None
    return {"pickup_library_id": hold.pickup_library_id, "expires_at": expires, "item_id": hold.item_id}


def _sqlite_writer(db: Database) -> threading.Lock:
    """One writer lock per SQLite database object, shared by every service instance in the process."""
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.get(db)
        if lock is None:
            lock = _SQLITE_WRITERS[db] = threading.Lock()
        return lock


class CirculationService:
    """Circulation operations on one database; ``clock`` returns aware UTC datetimes (injected in tests)."""

    def __init__(self, db: Database, settings: ServerSettings, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock or utcnow
        self.zone = ZoneInfo(settings.timezone)
        self.reference = ReferenceCache()
        # SQLite has one writer: queueing writers here is fairer and faster than its busy-wait back-off.
        self._sqlite_writer = _sqlite_writer(db) if db.dialect == "sqlite" else None

    # -- transaction plumbing ------------------------------------------------------------------------

    def _transact(
        self,
        operation: str,
        key: str | None,
        result_type: type[R],
        body: Callable[[Session], R],
        still_valid: Callable[[Session, R], bool] | None = None,
    ) -> R:
        """Run ``body`` in one write transaction, retrying on deadlocks and races; replay by ``key``."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._writer(), self.db.write() as session:
                    if key is not None:
                        stored = session.execute(_STORED, {"key": key}).first()
                        if stored is not None:
                            previous = from_json(result_type, stored.response)
                            if stored.operation == operation and (
                                still_valid is None or still_valid(session, previous)
                            ):
                                log.info("%s replayed for client transaction %s", operation, key)
                                return previous
                            session.execute(_FORGET, {"key": key})
                    result = body(session)
                    if key is not None:
                        # Core, not the unit of work: nothing reads the row back in this transaction.
                        session.connection().execute(
                            _REMEMBER,
                            {
                                "key": key,
                                "operation": operation,
                                "response": to_json(result),
                                "created_at": self.clock(),
                            },
                        )
                    return result
            except IntegrityError as exc:
                if attempt == MAX_ATTEMPTS - 1:
                    if "uq_loans_open_item" in str(exc.orig):
                        raise ItemAlreadyOnLoan() from exc
                    raise
                log.info("%s raced another transaction (%s); retrying", operation, type(exc.orig).__name__)
            except OperationalError as exc:
                text = str(exc.orig).lower()
                retriable = "deadlock" in text or "could not serialize" in text or "locked" in text
                if not retriable or attempt == MAX_ATTEMPTS - 1:
                    raise
                log.info("%s hit %s; retrying", operation, text.splitlines()[0] if text else "a lock")
        raise AssertionError("unreachable")

    def _writer(self) -> contextlib.AbstractContextManager[object]:
        return self._sqlite_writer if self._sqlite_writer is not None else contextlib.nullcontext()

    # -- look-ups --------------------------------------------------------------------------------------

    def _item(self, session: Session, barcode: str, *, lock: bool = False) -> Item:
        stmt = select(Item).where(Item.barcode == barcode.strip())
        if lock:
            stmt = stmt.with_for_update(key_share=True)
        item = session.scalar(stmt)
        if item is None:
            raise ItemNotFound(detail=barcode)
        return item

    def _lend_item(self, session: Session, barcode: str) -> tuple[Item, _Described]:
        """The item, row-locked, with what the caller shows of it and whether its title has active holds.

        One round trip instead of three. The holds flag only lets the hooks skip their hold queries when
        nobody wants the title; holds are not serialised by the item lock, so this reads them no earlier
        than before. The open loan is *not* joined here: it is read after the lock is granted
        (:meth:`_open_loan`), since a row joined in a locking statement may predate a writer it waited for.
        """
        row = session.execute(_LEND_ITEM, {"barcode": barcode.strip()}).one_or_none()
        if row is None:
            raise ItemNotFound(detail=barcode)
        item, title, location, call_number, is_held = row
        return item, _Described(title, location, call_number, held=bool(is_held))

    def _patron(self, session: Session, card: str, *, lock: bool = False) -> Patron:
        patron = patrons.by_card(session, card.strip(), lock=lock)
        if patron is None:
            raise PatronNotFound(detail=card)
        return patron

    def _open_loan(self, session: Session, item_id: int) -> Loan | None:
        return session.scalar(_OPEN_LOAN, {"item_id": item_id})

    def _policy(
        self, session: Session, library_id: int | None, category: str | None, item_type: str | None
    ) -> policies.Policy:
        return policies.resolve_policy(self.reference.get(session).policies, library_id, category, item_type)

    def _circulates(self, session: Session, item_type: str) -> bool:
        return self.reference.get(session).circulating(item_type)

    def _next_opening(self, session: Session, library_id: int, day: dt.date) -> dt.date:
        """``day`` or the next day the library opens; a library without a calendar is always open."""
        return self.reference.get(session).next_opening(library_id, day)

    def _isil(self, session: Session, library_id: int | None) -> str:
        library = self.reference.library(session, library_id)
        return library.isil if library is not None else ""

    def summary(self, session: Session, item: Item, described: _Described | None = None) -> ItemSummary:
        """The item as callers show it; ``described`` saves the query when the item was loaded with it."""
        if described is None:
            row = session.execute(
                select(BibRecord.title, Location.name, Holding.call_number)
                .select_from(BibRecord)
                .outerjoin(Location, Location.id == item.location_id)
                .outerjoin(Holding, Holding.id == item.holding_id)
                .where(BibRecord.id == item.record_id)
            ).one_or_none()
            described = _Described(*row, held=True) if row is not None else _Described("", None, None, held=True)
        return ItemSummary(
            barcode=item.barcode,
            title=described.title,
            item_type=item.item_type,
            status=item.status.value,
            library_isil=self._isil(session, item.library_id),
            location=described.location or "",
            call_number=described.call_number or "",
            properties=item.properties,
        )

    def _blocks(
        self, session: Session, patron: Patron, policy: policies.Policy, *, fees_block: bool = True
    ) -> tuple[policies.Block, ...]:
        now = self.clock()
        owed, count, blocked = _standing(session, patron.id)
        return policies.patron_blocks(
            today=policies.local_date(now, self.zone),
            expires_on=patron.expires_on,
            staff_reasons=patrons.active_block_reasons(session, patron.id) if blocked else [],
            owed_vnd=owed,
            fee_limit_vnd=policy.fee_block_threshold_vnd,
            open_loans=count,
            max_items=policy.max_items,
            pin_locked=patron.pin_locked_until is not None and patron.pin_locked_until > now,
            erased=patron.erased_at is not None,
            fees_block=fees_block,
        )

    def _context(
        self, session: Session, item: Item, policy: policies.Policy, now: dt.datetime, **kw: Any
    ) -> tr.LoanContext:
        return tr.LoanContext(
            session=session, item=item, policy=policy, now=now, zone=self.zone, calendar=self._next_opening, **kw
        )

    # -- PIN -------------------------------------------------------------------------------------------

    def verify_pin(self, patron_card: str, pin: str) -> bool:
        """Check a PIN; wrong attempts are counted and lock the PIN for a while after too many."""
        privacy = self.settings.privacy
        with self.db.session() as session:
            patron = self._patron(session, patron_card)
            patron_id, stored, locked_until = patron.id, patron.pin_hash, patron.pin_locked_until
        now = self.clock()
        if locked_until is not None and locked_until > now:
            return False
        ok = verify_secret(stored, pin)
        with self._writer(), self.db.write() as session:
            row = session.get(Patron, patron_id, with_for_update={"key_share": True})
            if row is None:
                raise PatronNotFound(detail=patron_card)
            if ok:
                if row.pin_failed_attempts or row.pin_locked_until is not None:
                    row.pin_failed_attempts = 0
                    row.pin_locked_until = None
            else:
                row.pin_failed_attempts += 1
                if row.pin_failed_attempts >= privacy.pin_max_attempts:
                    row.pin_locked_until = now + dt.timedelta(minutes=privacy.pin_lock_minutes)
                    row.pin_failed_attempts = 0
                    log.warning("PIN of patron %s locked after %d wrong attempts", patron_id, privacy.pin_max_attempts)
        return ok

    def _require_pin(self, patron_card: str, pin: str | None) -> None:
        if pin is not None and not self.verify_pin(patron_card, pin):
            raise InvalidPin()

    # -- checkout --------------------------------------------------------------------------------------

    def checkout(
        self,
        patron_card: str,
        item_barcode: str,
        *,
        channel: str = "desk",
        library_id: int | None = None,
        terminal: str | None = None,
        pin: str | None = None,
        key: str | None = None,
        no_block: bool = False,
        transaction_at: dt.datetime | None = None,
        due_at: dt.datetime | None = None,
        fees_block: bool = True,
        renew_if_charged: bool = True,
        actor: str | None = None,
    ) -> CheckoutResult:
        """Lend an item. ``no_block`` (offline replay) never refuses: problems are flagged for staff."""
        self._require_pin(patron_card, pin)

        def body(session: Session) -> CheckoutResult:
            now = transaction_at if (no_block and transaction_at is not None) else self.clock()
            item, described = self._lend_item(session, item_barcode)
            patron = self._patron(session, patron_card, lock=True)
            concerns: list[str] = []

            def refuse(error: CirculationError) -> None:
                if not no_block:
                    raise error
                codes = ",".join(c for c, _ in error.reasons) if isinstance(error, PatronBlocked) else error.code
                concerns.append(f"{codes}: {error.message}")

            current = self._open_loan(session, item.id)
            if current is not None and current.patron_id == patron.id:
                if renew_if_charged and not no_block:
                    renewed = self._renew_loan(session, patron, item, current, channel, now, None)
                    return CheckoutResult(
                        renewed.loan_id, renewed.item, patron.id, patron.full_name, renewed.due_at, renewal=True
                    )
                return CheckoutResult(
                    current.id,
                    self.summary(session, item, described),
                    patron.id,
                    patron.full_name,
                    current.due_at,
                    renewal=True,
                )
            if current is not None:
                refuse(ItemAlreadyOnLoan())
                current.returned_at = now
                current.returned_library_id = library_id or item.library_id
                current.state = LoanState.RETURNED
                current.review_reason = (
                    "đóng bởi giao dịch ngoại tuyến / closed by an offline checkout to another patron"
                )
                session.flush()
            if not self._circulates(session, item.item_type):
                refuse(ItemNotLoanable(detail="not for loan"))
            if item.status in UNLOANABLE_STATUSES:
                refuse(ItemNotLoanable(detail=item.status.value))
            if item.status is ItemStatus.IN_TRANSIT:
                refuse(ItemNotLoanable("Tài liệu đang được chuyển / This item is in transit — please see staff"))
            if item.status is ItemStatus.ON_HOLD_SHELF:
                waiting_for = session.scalar(
                    select(Hold).where(Hold.item_id == item.id, Hold.state == HoldState.READY).limit(1)
                )
                if waiting_for is not None and waiting_for.patron_id != patron.id:
                    if waiting_for.expires_at is not None and waiting_for.expires_at < now:
                        waiting_for.state = HoldState.EXPIRED
                        waiting_for.closed_at = now
                    else:
                        refuse(ItemOnHoldForAnother())
            lending_library = library_id or item.library_id
            policy = self._policy(session, lending_library, patron.category_code, item.item_type)
            blocks = self._blocks(session, patron, policy, fees_block=fees_block)
            if blocks:
                refuse(PatronBlocked(tuple((b.code, b.reason) for b in blocks)))
            ctx = self._context(
                session,
                item,
                policy,
                now,
                channel=channel,
                library_id=lending_library,
                patron=patron,
                terminal=terminal,
                due_at=due_at if no_block else None,
                offline=no_block,
                held=described.held,
            )
            name = "self_checkout" if channel in tr.SELF_SERVICE_CHANNELS else "checkout"
            loan = tr.apply(name, ctx)
            flagged = "; ".join(concerns) or None
            if flagged:
                loan.review_reason = f"ngoại tuyến / offline: {flagged}"
                log.warning("offline checkout of %s flagged for staff: %s", item.barcode, flagged)
            session.flush()
            audit(
                session,
                actor_kind=channel,
                actor_id=actor or terminal,
                action="circulation.checkout",
                target_type="item",
                target_id=item.barcode,
                library_id=lending_library,
                details={"loan_id": loan.id, "offline": no_block},
            )
            return CheckoutResult(
                loan.id,
                self.summary(session, item, described),
                patron.id,
                patron.full_name,
                loan.due_at,
                offline=no_block,
                flagged=flagged,
            )

        def still_open(session: Session, result: CheckoutResult) -> bool:
            loan = session.get(Loan, result.loan_id)
            return loan is not None and loan.returned_at is None

        return self._transact("checkout", key, CheckoutResult, body, still_open)

    # -- checkin ---------------------------------------------------------------------------------------

    def checkin(
        self,
        item_barcode: str,
        *,
        channel: str = "desk",
        library_id: int | None = None,
        terminal: str | None = None,
        key: str | None = None,
        returned_at: dt.datetime | None = None,
        no_block: bool = False,
        actor: str | None = None,
    ) -> CheckinResult:
        """Return an item: close its loan, charge an overdue fine, trap a hold or route it to its library."""

        def body(session: Session) -> CheckinResult:
            now = returned_at if (no_block and returned_at is not None) else self.clock()
            item, described = self._lend_item(session, item_barcode)
            loan = self._open_loan(session, item.id)
            where = library_id or item.library_id
            flagged: str | None = None
            if loan is not None:
                policy = self._policy(session, loan.library_id, loan.patron_category, item.item_type)
                if now < loan.checked_out_at:
                    flagged = "trả trước ngày mượn / returned before it was lent (offline clock?)"
                    now = loan.checked_out_at
                ctx = self._context(
                    session, item, policy, now, channel=channel, library_id=where, loan=loan, held=described.held
                )
                tr.apply("checkin", ctx)
                if flagged:
                    loan.review_reason = flagged
            else:
                policy = self._policy(session, where, None, item.item_type)
                ctx = self._context(session, item, policy, now, channel=channel, library_id=where)
                ready = session.scalar(
                    select(Hold).where(Hold.item_id == item.id, Hold.state == HoldState.READY).limit(1)
                )
                if item.status is ItemStatus.ON_HOLD_SHELF and ready is not None:
                    ctx.outcome.update(route=tr.ROUTE_HOLD_HERE, hold_id=ready.id)
                else:
                    tr.route_returned_item(ctx)
            # No flush here: the loan, item and audit rows go out together at commit (queries autoflush).
            hold = self._hold_trap(session, ctx.outcome.get("hold_id"), where)
            dest_id = ctx.outcome.get("destination_library_id")
            dest = self.reference.library(session, dest_id) if isinstance(dest_id, int) else None
            audit(
                session,
                actor_kind=channel,
                actor_id=actor or terminal,
                action="circulation.checkin",
                target_type="item",
                target_id=item.barcode,
                library_id=where,
                details={"loan_id": loan.id if loan else None, "route": ctx.outcome.get("route")},
            )
            fine = ctx.outcome.get("fine_vnd", 0)
            return CheckinResult(
                item=self.summary(session, item, described),
                was_on_loan=loan is not None,
                loan_id=loan.id if loan else None,
                patron_id=loan.patron_id if loan else None,
                route=str(ctx.outcome.get("route", tr.ROUTE_SHELF)),
                fine_vnd=fine if isinstance(fine, int) else 0,
                hold=hold,
                destination_isil=dest.isil if dest else None,
                destination_name=dest.name if dest else None,
                offline=no_block,
                flagged=flagged,
            )

        def nothing_since(session: Session, result: CheckinResult) -> bool:
            item = session.scalar(select(Item).where(Item.barcode == item_barcode.strip()))
            if item is None:
                return False
            latest = session.scalar(select(func.max(Loan.id)).where(Loan.item_id == item.id))
            return latest == result.loan_id and self._open_loan(session, item.id) is None

        return self._transact("checkin", key, CheckinResult, body, nothing_since)

    def _hold_trap(self, session: Session, hold_id: object, here_id: int) -> HoldTrap | None:
        if not isinstance(hold_id, int):
            return None
        hold = session.get(Hold, hold_id)
        if hold is None:
            return None
        patron = session.get(Patron, hold.patron_id) if hold.patron_id is not None else None
        pickup = session.get(Library, hold.pickup_library_id)
        return HoldTrap(
            hold_id=hold.id,
            patron_id=hold.patron_id,
            patron_card=patrons.primary_card(session, patron.id) if patron else "",
            patron_name=patron.full_name if patron else "",
            pickup_library_isil=pickup.isil if pickup else "",
            pickup_library_name=pickup.name if pickup else "",
            here=hold.pickup_library_id == here_id,
            expires_at=hold.expires_at,
        )

    # -- renew -----------------------------------------------------------------------------------------

    def _renew_loan(
        self,
        session: Session,
        patron: Patron,
        item: Item,
        loan: Loan,
        channel: str,
        now: dt.datetime,
        due_at: dt.datetime | None,
        *,
        no_block: bool = False,
    ) -> RenewResult:
        policy = self._policy(session, loan.library_id, loan.patron_category, item.item_type)
        if not no_block:
            blocks = [b for b in self._blocks(session, patron, policy) if b.denies_renewal]
            if blocks:
                raise PatronBlocked(tuple((b.code, b.reason) for b in blocks))
            others_waiting = session.scalar(
                select(func.count())
                .select_from(Hold)
                .where(
                    Hold.record_id == item.record_id,
                    Hold.state == HoldState.WAITING,
                    Hold.patron_id != patron.id,
                    (Hold.item_id.is_(None)) | (Hold.item_id == item.id),
                    still_wanted(now),
                )
            )
            if others_waiting:
                raise RenewalRefused("Tài liệu đã có người đặt / Another reader has requested this item")
            if not policies.can_renew(loan.renewals, policy.renewals_allowed, False):
                raise RenewalRefused(
                    f"Đã gia hạn tối đa {policy.renewals_allowed} lần / "
                    f"Already renewed the maximum of {policy.renewals_allowed} times"
                )
        ctx = self._context(
            session,
            item,
            policy,
            now,
            channel=channel,
            library_id=loan.library_id,
            loan=loan,
            patron=patron,
            due_at=due_at if no_block else None,
        )
        tr.apply("renew", ctx)
        session.flush()
        return RenewResult(loan.id, self.summary(session, item), patron.id, loan.due_at, loan.renewals)

    def renew(
        self,
        patron_card: str,
        item_barcode: str,
        *,
        channel: str = "desk",
        pin: str | None = None,
        key: str | None = None,
        no_block: bool = False,
        transaction_at: dt.datetime | None = None,
        due_at: dt.datetime | None = None,
    ) -> RenewResult:
        """Extend a loan of the patron's from today by the loan period (on the library calendar)."""
        self._require_pin(patron_card, pin)

        def body(session: Session) -> RenewResult:
            now = transaction_at if (no_block and transaction_at is not None) else self.clock()
            item = self._item(session, item_barcode, lock=True)
            patron = self._patron(session, patron_card)
            loan = self._open_loan(session, item.id)
            if loan is None or loan.patron_id != patron.id:
                raise LoanNotFound(detail=item_barcode)
            result = self._renew_loan(session, patron, item, loan, channel, now, due_at, no_block=no_block)
            audit(
                session,
                actor_kind=channel,
                actor_id=None,
                action="circulation.renew",
                target_type="item",
                target_id=item.barcode,
                library_id=loan.library_id,
                details={"loan_id": loan.id},
            )
            return result

        def same_renewal(session: Session, result: RenewResult) -> bool:
            loan = session.get(Loan, result.loan_id)
            return loan is not None and loan.returned_at is None and loan.renewals == result.renewals

        return self._transact("renew", key, RenewResult, body, same_renewal)

    def renew_all(self, patron_card: str, *, channel: str = "desk", pin: str | None = None) -> RenewAllResult:
        """Renew every loan of the patron that can be renewed; the others are listed with the reason."""
        self._require_pin(patron_card, pin)
        with self.db.session() as session:
            patron = self._patron(session, patron_card)
            barcodes = [
                item.barcode
                for loan in patrons.open_loans(session, patron.id)
                if (item := session.get(Item, loan.item_id)) is not None
            ]
        renewed: list[RenewResult] = []
        unrenewed: list[RenewFailure] = []
        for barcode in barcodes:
            try:
                renewed.append(self.renew(patron_card, barcode, channel=channel))
            except CirculationError as exc:
                unrenewed.append(RenewFailure(barcode, exc.code, exc.message))
        return RenewAllResult(tuple(renewed), tuple(unrenewed))

    # -- patron status ---------------------------------------------------------------------------------

    def patron_status(self, patron_card: str, pin: str | None = None, *, fees_block: bool = True) -> PatronStatus:
        """Who the patron is, whether they may borrow (with reasons), their loans, holds and fees."""
        pin_ok = self.verify_pin(patron_card, pin) if pin is not None else None
        now = self.clock()
        with self.db.session() as session:
            patron = self._patron(session, patron_card)
            policy = self._policy(session, patron.home_library_id, patron.category_code, None)
            blocks = self._blocks(session, patron, policy, fees_block=fees_block)
            loans = []
            for loan in patrons.open_loans(session, patron.id):
                item = session.get(Item, loan.item_id)
                if item is None:
                    continue
                loans.append(
                    LoanInfo(
                        loan.id,
                        self.summary(session, item),
                        loan.checked_out_at,
                        loan.due_at,
                        loan.due_at < now and loan.state is LoanState.ACTIVE,
                        loan.renewals,
                        loan.state.value,
                    )
                )
            holds = tuple(
                self._hold_info(session, hold)
                for hold in session.scalars(
                    select(Hold)
                    .where(Hold.patron_id == patron.id, Hold.state.in_(ACTIVE_HOLD_STATES))
                    .order_by(Hold.placed_at, Hold.id)
                )
            )
            fees = tuple(
                FeeInfo(f.id, f.kind.value, f.amount_vnd, f.amount_vnd - f.paid_vnd, f.description, f.created_at)
                for f in patrons.unpaid_fees(session, patron.id)
            )
            return PatronStatus(
                patron_id=patron.id,
                card=patron_card.strip(),
                name=patron.full_name,
                category=patron.category_code,
                home_library_isil=self._isil(session, patron.home_library_id),
                expires_on=patron.expires_on,
                email=patron.email,
                phone=patron.phone,
                language=patron.language,
                blocks=blocks,
                can_borrow=not blocks,
                can_renew=not any(b.denies_renewal for b in blocks),
                loans=tuple(loans),
                holds=holds,
                fees=fees,
                fees_owed_vnd=sum(f.owing_vnd for f in fees),
                fee_limit_vnd=policy.fee_block_threshold_vnd,
                max_items=policy.max_items,
                pin_ok=pin_ok,
            )

    def _hold_info(self, session: Session, hold: Hold) -> HoldInfo:
        record = session.get(BibRecord, hold.record_id)
        item = session.get(Item, hold.item_id) if hold.item_id is not None else None
        ahead = 0
        if hold.state is HoldState.WAITING:
            ahead = (
                session.scalar(
                    select(func.count())
                    .select_from(Hold)
                    .where(
                        Hold.record_id == hold.record_id,
                        Hold.state == HoldState.WAITING,
                        still_wanted(self.clock()),
                        (Hold.placed_at < hold.placed_at) | ((Hold.placed_at == hold.placed_at) & (Hold.id < hold.id)),
                    )
                )
                or 0
            )
        return HoldInfo(
            hold.id,
            record.title if record else "",
            hold.state.value,
            self._isil(session, hold.pickup_library_id),
            hold.placed_at,
            item.barcode if item else None,
            hold.expires_at,
            ahead + 1 if hold.state is HoldState.WAITING else 0,
        )

    # -- fees ------------------------------------------------------------------------------------------

    def pay_fee(
        self,
        patron_card: str,
        amount_vnd: int,
        *,
        fee_id: int | None = None,
        method: str = "cash",
        reference: str | None = None,
        channel: str = "desk",
        key: str | None = None,
    ) -> PaymentResult:
        """Pay ``amount_vnd`` towards one fee or, oldest first, towards all; overpayment is refused."""

        def body(session: Session) -> PaymentResult:
            if amount_vnd <= 0:
                raise PaymentRefused(detail=f"amount must be positive: {amount_vnd!r}")
            patron = self._patron(session, patron_card, lock=True)
            fees: Iterable[Fee] = patrons.unpaid_fees(session, patron.id)
            if fee_id is not None:
                fees = [f for f in fees if f.id == fee_id]
                if not fees:
                    raise FeeNotFound(detail=str(fee_id))
            fees = list(fees)
            owed = sum(f.amount_vnd - f.paid_vnd for f in fees)
            if owed == 0:
                raise PaymentRefused("Bạn không nợ khoản phí nào / There is nothing to pay")
            if amount_vnd > owed:
                raise PaymentRefused(
                    f"Số tiền vượt quá số nợ {owed} đồng / The amount is more than the {owed} VND owed"
                )
            now = self.clock()
            left = amount_vnd
            payments: list[Payment] = []
            for fee in fees:
                if left == 0:
                    break
                part = min(left, fee.amount_vnd - fee.paid_vnd)
                fee.paid_vnd += part
                left -= part
                payment = Payment(
                    patron_id=patron.id, fee_id=fee.id, amount_vnd=part, method=method, reference=reference, paid_at=now
                )
                session.add(payment)
                payments.append(payment)
            session.flush()
            audit(
                session,
                actor_kind=channel,
                actor_id=None,
                action="circulation.payment",
                target_type="patron",
                target_id=patron.id,
                details={"amount_vnd": amount_vnd, "reference": reference},
            )
            return PaymentResult(
                True, amount_vnd, tuple(p.id for p in payments), patrons.owed_vnd(session, patron.id), reference
            )

        return self._transact("pay_fee", key, PaymentResult, body)

    # -- holds -----------------------------------------------------------------------------------------

    def place_hold(
        self,
        patron_card: str,
        *,
        item_barcode: str | None = None,
        record_id: int | None = None,
        pickup_library_id: int | None = None,
        specific_item: bool = False,
        expires_at: dt.datetime | None = None,
        channel: str = "desk",
        key: str | None = None,
    ) -> HoldResult:
        """Request a title (any copy) or, with ``specific_item``, that very copy; pickup at a library;
        ``expires_at``: not wanted after then (passed over when a copy comes back later)."""

        def body(session: Session) -> HoldResult:
            patron = self._patron(session, patron_card, lock=True)
            item = self._item(session, item_barcode) if item_barcode else None
            rec_id = item.record_id if item is not None else record_id
            if rec_id is None or session.get(BibRecord, rec_id) is None:
                raise HoldRefused(detail="no title given")
            expires = self._hold_expiry(expires_at)
            policy = self._policy(session, patron.home_library_id, patron.category_code, None)
            blocks = [b for b in self._blocks(session, patron, policy) if b.denies_renewal]
            if blocks:
                raise PatronBlocked(tuple((b.code, b.reason) for b in blocks))
            existing = session.scalar(
                select(Hold.id).where(
                    Hold.patron_id == patron.id, Hold.record_id == rec_id, Hold.state.in_(ACTIVE_HOLD_STATES)
                )
            )
            if existing is not None:
                raise HoldRefused("Bạn đã đặt tài liệu này / You have already requested this title")
            borrowed = session.scalar(
                select(Loan.id)
                .join(Item, Item.id == Loan.item_id)
                .where(Loan.patron_id == patron.id, Loan.returned_at.is_(None), Item.record_id == rec_id)
                .limit(1)
            )
            if borrowed is not None:
                raise HoldRefused("Bạn đang mượn tài liệu này / You already have this title on loan")
            hold = Hold(
                record_id=rec_id,
                item_id=item.id if (item is not None and specific_item) else None,
                patron_id=patron.id,
                pickup_library_id=pickup_library_id or patron.home_library_id,
                state=HoldState.WAITING,
                placed_at=self.clock(),
                expires_at=expires,
            )
            session.add(hold)
            session.flush()
            return self._hold_result(session, hold)

        return self._transact("place_hold", key, HoldResult, body)

    def _hold_result(self, session: Session, hold: Hold) -> HoldResult:
        info = self._hold_info(session, hold)
        available = session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.record_id == hold.record_id, Item.status == ItemStatus.AVAILABLE)
        )
        return HoldResult(
            hold.id,
            info.title,
            info.state,
            info.queue_position,
            bool(available),
            info.pickup_library_isil,
            info.item_barcode,
            hold.expires_at,
        )

    def _hold_expiry(self, expires_at: dt.datetime | None) -> dt.datetime | None:
        """A hold's requested expiration in UTC; :class:`HoldRefused` when it has passed already."""
        if expires_at is None:
            return None
        if expires_at <= self.clock():
            raise HoldRefused("Ngày hết hạn đã qua / The expiration date is in the past")
        return expires_at.astimezone(dt.UTC)

    def _patron_hold(
        self, session: Session, patron: Patron, hold_id: int | None, item_barcode: str | None, record_id: int | None
    ) -> Hold:
        """The patron's active hold by id, or on the title of an item or record (the oldest when unnamed).

        Row-locked and re-read: a checkin trapping the same hold concurrently either finishes first (and this
        sees the hold's new state) or waits for this transaction.
        """
        stmt = (
            select(Hold)
            .where(Hold.patron_id == patron.id, Hold.state.in_(ACTIVE_HOLD_STATES))
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        if hold_id is not None:
            stmt = stmt.where(Hold.id == hold_id)
        elif item_barcode:
            stmt = stmt.where(Hold.record_id == self._item(session, item_barcode).record_id)
        elif record_id is not None:
            stmt = stmt.where(Hold.record_id == record_id)
        hold = session.scalar(stmt.order_by(Hold.placed_at).limit(1))
        if hold is None:
            raise HoldNotFound()
        return hold

    def change_hold(
        self,
        patron_card: str,
        *,
        hold_id: int | None = None,
        item_barcode: str | None = None,
        record_id: int | None = None,
        pickup_library_id: int | None = None,
        expires_at: dt.datetime | None = None,
        specific_item: bool | None = None,
        channel: str = "desk",
        key: str | None = None,
    ) -> HoldResult:
        """Change one of the patron's waiting holds in place, keeping its place in the queue.

        The hold is named by id or by the title of ``item_barcode``/``record_id``. ``None`` leaves a setting
        as it is: the pickup library, the date after which it is no longer wanted, and whether it is for the
        copy ``item_barcode`` only (``specific_item=True``) or for any copy (``False``). A hold whose copy is
        already on its way or on the hold shelf cannot be changed here (staff can).
        """

        def body(session: Session) -> HoldResult:
            if hold_id is None and not item_barcode and record_id is None:
                raise HoldNotFound(detail="no hold named")
            patron = self._patron(session, patron_card, lock=True)
            hold = self._patron_hold(session, patron, hold_id, item_barcode, record_id)
            if hold.state is not HoldState.WAITING:
                raise HoldRefused(
                    "Tài liệu đã được giữ cho bạn, không đổi yêu cầu được / "
                    "A copy is already set aside for you; please ask staff to change this request"
                )
            expires = self._hold_expiry(expires_at)
            before = _hold_settings(hold)
            if pickup_library_id is not None:
                hold.pickup_library_id = pickup_library_id
            if expires is not None:
                hold.expires_at = expires
            if specific_item is True:
                copy = self._item(session, item_barcode) if item_barcode else None
                if copy is None or copy.record_id != hold.record_id:
                    raise HoldRefused(detail="a specific-copy hold needs a copy of its title")
                hold.item_id = copy.id
            elif specific_item is False:
                hold.item_id = None
            session.flush()
            after = _hold_settings(hold)
            audit(
                session,
                actor_kind=channel,
                actor_id=None,
                action="circulation.hold_change",
                target_type="hold",
                target_id=hold.id,
                library_id=hold.pickup_library_id,
                details={k: [before[k], after[k]] for k in before if before[k] != after[k]},
            )
            return self._hold_result(session, hold)

        return self._transact("change_hold", key, HoldResult, body)

    def pickup_library_id(self, isil: str) -> int:
        """The library a hold may be picked up at, by ISIL; :class:`HoldRefused` when there is none."""
        with self.db.session() as session:
            library = session.scalar(select(Library).where(Library.isil == isil.strip()))
            if library is None:
                raise HoldRefused(f"Không có thư viện {isil} để nhận sách / There is no library {isil} to pick up from")
            return library.id

    def cancel_hold(
        self,
        patron_card: str,
        *,
        hold_id: int | None = None,
        item_barcode: str | None = None,
        record_id: int | None = None,
        channel: str = "desk",
    ) -> HoldResult:
        """Cancel one of the patron's holds (by id, or by the title of an item); a shelved copy moves on."""

        def body(session: Session) -> HoldResult:
            patron = self._patron(session, patron_card, lock=True)
            hold = self._patron_hold(session, patron, hold_id, item_barcode, record_id)
            info = self._hold_info(session, hold)
            was_ready = hold.state is HoldState.READY
            hold.state = HoldState.CANCELLED
            hold.closed_at = self.clock()
            if was_ready:
                self._release_shelved_copy(session, hold, channel, self.clock())
            session.flush()
            return HoldResult(
                hold.id,
                info.title,
                HoldState.CANCELLED.value,
                0,
                False,
                info.pickup_library_isil,
                info.item_barcode,
                None,
            )

        return self._transact("cancel_hold", None, HoldResult, body)

    def _release_shelved_copy(
        self, session: Session, hold: Hold, channel: str, now: dt.datetime
    ) -> tuple[Item | None, str | None]:
        """A closed hold's copy still on the hold shelf moves on as a returned copy does (the next request, the
        shelf, or in transit home); return the copy and its route (None when it was no longer on the shelf)."""
        item = session.get(Item, hold.item_id, with_for_update={"key_share": True}) if hold.item_id else None
        if item is None or item.status is not ItemStatus.ON_HOLD_SHELF:
            return item, None
        policy = self._policy(session, item.library_id, None, item.item_type)
        ctx = self._context(session, item, policy, now, channel=channel, library_id=hold.pickup_library_id)
        session.flush()
        tr.route_returned_item(ctx)
        return item, str(ctx.outcome["route"])  # every branch of route_returned_item sets it

    # -- staff transitions -----------------------------------------------------------------------------

    def _staff_transition(self, name: str, item_barcode: str, channel: str) -> LoanChange:
        def body(session: Session) -> LoanChange:
            item = self._item(session, item_barcode, lock=True)
            loan = self._open_loan(session, item.id)
            if loan is None:
                raise LoanNotFound(detail=item_barcode)
            policy = self._policy(session, loan.library_id, loan.patron_category, item.item_type)
            ctx = self._context(
                session, item, policy, self.clock(), channel=channel, library_id=loan.library_id, loan=loan
            )
            tr.apply(name, ctx)
            session.flush()
            audit(
                session,
                actor_kind=channel,
                actor_id=None,
                action=f"circulation.{name}",
                target_type="item",
                target_id=item.barcode,
                library_id=loan.library_id,
                details={"loan_id": loan.id},
            )
            fee = ctx.outcome.get("fee_vnd", 0)
            return LoanChange(
                loan.id, self.summary(session, item), loan.state.value, fee if isinstance(fee, int) else 0
            )

        return self._transact(name, None, LoanChange, body)

    def mark_lost(self, item_barcode: str, *, channel: str = "desk") -> LoanChange:
        """The borrower lost the item: the loan becomes lost and a replacement fee is charged."""
        return self._staff_transition("mark_lost", item_barcode, channel)

    def claims_returned(self, item_barcode: str, *, channel: str = "desk") -> LoanChange:
        """The borrower says it was returned: the loan is flagged for staff to search the shelves."""
        return self._staff_transition("claims_returned", item_barcode, channel)

    # -- items and patron blocks (SIP2 17, 01, 25) -----------------------------------------------------

    def item_information(self, item_barcode: str) -> ItemInformation:
        with self.db.session() as session:
            item = self._item(session, item_barcode)
            loan = self._open_loan(session, item.id)
            queue = (
                session.scalar(
                    select(func.count())
                    .select_from(Hold)
                    .where(Hold.record_id == item.record_id, Hold.state.in_(ACTIVE_HOLD_STATES))
                )
                or 0
            )
            ready = session.scalar(select(Hold).where(Hold.item_id == item.id, Hold.state == HoldState.READY).limit(1))
            return ItemInformation(
                item=self.summary(session, item),
                owner_isil=item.owner_isil,
                security_state=item.security_state.value,
                due_at=loan.due_at if loan else None,
                hold_queue_length=queue,
                hold_pickup_until=ready.expires_at if ready else None,
                hold_patron_card=patrons.primary_card(session, ready.patron_id) if ready and ready.patron_id else None,
            )

    def set_item_properties(
        self, item_barcode: str, properties: str, *, channel: str = "desk", actor: str | None = None
    ) -> ItemPropertiesChange:
        """Store an item's free-text properties (SIP2 19); an empty text clears them. Audited."""

        def body(session: Session) -> ItemPropertiesChange:
            item = self._item(session, item_barcode, lock=True)
            previous, item.properties = item.properties, properties.strip() or None
            session.flush()
            audit(
                session,
                actor_kind=channel,
                actor_id=actor,
                action="circulation.item_properties",
                target_type="item",
                target_id=item.barcode,
                library_id=item.library_id,
                details={"properties": item.properties, "previous": previous},
            )
            return ItemPropertiesChange(self.summary(session, item), previous)

        return self._transact("set_item_properties", None, ItemPropertiesChange, body)

    def block_patron(self, patron_card: str, reason: str, *, channel: str = "desk", kind: str = "staff") -> None:
        """Place a block (SIP2 01 "block patron": a self-check retained the card, for example)."""
        with self._writer(), self.db.write() as session:
            patron = self._patron(session, patron_card, lock=True)
            session.add(PatronBlock(patron_id=patron.id, kind=kind, reason=reason, created_at=self.clock()))
            audit(
                session,
                actor_kind=channel,
                actor_id=None,
                action="patron.block",
                target_type="patron",
                target_id=patron.id,
                details={"reason": reason},
            )

    def lift_blocks(self, patron_card: str, *, kind: str) -> int:
        """Lift the patron's blocks of ``kind``; returns how many were lifted."""
        with self._writer(), self.db.write() as session:
            patron = self._patron(session, patron_card, lock=True)
            lifted = 0
            for block in patron.blocks:
                if block.kind == kind and block.lifted_at is None:
                    block.lifted_at = self.clock()
                    lifted += 1
            return lifted

    # -- privacy -------------------------------------------------------------------------------------------

    def set_keep_history(self, patron_card: str, keep: bool) -> bool:
        """The patron's choice to keep their loan history (opt-in); returns the new setting."""
        with self._writer(), self.db.write() as session:
            patron = self._patron(session, patron_card, lock=True)
            patron.keep_history = keep
            audit(
                session,
                actor_kind="patron",
                actor_id=None,
                action="patron.keep_history",
                target_type="patron",
                target_id=patron.id,
                details={"keep": keep},
            )
            return keep

    def anonymise_returned_loans(self) -> int:
        """Drop the patron link of loans returned longer ago than the privacy period (unless opted in)."""
        days = self.settings.privacy.anonymise_returned_loans_after_days
        now = self.clock()
        cutoff = now - dt.timedelta(days=days)
        with self._writer(), self.db.write() as session:
            keepers = select(Patron.id).where(Patron.keep_history.is_(True))
            loans = session.scalars(
                select(Loan).where(
                    Loan.returned_at.is_not(None),
                    Loan.returned_at <= cutoff,
                    Loan.patron_id.is_not(None),
                    Loan.patron_id.not_in(keepers),
                )
            ).all()
            for loan in loans:
                loan.patron_id = None
                loan.anonymised_at = now
            if loans:
                log.info("anonymised %d returned loans", len(loans))
            return len(loans)

    def expire_lapsed_holds(self) -> tuple[int, int]:
        """Close the holds whose date has passed; return how many were waiting and how many were on the shelf.

        A waiting hold past its date is no longer wanted. A copy left on the hold shelf past its pickup date
        moves on as a cancelled hold's copy does: to the next request, or back to the shelf or its home library
        (each move is audited, so staff can pull the copy from the hold shelf)."""
        now = self.clock()
        with self._writer(), self.db.write() as session:
            lapsed = session.scalars(
                select(Hold)
                .where(
                    Hold.state.in_((HoldState.WAITING, HoldState.READY)),
                    Hold.expires_at.is_not(None),
                    Hold.expires_at <= now,
                )
                .order_by(Hold.id)
                .with_for_update()
            ).all()
            waiting = shelf = 0
            for hold in lapsed:
                was_ready = hold.state is HoldState.READY
                hold.state = HoldState.EXPIRED
                hold.closed_at = now
                if not was_ready:
                    waiting += 1
                    continue
                shelf += 1
                item, route = self._release_shelved_copy(session, hold, "system", now)
                audit(
                    session,
                    actor_kind="system",
                    actor_id=None,
                    action="circulation.hold_shelf_expired",
                    target_type="item",
                    target_id=item.barcode if item is not None else None,
                    library_id=hold.pickup_library_id,
                    details={"hold_id": hold.id, "route": route},
                )
            if lapsed:
                log.info("holds: %d waiting and %d on the hold shelf lapsed", waiting, shelf)
            return waiting, shelf
