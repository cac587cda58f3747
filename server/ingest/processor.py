"""Turning a batch of MQTT messages into database rows, exactly once, in one transaction.

Events are stored by ``event_id`` with ``INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING``, and only
the events that statement newly inserted reach their handler, in the same transaction (a redelivered event, or
one another server process stored at the same moment, is only acknowledged again). A message on an
``evt/<kind>`` topic holds one event or an ``EventBatch`` of several; each event of a batch is checked,
stored and acknowledged as if it had come alone. What cannot be applied is stored *quarantined* with a reason,
never dropped silently and never applied later by accident: malformed JSON, an unknown schema version, an
invalid payload, an unknown or retired device, a device publishing on another device's topic (or its topic's
library or kind not matching the registry), an event older than ``max_event_age`` (a replay) or dated further
ahead than ``max_clock_skew`` (a device clock hours off). Quarantined events are acknowledged too: they are
stored, and staff review them (``GET /api/v1/devices/quarantine``).

If a batch fails as a whole (a poisoned event the database refuses), each message is processed again in its own
transaction, and an ``EventBatch`` that fails even alone event by event, so one bad event never blocks or rolls
back the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, configure_mappers

import server.models  # noqa: F401  (every mapped class, so that configure_mappers() resolves them all)
from edge.contract import (
    Channel,
    CommandResult,
    Event,
    ParsedTopic,
    PayloadError,
    Status,
    Telemetry,
    TopicError,
    batch_events,
    decode,
    is_batch,
    library_level,
    parse_json,
    parse_topic,
    validate,
)
from server.db import Database, utcnow
from server.devices.models import (
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceEvent,
    DeviceState,
    EventStatus,
    TelemetrySample,
)
from server.ingest.errors import RejectEvent
from server.ingest.handlers import handler_for, load_handler_modules
from server.libraries.models import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as the broker delivered it; ``token`` is whatever the caller needs to ack it."""

    topic: str
    payload: bytes
    received_at: dt.datetime
    token: Any = None


@dataclass
class Outcome:
    acks: dict[str, list[str]] = field(default_factory=dict)  # ack topic -> event ids stored (now or before)
    counters: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class _Known:
    device: Device
    library: str  # topic level of the device's library


