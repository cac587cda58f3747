"""EventBatch: several events of one topic in one message, each stored, checked and acknowledged as if alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from edge.agent import Agent
from edge.contract import (
    MAX_BATCH_EVENTS,
    DeviceTopics,
    Event,
    EventBatch,
    PayloadError,
    batch_events,
    decode,
    encode,
    encode_batch,
    is_batch,
    new_event_id,
    parse_json,
)
from server.db import Database, utcnow
from server.devices.models import DeviceEvent, EventStatus
from server.ingest.consumer import IngestConsumer
from server.ingest.processor import Incoming, Processor
from tests.mqtt.brokers import Listener, add_device, add_library, require_default_broker
from tests.support import wait_for

K1 = DeviceTopics("thuvien", "VN-HDU", "kiosk", "hdu-k01")


def _event(device: str = "hdu-k01", kind: str = "checkout", **data: object) -> Event:
    return Event(event_id=new_event_id(), device_id=device, kind=kind, occurred_at=utcnow(), data=dict(data))


def _batch(*events: Event | bytes) -> bytes:
    return encode_batch([e if isinstance(e, bytes) else encode(e) for e in events])


def _msg(payload: bytes, topic: str = K1.event("checkout")) -> Incoming:
    return Incoming(topic, payload, utcnow())


def _rows(db: Database) -> dict[str, DeviceEvent]:
    with db.session() as session:
        return {r.event_id: r for r in session.scalars(select(DeviceEvent))}


@pytest.fixture
def registry(db: Database) -> Database:
    add_library(db)
    add_device(db, "hdu-k01")
    add_device(db, "hdu-k02")
    return db


def test_a_batch_round_trips_through_the_contract() -> None:
    events = [_event(item=str(i)) for i in range(3)]
    raw = _batch(*events)
    assert decode(EventBatch, raw).events == events
    document = parse_json(raw)
    assert is_batch(document) and not is_batch(parse_json(encode(events[0])))
    assert len(batch_events(document)) == 3
    with pytest.raises(ValueError):
        encode_batch([])
    with pytest.raises(ValueError):
        encode_batch([encode(events[0])] * (MAX_BATCH_EVENTS + 1))
    for bad, reason in ((b'{"v": 1, "events": []}', "invalid_payload"),
                        (b'{"v": 1, "events": {}}', "invalid_payload"),
                        (b'{"v": 1, "events": [], "extra": 1}', "invalid_payload"),
                        (b'{"v": 7, "events": [{}]}', "unknown_version")):
        with pytest.raises(PayloadError) as caught:
            batch_events(parse_json(bad))
        assert caught.value.reason == reason


def test_each_event_of_a_batch_is_stored_once(registry: Database) -> None:
    processor = Processor(registry)
    events = [_event(item=str(i)) for i in range(5)]
    first = processor.process([_msg(_batch(*events)), _msg(encode(events[0]))])  # one also alone
    assert first.counters["applied"] == 5 and first.counters["duplicate"] == 1
    again = processor.process([_msg(_batch(*events[2:]))])
    assert again.counters["duplicate"] == 3 and again.counters["applied"] == 0
    assert sorted(again.acks[K1.ack]) == sorted(e.event_id for e in events[2:])
    rows = _rows(registry)
    assert set(rows) == {e.event_id for e in events}
    assert {r.status for r in rows.values()} == {EventStatus.APPLIED}
    assert rows[events[1].event_id].payload["data"] == {"item": "1"}


def test_a_bad_event_in_a_batch_is_quarantined_alone(registry: Database) -> None:
    processor = Processor(registry)
    good = [_event(), _event()]
    foreign = _event("hdu-k02")  # another device's event in hdu-k01's batch
    checkin = _event(kind="checkin")  # a checkin inside a batch on the checkout topic
    shapeless = json.dumps({"v": 1, "event_id": "shapeless-1", "kind": "checkout"}).encode()
    outcome = processor.process([_msg(_batch(good[0], foreign, shapeless, checkin, good[1]))])
    assert outcome.counters["applied"] == 2
    assert outcome.counters["quarantined.topic_mismatch"] == 2
    assert outcome.counters["quarantined.invalid_payload"] == 1
    assert sorted(outcome.acks[K1.ack]) == sorted(
        [e.event_id for e in (*good, foreign, checkin)] + ["shapeless-1"]
    )
    rows = _rows(registry)
    assert len(rows) == 5
    assert rows[foreign.event_id].status is EventStatus.QUARANTINED
    assert (rows[foreign.event_id].reason or "").startswith("topic_mismatch")
    [unreadable] = [r for r in rows.values() if r.event_id.startswith("q-")]
    assert (unreadable.reason or "").startswith("invalid_payload")
    assert unreadable.payload["document"]["event_id"] == "shapeless-1"
    # The same batch again: nothing new, everything acknowledged again.
    again = processor.process([_msg(_batch(good[0], foreign, shapeless, checkin, good[1]))])
    assert again.counters["duplicate"] == 5 and len(_rows(registry)) == 5


def test_a_batch_with_a_bad_envelope_is_quarantined_and_its_ids_acknowledged(registry: Database) -> None:
    processor = Processor(registry)
    inner = _event()
    future = json.dumps({"v": 9, "events": [json.loads(encode(inner))]}).encode()
    outcome = processor.process([_msg(future)])
    assert outcome.counters["quarantined.unknown_version"] == 1
    assert outcome.acks[K1.ack] == [inner.event_id]
    [row] = _rows(registry).values()
    assert row.status is EventStatus.QUARANTINED and row.payload["document"]["v"] == 9


def test_a_poisoned_event_does_not_hold_back_its_batch(registry: Database) -> None:
    processor = Processor(registry)
    poisoned = _event(note="nul \x00 inside")  # PostgreSQL refuses \u0000 in jsonb; SQLite takes it
    fine = [_event(), _event()]
    other = _event()
    outcome = processor.process([_msg(_batch(fine[0], poisoned, fine[1])), _msg(encode(other))])
    assert outcome.counters.get("failed", 0) == 0
    assert sorted(outcome.acks[K1.ack]) == sorted(e.event_id for e in (*fine, poisoned, other))
    rows = _rows(registry)
    for event in (*fine, other):
        assert rows[event.event_id].status is EventStatus.APPLIED
    if registry.dialect == "postgresql":
        assert outcome.counters["quarantined.unstorable"] == 1 and outcome.counters["applied"] == 3
        assert poisoned.event_id not in rows and len(rows) == 4
    else:
        assert outcome.counters["applied"] == 4 and len(rows) == 4


def test_a_backlog_goes_out_in_batches_and_is_stored_once(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-k05")
    mqtt: dict[str, Any] = {"port": 1883, "topic_prefix": prefix, "event_batch": 40}
    agent = make_agent("hdu-k05", start=False, mqtt=mqtt)
    ids = [agent.context.emit("checkout", {"item": f"3{i:09d}"}) for i in range(100)]
    ids += [agent.context.emit("checkin", {"item": f"3{i:09d}"}) for i in range(30)]
    listener = Listener(1883, [f"{prefix}/+/+/hdu-k05/evt/+"])
    try:
        assert listener.subscribed.wait(10)
        make_consumer(pg_db, topic_prefix=prefix)
        agent.start()
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=30), "the server never acknowledged"
        with listener.lock:
            sizes = [len(batch_events(parse_json(m.payload))) for m in listener.messages]
    finally:
        listener.close()
    assert sizes[:4] == [40, 40, 20, 30]  # consecutive events of one topic, at most event_batch at a time
    with pg_db.session() as session:
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == 130
        assert set(session.scalars(select(DeviceEvent.event_id))) == set(ids)


def test_events_published_while_no_consumer_listened_go_again_when_one_subscribes(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    """The broker drops what no subscriber takes; the consumer's empty ack on subscribing makes the device resend
    at once (the resend timeout here is far longer than the test may take)."""
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-k06")
    agent = make_agent("hdu-k06", mqtt={"port": 1883, "topic_prefix": prefix}, outbox={"resend_after_s": 3600})
    ids = [agent.context.emit("checkout", {"item": f"3{i:09d}"}) for i in range(20)]
    agent.uplink.wake()
    assert wait_for(lambda: agent.uplink.counters["published"] >= 20, timeout=10)
    assert agent.outbox.depth() == 20  # sent into the void: nobody acknowledges
    make_consumer(pg_db, topic_prefix=prefix)
    assert wait_for(lambda: agent.outbox.depth() == 0, timeout=30), "the device never resent"
    with pg_db.session() as session:
        assert set(session.scalars(select(DeviceEvent.event_id))) == set(ids)
