"""JSON payloads of every channel, each with the schema version ``v``; :func:`decode` checks them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import PayloadError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
KNOWN_VERSIONS = frozenset({1})

# Event kinds of this version; other areas may add kinds (the server stores unknown kinds without effects).
EVENT_KINDS = (
    "checkout",
    "checkin",
    "renew",
    "alarm",
    "visitors",
    "tag_write_failed",
    "tag_write_recovered",
    "offline_conflict",
    "receipt_email",
    "reader_state",
    "tag_encoded",
    "outbox_full",
)
COMMAND_NAMES = ("ping", "reload-config", "set-mode", "silence-alarm", "encode-tag")

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def new_event_id() -> str:
    """A fresh idempotency key (32 hex digits)."""
    return uuid.uuid4().hex


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone (use UTC, e.g. 2026-01-01T08:00:00Z)")
    return value.astimezone(dt.UTC)


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = SCHEMA_VERSION


class Event(Payload):
    """A transactional event from a device's outbox; stored once by ``event_id``."""

    event_id: str = Field(pattern=_ID)
    device_id: str = Field(pattern=_ID)
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    occurred_at: dt.datetime
    seq: int | None = Field(default=None, ge=0)
    data: dict[str, Any] = Field(default_factory=dict)

    _aware_time = field_validator("occurred_at")(_aware)


MAX_BATCH_EVENTS = 1000


class EventBatch(Payload):
    """Several events of one kind in one message, on their ``evt/<kind>`` topic, oldest first.

    An outbox with a backlog sends them so (one MQTT message, one PUBACK, one ack for up to
    :data:`MAX_BATCH_EVENTS` events); each event is stored, checked and acknowledged as if it had come alone.
    A server that predates batches does not understand them: see ``event_batch`` in the uplink settings."""

    events: list[Event] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)


class Status(Payload):
    """Retained device state: ``online`` (the birth message, with versions and configuration) or ``offline``."""

    device_id: str = Field(pattern=_ID)
    state: Literal["online", "offline"]
    at: dt.datetime | None = None  # absent in the Last Will, which is written at connect time
    reason: str | None = None
    mode: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)

    _aware_time = field_validator("at")(lambda v: None if v is None else _aware(v))


class ReaderHealth(Payload):
    name: str
    state: str  # connected | silent | unplugged | closed
    reads: int = 0
    errors: int = 0
    reads_per_minute: float | None = None


class Telemetry(Payload):
    """Periodic health: readers, outbox, temperature where known, counters."""

    device_id: str = Field(pattern=_ID)
    at: dt.datetime
    mode: str | None = None
    uptime_s: float | None = None
    readers: list[ReaderHealth] = Field(default_factory=list)
    outbox_depth: int = 0
    outbox_oldest_age_s: float | None = None
    outbox_full: bool = False
    temperature_c: float | None = None
    counters: dict[str, int] = Field(default_factory=dict)

    _aware_time = field_validator("at")(_aware)


class Command(Payload):
    """A command from the server; a device never runs it after ``expires_at``, and runs each id once."""

    command_id: str = Field(pattern=_ID)
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    args: dict[str, Any] = Field(default_factory=dict)
    issued_at: dt.datetime
    expires_at: dt.datetime

    _aware_time = field_validator("issued_at", "expires_at")(_aware)


class CommandResult(Payload):
    command_id: str = Field(pattern=_ID)
    device_id: str = Field(pattern=_ID)
    ok: bool
    at: dt.datetime
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None

    _aware_time = field_validator("at")(_aware)


class Ack(Payload):
    """The server's acknowledgement: these events are stored (applied or quarantined); delete them."""

    event_ids: list[str]


P = TypeVar("P", bound=Payload)


def encode(payload: Payload) -> bytes:
    return payload.model_dump_json(exclude_none=True).encode("utf-8")


def encode_batch(events: Sequence[bytes]) -> bytes:
    """The :class:`EventBatch` payload of events already encoded by :func:`encode` (not encoded again)."""
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_EVENTS} events, not {len(events)}")
    return b'{"v":%d,"events":[' % SCHEMA_VERSION + b",".join(events) + b"]}"


def parse_json(raw: bytes | str) -> Any:
    """The JSON document of a payload; :class:`PayloadError` ``malformed_json``."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("malformed_json", f"payload is not JSON: {exc}") from None


def is_batch(document: Any) -> bool:
    """Whether a parsed ``evt`` payload is an :class:`EventBatch` rather than a single :class:`Event`."""
    return isinstance(document, dict) and "events" in document and "event_id" not in document


def batch_events(document: Any) -> list[Any]:
    """The events of an :class:`EventBatch` document, unchecked (check each with :func:`validate`, so that one
    bad event does not condemn the others); :class:`PayloadError` when the envelope itself is wrong."""
    _check_envelope(document)
    events = document.get("events")
    if set(document) - {"v", "events"} or not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise PayloadError("invalid_payload", f"EventBatch: events must be a list of 1 to {MAX_BATCH_EVENTS} "
                                              "events, and nothing else besides v")
    return events


def decode(cls: type[P], raw: bytes | str) -> P:
    """Parse ``raw`` as ``cls``; :class:`PayloadError` with reason ``malformed_json``, ``unknown_version``
    or ``invalid_payload``."""
    return validate(cls, parse_json(raw))


def _check_envelope(document: Any) -> None:
    if not isinstance(document, dict):
        raise PayloadError("invalid_payload", f"payload is a JSON {type(document).__name__}, not an object")
    version = document.get("v")
    if version not in KNOWN_VERSIONS or isinstance(version, bool):
        raise PayloadError("unknown_version", f"schema version {version!r} is not one of {sorted(KNOWN_VERSIONS)}")


def validate(cls: type[P], document: Any) -> P:
    """Check a parsed JSON document as ``cls`` (see :func:`decode`)."""
    _check_envelope(document)
    try:
        return cls.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        raise PayloadError("invalid_payload", f"{cls.__name__} field {where}: {first.get('msg')}") from None
