"""Adding and updating bibliographic records from MARC21, with their identifiers."""

from __future__ import annotations

import logging
from typing import Any

from pymarc import Record
from sqlalchemy.orm import Session

from server.catalog.folding import fold
from server.catalog.models import BibIdentifier, BibRecord
from server.catalog.records import Extracted, extract
from server.db import utcnow

log = logging.getLogger(__name__)

# Fields a library keeps when a record is overlaid by copy from elsewhere (local notes, holdings, items).
LOCAL_TAGS = ("59", "9", "852")


def columns(data: Extracted, marc: bytes) -> dict[str, Any]:
    """The :class:`BibRecord` column values for a record (everything except ids, library and timestamps)."""
    return {
        "marc": marc,
        "control_number": data.control_number,
        "title": data.title,
        "authors": " ; ".join(data.authors),
        "subjects": " ; ".join(data.subjects),
        "publisher": data.publisher,
        "year": data.year,
        "language": data.language,
        "search_text": data.search_text,
        "title_folded": fold(data.title),
        "authors_folded": fold(" ".join(data.authors)),
        "subjects_folded": fold(" ".join(data.subjects)),
        "title_key": data.title_key,
        "sort_key": data.sort_key,
    }


def apply_marc(record: BibRecord, marc: Record, raw: bytes | None = None) -> BibRecord:
    """Fill ``record``'s columns from ``marc`` (kept whole as UTF-8 ISO 2709; ``raw`` if already so)."""
    data = extract(marc)
    for name, value in columns(data, raw if raw is not None else marc.as_marc()).items():
        setattr(record, name, value)
    record.identifiers = [BibIdentifier(scheme=scheme, value=value) for scheme, value in data.identifiers]
    record.updated_at = utcnow()
    return record


def add_record(session: Session, marc: Record, *, source_library_id: int | None = None) -> BibRecord:
    record = apply_marc(BibRecord(source_library_id=source_library_id), marc)
    session.add(record)
    return record


def keep_local_fields(incoming: Record, existing: Record) -> Record:
    """``incoming`` plus the local fields (59X, 9XX, 852) of ``existing``, which copy cataloguing must not lose."""
    incoming.remove_fields(*[f.tag for f in incoming.fields if f.tag.startswith(LOCAL_TAGS)])
    for fld in existing.fields:
        if fld.tag.startswith(LOCAL_TAGS):
            incoming.add_ordered_field(fld)
    return incoming


def delete_record(session: Session, record: BibRecord) -> None:
    """Withdraw a record; it stays as a persistent OAI-PMH deletion."""
    record.deleted_at = utcnow()
    record.updated_at = record.deleted_at
