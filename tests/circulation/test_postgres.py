"""On the real PostgreSQL server: the lifecycle, two clients racing for the last copy, retransmissions."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from server.circulation import errors
from server.circulation.models import Loan
from server.circulation.results import CheckoutResult
from server.circulation.service import CirculationService
from server.db import Database
from tests.circulation.builders import Clock, build_world
from tests.circulation.conftest import make_service

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_service(pg_db: Database, clock: Clock) -> CirculationService:
    build_world(pg_db)
    return make_service(pg_db, clock)


def open_loans(db: Database, barcode: str | None = None) -> int:
    with db.session() as s:
        stmt = select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))
        return s.scalar(stmt) or 0


def race(n: int, action: Callable[[int], object]) -> list[object]:
    """Run ``action(i)`` in ``n`` threads released at the same instant; collect results or errors."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_lifecycle_on_postgresql(pg_service: CirculationService, pg_db: Database, clock: Clock) -> None:
    out = pg_service.checkout("0001", "39000002", channel="sip2")
    pg_service.place_hold("0002", item_barcode="39000002")
    clock.advance(days=20)
    back = pg_service.checkin("39000002", channel="sip2")
    assert out.loan_id and back.fine_vnd == 6000 and back.hold is not None and back.hold.patron_card == "0002"
    assert pg_service.pay_fee("0001", 6000).remaining_owed_vnd == 0


def test_two_clients_race_for_the_last_copy(pg_service: CirculationService, pg_db: Database) -> None:
    for round_ in range(5):
        results = race(2, lambda i: pg_service.checkout(f"000{i + 1}", "39000001", channel="sip2"))
        won = [r for r in results if isinstance(r, CheckoutResult)]
        lost = [r for r in results if isinstance(r, errors.ItemAlreadyOnLoan)]
        assert len(won) == 1 and len(lost) == 1, results
        assert open_loans(pg_db) == 1
        pg_service.checkin("39000001")
        assert open_loans(pg_db) == 0, round_


def test_many_clients_many_items(pg_service: CirculationService, pg_db: Database) -> None:
    barcodes = ["39000001", "39000002", "39000003", "39000004"]
    results = race(8, lambda i: pg_service.checkout(("0001", "0002")[i % 2], barcodes[i % 4], channel="sip2"))
    ok = [r for r in results if isinstance(r, CheckoutResult)]
    assert not [r for r in results if not isinstance(r, CheckoutResult | errors.CirculationError)], results
    with pg_db.session() as s:
        per_item = s.execute(
            select(Loan.item_id, func.count()).where(Loan.returned_at.is_(None)).group_by(Loan.item_id)
        ).all()
    assert all(count == 1 for _item, count in per_item) and len(per_item) == 4 and len(ok) >= 4


def test_retransmitted_checkout_never_lends_twice(pg_service: CirculationService, pg_db: Database) -> None:
    results = race(4, lambda i: pg_service.checkout("0001", "39000001", channel="sip2", key="kiosk1:retry"))
    assert all(isinstance(r, CheckoutResult) for r in results), results
    assert len({r.loan_id for r in results if isinstance(r, CheckoutResult)}) == 1
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 1
