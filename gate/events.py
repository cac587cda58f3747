"""The gate's events (``alarm``, ``visitors``, ``reader_state``) and where they go.

The payload builders here are the one place that says what a gate puts in an event's ``data``; the server's
handlers in ``server/alarms`` read the same keys. An :class:`EventSink` takes finished events: the durable
edge outbox in production (:class:`OutboxSink`), a list in tests and the demo (:class:`MemorySink`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Protocol

from edge.contract import DeviceTopics, Event, new_event_id

from .counter import BeamFault, VisitorPeriod
from .detector import Alarm

__all__ = [
    "EventSink",
    "MemorySink",
    "OutboxSink",
    "alarm_data",
    "visitors_data",
    "reader_state_data",
    "beam_fault_data",
    "make_event",
]

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class MemorySink:
    """Keeps events in a list (thread-safe); ``of(kind)`` filters them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.kind == kind]


class _OutboxLike(Protocol):
    def add(self, topic: str, event: Event) -> str: ...


class OutboxSink:
    """Writes each event to the durable edge outbox under the device's event topic."""

    def __init__(self, outbox: _OutboxLike, topics: DeviceTopics) -> None:
        self.outbox = outbox
        self.topics = topics

    def emit(self, event: Event) -> None:
        self.outbox.add(self.topics.event(event.kind), event)


def make_event(
    device_id: str, kind: str, data: dict[str, Any], *, occurred_at: dt.datetime, event_id: str = ""
) -> Event:
    return Event(
        event_id=event_id or new_event_id(),
        device_id=device_id,
        kind=kind,
        occurred_at=occurred_at,
        data=data,
    )


def alarm_data(alarm: Alarm) -> dict[str, Any]:
    """What an ``alarm`` event carries: the tag, the item its memory names, and how the gate saw it."""
    tag = alarm.tag
    item: dict[str, Any] | None = None
    if tag is not None:
        item = {
            "barcode": tag.primary_item_id,
            "owner_isil": tag.owner_isil,
            "title": tag.title,
            "format": tag.format,
            "part_number": tag.part_number,
            "parts_in_set": tag.parts_in_set,
        }
    return {
        "gate_id": alarm.gate_id,
        "source": alarm.source,
        "tag_uid": alarm.uid.hex if alarm.uid is not None else None,
        "antenna": alarm.antenna,
        "item": item,
        "identity_error": alarm.identity_error,
        "candidates": [uid.hex for uid in alarm.candidates],
        "silenced": alarm.silenced,
        "reads": alarm.reads,
    }


def visitors_data(gate_id: str, period: VisitorPeriod) -> dict[str, Any]:
    return {
        "gate_id": gate_id,
        "period_start": period.period_start.isoformat(),
        "period_end": period.period_end.isoformat(),
        "count_in": period.count_in,
        "count_out": period.count_out,
        "aisles": {str(aisle): {"in": i, "out": o} for aisle, (i, o) in sorted(period.aisles.items())},
    }


def reader_state_data(reader: str, state: str, detail: str = "") -> dict[str, Any]:
    return {"reader": reader, "state": state, "detail": detail}


def beam_fault_data(gate_id: str, fault: BeamFault) -> dict[str, Any]:
    """A ``beam_fault`` event: a counting beam blocked past the limit, or free again."""
    return {
        "gate_id": gate_id,
        "state": "blocked" if fault.blocked else "clear",
        "blocked_s": round(fault.blocked_s, 1),
        "detail": f"input {fault.input} blocked for {fault.blocked_s:.0f} s" if fault.blocked else "beam free again",
        "aisle": fault.aisle,
        "beam": fault.beam,
        "input": fault.input,
    }