@dataclass(frozen=True, slots=True)
class _Unit:
    """One event as it arrived: alone in its message, or inside an ``EventBatch``."""

    message: Incoming
    topic: ParsedTopic
    event: Event | None = None
    error: PayloadError | None = None
    raw: bytes = b""  # what to keep when the event is unreadable
    ack_ids: tuple[str, ...] = ()  # what to acknowledge when it is unreadable


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to do with a row once the insert tells whether it is new."""

    unit: _Unit
    entry: _Known | None
    quarantine: tuple[str, str] | None  # (reason code, sentence) decided before the insert


class Processor:
    """Applies batches of messages to a :class:`Database`; safe to run in several processes at once."""

    def __init__(
        self,
        db: Database,
        *,
        prefix: str = "thuvien",
        max_clock_skew: dt.timedelta = dt.timedelta(minutes=10),
        max_event_age: dt.timedelta = dt.timedelta(days=90),
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db = db
        self.prefix = prefix
        self.max_clock_skew = max_clock_skew
        self.max_event_age = max_event_age
        self.now = now
        # Everything the handlers map, imported and configured here, before any consumer thread runs: a
        # handler module imported by one thread while another configured the mappers left a relationship
        # unresolved ('Item' of Holding) and every later event unstorable.
        load_handler_modules()
        configure_mappers()

    def process(self, batch: Sequence[Incoming]) -> Outcome:
        """Apply ``batch`` (one transaction; per message on failure); what to acknowledge and counters."""
        if not batch:
            return Outcome()
        try:
            outcome = Outcome()
            with self.db.write() as session:
                self._apply(session, batch, outcome)
            return outcome
        except (IntegrityError, OperationalError) as exc:
            log.info("batch of %d failed as a whole (%s); retrying message by message", len(batch), type(exc).__name__)
        except Exception:
            log.exception("batch of %d failed; retrying message by message", len(batch))
        outcome = Outcome()
        for message in batch:
            _merge(outcome, self._alone(message))
        return outcome

    def _alone(self, message: Incoming) -> Outcome:
        """One message in its own transaction; an ``EventBatch`` that fails even so, event by event."""
        outcome = Outcome()
        try:
            with self.db.write() as session:
                self._apply(session, [message], outcome)
            return outcome
        except Exception as exc:
            singles = _split(message)
            if singles is not None:
                log.info("a batch of %d events on %s failed (%s); storing its events one by one",
                         len(singles), message.topic, type(exc).__name__)
                outcome = Outcome()
                for single in singles:
                    _merge(outcome, self._alone(single))
                return outcome
            if isinstance(exc, IntegrityError):
                # Stored meanwhile through another path: acknowledging is right, applying again is not.
                outcome = Outcome()
                parsed = _parse(message.topic)
                if parsed is not None:
                    _ack(outcome, parsed, _ids_of_payload(message.payload))
                outcome.counters["duplicate"] += 1
                return outcome
            return self._unstorable(message, exc)

    def _unstorable(self, message: Incoming, exc: Exception) -> Outcome:
        """A message the database refuses even alone (say a NUL character PostgreSQL's jsonb rejects):
        quarantine it with its payload as escaped text, so that it stops coming back."""
        outcome = Outcome()
        parsed = _parse(message.topic)
        if parsed is None or parsed.channel is not Channel.EVENT:
            log.error("message on %s cannot be stored (%s); dropped", message.topic, exc)
            outcome.counters["dropped.unstorable"] += 1
            return outcome
        reason = f"unstorable: the database refused it: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        text_payload = message.payload[:4000].decode("utf-8", "replace").replace("\x00", "<NUL>")
        row = {
            "event_id": _quarantine_id(message.topic, message.payload),
            "device_id": parsed.device_id[:64],
            "kind": (parsed.name or "unknown")[:32],
            "occurred_at": self.now(),
            "received_at": message.received_at,
            "payload": json.dumps({"topic": message.topic, "escaped": text_payload}),
            "status": EventStatus.QUARANTINED.value,
            "reason": reason[:2000],
        }
        try:
            with self.db.write() as session:
                known = not _insert_events(session, [row])
        except Exception:
            log.exception("message on %s could not be stored even quarantined; it will be redelivered",
                          message.topic)
            outcome.counters["failed"] += 1
            return outcome
        if known:
            outcome.counters["duplicate"] += 1
        else:
            log.error("event on %s quarantined as unstorable: %s", message.topic, exc)
            outcome.counters["quarantined.unstorable"] += 1
        _ack(outcome, parsed, _ids_of_payload(message.payload))
        return outcome

    # -- one transaction -------------------------------------------------------------------------------------

    def _apply(self, session: Session, batch: Sequence[Incoming], outcome: Outcome) -> None:
        parsed = [(m, _parse(m.topic)) for m in batch]
        device_ids = {p.device_id for _m, p in parsed if p is not None}
        known = self._devices(session, device_ids)
        events: list[tuple[Incoming, ParsedTopic]] = []
        for message, topic in parsed:
            outcome.counters["received"] += 1
            if topic is None:
                outcome.counters["dropped.bad_topic"] += 1
                log.warning("message on a topic outside the scheme: %r", message.topic)
            elif topic.channel is Channel.EVENT:
                events.append((message, topic))
            elif topic.channel is Channel.STATUS:
                self._status(message, topic, known, outcome)
            elif topic.channel is Channel.TELEMETRY:
                self._telemetry(session, message, topic, known, outcome)
            elif topic.channel is Channel.RESULT:
                self._result(session, message, topic, known, outcome)
            else:
                outcome.counters["dropped.unexpected_channel"] += 1
        if events:
            self._events(session, events, known, outcome)

    def _devices(self, session: Session, device_ids: set[str]) -> dict[str, _Known]:
        if not device_ids:
            return {}
        rows = session.execute(
            select(Device, Library.isil)
            .join(Library, Library.id == Device.library_id)
            .where(Device.device_id.in_(device_ids), Device.retired_at.is_(None))
        ).all()
        return {device.device_id: _Known(device, library_level(isil)) for device, isil in rows}

    def _events(
        self,
        session: Session,
        events: list[tuple[Incoming, ParsedTopic]],
        known: dict[str, _Known],
        outcome: Outcome,
    ) -> None:
        now = self.now()
        rows: list[dict[str, Any]] = []
        plans: list[_Plan] = []
        seen: set[str] = set()
        for message, topic in events:
            for unit in _units(message, topic):
                event = unit.event
                if event is None:
                    assert unit.error is not None
                    _ack(outcome, topic, unit.ack_ids)
                    error = unit.error
                    row = _quarantined(_quarantine_id(message.topic, unit.raw), topic, message, unit.raw,
                                       error.reason, str(error), now)
                    plan = _Plan(unit, None, (error.reason, str(error)))
                else:
                    _ack(outcome, topic, (event.event_id,))
                    entry = known.get(topic.device_id)
                    reason = self._check(topic, event, entry, now)
                    row = {
                        "event_id": event.event_id,
                        "device_id": event.device_id,
                        "kind": event.kind,
                        "occurred_at": event.occurred_at,
                        "received_at": message.received_at,
                        "payload": event.model_dump_json(),
                        "status": EventStatus.APPLIED.value,
                        "reason": None,
                    }
                    if reason is not None:
                        _quarantine(row, f"{reason[0]}: {reason[1]}")
                    plan = _Plan(unit, entry, reason)
                if row["event_id"] in seen:
                    outcome.counters["duplicate"] += 1
                    continue
                seen.add(row["event_id"])
                rows.append(row)
                plans.append(plan)
        new = _insert_events(session, rows)
        refused: list[dict[str, Any]] = []
        for row, plan in zip(rows, plans, strict=True):
            if row["event_id"] not in new:
                outcome.counters["duplicate"] += 1
                continue
            if plan.quarantine is not None:
                outcome.counters[f"quarantined.{plan.quarantine[0]}"] += 1
                if plan.unit.event is not None:
                    log.warning("event %s from %s quarantined: %s", row["event_id"], plan.unit.topic.device_id,
                                plan.quarantine[1])
                continue
            event, entry = plan.unit.event, plan.entry
            assert event is not None and entry is not None
            device = entry.device
            received_at = plan.unit.message.received_at
            if device.last_seen_at is None or device.last_seen_at < received_at:
                device.last_seen_at = received_at
            handler = handler_for(event.kind)
            if handler is None:
                outcome.counters["applied"] += 1
                continue
            try:
                with session.begin_nested():
                    handler(session, device, event)
                    session.flush()
            except RejectEvent as exc:
                refused.append({"b_event_id": event.event_id, "b_reason": f"rejected: {exc.reason}"[:2000]})
                outcome.counters["quarantined.rejected"] += 1
            except Exception as exc:
                log.exception("handler of %s failed on event %s", event.kind, event.event_id)
                refused.append({"b_event_id": event.event_id,
                                "b_reason": f"handler_failed: {type(exc).__name__}: {exc}"[:2000]})
                outcome.counters["quarantined.handler_failed"] += 1
            else:
                outcome.counters["applied"] += 1
        if refused:
            table = cast(Table, DeviceEvent.__table__)
            session.execute(
                update(table)
                .where(table.c.event_id == bindparam("b_event_id"))
                .values(status=EventStatus.QUARANTINED, reason=bindparam("b_reason")),
                refused,
            )

    def _check(
        self, topic: ParsedTopic, event: Event, entry: _Known | None, now: dt.datetime
    ) -> tuple[str, str] | None:
        """``(reason code, sentence)`` when the event must be quarantined."""
        if entry is None:
            return "unknown_device", f"device {topic.device_id!r} is not registered (or retired)"
        device = entry.device
        if event.device_id != topic.device_id:
            return "topic_mismatch", f"event of device {event.device_id!r} published on {topic.device_id!r}'s topic"
        if topic.library != entry.library or topic.kind != device.kind.value:
            return (
                "topic_mismatch",
                f"device {device.device_id!r} is a {device.kind.value} of {entry.library}, "
                f"but published under {topic.library}/{topic.kind}",
            )
        if topic.name != event.kind:
            return "topic_mismatch", f"a {event.kind!r} event published on the {topic.name!r} topic"
        if event.occurred_at > now + self.max_clock_skew:
            ahead = (event.occurred_at - now).total_seconds()
            return "clock_ahead", f"event dated {ahead:.0f} s in the future (device clock off?)"
        if event.occurred_at < now - self.max_event_age:
            return "too_old", f"event dated {event.occurred_at.isoformat()}, older than the replay window"
        return None

    # -- status, telemetry, results --------------------------------------------------------------------------

    def _status(self, message: Incoming, topic: ParsedTopic, known: dict[str, _Known], outcome: Outcome) -> None:
        entry = known.get(topic.device_id)
        if entry is None or not message.payload:
            outcome.counters["dropped.status_unknown_device" if message.payload else "dropped.status_empty"] += 1
            return
        try:
            status = decode(Status, message.payload)
        except PayloadError as exc:
            outcome.counters[f"dropped.status_{exc.reason}"] += 1
            return
        if status.device_id != topic.device_id:
            outcome.counters["dropped.status_topic_mismatch"] += 1
            return
        device = entry.device
        device.state = DeviceState.ONLINE if status.state == "online" else DeviceState.OFFLINE
        if status.state == "online":
            device.last_seen_at = message.received_at
            if status.versions:
                device.versions = dict(status.versions)
            config = dict(status.config)
            if status.mode is not None:
                config["mode"] = status.mode
            if config:
                device.config = config
        outcome.counters["status"] += 1

    def _telemetry(
        self, session: Session, message: Incoming, topic: ParsedTopic, known: dict[str, _Known], outcome: Outcome
    ) -> None:
        entry = known.get(topic.device_id)
        if entry is None:
            outcome.counters["dropped.telemetry_unknown_device"] += 1
            return
        try:
            telemetry = decode(Telemetry, message.payload)
        except PayloadError as exc:
            outcome.counters[f"dropped.telemetry_{exc.reason}"] += 1
            return
        if telemetry.device_id != topic.device_id:
            outcome.counters["dropped.telemetry_topic_mismatch"] += 1
            return
        metrics: dict[str, Any] = telemetry.model_dump(mode="json", exclude={"v", "device_id", "at"})
        metrics["clock_skew_s"] = round((telemetry.at - message.received_at).total_seconds(), 3)
        session.add(TelemetrySample(device_id=topic.device_id, sampled_at=telemetry.at, metrics=metrics))
        device = entry.device
        device.outbox_depth = telemetry.outbox_depth
        device.last_seen_at = message.received_at
        if device.state is not DeviceState.ONLINE:
            device.state = DeviceState.ONLINE
        if telemetry.readers:
            worst = max(telemetry.readers, key=lambda r: _READER_RANK.get(r.state, 1))
            device.reader_state = worst.state[:32]
        outcome.counters["telemetry"] += 1

    def _result(
        self, session: Session, message: Incoming, topic: ParsedTopic, known: dict[str, _Known], outcome: Outcome
    ) -> None:
        if topic.device_id not in known:
            outcome.counters["dropped.result_unknown_device"] += 1
            return
        try:
            result = decode(CommandResult, message.payload)
        except PayloadError as exc:
            outcome.counters[f"dropped.result_{exc.reason}"] += 1
            return
        command = session.scalar(
            select(DeviceCommand).where(
                DeviceCommand.command_id == result.command_id, DeviceCommand.device_id == topic.device_id
            )
        )
        if command is None:
            outcome.counters["dropped.result_unknown_command"] += 1
            return
        if command.status in (CommandStatus.DONE, CommandStatus.FAILED):
            outcome.counters["duplicate_result"] += 1
            return
        command.status = CommandStatus.DONE if result.ok else CommandStatus.FAILED
        command.result = {**result.result, **({"error": result.error} if result.error else {})}
        command.completed_at = result.at
        outcome.counters["results"] += 1


_READER_RANK = {"connected": 0, "closed": 1, "silent": 2, "unplugged": 3}


def _parse(topic: str) -> ParsedTopic | None:
    try:
        return parse_topic(topic)
    except TopicError:
        return None


def _ack_topic(topic: ParsedTopic) -> str:
    return f"{topic.prefix}/{topic.library}/{topic.kind}/{topic.device_id}/ack"


def _quarantine_id(topic: str, raw: bytes) -> str:
    """A stable id for a payload without a usable event_id (a resend maps to the same row)."""
    digest = hashlib.sha256(topic.encode() + b"\0" + raw).hexdigest()
    return "q-" + digest[:60]


def _units(message: Incoming, topic: ParsedTopic) -> list[_Unit]:
    """The events of a message on an ``evt`` topic, each decoded on its own."""
    try:
        document = parse_json(message.payload)
        if not is_batch(document):
            return [_Unit(message, topic, event=validate(Event, document))]
        elements = batch_events(document)
    except PayloadError as exc:
        return [_Unit(message, topic, error=exc, raw=message.payload, ack_ids=_ids_of_payload(message.payload))]
    units: list[_Unit] = []
    for element in elements:
        try:
            units.append(_Unit(message, topic, event=validate(Event, element)))
        except PayloadError as exc:
            raw = json.dumps(element, sort_keys=True, ensure_ascii=False).encode()
            units.append(_Unit(message, topic, error=exc, raw=raw, ack_ids=_ids_of(element)))
    return units


def _split(message: Incoming) -> list[Incoming] | None:
    """An ``EventBatch`` message as one message per event (None for anything else)."""
    try:
        document = parse_json(message.payload)
        if not is_batch(document):
            return None
        elements = batch_events(document)
    except PayloadError:
        return None
    return [
        Incoming(message.topic, json.dumps(e, ensure_ascii=False).encode(), message.received_at, message.token)
        for e in elements
    ]


def _ids_of(document: Any) -> tuple[str, ...]:
    """The usable event ids in an event (or batch) document that is otherwise unreadable."""
    if not isinstance(document, dict):
        return ()
    if is_batch(document):
        events = document.get("events")
        return tuple(i for e in events for i in _ids_of(e)) if isinstance(events, list) else ()
    value = document.get("event_id")
    return (value,) if isinstance(value, str) and 0 < len(value) <= 64 else ()


def _ids_of_payload(payload: bytes) -> tuple[str, ...]:
    try:
        return _ids_of(json.loads(payload))
    except (ValueError, UnicodeDecodeError):
        return ()


def _ack(outcome: Outcome, topic: ParsedTopic, event_ids: Sequence[str]) -> None:
    if event_ids:
        outcome.acks.setdefault(_ack_topic(topic), []).extend(event_ids)


def _quarantine(row: dict[str, Any], reason: str) -> None:
    row["status"] = EventStatus.QUARANTINED.value
    row["reason"] = reason[:2000]


# One statement for a whole batch: rows that are new come back; an event_id stored before (or by another server
# process at the same moment) is skipped, never an error that would fail the batch. The rows travel as one JSON
# array (one parameter, encoded by the json module's C encoder and parsed by PostgreSQL): cheaper than array
# parameters, whose elements the driver quotes one by one in Python.
_INSERT_PG = """
INSERT INTO device_events (event_id, device_id, kind, occurred_at, received_at, payload, status, reason)
SELECT r->>0, r->>1, r->>2, (r->>3)::timestamptz, (r->>4)::timestamptz, (r->>5)::jsonb, r->>6, r->>7
FROM jsonb_array_elements(%s::jsonb) AS r
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert event rows (``payload`` as JSON text) unless their event_id is stored; the ids inserted."""
    if not rows:
        return set()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # In event_id order: two server processes inserting overlapping batches take the keys in the same
        # order, so one waits for the other instead of deadlocking.
        document = json.dumps([
            [r["event_id"], r["device_id"], r["kind"], r["occurred_at"].isoformat(), r["received_at"].isoformat(),
             r["payload"], r["status"], r["reason"]]
            for r in sorted(rows, key=lambda r: str(r["event_id"]))
        ])
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(_INSERT_PG, (document,))
        return {row[0] for row in cursor.fetchall()}
    statement = (
        sqlite_insert(DeviceEvent)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(DeviceEvent.event_id)
    )
    values = [{**r, "payload": json.loads(r["payload"]), "status": EventStatus(r["status"])} for r in rows]
    return set(session.scalars(statement, values).all())


def _quarantined(
    qid: str, topic: ParsedTopic, message: Incoming, raw: bytes, reason: str, detail: str, now: dt.datetime
) -> dict[str, Any]:
    try:
        document: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        document = None
    payload = document if isinstance(document, dict) else {"raw": raw[:4000].decode("utf-8", "replace")}
    return {
        "event_id": qid,
        "device_id": topic.device_id[:64],
        "kind": (topic.name or "unknown")[:32],
        "occurred_at": now,
        "received_at": message.received_at,
        "payload": json.dumps({"topic": message.topic, "document": payload}),
        "status": EventStatus.QUARANTINED.value,
        "reason": f"{reason}: {detail}"[:2000],
    }


def _merge(into: Outcome, other: Outcome) -> None:
    for topic, ids in other.acks.items():
        into.acks.setdefault(topic, []).extend(ids)
    into.counters.update(other.counters)
