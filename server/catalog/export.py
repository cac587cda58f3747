"""Exports and open-data dumps: the records of one library or of the whole province, in MARC21 forms.

Formats: ``iso2709`` (UTF-8, or MARC-8 with ``encoding="marc8"``: :mod:`server.catalog.marc8`), ``xml`` (a
MARCXML collection), ``json`` (MARC-in-JSON, one record a line). A record that cannot be written in MARC-8
is left out and reported; characters outside MARC-8 are written as numeric character references and
reported (``notes``).
Records are read in keyset order (id) in pages so that a dump of the province never holds it all in memory.
A library's records are those it catalogued (``source_library_id``) or holds (a :class:`Holding`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from pymarc import Field, Indicators, Record, Subfield
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from server.catalog.marc8 import utf8_to_marc8
from server.catalog.marcio import record_from_bytes, write_json_lines, write_marcxml
from server.catalog.models import BibRecord, Holding
from server.db import Database
from server.libraries.models import Library

log = logging.getLogger(__name__)

FORMATS = ("iso2709", "xml", "json")
ENCODINGS = ("utf-8", "marc8")
PAGE = 1000


@dataclass(frozen=True)
class ExportNote:
    """A record left out of an export, or written with a substitution, and why."""

    record_id: int
    control_number: str | None
    message: str
    skipped: bool


def library_condition(session: Session, isil: str) -> ColumnElement[bool]:
    library_id = session.scalar(select(Library.id).where(Library.isil == isil))
    if library_id is None:
        raise ValueError(f"no library with ISIL {isil!r}")
    held = exists().where(Holding.record_id == BibRecord.id, Holding.library_id == library_id)
    return or_(BibRecord.source_library_id == library_id, held)


def iter_stored(db: Database, isil: str | None = None, include_deleted: bool = False) -> Iterator[BibRecord]:
    """Stored records (of ``isil`` if given) in id order, a page per transaction."""
    last = 0
    while True:
        with db.session() as session:
            stmt = select(BibRecord).where(BibRecord.id > last).order_by(BibRecord.id).limit(PAGE)
            if isil is not None:
                stmt = stmt.where(library_condition(session, isil))
            if not include_deleted:
                stmt = stmt.where(BibRecord.deleted_at.is_(None))
            page = list(session.scalars(stmt))
        if not page:
            return
        yield from page
        last = page[-1].id


def with_holdings(session: Session, stored: BibRecord) -> Record:
    """The record with one 852 per holding ($a ISIL, $h call number) replacing any 852 it carried."""
    record = record_from_bytes(stored.marc)
    record.remove_fields("852")
    rows = session.execute(
        select(Library.isil, Holding.call_number)
        .join(Library, Library.id == Holding.library_id)
        .where(Holding.record_id == stored.id)
        .order_by(Library.isil, Holding.call_number)
    )
    for isil, call_number in rows:
        subfields = [Subfield("a", isil)] + ([Subfield("h", call_number)] if call_number else [])
        record.add_ordered_field(Field(tag="852", indicators=Indicators(" ", " "), subfields=subfields))
    return record


def export(
    db: Database,
    out: IO[bytes],
    fmt: str = "iso2709",
    isil: str | None = None,
    progress: Callable[[int], None] | None = None,
    encoding: str = "utf-8",
    notes: list[ExportNote] | None = None,
) -> int:
    """Write the records (of ``isil``, else all) to ``out``; returns how many were written.

    ``notes`` (if given) receives an :class:`ExportNote` per record skipped or written with substitutions.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; one of {', '.join(ENCODINGS)}")
    if encoding == "marc8" and fmt != "iso2709":
        raise ValueError("MARC-8 exists only in ISO 2709; MARCXML and JSON are always UTF-8")
    count = 0

    def records() -> Iterator[Record]:
        nonlocal count
        for stored in iter_stored(db, isil):
            count += 1
            if progress is not None:
                progress(count)
            yield record_from_bytes(stored.marc)

    if fmt == "iso2709" and encoding == "marc8":
        for stored in iter_stored(db, isil):
            if _write_marc8(stored, out, notes):
                count += 1
                if progress is not None:
                    progress(count)
        return count
    if fmt == "iso2709":
        for stored in iter_stored(db, isil):
            out.write(stored.marc)
            count += 1
            if progress is not None:
                progress(count)
        return count
    if fmt == "xml":
        write_marcxml(records(), out)
    else:
        write_json_lines(records(), out)
    return count


def _write_marc8(stored: BibRecord, out: IO[bytes], notes: list[ExportNote] | None) -> bool:
    try:
        encoded = utf8_to_marc8(stored.marc)
    except (ValueError, UnicodeError) as exc:
        log.warning("record %d not exported in MARC-8: %s", stored.id, exc)
        if notes is not None:
            notes.append(ExportNote(stored.id, stored.control_number, f"not exported: {exc}", skipped=True))
        return False
    out.write(encoded.data)
    if encoded.unencodable and notes is not None:
        listed = ", ".join(sorted({f"U+{ord(c):04X}" for c in encoded.unencodable}))
        notes.append(
            ExportNote(
                stored.id,
                stored.control_number,
                f"{len(encoded.unencodable)} characters without a MARC-8 form written as &#x…; references: {listed}",
                skipped=False,
            )
        )
    return True
