"""The domain model and repositories on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.catalog import repository as catalog_repo
from server.catalog.models import BibRecord, Item, ItemStatus, ItemTag, ItemType
from server.circulation.models import Loan
from server.db import Database, utcnow
from server.demo import data as demo
from server.demo.seed import seed
from server.devices.models import DeviceEvent
from server.libraries import repository as library_repo
from server.libraries.models import Closure, Library, LibraryKind, OpeningDay
from server.patrons.models import Patron, PatronCard, PatronCategory


def _library_tree(db: Database) -> dict[str, int]:
    with db.session() as s:
        province = Library(isil="VN-HDU", name="Thư viện tỉnh", kind=LibraryKind.PROVINCE)
        district = Library(isil="VN-HDU-GL", name="Thư viện huyện", kind=LibraryKind.DISTRICT, parent=province)
        commune = Library(isil="VN-HDU-GLGT", name="Thư viện xã", kind=LibraryKind.COMMUNE, parent=district)
        other = Library(isil="VN-HDU-KM", name="Kinh Môn", kind=LibraryKind.DISTRICT, parent=province)
        s.add_all([province, district, commune, other])
        s.flush()
        return {lib.isil: lib.id for lib in (province, district, commune, other)}


def _item(db: Database, library_id: int, barcode: str = "3000000001", uid: str = "E004010000000001") -> int:
    with db.session() as s:
        if s.get(ItemType, "book") is None:
            s.add(ItemType(code="book", name="Sách"))
        record = BibRecord(marc=b"", title="Truyện Kiều", search_text="truyen kieu")
        s.add(record)
        s.flush()
        item = Item(
            barcode=barcode, record_id=record.id, library_id=library_id, item_type="book", tags=[ItemTag(uid=uid)]
        )
        s.add(item)
        s.flush()
        return item.id


def test_library_subtree_and_lookup(db: Database) -> None:
    ids = _library_tree(db)
    with db.session() as s:
        assert library_repo.subtree_ids(s, ids["VN-HDU-GL"]) == {ids["VN-HDU-GL"], ids["VN-HDU-GLGT"]}
        assert library_repo.subtree_ids(s, ids["VN-HDU"]) == set(ids.values())
        lib = library_repo.get_by_isil(s, "VN-HDU-KM")
        assert lib is not None and lib.parent is not None and lib.parent.isil == "VN-HDU"


def test_next_opening_day_skips_closed_weekdays_and_holidays(db: Database) -> None:
    ids = _library_tree(db)
    lib = ids["VN-HDU"]
    with db.session() as s:
        for weekday in range(5):  # Monday to Friday
            s.add(OpeningDay(library_id=lib, weekday=weekday, opens=dt.time(8), closes=dt.time(17)))
        s.add(Closure(library_id=lib, day=dt.date(2027, 9, 6), reason="bù Quốc khánh"))
    with db.session() as s:
        saturday = dt.date(2027, 9, 4)
        assert library_repo.next_opening_day(s, lib, saturday) == dt.date(2027, 9, 7)  # Mon 6th is closed
        assert library_repo.next_opening_day(s, lib, dt.date(2027, 9, 7)) == dt.date(2027, 9, 7)
        assert library_repo.is_open(s, lib, dt.date(2027, 9, 7))
        assert not library_repo.is_open(s, lib, saturday)
        assert library_repo.next_opening_day(s, ids["VN-HDU-KM"], saturday) == saturday  # no calendar: open


def test_item_by_tag_uid_any_case(db: Database) -> None:
    ids = _library_tree(db)
    _item(db, ids["VN-HDU"])
    with db.session() as s:
        item = catalog_repo.item_by_tag_uid(s, "e004010000000001")
        assert item is not None and item.barcode == "3000000001"
        assert catalog_repo.item_by_barcode(s, "3000000001") is item
        assert item.status is ItemStatus.AVAILABLE


def test_one_open_loan_per_item(db: Database) -> None:
    ids = _library_tree(db)
    item_id = _item(db, ids["VN-HDU"])
    due = utcnow() + dt.timedelta(days=14)
    with db.session() as s:
        s.add(Loan(item_id=item_id, patron_category="adult", library_id=ids["VN-HDU"], due_at=due))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(Loan(item_id=item_id, patron_category="adult", library_id=ids["VN-HDU"], due_at=due))
    with db.session() as s:
        loan = s.scalars(select(Loan)).one()
        loan.returned_at = utcnow()
    with db.session() as s:  # a returned loan no longer blocks a new one
        s.add(Loan(item_id=item_id, patron_category="adult", library_id=ids["VN-HDU"], due_at=due))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 2


def test_timestamps_come_back_aware_utc(db: Database) -> None:
    ids = _library_tree(db)
    item_id = _item(db, ids["VN-HDU"])
    local = dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    with db.session() as s:
        s.add(Loan(item_id=item_id, patron_category="adult", library_id=ids["VN-HDU"], due_at=local))
    with db.session() as s:
        loan = s.scalars(select(Loan)).one()
        assert loan.due_at == local
        assert loan.due_at.tzinfo is not None and loan.due_at.utcoffset() == dt.timedelta(0)


def test_naive_datetime_refused(db: Database) -> None:
    ids = _library_tree(db)
    item_id = _item(db, ids["VN-HDU"])
    with pytest.raises(Exception, match="naive datetime"), db.session() as s:
        s.add(Loan(item_id=item_id, patron_category="adult", library_id=ids["VN-HDU"], due_at=dt.datetime(2027, 1, 1)))
        s.flush()


def test_card_numbers_unique_and_event_ids_idempotent(db: Database) -> None:
    ids = _library_tree(db)
    with db.session() as s:
        s.add(PatronCategory(code="adult", name="Người lớn"))
        s.flush()
        s.add(
            Patron(
                full_name="Nguyễn Văn An",
                home_library_id=ids["VN-HDU"],
                category_code="adult",
                expires_on=dt.date(2030, 1, 1),
                cards=[PatronCard(number="0001")],
            )
        )
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(
            Patron(
                full_name="Trần B",
                home_library_id=ids["VN-HDU"],
                category_code="adult",
                expires_on=dt.date(2030, 1, 1),
                cards=[PatronCard(number="0001")],
            )
        )
    event = {
        "event_id": "e-1",
        "device_id": "kiosk-1",
        "kind": "checkout",
        "occurred_at": utcnow(),
        "payload": {"barcode": "1", "title": "Số đỏ"},
    }
    with db.session() as s:
        s.add(DeviceEvent(**event))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(DeviceEvent(**event))
    with db.session() as s:
        stored = s.scalars(select(DeviceEvent)).one()
        assert stored.payload["title"] == "Số đỏ"


def test_demo_seed_once(db: Database) -> None:
    assert seed(db) is True
    assert seed(db) is False
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Library)) == len(demo.LIBRARIES)
        assert s.scalar(select(func.count()).select_from(BibRecord)) == len(demo.EXTRA_TITLES) + 121
        kieu = catalog_repo.item_by_barcode(s, demo.barcode(1))
        assert kieu is not None and kieu.record.title == "Truyện Kiều"
        vietnamese = s.scalars(select(BibRecord).where(BibRecord.authors_folded.contains("nguyen"))).all()
        assert len(vietnamese) > 10
        set_item = catalog_repo.item_by_tag_uid(s, demo.tag_uid(7))
        assert set_item is not None and set_item.set_parts_total == 2
        on_loan = catalog_repo.item_by_barcode(s, demo.LOAN_OF_PATRON_2)
        assert on_loan is not None and on_loan.status is ItemStatus.ON_LOAN
