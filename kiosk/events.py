"""Where the kiosk sends events for staff and statistics (``checkout``, ``checkin``, ``tag_write_failed``...).

The production sink is the edge's durable outbox (published over MQTT); the demo and tests use a JSON-lines
file or memory. Sinks never raise into the patron's session: a failing sink is logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

__all__ = ["EventSink", "MemorySink", "JsonlSink"]


class EventSink(Protocol):
    def emit(self, kind: str, payload: dict[str, Any]) -> None: ...


class MemorySink:
    """Keeps events in a list (tests, and a kiosk without an uplink)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.events.append((kind, dict(payload)))

    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _ in self.events]


class JsonlSink:
    """Appends one JSON object per event (with an ``event_id``) to a file, flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        record = {"event_id": uuid.uuid4().hex, "kind": kind, "at": time.time(), **payload}
        line = json.dumps(record, ensure_ascii=False, default=str)
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError:
            log.exception("could not record %s event in %s", kind, self.path)


class OutboxSink:
    """Commits each event to the edge's durable outbox (published over MQTT by the edge agent's uplink)."""

    def __init__(self, path: Path, *, device_id: str, library: str, prefix: str = "thuvien") -> None:
        from edge.contract import DeviceTopics
        from edge.outbox import Outbox

        self.outbox = Outbox(path)
        self.device_id = device_id
        self.topics = DeviceTopics(prefix, library, "kiosk", device_id)

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        import datetime as dt

        from edge.contract import Event, new_event_id

        event = Event(
            event_id=new_event_id(),
            device_id=self.device_id,
            kind=kind,
            occurred_at=dt.datetime.now(dt.UTC),
            data=json.loads(json.dumps(payload, ensure_ascii=False, default=str)),
        )
        try:
            self.outbox.add(self.topics.event(kind), event)
        except Exception:
            log.exception("could not put the %s event into the outbox", kind)

    def close(self) -> None:
        self.outbox.close()
