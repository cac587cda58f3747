"""A union catalog built by harvesting two libraries' OAI-PMH providers: duplicates merged, holdings kept,
originals never destroyed, incremental harvests and deletions."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import migrate
from server.catalog.importer import Importer
from server.catalog.marcio import read_records
from server.catalog.models import BibRecord, Holding
from server.catalog.service import delete_record
from server.db import Database
from server.union.errors import HarvestError
from server.union.harvest import OaiHarvester, add_source, harvest
from server.union.models import RecordMerge, SourceRecord
from server.union.review import merge_report, undo_merge
from tests.catalog.helpers import add_libraries, make_record
from tests.union.conftest import LiveServer
from tests.union.labelled import originals, variants


def member(tmp_path: Path, isil: str, records: list[bytes]) -> Database:
    db = Database(f"sqlite:///{tmp_path / (isil + '.db')}")
    migrate.upgrade(db)
    add_libraries(db, isil)
    Importer(db, library_isil=isil).run(read_records(io.BytesIO(b"".join(records))))
    return db


@pytest.fixture
def members(tmp_path: Path) -> Iterator[tuple[Database, Database, list]]:  # type: ignore[type-arg]
    base = originals(40)
    labelled = variants(base)
    a = member(tmp_path, "VN-A", [r.as_marc() for r in base])
    time.sleep(1.1)  # the last datestamp of A then names one late record only
    Importer(a, library_isil="VN-A").run(
        read_records(io.BytesIO(make_record("late", "Sách đến muộn", "Lê", 2020).as_marc()))
    )
    b = member(tmp_path, "VN-B", [v.record.as_marc() for v in labelled])
    yield a, b, labelled
    a.dispose()
    b.dispose()


def count(db: Database, model: type, *where: object) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_union_of_two_libraries(db: Database, members: tuple[Database, Database, list]) -> None:  # type: ignore[type-arg]
    a, b, labelled = members
    add_libraries(db, "VN-A", "VN-B")
    with LiveServer(a, page_size=15) as provider_a, LiveServer(b, page_size=15) as provider_b:
        add_source(db, "A", provider_a.url + "/oai", "VN-A")
        add_source(db, "B", provider_b.url + "/oai", "VN-B", prefix="marc21_withholdings")
        first = harvest(db, "A")
        assert (first.fetched, first.new_records, first.merged, first.errors) == (41, 41, 0, [])
        second = harvest(db, "B")
        duplicates = sum(v.original is not None for v in labelled)
        assert (second.fetched, second.merged, second.new_records) == (40, duplicates, 40 - duplicates)
        assert count(db, SourceRecord) == 81
        assert count(db, BibRecord) == 41 + 40 - duplicates
        # a merged title is held by both libraries under one shared record
        with db.session() as session:
            held_by_two = session.scalar(
                select(func.count()).select_from(
                    select(Holding.record_id).group_by(Holding.record_id).having(func.count() == 2).subquery()
                )
            )
        assert held_by_two == duplicates
        report = merge_report(db)
        assert len(report) == duplicates and {r["source"] for r in report} == {"B"}

        # incremental: one record changed and one withdrawn at A, in a later second than A's last record (the
        # harvests can all fit in the second it was added in), both with the same datestamp
        time.sleep(1.1)
        with a.write() as session:
            changed, gone = session.scalars(select(BibRecord).order_by(BibRecord.id).limit(2)).all()
            delete_record(session, gone)
            changed.title = changed.title + " (sửa)"
            changed.updated_at = gone.updated_at
        again = harvest(db, "A")
        assert again.fetched == 3 and again.deleted == 1 and again.updated == 2
        assert count(db, SourceRecord) == 81  # originals are never destroyed
        assert count(db, SourceRecord, SourceRecord.deleted.is_(True)) == 1
        assert harvest(db, "A").fetched == 2  # the last second is harvested again (from is inclusive)

        # undoing a merge splits the member's record out with its holding
        merge_id = report[0]["merge_id"]
        new_id = undo_merge(db, merge_id)
        assert count(db, Holding, Holding.record_id == new_id) == 1
        assert count(db, RecordMerge, RecordMerge.undone_at.is_not(None)) == 1


def test_harvest_errors(db: Database, tmp_path: Path) -> None:
    add_libraries(db, "VN-A")
    add_source(db, "nowhere", "http://127.0.0.1:9/oai", "VN-A")
    with pytest.raises(HarvestError, match="cannot fetch"):
        harvest(db, "nowhere")
    with pytest.raises(ValueError, match="no harvest source"):
        harvest(db, "missing")
    with pytest.raises(ValueError, match="no library"):
        add_source(db, "x", "http://x", "VN-ZZ")
    with LiveServer(db) as provider:
        with pytest.raises(HarvestError, match="cannotDisseminateFormat"):
            list(OaiHarvester(provider.url + "/oai").list_records("mods"))
        assert list(OaiHarvester(provider.url + "/oai").list_records("marc21")) == []
