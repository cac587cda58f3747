"""Merge review: list, confirm, split (the member's original restored as its own record, with its copies)."""

from __future__ import annotations

import pytest
from pymarc import Field, Subfield
from sqlalchemy import select

from server.catalog.models import BibRecord, Holding, Item
from server.db import Database
from server.union import review
from server.union.models import RecordMerge, SourceRecord
from tests.catalog.helpers import add_libraries, make_record
from tests.union.merging import harvest_record


def item(isil: str, barcode: str) -> Field:
    return Field(tag="952", indicators=[" ", " "], subfields=[Subfield("a", isil), Subfield("p", barcode)])


def test_confirm_and_split(db: Database) -> None:
    libraries = add_libraries(db, "VN-A", "VN-B", "VN-C")
    harvest_record(
        db, "A", "VN-A", "a:1", make_record("a1", "Truyện Kiều", "Nguyễn Du", 1995, extra=[item("VN-A", "A1")])
    )
    variant = make_record("b1", "Truyện Kiều.", "Nguyễn Du", 1995, extra=[item("VN-B", "B1"), item("VN-B", "B2")])
    merged = harvest_record(db, "B", "VN-B", "b:1", variant)
    assert merged.merged == 1 and merged.items == 2
    harvest_record(db, "C", "VN-C", "c:1", make_record("c1", "Truyện Kiều", "Nguyễn Du", 1995))
    with db.session() as session:
        rows = review.merges(session)
        assert [(r.source, r.match_key) for r in rows] == [("B", "title-author-year"), ("C", "title-author-year")]
        assert {r.source for r in review.merges(session, {libraries["VN-C"]})} == {"C"}
        assert review.merges(session, {libraries["VN-A"]}) == rows  # the shared record is A's
        kept_id = rows[0].kept_record_id
        detail = review.detail(session, rows[0].merge_id)
        assert detail.original is not None and detail.original["001"].data == "b1"
        assert detail.kept is not None and detail.kept["001"].data == "a1"
    by_source = {r.source: r.merge_id for r in rows}

    with db.write() as session:
        review.confirm(session, by_source["C"], None)
    with db.session() as session:
        assert [r.source for r in review.merges(session)] == ["B"]
        assert len(review.merges(session, include_reviewed=True)) == 2

    with db.write() as session:
        new_id = review.split(session, by_source["B"])
    with db.session() as session:
        restored = session.get(BibRecord, new_id)
        assert restored is not None and restored.control_number == "b1" and restored.title.startswith("Truyện Kiều")
        assert restored.source_library_id == libraries["VN-B"]
        moved = session.scalars(select(Item.barcode).where(Item.record_id == new_id).order_by(Item.barcode)).all()
        assert moved == ["B1", "B2"]
        assert session.scalars(select(Item.barcode).where(Item.record_id == kept_id)).all() == ["A1"]
        assert {h.library_id for h in session.scalars(select(Holding).where(Holding.record_id == new_id))} == {
            libraries["VN-B"]
        }
        original = session.scalar(select(SourceRecord).where(SourceRecord.identifier == "b:1"))
        assert original is not None and original.record_id == new_id and original.marc  # never destroyed
        merge = session.get(RecordMerge, by_source["B"])
        assert merge is not None and merge.undone_at is not None
        assert review.merges(session, include_reviewed=True)[0].source == "C"
    with db.write() as session, pytest.raises(review.MergeError, match="no merge"):
        review.split(session, by_source["B"])
    with db.write() as session, pytest.raises(review.MergeError, match="no merge"):
        review.confirm(session, 99999, None)
