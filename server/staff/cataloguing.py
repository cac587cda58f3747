"""Staff edits to the collection from the web: a record's basic fields and an item's status, scoped and audited.

A shared record may be edited by staff of the library that contributed it (or a system administrator); an
item by staff of the library that holds it. Status changes that belong to circulation (on loan, on the hold
shelf) are refused here: they follow from checkouts, checkins and holds only.
"""

from __future__ import annotations

import logging

from pymarc import Field, Indicators, MARCReader, Record, Subfield
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record as audit
from server.catalog.models import BibRecord, Holding, Item, ItemStatus
from server.catalog.service import apply_marc
from server.libraries.models import Library
from server.staff.service import AccessDenied, Level, Principal

log = logging.getLogger(__name__)

#: Statuses staff may set by hand; the others are the outcome of circulation.
STAFF_SETTABLE = (
    ItemStatus.AVAILABLE,
    ItemStatus.MISSING,
    ItemStatus.IN_PROCESSING,
    ItemStatus.WITHDRAWN,
    ItemStatus.IN_TRANSIT,
)


class CataloguingError(ValueError):
    code = "cataloguing_error"


def parse_marc(record: BibRecord) -> Record | None:
    for parsed in MARCReader(record.marc, to_unicode=True, force_utf8=True):
        return parsed if isinstance(parsed, Record) else None
    return None


def _require_record(principal: Principal, record: BibRecord) -> None:
    if record.source_library_id is None:
        if not principal.is_system_admin:
            raise AccessDenied("edit_record")
        return
    principal.require(record.source_library_id, Level.CIRCULATE, "edit_record")


def update_record(
    session: Session, principal: Principal, record_id: int, *, title: str, local_history: bool, digitised: bool,
    ip: str | None,
) -> BibRecord:
    """Change the title (MARC 245 $a, the rest of 245 kept) and the local-history and digitised flags."""
    record = session.get(BibRecord, record_id)
    if record is None or record.deleted_at is not None:
        raise CataloguingError(f"no record {record_id!r}")
    _require_record(principal, record)
    title = " ".join(title.split())
    if not title or len(title) > 1000:
        raise CataloguingError(f"not a valid title: {title!r}")
    changes: dict[str, object] = {}
    if title != record.title:
        marc = parse_marc(record)
        if marc is None:
            raise CataloguingError(f"record {record_id} has no readable MARC")
        fields = marc.get_fields("245")
        if fields:
            field = fields[0]
            kept = [sf for sf in field.subfields if sf.code != "a"]
            field.subfields = [Subfield("a", title), *kept]
        else:
            marc.add_ordered_field(Field(tag="245", indicators=Indicators("0", "0"), subfields=[Subfield("a", title)]))
        changes["title"] = {"before": record.title, "after": title}
        apply_marc(record, marc)
    if record.local_history != local_history:
        changes["local_history"] = local_history
        record.local_history = local_history
    if record.digitised != digitised:
        changes["digitised"] = digitised
        record.digitised = digitised
    if changes:
        audit(session, actor_kind="staff", actor_id=str(principal.user_id), action="record.updated",
              target_type="record", target_id=record.id, library_id=record.source_library_id, details=changes, ip=ip)
    return record


def set_item_status(
    session: Session, principal: Principal, item_id: int, status: ItemStatus, *, note: str, ip: str | None
) -> Item:
    item = session.get(Item, item_id)
    if item is None:
        raise CataloguingError(f"no item {item_id!r}")
    principal.require(item.library_id, Level.CIRCULATE, "set_item_status")
    if status not in STAFF_SETTABLE:
        raise CataloguingError(f"status {status.value!r} is set by circulation, not by hand")
    if item.status in (ItemStatus.ON_LOAN, ItemStatus.ON_HOLD_SHELF):
        raise CataloguingError(f"item {item.barcode} is {item.status.value}; check it in first")
    before = item.status
    item.status = status
    item.flag_reason = note.strip()[:500] or item.flag_reason
    audit(session, actor_kind="staff", actor_id=str(principal.user_id), action="item.status_changed",
          target_type="item", target_id=item.id, library_id=item.library_id,
          details={"before": before.value, "after": status.value, "note": note[:500]}, ip=ip)
    return item


def holdings_by_library(session: Session, record_id: int) -> list[tuple[Library, list[Item]]]:
    items = session.scalars(select(Item).where(Item.record_id == record_id).order_by(Item.library_id, Item.barcode))
    grouped: dict[int, list[Item]] = {}
    for item in items:
        grouped.setdefault(item.library_id, []).append(item)
    libraries = {lib.id: lib for lib in session.scalars(select(Library).where(Library.id.in_(grouped)))}
    return [(libraries[lib_id], grouped[lib_id]) for lib_id in sorted(grouped)]


def call_numbers(session: Session, record_id: int) -> dict[int, str]:
    return {
        library_id: call_number
        for library_id, call_number in session.execute(
            select(Holding.library_id, Holding.call_number).where(Holding.record_id == record_id)
        )
    }
