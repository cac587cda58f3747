"""What a gate alarm means, decided from the catalogue and the loans; visitor counts; silencing a gate.

Classification of an ``alarm`` event (one secured item seen by a gate):

=======================================  ==============================  ====================================
the item named by the tag                classification                  also
=======================================  ==============================  ====================================
found, no open loan                      ``theft_attempt``               —
found, on loan                           ``security_write_failed``       item and loan flagged for review
not found (foreign, blank, unreadable)   ``unknown_tag``                 —
=======================================  ==============================  ====================================

The item is found by the barcode the gate read from the tag's memory, else by the tag's UID in the
item-tag register (a tag that answered the AFI inventory but could not be read). An EAS alarm with several
tags in the field names candidates: the first one not on loan is taken, else the first on loan.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import Event
from server.catalog.models import Item, ItemTag, SecurityState
from server.circulation.models import Loan
from server.db import utcnow
from server.devices.models import AlarmClass, Device, DeviceCommand, GateAlarm, VisitorCount

from .errors import AlarmNotFound, SilenceRefused

__all__ = [
    "classify_alarm",
    "record_visitors",
    "silence_gate",
    "list_alarms",
    "acknowledge",
    "visitor_totals",
    "MAX_SILENCE_S",
]

log = logging.getLogger(__name__)

MAX_SILENCE_S = 3600


@dataclass(frozen=True)
class _Found:
    item: Item
    loan: Loan | None
    uid: str | None


def _text(value: Any, limit: int) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:limit]
    return None


def _open_loan(session: Session, item_id: int) -> Loan | None:
    return session.scalar(select(Loan).where(Loan.item_id == item_id, Loan.returned_at.is_(None)))


def _by_barcode(session: Session, barcode: str) -> Item | None:
    return session.scalar(select(Item).where(Item.barcode == barcode))


def _by_uid(session: Session, uid: str) -> Item | None:
    return session.scalar(select(Item).join(ItemTag, ItemTag.item_id == Item.id).where(ItemTag.uid == uid.upper()))


def _find(session: Session, barcode: str | None, uid: str | None, candidates: Sequence[str]) -> _Found | None:
    item = _by_barcode(session, barcode) if barcode else None
    if item is None and uid:
        item = _by_uid(session, uid)
    if item is not None:
        return _Found(item, _open_loan(session, item.id), uid)
    on_loan: _Found | None = None
    for candidate in candidates:
        found = _by_uid(session, candidate)
        if found is None:
            continue
        loan = _open_loan(session, found.id)
        if loan is None:
            return _Found(found, None, candidate)
        on_loan = on_loan or _Found(found, loan, candidate)
    return on_loan


def classify_alarm(session: Session, device: Device, event: Event) -> GateAlarm:
    """Store one ``alarm`` event as a classified :class:`GateAlarm` (idempotent by ``event_id``)."""
    existing = session.scalar(select(GateAlarm).where(GateAlarm.event_id == event.event_id))
    if existing is not None:
        return existing
    data = event.data
    raw_item = data.get("item")
    item_data: dict[str, Any] = raw_item if isinstance(raw_item, dict) else {}
    barcode = _text(item_data.get("barcode"), 64)
    owner = _text(item_data.get("owner_isil"), 32)
    uid = _text(data.get("tag_uid"), 16)
    raw_candidates = data.get("candidates")
    candidates = [c for c in raw_candidates if isinstance(c, str)] if isinstance(raw_candidates, list) else []
    antenna = data.get("antenna")
    found = _find(session, barcode, uid, candidates)
    note_parts: list[str] = []
    if data.get("identity_error"):
        note_parts.append(f"gate could not read the tag: {str(data['identity_error'])[:200]}")
    if found is None:
        classification = AlarmClass.UNKNOWN_TAG
        note_parts.append("no item with this barcode or tag: a foreign or blank tag")
        item_id = loan_id = None
    else:
        item_id = found.item.id
        barcode = barcode or found.item.barcode
        owner = owner or found.item.owner_isil
        uid = uid or found.uid
        if found.loan is None:
            classification = AlarmClass.THEFT_ATTEMPT
            loan_id = None
        else:
            classification = AlarmClass.SECURITY_WRITE_FAILED
            loan_id = found.loan.id
            reason = (
                f"gate {device.device_id} alarmed at {event.occurred_at.isoformat()} while the item is on loan "
                f"(loan {found.loan.id}): the kiosk's security write did not take; re-write the tag"
            )
            found.item.flag_reason = reason
            found.item.security_state = SecurityState.SECURED
            found.loan.review_reason = reason
            note_parts.append("item and loan flagged for review")
    alarm = GateAlarm(
        event_id=event.event_id,
        device_id=device.device_id,
        library_id=device.library_id,
        occurred_at=event.occurred_at,
        antenna=antenna if isinstance(antenna, int) and not isinstance(antenna, bool) else None,
        tag_uid=uid,
        item_barcode=barcode,
        owner_isil=owner,
        item_id=item_id,
        loan_id=loan_id,
        classification=classification,
        note="; ".join(note_parts) or None,
    )
    session.add(alarm)
    session.flush()
    log.info("gate %s alarm %s: %s (item %s, tag %s)", device.device_id, event.event_id, classification, barcode, uid)
    return alarm


def _when(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(f"visitors event: {field} must be an ISO 8601 time, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"visitors event: {field} is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"visitors event: {field} has no time zone: {value!r}")
    return parsed.astimezone(dt.UTC)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"visitors event: {field} must be a non-negative integer, got {value!r}")
    return value


def record_visitors(session: Session, device: Device, event: Event) -> VisitorCount:
    """Add one ``visitors`` event's counts to the gate's row for that period."""
    data = event.data
    start = _when(data.get("period_start"), "period_start")
    end = _when(data.get("period_end"), "period_end")
    if end < start:
        raise ValueError(f"visitors event: period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    count_in = _count(data.get("count_in"), "count_in")
    count_out = _count(data.get("count_out"), "count_out")
    row = session.scalar(
        select(VisitorCount).where(VisitorCount.device_id == device.device_id, VisitorCount.period_start == start)
    )
    if row is None:
        row = VisitorCount(
            device_id=device.device_id,
            library_id=device.library_id,
            period_start=start,
            period_end=end,
            count_in=count_in,
            count_out=count_out,
        )
        session.add(row)
    else:
        row.count_in += count_in
        row.count_out += count_out
        row.period_end = max(row.period_end, end)
    session.flush()
    return row


def visitor_totals(
    session: Session, device_id: str | None = None, *, since: dt.datetime | None = None
) -> tuple[int, int]:
    """Visitors (in, out) counted, for one gate or all, since a time or ever."""
    query = select(VisitorCount)
    if device_id is not None:
        query = query.where(VisitorCount.device_id == device_id)
    if since is not None:
        query = query.where(VisitorCount.period_start >= since)
    rows = session.scalars(query).all()
    return sum(r.count_in for r in rows), sum(r.count_out for r in rows)


def list_alarms(
    session: Session,
    *,
    device_id: str | None = None,
    library_id: int | None = None,
    unacknowledged: bool = False,
    limit: int = 100,
) -> list[GateAlarm]:
    query = select(GateAlarm).order_by(GateAlarm.occurred_at.desc(), GateAlarm.id.desc()).limit(limit)
    if device_id is not None:
        query = query.where(GateAlarm.device_id == device_id)
    if library_id is not None:
        query = query.where(GateAlarm.library_id == library_id)
    if unacknowledged:
        query = query.where(GateAlarm.acknowledged_at.is_(None))
    return list(session.scalars(query))


def acknowledge(session: Session, alarm_id: int, *, staff_id: int | None = None, note: str | None = None) -> GateAlarm:
    """Staff saw the alarm (and say what it was)."""
    alarm = session.get(GateAlarm, alarm_id)
    if alarm is None:
        raise AlarmNotFound(f"no gate alarm {alarm_id}")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = utcnow()
        alarm.acknowledged_by = staff_id
    if note:
        alarm.note = f"{alarm.note}; {note}" if alarm.note else note
    session.flush()
    return alarm


def silence_gate(
    session: Session,
    device_id: str,
    seconds: int = 60,
    *,
    issued_by: int | None = None,
    ttl: dt.timedelta = dt.timedelta(seconds=30),
) -> DeviceCommand:
    """Queue a ``silence-alarm`` command to a gate: outputs off for ``seconds``; never run after ``ttl``."""
    from server.devices import service as devices

    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_SILENCE_S:
        raise SilenceRefused(f"silence duration must be 1..{MAX_SILENCE_S} seconds, got {seconds!r}")
    device = session.scalar(select(Device).where(Device.device_id == device_id))
    if device is None or device.retired_at is not None:
        raise SilenceRefused(f"no active gate {device_id!r}")
    if device.kind.value != "gate":
        raise SilenceRefused(f"device {device_id!r} is a {device.kind.value}, not a gate")
    args = {"seconds": seconds}
    return devices.issue_command(session, device_id, "silence-alarm", args, ttl=ttl, issued_by=issued_by)
