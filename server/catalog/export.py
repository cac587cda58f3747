"""Exports and open-data dumps: the records of one library or of the whole province, in MARC21 forms.

Formats: ``iso2709`` (UTF-8), ``xml`` (a MARCXML collection), ``json`` (MARC-in-JSON, one record a line).
Records are read in keyset order (id) in pages so that a dump of the province never holds it all in memory.
A library's records are those it catalogued (``source_library_id``) or holds (a :class:`Holding`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import IO

from pymarc import Field, Indicators, Record, Subfield
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from server.catalog.marcio import record_from_bytes, write_json_lines, write_marcxml
from server.catalog.models import BibRecord, Holding
from server.db import Database
from server.libraries.models import Library

log = logging.getLogger(__name__)

FORMATS = ("iso2709", "xml", "json")
PAGE = 1000


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
) -> int:
    """Write the records (of ``isil``, else all) to ``out``; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    count = 0

    def records() -> Iterator[Record]:
        nonlocal count
        for stored in iter_stored(db, isil):
            count += 1
            if progress is not None:
                progress(count)
            yield record_from_bytes(stored.marc)

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
