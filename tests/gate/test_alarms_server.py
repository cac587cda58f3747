"""The server's side of the gate: alarms classified against items and loans, visitor counts, silencing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from edge.contract import DeviceTopics, Event, encode, new_event_id
from server.alarms import SilenceRefused
from server.alarms.service import acknowledge, list_alarms, silence_gate, visitor_totals
from server.catalog.models import BibRecord, Item, ItemTag, ItemType
from server.circulation.models import Loan
from server.db import Database, utcnow
from server.devices.models import AlarmClass, CommandStatus, Device, DeviceCommand, DeviceKind, GateAlarm, VisitorCount
from server.ingest.processor import Incoming, Processor
from server.libraries.models import Library, LibraryKind

TOPICS = DeviceTopics("thuvien", "VN-HDU", "gate", "gate-1")


@pytest.fixture
def library(db: Database) -> Database:
    with db.session() as s:
        lib = Library(isil="VN-HDU", name="Thư viện tỉnh Hải Dương", kind=LibraryKind.PROVINCE)
        s.add(lib)
        s.add(ItemType(code="book", name="Sách"))
        s.flush()
        s.add(Device(device_id="gate-1", kind=DeviceKind.GATE, library_id=lib.id, name="Cổng an ninh"))
        s.add(Device(device_id="kiosk-1", kind=DeviceKind.KIOSK, library_id=lib.id))
        for serial, title in ((4, "Dế Mèn phiêu lưu ký"), (5, "Nỗi buồn chiến tranh")):
            record = BibRecord(marc=b"", title=title, search_text=title)
            s.add(record)
            s.flush()
            s.add(
                Item(
                    barcode=f"300000000{serial}",
                    record_id=record.id,
                    library_id=lib.id,
                    item_type="book",
                    owner_isil="VN-HDU",
                    tags=[ItemTag(uid=f"E00401000000000{serial}")],
                )
            )
        s.flush()
        loaned = s.scalars(select(Item).where(Item.barcode == "3000000005")).one()
        s.add(
            Loan(
                item_id=loaned.id,
                patron_category="adult",
                library_id=lib.id,
                due_at=utcnow() + dt.timedelta(days=14),
                channel="kiosk",
            )
        )
    return db


def alarm_event(barcode: str | None, uid: str | None, *, event_id: str | None = None, **extra: Any) -> Event:
    data: dict[str, Any] = {
        "gate_id": "gate-1",
        "source": "afi",
        "tag_uid": uid,
        "antenna": 1,
        "item": {"barcode": barcode, "owner_isil": "VN-HDU"} if barcode else None,
        "identity_error": None if barcode else "TagResponseError: tag error",
        "candidates": [],
        "silenced": False,
        "reads": 3,
        **extra,
    }
    return Event(event_id=event_id or new_event_id(), device_id="gate-1", kind="alarm", occurred_at=utcnow(), data=data)


def ingest(db: Database, *events: Event, topics: DeviceTopics = TOPICS) -> dict[str, int]:
    outcome = Processor(db).process([Incoming(topics.event(e.kind), encode(e), utcnow()) for e in events])
    return {k: v for k, v in outcome.counters.items() if k != "received"}


def alarms(db: Database) -> list[GateAlarm]:
    with db.session() as s:
        return list(s.scalars(select(GateAlarm).order_by(GateAlarm.id)))


def test_an_item_not_on_loan_is_a_theft_attempt(library: Database) -> None:
    counters = ingest(library, alarm_event("3000000004", "E004010000000004"))
    assert counters == {"applied": 1}
    (alarm,) = alarms(library)
    assert alarm.classification is AlarmClass.THEFT_ATTEMPT
    assert alarm.item_barcode == "3000000004" and alarm.item_id is not None and alarm.loan_id is None
    assert alarm.device_id == "gate-1" and alarm.antenna == 1 and alarm.library_id is not None


def test_an_item_on_loan_means_the_kiosk_security_write_failed(library: Database) -> None:
    ingest(library, alarm_event("3000000005", "E004010000000005"))
    (alarm,) = alarms(library)
    assert alarm.classification is AlarmClass.SECURITY_WRITE_FAILED
    with library.session() as s:
        item = s.scalars(select(Item).where(Item.barcode == "3000000005")).one()
        loan = s.scalars(select(Loan).where(Loan.item_id == item.id)).one()
        assert alarm.loan_id == loan.id
        assert item.flag_reason is not None and "security write" in item.flag_reason
        assert loan.review_reason is not None and "gate-1" in loan.review_reason


def test_an_unknown_tag_is_a_foreign_or_blank_tag(library: Database) -> None:
    ingest(library, alarm_event(None, "E0070000DEADBEEF"), alarm_event("9999999999", None))
    found = alarms(library)
    assert [a.classification for a in found] == [AlarmClass.UNKNOWN_TAG] * 2
    assert found[0].tag_uid == "E0070000DEADBEEF" and found[0].item_id is None
    assert found[1].item_barcode == "9999999999"


def test_an_unreadable_tag_is_found_by_its_uid(library: Database) -> None:
    ingest(library, alarm_event(None, "E004010000000004"))
    (alarm,) = alarms(library)
    assert alarm.classification is AlarmClass.THEFT_ATTEMPT
    assert alarm.item_barcode == "3000000004"
    assert alarm.note is not None and "could not read" in alarm.note


def test_eas_candidates_prefer_the_item_not_on_loan(library: Database) -> None:
    event = alarm_event(None, None, candidates=["E004010000000005", "E004010000000004"], source="eas")
    ingest(library, event)
    (alarm,) = alarms(library)
    assert alarm.classification is AlarmClass.THEFT_ATTEMPT and alarm.tag_uid == "E004010000000004"


def test_a_redelivered_alarm_is_stored_once(library: Database) -> None:
    event = alarm_event("3000000004", "E004010000000004")
    ingest(library, event)
    counters = ingest(library, event)
    assert counters == {"duplicate": 1}
    assert len(alarms(library)) == 1


def test_an_alarm_from_a_kiosk_is_quarantined(library: Database) -> None:
    event = alarm_event("3000000004", "E004010000000004").model_copy(update={"device_id": "kiosk-1"})
    counters = ingest(library, event, topics=DeviceTopics("thuvien", "VN-HDU", "kiosk", "kiosk-1"))
    assert counters == {"quarantined.rejected": 1}
    assert alarms(library) == []


def visitors_event(start: dt.datetime, count_in: int, count_out: int) -> Event:
    data = {
        "gate_id": "gate-1",
        "period_start": start.isoformat(),
        "period_end": (start + dt.timedelta(minutes=15)).isoformat(),
        "count_in": count_in,
        "count_out": count_out,
        "aisles": {"1": {"in": count_in, "out": count_out}},
    }
    return Event(event_id=new_event_id(), device_id="gate-1", kind="visitors", occurred_at=utcnow(), data=data)


def test_visitor_counts_are_stored_per_period(library: Database) -> None:
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=1)
    later = start + dt.timedelta(minutes=15)
    assert ingest(library, visitors_event(start, 5, 3), visitors_event(later, 2, 4)) == {"applied": 2}
    ingest(library, visitors_event(start, 1, 1))  # the gate restarted within the period
    with library.session() as s:
        rows = s.scalars(select(VisitorCount).order_by(VisitorCount.period_start)).all()
        assert [(r.count_in, r.count_out) for r in rows] == [(6, 4), (2, 4)]
        assert visitor_totals(s, "gate-1") == (8, 8)


def test_bad_visitor_counts_are_quarantined(library: Database) -> None:
    bad = visitors_event(utcnow(), -1, 0)
    assert ingest(library, bad) == {"quarantined.rejected": 1}


def test_staff_list_acknowledge_and_silence(library: Database) -> None:
    ingest(library, alarm_event("3000000004", "E004010000000004"))
    with library.session() as s:
        (alarm,) = list_alarms(s, unacknowledged=True)
        acknowledge(s, alarm.id, note="học sinh quên mượn sách")
        assert list_alarms(s, unacknowledged=True) == []
        command = silence_gate(s, "gate-1", 120)
        assert command.name == "silence-alarm" and command.args == {"seconds": 120}
        assert command.status is CommandStatus.PENDING and command.expires_at > command.issued_at
        with pytest.raises(SilenceRefused, match="not a gate"):
            silence_gate(s, "kiosk-1", 60)
        with pytest.raises(SilenceRefused, match="0"):
            silence_gate(s, "gate-1", 0)
        with pytest.raises(SilenceRefused, match="no active gate"):
            silence_gate(s, "gate-9", 60)
    with library.session() as s:
        assert len(s.scalars(select(DeviceCommand)).all()) == 1
