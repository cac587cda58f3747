"""Tag programming from the web: the server prepares each tag's data, a staff station writes it.

For each item (one tag per part of a set) the server checks that the tag data encodes with
:func:`edge.tags.encode` (ISO 28560-3 unless the station's profile says otherwise) and queues an ``encode-tag``
command to the staff station (:class:`edge.agent.StationRole`), which writes the blank tag on its reader and
answers with the tag's ``uid`` (plus ``verified`` when it read the data back). When the answer arrives the tag
is recorded on the item (:func:`refresh`).

``encode-tag`` arguments: ``tag`` (the ISO 28560-1 data elements), ``format``; and for stations that do more,
``data_hex`` (the expected memory), ``afi`` (the in-stock AFI, 0x07), ``eas`` (true: set EAS) and ``verify``
(true: read back and compare); ``barcode``, ``part_number`` and ``parts_total`` say which item part it is.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.tags import FORMATS, EncodeError, LibraryTag, encode
from server.audit.service import record
from server.catalog.models import Item, ItemTag, ItemType, SecurityState
from server.db import utcnow
from server.devices import service as devices
from server.devices.models import CommandStatus, Device, DeviceCommand, DeviceKind
from server.staff.service import AccessDenied, Level, Principal

log = logging.getLogger(__name__)

IN_STOCK_AFI = 0x07
WRITABLE_FORMATS = tuple(f for f in FORMATS if f not in ("blank", "unknown"))
COMMAND_TTL = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class TagJob:
    """One tag to program: the item, the part, and the command sent for it (or why none was sent)."""

    barcode: str
    part_number: int
    parts_total: int
    command_id: str | None
    error: str | None = None


@dataclass(frozen=True)
class TagOutcome:
    barcode: str
    part_number: int
    state: str  # pending | done | failed | expired
    uid: str | None
    verified: bool
    error: str | None


def stations_in_scope(session: Session, principal: Principal) -> list[Device]:
    return list(session.scalars(
        select(Device).where(Device.kind == DeviceKind.STATION, Device.retired_at.is_(None),
                             Device.library_id.in_(principal.scope(Level.CIRCULATE)))
        .order_by(Device.device_id)
    ))


def station_format(station: Device) -> str:
    fmt = str(station.config.get("tag_format", "iso28560-3"))
    return fmt if fmt in WRITABLE_FORMATS else "iso28560-3"


def tag_fields(item: Item, part_number: int, circulates: bool) -> dict[str, object]:
    """The ISO 28560-1 data elements of one part's tag (ISO 28560 type of usage 1: circulates, 2: does not)."""
    fields: dict[str, object] = {
        "primary_item_id": item.barcode,
        "type_of_usage": 1 if circulates else 2,
        "parts_in_set": item.set_parts_total,
        "part_number": part_number,
    }
    if item.owner_isil:
        fields["owner_isil"] = item.owner_isil
    return fields


def tag_data(fields: dict[str, object], fmt: str) -> bytes:
    """The tag memory for ``fields`` in ``fmt`` (encoded here too, so that a bad item is refused before any
    command is sent)."""
    return encode(LibraryTag(**fields), fmt)  # type: ignore[arg-type]


