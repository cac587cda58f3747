"""What the kiosks' staff-facing events do on the server (imported through the ingest ``HANDLER_MODULES``).

- ``tag_write_failed``: the loan or return stands but the tag's security bit could not be set; the item is
  flagged for staff with which state it should have, and its security state becomes unknown.
- ``tag_write_recovered``: a later try on the same pad succeeded; the flag the failure set is lifted.
- ``offline_conflict``: a transaction taken offline was refused when it was replayed; the item (and its open
  loan, if any) is flagged for review with the library system's answer.

Each writes an audit entry; the event itself is stored by the ingest in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import Event
from server.audit.service import record
from server.catalog import repository as catalog
from server.catalog.models import Item, SecurityState
from server.circulation.models import Loan
from server.devices.models import Device
from server.ingest.errors import RejectEvent
from server.ingest.handlers import register_handler

WRITE_FAILED_PREFIX = "security write failed at "


def _item(session: Session, event: Event) -> Item:
    barcode = event.data.get("item_id")
    item = catalog.item_by_barcode(session, str(barcode)) if barcode else None
    if item is None:
        for uid in event.data.get("uids") or []:
            item = catalog.item_by_tag_uid(session, str(uid))
            if item is not None:
                break
    if item is None:
        raise RejectEvent(f"{event.kind} names no known item (item_id {barcode!r})")
    return item


def _audit(session: Session, device: Device, event: Event, item: Item, action: str) -> None:
    record(
        session,
        actor_kind="device",
        actor_id=device.device_id,
        action=action,
        target_type="item",
        target_id=item.id,
        library_id=item.library_id,
        details={"event_id": event.event_id, **event.data},
    )


def on_tag_write_failed(session: Session, device: Device, event: Event) -> None:
    item = _item(session, event)
    wanted = "on loan (unsecured)" if event.data.get("wanted") == "on_loan" else "in stock (secured)"
    item.flag_reason = f"{WRITE_FAILED_PREFIX}{device.device_id}: the tag should be {wanted}; check it at the desk"
    item.security_state = SecurityState.UNKNOWN
    _audit(session, device, event, item, "item.tag_write_failed")


def on_tag_write_recovered(session: Session, device: Device, event: Event) -> None:
    item = _item(session, event)
    if item.flag_reason is not None and item.flag_reason.startswith(WRITE_FAILED_PREFIX):
        item.flag_reason = None
    _audit(session, device, event, item, "item.tag_write_recovered")


def on_offline_conflict(session: Session, device: Device, event: Event) -> None:
    item = _item(session, event)
    note = str(event.data.get("note") or "refused on replay")
    reason = f"offline {event.data.get('op', 'transaction')} at {device.device_id} was refused on replay: {note}"
    item.flag_reason = reason
    loan = session.scalar(select(Loan).where(Loan.item_id == item.id, Loan.returned_at.is_(None)))
    if loan is not None:
        loan.review_reason = reason
    _audit(session, device, event, item, "circulation.offline_conflict")


register_handler("tag_write_failed", on_tag_write_failed)
register_handler("tag_write_recovered", on_tag_write_recovered)
register_handler("offline_conflict", on_offline_conflict)
