"""The ingest processor on SQLite and PostgreSQL: exactly once, quarantine with reasons, handler registry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import CommandResult, DeviceTopics, Event, Status, Telemetry, encode, new_event_id
from server.audit.models import AuditEntry
from server.db import Database, utcnow
from server.devices import service
from server.devices.models import CommandStatus, Device, DeviceCommand, DeviceEvent, DeviceState, EventStatus
from server.devices.models import TelemetrySample as Sample
from server.ingest import RejectEvent, register_handler
from server.ingest.handlers import unregister_handler
from server.ingest.processor import Incoming, Processor
from tests.mqtt.brokers import add_device, add_library

K1 = DeviceTopics("thuvien", "VN-HDU", "kiosk", "hdu-k01")
K2 = DeviceTopics("thuvien", "VN-HDU", "kiosk", "hdu-k02")


@pytest.fixture
def registry(db: Database) -> Database:
    add_library(db)
    add_library(db, "VN-HDU-GL")
    add_device(db, "hdu-k01")
    add_device(db, "hdu-k02")
    return db


def _event(device: str = "hdu-k01", kind: str = "checkout", *, event_id: str | None = None,
           at: dt.datetime | None = None, **data: object) -> Event:
    return Event(event_id=event_id or new_event_id(), device_id=device, kind=kind,
                 occurred_at=at or utcnow(), data=dict(data))


def _msg(topic: str, payload: bytes | Event) -> Incoming:
    raw = encode(payload) if isinstance(payload, Event) else payload
    return Incoming(topic, raw, utcnow())


def _rows(db: Database) -> list[DeviceEvent]:
    with db.session() as session:
        return list(session.scalars(select(DeviceEvent).order_by(DeviceEvent.id)))


def test_an_event_is_stored_once_however_often_it_comes(registry: Database) -> None:
    processor = Processor(registry)
    events = [_event() for _ in range(5)]
    batch = [_msg(K1.event("checkout"), e) for e in events]
    first = processor.process(batch + batch[:2])  # a duplicate inside the batch too
    assert first.counters["applied"] == 5
    assert first.counters["duplicate"] == 2
    again = processor.process(batch)
    assert again.counters["duplicate"] == 5
    assert again.counters["applied"] == 0
    assert sorted(again.acks[K1.ack]) == sorted(e.event_id for e in events)
    assert len(_rows(registry)) == 5


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (K1.event("checkout"), b"{oops", "malformed_json"),
        (K1.event("checkout"), b'{"v": 9, "event_id": "x1"}', "unknown_version"),
        (K1.event("checkout"), b'{"v": 1, "event_id": "x2"}', "invalid_payload"),
        ("thuvien/vn-hdu/kiosk/hdu-k99/evt/checkout", "hdu-k99", "unknown_device"),
        (K2.event("checkout"), "hdu-k01", "topic_mismatch"),  # k01's event on k02's topic
        ("thuvien/vn-hdu-gl/kiosk/hdu-k01/evt/checkout", "hdu-k01", "topic_mismatch"),  # wrong library
        ("thuvien/vn-hdu/gate/hdu-k01/evt/checkout", "hdu-k01", "topic_mismatch"),  # wrong kind
        (K1.event("checkin"), "hdu-k01", "topic_mismatch"),  # a checkout on the checkin topic
    ],
)
def test_bad_input_is_quarantined_with_a_reason(registry: Database, topic: str, payload: bytes | str,
                                                 reason: str) -> None:
    processor = Processor(registry)
    raw = encode(_event(payload)) if isinstance(payload, str) else payload
    good = _event()
    outcome = processor.process([_msg(topic, raw), _msg(K1.event("checkout"), good)])
    assert outcome.counters[f"quarantined.{reason}"] == 1
    assert outcome.counters["applied"] == 1
    rows = _rows(registry)
    quarantined = [r for r in rows if r.status is EventStatus.QUARANTINED]
    assert len(quarantined) == 1 and quarantined[0].reason is not None
    assert quarantined[0].reason.startswith(reason)
    # The same bad message again is neither stored twice nor fatal.
    assert processor.process([_msg(topic, raw)]).counters["duplicate"] == 1
    assert len(_rows(registry)) == 2


def test_replays_and_far_clocks_are_quarantined(registry: Database) -> None:
    processor = Processor(registry, max_clock_skew=dt.timedelta(minutes=10), max_event_age=dt.timedelta(days=30))
    old = _event(at=utcnow() - dt.timedelta(days=400))
    ahead = _event(at=utcnow() + dt.timedelta(hours=5))
    late_but_fine = _event(at=utcnow() - dt.timedelta(days=3))  # an outbox that waited out an outage
    outcome = processor.process([_msg(K1.event("checkout"), e) for e in (old, ahead, late_but_fine)])
    assert outcome.counters["quarantined.too_old"] == 1
    assert outcome.counters["quarantined.clock_ahead"] == 1
    assert outcome.counters["applied"] == 1
    assert len(outcome.acks[K1.ack]) == 3  # stored (quarantined) events are acknowledged too


@pytest.fixture
def handlers() -> Iterator[list[str]]:
    seen: list[str] = []

    def on_renew(session: Session, device: Device, event: Event) -> None:
        if event.data.get("item") == "reject":
            raise RejectEvent("item is not on loan")
        if event.data.get("item") == "crash":
            raise KeyError("boom")
        seen.append(event.event_id)
        session.add(AuditEntry(actor_kind="device", actor_id=device.device_id, action="renew", details={}))

    register_handler("renew", on_renew)
    yield seen
    unregister_handler("renew")


def test_handlers_run_once_in_the_events_transaction(registry: Database, handlers: list[str]) -> None:
    processor = Processor(registry)
    ok, rejected, crashed = _event(kind="renew", item="1"), _event(kind="renew", item="reject"), _event(
        kind="renew", item="crash"
    )
    batch = [_msg(K1.event("renew"), e) for e in (ok, rejected, crashed)]
    outcome = processor.process(batch)
    assert outcome.counters["applied"] == 1
    assert outcome.counters["quarantined.rejected"] == 1
    assert outcome.counters["quarantined.handler_failed"] == 1
    processor.process(batch)
    assert handlers == [ok.event_id]
    with registry.session() as session:
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "renew")).all()) == 1
    reasons = {r.event_id: r.reason for r in _rows(registry)}
    assert reasons[rejected.event_id] == "rejected: item is not on loan"
    assert (reasons[crashed.event_id] or "").startswith("handler_failed: KeyError")


def test_handlers_cannot_register_a_kind_twice() -> None:
    def one(_s: Session, _d: Device, _e: Event) -> None: ...

    register_handler("visitors_test", one)
    try:
        with pytest.raises(ValueError, match="already has a handler"):
            register_handler("visitors_test", lambda *_a: None)
    finally:
        unregister_handler("visitors_test")


def test_status_telemetry_and_results_update_the_registry(registry: Database) -> None:
    processor = Processor(registry)
    birth = Status(device_id="hdu-k01", state="online", at=utcnow(), mode="normal", versions={"thuvien": "1.0"},
                   config={"role": "kiosk"})
    telemetry = Telemetry(device_id="hdu-k01", at=utcnow(), outbox_depth=7,
                          readers=[{"name": "pad", "state": "silent"}])  # type: ignore[list-item]
    with registry.write() as session:
        command = service.issue_command(session, "hdu-k01", "ping")
    result = CommandResult(command_id=command.command_id, device_id="hdu-k01", ok=True, at=utcnow(),
                           result={"pong": True})
    outcome = processor.process([
        Incoming(K1.status, encode(birth), utcnow()),
        Incoming(K1.telemetry, encode(telemetry), utcnow()),
        Incoming(K1.result("ping"), encode(result), utcnow()),
        Incoming(K2.telemetry, b"garbage", utcnow()),
    ])
    assert outcome.counters["status"] == 1 and outcome.counters["telemetry"] == 1 and outcome.counters["results"] == 1
    assert outcome.counters["dropped.telemetry_malformed_json"] == 1
    with registry.session() as session:
        device = session.scalar(select(Device).where(Device.device_id == "hdu-k01"))
        assert device is not None
        assert (device.state, device.versions, device.outbox_depth, device.reader_state) == (
            DeviceState.ONLINE, {"thuvien": "1.0"}, 7, "silent"
        )
        assert device.config["mode"] == "normal"
        assert len(session.scalars(select(Sample)).all()) == 1
        stored = session.scalar(select(DeviceCommand).where(DeviceCommand.command_id == command.command_id))
        assert stored is not None and stored.status is CommandStatus.DONE and stored.result == {"pong": True}
    offline = Status(device_id="hdu-k01", state="offline", reason="lwt")
    processor.process([Incoming(K1.status, encode(offline), utcnow())])
    with registry.session() as session:
        device = session.scalar(select(Device).where(Device.device_id == "hdu-k01"))
        assert device is not None and device.state is DeviceState.OFFLINE


def test_a_batch_that_collides_with_another_consumer_stores_the_rest(registry: Database) -> None:
    shared = _event()
    other = Processor(registry)
    other.process([_msg(K1.event("checkout"), shared)])

    class Racing(Processor):
        """Sees the table as it was before the other consumer committed (the race window)."""

        def _apply(self, session, batch, outcome):  # type: ignore[no-untyped-def]
            if len(batch) > 1:
                session.add(DeviceEvent(event_id=shared.event_id, device_id="hdu-k01", kind="checkout",
                                        occurred_at=utcnow(), payload={}))
                session.flush()
            return super()._apply(session, batch, outcome)

    fresh = _event()
    outcome = Racing(registry).process([_msg(K1.event("checkout"), shared), _msg(K1.event("checkout"), fresh)])
    assert outcome.counters["applied"] == 1
    assert outcome.counters["duplicate"] == 1
    assert sorted(outcome.acks[K1.ack]) == sorted([shared.event_id, fresh.event_id])
    assert len(_rows(registry)) == 2


def test_an_event_the_database_refuses_is_quarantined_not_retried_forever(registry: Database) -> None:
    processor = Processor(registry)
    poisoned = _event(note="nul \x00 inside")  # PostgreSQL's jsonb refuses \u0000; SQLite takes it
    fine = _event()
    outcome = processor.process([_msg(K1.event("checkout"), poisoned), _msg(K1.event("checkout"), fine)])
    assert outcome.counters.get("failed", 0) == 0
    assert sorted(outcome.acks[K1.ack]) == sorted([poisoned.event_id, fine.event_id])
    rows = {r.status for r in _rows(registry)}
    if registry.dialect == "postgresql":
        assert outcome.counters["quarantined.unstorable"] == 1
        assert rows == {EventStatus.APPLIED, EventStatus.QUARANTINED}
        assert processor.process([_msg(K1.event("checkout"), poisoned)]).counters["quarantined.unstorable"] == 0
    assert len(_rows(registry)) == 2
