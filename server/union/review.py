"""A cataloguer's review of union-catalog merges: list them, look at both records, confirm or split.

Every merge (:class:`RecordMerge`) attaches a member's original (:class:`SourceRecord`, never destroyed) to a
shared record. Confirming records who reviewed it; splitting (undoing) builds a new shared record from the
member's original and moves that member's holdings and items onto it. Who may review is the caller's
business (the staff web lets librarians of the member's library or of the shared record's library).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pymarc import Record
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.catalog.marcio import record_from_bytes
from server.catalog.models import BibRecord, Holding
from server.catalog.service import apply_marc
from server.db import Database, utcnow
from server.union.models import HarvestSource, RecordMerge, SourceRecord


class MergeError(ValueError):
    """The merge does not exist, was undone already, or has no original to split out."""


@dataclass(frozen=True)
class MergeRow:
    merge_id: int
    kept_record_id: int
    kept_title: str
    kept_library_id: int | None
    source: str
    source_library_id: int | None
    source_identifier: str
    match_key: str
    score: float
    reason: str
    created_at: dt.datetime
    reviewed_at: dt.datetime | None
    undone_at: dt.datetime | None

    @property
    def libraries(self) -> set[int]:
        """The libraries concerned: the member's and the one that contributed the shared record."""
        return {lib for lib in (self.kept_library_id, self.source_library_id) if lib is not None}

    def as_dict(self) -> dict[str, Any]:
        return {
            "merge_id": self.merge_id,
            "kept_record_id": self.kept_record_id,
            "kept_title": self.kept_title,
            "source": self.source,
            "source_identifier": self.source_identifier,
            "match_key": self.match_key,
            "score": self.score,
            "reason": self.reason,
            "reviewed": self.reviewed_at is not None,
        }


@dataclass(frozen=True)
class MergeDetail:
    row: MergeRow
    kept: Record | None  # the shared record as it is now
    original: Record | None  # the member's original as harvested


def _rows_query() -> Any:
    return (
        select(
            RecordMerge,
            BibRecord.title,
            BibRecord.source_library_id,
            SourceRecord.identifier,
            HarvestSource.name,
            HarvestSource.library_id,
        )
        .join(BibRecord, BibRecord.id == RecordMerge.kept_record_id)
        .join(SourceRecord, SourceRecord.id == RecordMerge.source_record_id)
        .join(HarvestSource, HarvestSource.id == SourceRecord.source_id)
    )


def _row(found: Any) -> MergeRow:
    merge, title, kept_library, identifier, source_name, source_library = found
    return MergeRow(
        merge.id, merge.kept_record_id, title, kept_library, source_name, source_library, identifier,
        merge.match_key, merge.score, merge.reason, merge.created_at, merge.reviewed_at, merge.undone_at,
    )  # fmt: skip


def merges(
    session: Session, libraries: set[int] | None = None, include_reviewed: bool = False, limit: int = 500
) -> list[MergeRow]:
    """Merges still in force, lowest confidence first; only those concerning ``libraries`` when given."""
    stmt = _rows_query().where(RecordMerge.undone_at.is_(None))
    if not include_reviewed:
        stmt = stmt.where(RecordMerge.reviewed_at.is_(None))
    if libraries is not None:
        stmt = stmt.where(or_(BibRecord.source_library_id.in_(libraries), HarvestSource.library_id.in_(libraries)))
    return [_row(found) for found in session.execute(stmt.order_by(RecordMerge.score, RecordMerge.id).limit(limit))]


def merge_row(session: Session, merge_id: int) -> MergeRow:
    found = session.execute(_rows_query().where(RecordMerge.id == merge_id)).first()
    if found is None:
        raise MergeError(f"no merge {merge_id}")
    return _row(found)


def detail(session: Session, merge_id: int) -> MergeDetail:
    row = merge_row(session, merge_id)
    kept = session.get(BibRecord, row.kept_record_id)
    merge = session.get(RecordMerge, merge_id)
    original = session.get(SourceRecord, merge.source_record_id) if merge is not None else None
    return MergeDetail(
        row,
        record_from_bytes(kept.marc) if kept is not None and kept.marc else None,
        record_from_bytes(original.marc) if original is not None and original.marc else None,
    )


def confirm(session: Session, merge_id: int, reviewer_id: int | None) -> None:
    """Record that a cataloguer checked the merge and keeps it."""
    merge = session.get(RecordMerge, merge_id)
    if merge is None or merge.undone_at is not None:
        raise MergeError(f"no merge {merge_id} to confirm")
    merge.reviewed_at = utcnow()
    merge.reviewed_by = reviewer_id


def split(session: Session, merge_id: int, reviewer_id: int | None = None) -> int:
    """Undo a merge: a new shared record from the member's original, with that member's holdings and items."""
    merge = session.get(RecordMerge, merge_id)
    if merge is None or merge.undone_at is not None:
        raise MergeError(f"no merge {merge_id} to undo")
    source_record = session.get(SourceRecord, merge.source_record_id)
    source = session.get(HarvestSource, source_record.source_id) if source_record else None
    if source_record is None or source is None or source_record.marc is None:
        raise MergeError(f"merge {merge_id} has no original to split out")
    shared = apply_marc(BibRecord(source_library_id=source.library_id), record_from_bytes(source_record.marc))
    session.add(shared)
    session.flush()
    if source.library_id is not None:
        for holding in session.scalars(
            select(Holding).where(Holding.record_id == merge.kept_record_id, Holding.library_id == source.library_id)
        ):
            holding.record_id = shared.id
            for item in holding.items:
                item.record_id = shared.id
    source_record.record_id = shared.id
    merge.undone_at = utcnow()
    merge.reviewed_at = merge.reviewed_at or merge.undone_at
    merge.reviewed_by = reviewer_id if reviewer_id is not None else merge.reviewed_by
    kept = session.get(BibRecord, merge.kept_record_id)
    if kept is not None:
        kept.updated_at = utcnow()
    session.flush()
    return shared.id


def merge_report(db: Database, include_reviewed: bool = False) -> list[dict[str, Any]]:
    """The merges a cataloguer should review (the command line's and JSON form)."""
    with db.session() as session:
        return [row.as_dict() for row in merges(session, include_reviewed=include_reviewed)]


def undo_merge(db: Database, merge_id: int) -> int:
    """Split a wrongly merged record out again; the new shared record's id."""
    with db.write() as session:
        return split(session, merge_id)


def confirm_merge(db: Database, merge_id: int) -> None:
    with db.write() as session:
        confirm(session, merge_id, None)
