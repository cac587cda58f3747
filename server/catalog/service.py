"""Adding and updating bibliographic records from MARC21, with their identifiers."""

from __future__ import annotations

from pymarc import Record
from sqlalchemy.orm import Session

from server.catalog.models import BibIdentifier, BibRecord
from server.catalog.records import extract
from server.db import utcnow


def apply_marc(record: BibRecord, marc: Record) -> BibRecord:
    """Fill ``record``'s columns from ``marc`` (kept whole as UTF-8 ISO 2709)."""
    data = extract(marc)
    record.marc = marc.as_marc()
    record.control_number = data.control_number
    record.title = data.title
    record.authors = " ; ".join(data.authors)
    record.subjects = " ; ".join(data.subjects)
    record.publisher = data.publisher
    record.year = data.year
    record.language = data.language
    record.search_text = data.search_text
    record.sort_key = data.sort_key
    record.identifiers = [BibIdentifier(scheme=scheme, value=value) for scheme, value in data.identifiers]
    record.updated_at = utcnow()
    return record


def add_record(session: Session, marc: Record, *, source_library_id: int | None = None) -> BibRecord:
    record = apply_marc(BibRecord(source_library_id=source_library_id), marc)
    session.add(record)
    return record
