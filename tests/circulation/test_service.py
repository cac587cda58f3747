"""The circulation service on SQLite and PostgreSQL: the loan lifecycle, blocks, holds, fees, idempotency."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.catalog.models import Item, ItemStatus
from server.circulation import errors
from server.circulation.models import ClientTransaction, Fee, Hold, HoldState, Loan, LoanState
from server.circulation.service import CirculationService
from server.circulation.transitions import ROUTE_HOLD_HERE, ROUTE_HOLD_OTHER_BRANCH, ROUTE_SHELF, ROUTE_TRANSIT
from server.db import Database
from server.libraries.models import Closure
from server.patrons.models import Patron
from tests.circulation.builders import Clock, World, at


def loans(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))) or 0


def test_checkout_checkin_cycle(service: CirculationService, db: Database, clock: Clock) -> None:
    out = service.checkout("0001", "39000001", channel="sip2")
    assert out.item.title == "Truyện Kiều" and out.patron_name == "Nguyễn Văn An" and not out.renewal
    assert out.due_at == at(2026, 12, 10, 23) + dt.timedelta(minutes=59, seconds=59)
    assert out.item.status == "on_loan"
    clock.advance(days=2)
    back = service.checkin("39000001", channel="sip2")
    assert back.was_on_loan and back.fine_vnd == 0 and back.route == ROUTE_SHELF and back.item.status == "available"
    assert loans(db) == 0


def test_due_date_moves_to_next_opening_day(db: Database, service: CirculationService, world: World) -> None:
    with db.write() as s:
        s.add(Closure(library_id=world.main, day=dt.date(2026, 12, 10), reason="Ngày nghỉ"))
        s.add(Closure(library_id=world.main, day=dt.date(2026, 12, 11), reason="Ngày nghỉ"))
    out = service.checkout("0001", "39000001")
    assert out.due_at.astimezone(service.zone).date() == dt.date(2026, 12, 12)


def test_blocks_refuse_with_reasons(service: CirculationService) -> None:
    with pytest.raises(errors.PatronBlocked) as staff:
        service.checkout("0004", "39000001")
    assert staff.value.reasons[0] == ("staff_block", "Thẻ đã báo mất / Card reported lost")
    with pytest.raises(errors.PatronBlocked) as expired:
        service.checkout("0005", "39000001")
    assert expired.value.reasons[0][0] == "card_expired"
    with pytest.raises(errors.PatronBlocked) as fees:
        service.checkout("0006", "39000001")
    assert fees.value.reasons[0][0] == "fees_over_limit" and "60.000" in fees.value.message
    # an account may let fees not block
    assert service.checkout("0006", "39000001", fees_block=False).loan_id


def test_too_many_items(service: CirculationService) -> None:
    service.checkout("0003", "39000001")  # child: max 2
    service.checkout("0003", "39000002")
    with pytest.raises(errors.PatronBlocked) as exc:
        service.checkout("0003", "39000003")
    assert exc.value.reasons[0][0] == "too_many_items"
    status = service.patron_status("0003")
    assert not status.can_borrow and status.can_renew and len(status.loans) == 2


def test_item_refusals(service: CirculationService) -> None:
    with pytest.raises(errors.ItemNotLoanable):
        service.checkout("0001", "39000006")
    with pytest.raises(errors.ItemNotFound):
        service.checkout("0001", "nope")
    with pytest.raises(errors.PatronNotFound):
        service.checkout("nope", "39000001")
    service.checkout("0001", "39000001")
    with pytest.raises(errors.ItemAlreadyOnLoan):
        service.checkout("0002", "39000001")


def test_checkout_of_own_item_renews(service: CirculationService, clock: Clock) -> None:
    first = service.checkout("0001", "39000001")
    clock.advance(days=5)
    again = service.checkout("0001", "39000001")
    assert again.renewal and again.loan_id == first.loan_id and again.due_at > first.due_at


def test_overdue_fine_on_return(service: CirculationService, clock: Clock, db: Database) -> None:
    service.checkout("0003", "39000001")  # child: 7 days, 500 đ/day
    clock.advance(days=10)
    back = service.checkin("39000001")
    assert back.fine_vnd == 1500
    status = service.patron_status("0003")
    assert status.fees_owed_vnd == 1500 and status.fees[0].kind == "overdue"


def test_hold_trapped_on_return_here_and_elsewhere(service: CirculationService, world: World, db: Database) -> None:
    service.checkout("0001", "39000002")
    hold = service.place_hold("0002", item_barcode="39000002")
    assert hold.queue_position == 1 and hold.state == "waiting"
    back = service.checkin("39000002", library_id=world.main)
    assert back.route == ROUTE_HOLD_HERE and back.hold is not None and back.hold.patron_card == "0002"
    assert back.hold.here and back.item.status == "on_hold_shelf"
    assert service.patron_status("0002").holds_ready
    with pytest.raises(errors.ItemOnHoldForAnother):
        service.checkout("0003", "39000002")
    out = service.checkout("0002", "39000002")
    with db.session() as s:
        assert s.get(Hold, hold.hold_id).state is HoldState.FULFILLED  # type: ignore[union-attr]
    # a hold picked up at the branch sends the item there
    service.place_hold("0001", item_barcode="39000002", pickup_library_id=world.branch)
    back = service.checkin("39000002", library_id=world.main)
    assert out.loan_id and back.route == ROUTE_HOLD_OTHER_BRANCH and back.destination_isil == "VN-TEST-B"
    assert back.item.status == "in_transit"
    arrived = service.checkin("39000002", library_id=world.branch)
    assert arrived.route == ROUTE_HOLD_HERE and arrived.hold is not None and arrived.hold.patron_card == "0001"


def test_return_at_another_library_goes_in_transit(service: CirculationService, world: World) -> None:
    service.checkout("0001", "39000001")
    back = service.checkin("39000001", library_id=world.branch)
    assert back.route == ROUTE_TRANSIT and back.destination_isil == "VN-TEST" and back.item.status == "in_transit"
    with pytest.raises(errors.ItemNotLoanable):
        service.checkout("0002", "39000001")
    assert service.checkin("39000001", library_id=world.main).route == ROUTE_SHELF


def test_renewal_limits_and_holds(service: CirculationService, clock: Clock) -> None:
    service.checkout("0001", "39000001")
    for n in (1, 2):
        clock.advance(days=1)
        assert service.renew("0001", "39000001").renewals == n
    with pytest.raises(errors.RenewalRefused):
        service.renew("0001", "39000001")
    service.checkout("0002", "39000003")
    service.place_hold("0001", item_barcode="39000003")
    with pytest.raises(errors.RenewalRefused) as exc:
        service.renew("0002", "39000003")
    assert "requested" in exc.value.message
    with pytest.raises(errors.LoanNotFound):
        service.renew("0001", "39000003")
    result = service.renew_all("0001")
    assert not result.renewed and [f.code for f in result.unrenewed] == ["renewal_refused"]


def test_lost_and_claims_returned(service: CirculationService, db: Database) -> None:
    service.checkout("0001", "39000001")
    with pytest.raises(errors.OperationNotPermitted):
        service.mark_lost("39000001", channel="sip2")
    claimed = service.claims_returned("39000001")
    assert claimed.state == "claims_returned" and claimed.item.status == "claims_returned"
    lost = service.mark_lost("39000001")
    assert lost.state == "lost" and lost.fee_vnd == 80000
    with pytest.raises(errors.TransitionNotAllowed):
        service.mark_lost("39000001")
    back = service.checkin("39000001")  # found: the loan closes, no overdue fine on a lost loan
    assert back.was_on_loan and back.fine_vnd == 0
    with db.session() as s:
        assert s.get(Loan, lost.loan_id).state is LoanState.RETURNED  # type: ignore[union-attr]


def test_payments(service: CirculationService) -> None:
    with pytest.raises(errors.PaymentRefused):
        service.pay_fee("0001", 1000)
    with pytest.raises(errors.PaymentRefused):
        service.pay_fee("0006", 70000)
    with pytest.raises(errors.PaymentRefused):
        service.pay_fee("0006", 0)
    part = service.pay_fee("0006", 20000, reference="r1")
    assert part.remaining_owed_vnd == 40000
    assert service.patron_status("0006").blocks == ()  # 40.000 is under the 50.000 limit
    assert service.pay_fee("0006", 40000).remaining_owed_vnd == 0


def test_idempotent_by_client_key(service: CirculationService, db: Database, clock: Clock) -> None:
    first = service.checkout("0001", "39000001", key="kiosk-1:42")
    again = service.checkout("0001", "39000001", key="kiosk-1:42")
    assert again == first and loans(db) == 1
    back = service.checkin("39000001", key="kiosk-1:43")
    assert service.checkin("39000001", key="kiosk-1:43") == back
    # after the world moved on, the same key acts again (a new loan, not a replay of a closed one)
    clock.advance(seconds=1)
    third = service.checkout("0001", "39000001", key="kiosk-1:42")
    assert third.loan_id != first.loan_id and loans(db) == 1
    paid = service.pay_fee("0006", 10000, key="pay-1")
    assert service.pay_fee("0006", 10000, key="pay-1") == paid
    assert service.patron_status("0006").fees_owed_vnd == 50000
    with db.session() as s:
        assert s.get(ClientTransaction, "pay-1") is not None


def test_offline_checkout_never_refused_but_flagged(service: CirculationService, db: Database, clock: Clock) -> None:
    when = clock.now - dt.timedelta(hours=2)
    due = clock.now + dt.timedelta(days=10)
    out = service.checkout("0005", "39000001", channel="sip2", no_block=True, transaction_at=when, due_at=due)
    assert out.offline and out.flagged and "card_expired" in out.flagged and out.due_at == due
    with db.session() as s:
        loan = s.get(Loan, out.loan_id)
        assert loan is not None and loan.offline and loan.checked_out_at == when and loan.review_reason
    # an offline checkout of an item the server believes lent to someone else closes that loan, flagged
    other = service.checkout("0002", "39000001", channel="sip2", no_block=True)
    assert other.flagged and "item_already_on_loan" in other.flagged and loans(db) == 1


def test_pin_attempts_lock(service: CirculationService, db: Database) -> None:
    assert service.verify_pin("0001", "1234")
    for _ in range(5):
        assert not service.verify_pin("0001", "0000")
    assert not service.verify_pin("0001", "1234")  # locked now
    status = service.patron_status("0001")
    assert [b.code for b in status.blocks] == ["pin_locked"]
    with pytest.raises(errors.InvalidPin):
        service.checkout("0001", "39000001", pin="1234")


def test_patron_status_lists(service: CirculationService, clock: Clock) -> None:
    service.checkout("0001", "39000001")
    service.checkout("0001", "39000002")
    service.place_hold("0001", item_barcode="39000007")
    clock.advance(days=20)
    status = service.patron_status("0001", "1234")
    assert status.pin_ok and len(status.loans) == 2 and len(status.overdue_loans) == 2
    assert [h.title for h in status.holds] == ["Đất rừng phương Nam"] and not status.holds_ready


def test_cancel_hold_moves_shelved_copy_on(service: CirculationService, world: World) -> None:
    service.place_hold("0001", item_barcode="39000003")
    service.place_hold("0002", item_barcode="39000003")
    back = service.checkin("39000003", library_id=world.main)
    assert back.hold is not None and back.hold.patron_card == "0001"
    service.cancel_hold("0001", item_barcode="39000003")
    info = service.item_information("39000003")
    assert info.item.status == "on_hold_shelf" and info.hold_patron_card == "0002"
    with pytest.raises(errors.HoldNotFound):
        service.cancel_hold("0001", item_barcode="39000003")


def test_privacy_anonymises_returned_loans(service: CirculationService, db: Database, clock: Clock) -> None:
    service.checkout("0001", "39000001")
    service.checkout("0002", "39000002")
    with db.write() as s:
        keeper = s.scalar(select(Patron).where(Patron.full_name == "Trần Thị Bích Ngọc"))
        assert keeper is not None
        keeper.keep_history = True
    service.checkin("39000001")
    service.checkin("39000002")
    clock.advance(days=31)
    assert service.anonymise_returned_loans() == 1
    with db.session() as s:
        rows = s.scalars(select(Loan).order_by(Loan.id)).all()
        assert rows[0].patron_id is None and rows[0].anonymised_at is not None
        assert rows[0].patron_category == "adult"  # statistics remain
        assert rows[1].patron_id is not None


def test_block_and_lift(service: CirculationService) -> None:
    service.block_patron("0001", "Giữ thẻ / card retained", channel="sip2", kind="sip2")
    assert not service.patron_status("0001").can_borrow
    assert service.lift_blocks("0001", kind="sip2") == 1
    assert service.patron_status("0001").can_borrow


def test_item_information(service: CirculationService, db: Database) -> None:
    info = service.item_information("39000001")
    assert info.item.status == "available" and info.due_at is None and info.item.call_number == "895.922"
    with db.session() as s:
        item = s.scalar(select(Item).where(Item.barcode == "39000001"))
        assert item is not None and item.status is ItemStatus.AVAILABLE
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Fee)) == 1


def test_lapsed_holds_expire_and_shelved_copy_moves_on(service: CirculationService, world: World, db: Database,
                                                       clock: Clock) -> None:
    service.place_hold("0001", item_barcode="39000003")
    service.place_hold("0002", item_barcode="39000003")
    service.checkout("0003", "39000002")
    lapsing = service.place_hold("0001", item_barcode="39000002", expires_at=clock() + dt.timedelta(days=1))
    assert service.checkin("39000003", library_id=world.main).hold is not None  # on the shelf for 0001
    assert service.expire_lapsed_holds() == (0, 0)
    clock.advance(days=30)  # past the waiting hold's date and the shelf days
    assert service.expire_lapsed_holds() == (1, 1)
    info = service.item_information("39000003")
    assert info.item.status == "on_hold_shelf" and info.hold_patron_card == "0002"
    with db.session() as s:
        assert s.get(Hold, lapsing.hold_id).state is HoldState.EXPIRED  # type: ignore[union-attr]
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "circulation.hold_shelf_expired")).one()
        assert entry.target_id == "39000003" and entry.details["route"] == ROUTE_HOLD_HERE
    assert service.expire_lapsed_holds() == (0, 0)  # 0002's shelf days started today
    clock.advance(days=30)
    assert service.expire_lapsed_holds() == (0, 1)
    assert service.item_information("39000003").item.status == "available"