def start(
    session: Session, principal: Principal, station_id: str, barcodes: list[str], fmt: str | None, *,
    ip: str | None,
) -> list[TagJob]:
    """Queue one ``encode-tag`` command per part of each item; problems are reported per barcode."""
    station = session.scalar(select(Device).where(Device.device_id == station_id, Device.retired_at.is_(None)))
    if station is None or station.kind != DeviceKind.STATION:
        raise AccessDenied("unknown_station")
    principal.require(station.library_id, Level.CIRCULATE, "program_tags")
    fmt = fmt if fmt in WRITABLE_FORMATS else station_format(station)
    jobs: list[TagJob] = []
    for raw in barcodes:
        barcode = raw.strip()
        if not barcode:
            continue
        item = session.scalar(select(Item).where(Item.barcode == barcode))
        if item is None:
            jobs.append(TagJob(barcode, 0, 0, None, "unknown_item"))
            continue
        if not principal.allows(item.library_id, Level.CIRCULATE):
            jobs.append(TagJob(barcode, 0, 0, None, "not_in_scope"))
            continue
        item_type = session.get(ItemType, item.item_type)
        circulates = item_type.circulates if item_type is not None else True
        for part in range(1, item.set_parts_total + 1):
            fields = tag_fields(item, part, circulates)
            try:
                data = tag_data(fields, fmt)
            except EncodeError as exc:
                jobs.append(TagJob(barcode, part, item.set_parts_total, None, f"encode:{exc}"))
                continue
            command = devices.issue_command(
                session, station.device_id, "encode-tag",
                {"tag": fields, "format": fmt, "barcode": barcode, "part_number": part,
                 "parts_total": item.set_parts_total, "data_hex": data.hex(), "afi": IN_STOCK_AFI, "eas": True,
                 "verify": True},
                ttl=COMMAND_TTL, issued_by=principal.user_id,
            )
            jobs.append(TagJob(barcode, part, item.set_parts_total, command.command_id))
    record(session, actor_kind="staff", actor_id=str(principal.user_id), action="tags.programming_started",
           target_type="device", target_id=station.device_id, library_id=station.library_id, ip=ip,
           details={"items": len(barcodes), "commands": sum(1 for j in jobs if j.command_id), "format": fmt})
    return jobs


def refresh(session: Session, principal: Principal, command_ids: list[str]) -> list[TagOutcome]:
    """The state of each command; a successful one has its tag recorded on the item (once)."""
    outcomes: list[TagOutcome] = []
    commands = session.scalars(select(DeviceCommand).where(DeviceCommand.command_id.in_(command_ids))).all()
    by_id = {c.command_id: c for c in commands}
    now = utcnow()
    for command_id in command_ids:
        command = by_id.get(command_id)
        if command is None or command.name != "encode-tag" or command.issued_by != principal.user_id:
            continue
        args = command.args
        barcode = str(args.get("barcode", ""))
        part = int(args.get("part_number", 1))
        result = command.result or {}
        if command.status == CommandStatus.DONE and result.get("ok", True):
            uid = str(result.get("uid", "")).upper()
            secured = result.get("afi") is not None or bool(result.get("eas"))
            error = _record_tag(session, principal, barcode, part, uid, str(args.get("format", "")), secured)
            outcomes.append(TagOutcome(barcode, part, "failed" if error else "done", uid,
                                       bool(result.get("verified")), error))
        elif command.status in (CommandStatus.DONE, CommandStatus.FAILED):
            outcomes.append(TagOutcome(barcode, part, "failed", result.get("uid"), False,
                                       str(result.get("error") or "failed")))
        elif command.status == CommandStatus.EXPIRED or command.expires_at < now:
            outcomes.append(TagOutcome(barcode, part, "expired", None, False, "expired"))
        else:
            outcomes.append(TagOutcome(barcode, part, "pending", None, False, None))
    return outcomes


def _record_tag(
    session: Session, principal: Principal, barcode: str, part: int, uid: str, fmt: str, secured: bool
) -> str | None:
    if len(uid) != 16:
        return "bad_uid"
    item = session.scalar(select(Item).where(Item.barcode == barcode))
    if item is None:
        return "unknown_item"
    other = session.scalar(select(ItemTag).where(ItemTag.uid == uid))
    if other is not None:
        return None if (other.item_id == item.id and other.part_number == part) else "tag_in_use"
    existing = session.scalar(select(ItemTag).where(ItemTag.item_id == item.id, ItemTag.part_number == part))
    now = utcnow()
    if existing is not None:
        existing.uid = uid
        existing.tag_format = fmt
        existing.programmed_at = now
    else:
        session.add(ItemTag(item_id=item.id, uid=uid, part_number=part, tag_format=fmt, programmed_at=now))
    if secured:
        item.security_state = SecurityState.SECURED
        item.security_written_at = now
    record(session, actor_kind="staff", actor_id=str(principal.user_id), action="item.tag_programmed",
           target_type="item", target_id=item.id, library_id=item.library_id,
           details={"uid": uid, "part": part, "format": fmt})
    session.flush()
    return None
