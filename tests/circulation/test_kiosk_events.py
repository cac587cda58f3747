"""Kiosk events that need staff: failed security writes and offline transactions refused on replay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from edge.contract import DeviceTopics, Event, encode, new_event_id
from server.audit.models import AuditEntry
from server.catalog.models import BibRecord, Item, ItemTag, ItemType, SecurityState
from server.circulation.models import Loan
from server.db import Database, utcnow
from server.devices.models import Device, DeviceEvent, DeviceKind, EventStatus
from server.ingest.processor import Incoming, Processor
from server.libraries.models import Library, LibraryKind

TOPICS = DeviceTopics("thuvien", "VN-HDU", "kiosk", "kiosk-1")


@pytest.fixture(params=["sqlite_db", pytest.param("pg_db", marks=pytest.mark.postgres)])
def library(request: pytest.FixtureRequest) -> Database:
    """The same small library on SQLite and on PostgreSQL (this folder's ``db`` is SQLite only)."""
    db: Database = request.getfixturevalue(request.param)
    with db.session() as s:
        lib = Library(isil="VN-HDU", name="Thư viện tỉnh Hải Dương", kind=LibraryKind.PROVINCE)
        s.add_all([lib, ItemType(code="book", name="Sách")])
        s.flush()
        s.add(Device(device_id="kiosk-1", kind=DeviceKind.KIOSK, library_id=lib.id))
        record = BibRecord(marc=b"", title="Số đỏ", search_text="so do")
        s.add(record)
        s.flush()
        item = Item(barcode="3000000002", record_id=record.id, library_id=lib.id, item_type="book",
                    security_state=SecurityState.UNSECURED, tags=[ItemTag(uid="E004010000000002")])
        s.add(item)
        s.flush()
        s.add(Loan(item_id=item.id, patron_category="adult", library_id=lib.id,
                   due_at=utcnow() + dt.timedelta(days=14), channel="kiosk"))
    return db


def event(kind: str, **data: Any) -> Event:
    return Event(event_id=new_event_id(), device_id="kiosk-1", kind=kind, occurred_at=utcnow(), data=data)


def ingest(db: Database, *events: Event) -> dict[str, int]:
    outcome = Processor(db).process([Incoming(TOPICS.event(e.kind), encode(e), utcnow()) for e in events])
    return {k: v for k, v in outcome.counters.items() if k != "received"}


def item(db: Database) -> Item:
    with db.session() as s:
        return s.scalars(select(Item)).one()


def test_write_failure_flags_the_item_and_recovery_lifts_it(library: Database) -> None:
    failed = event("tag_write_failed", item_id="3000000002", uids=["E004010000000002"], wanted="on_loan",
                   kiosk="kiosk-1")
    assert ingest(library, failed) == {"applied": 1}
    flagged = item(library)
    assert flagged.security_state is SecurityState.UNKNOWN
    assert flagged.flag_reason is not None and "kiosk-1" in flagged.flag_reason and "on loan" in flagged.flag_reason
    assert ingest(library, failed) == {"duplicate": 1}  # the same event twice changes nothing
    assert ingest(library, event("tag_write_recovered", item_id="3000000002", kiosk="kiosk-1")) == {"applied": 1}
    assert item(library).flag_reason is None
    with library.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["item.tag_write_failed", "item.tag_write_recovered"]


def test_write_failure_found_by_tag_uid(library: Database) -> None:
    ingest(library, event("tag_write_failed", item_id=None, uids=["e004010000000002"], wanted="in_stock"))
    assert "in stock" in (item(library).flag_reason or "")


def test_offline_conflict_flags_item_and_open_loan(library: Database) -> None:
    conflict = event("offline_conflict", op="checkout", item_id="3000000002", patron_id="0001000004",
                     at="20270301    093000", note="patron blocked")
    assert ingest(library, conflict) == {"applied": 1}
    with library.session() as s:
        loan = s.scalars(select(Loan)).one()
        assert loan.review_reason is not None and "patron blocked" in loan.review_reason
    assert "refused on replay" in (item(library).flag_reason or "")


def test_unknown_item_is_quarantined_with_a_reason(library: Database) -> None:
    counters = ingest(library, event("tag_write_failed", item_id="9999", uids=[], wanted="on_loan"))
    assert counters.get("applied", 0) == 0
    with library.session() as s:
        stored = s.scalars(select(DeviceEvent)).one()
    assert stored.status is EventStatus.QUARANTINED
    assert stored.reason is not None and "9999" in stored.reason
