"""Harvested holdings become items: each member's copies under the shared record with barcode, library and
location, through the same configured 852/952 mapping as local imports; re-harvests update, vanished copies
are withdrawn (history) or deleted (none)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from pymarc import Field, Record, Subfield
from sqlalchemy import select

from server import migrate
from server.catalog.holdings import KOHA_952, MARC_852_876
from server.catalog.importer import Importer
from server.catalog.marcio import read_records
from server.catalog.models import BibRecord, Holding, Item, ItemStatus
from server.catalog.service import delete_record
from server.circulation.models import Loan
from server.db import Database
from server.libraries.models import Library, Location
from server.union.harvest import add_source, harvest
from tests.catalog.helpers import add_libraries, make_record
from tests.union.conftest import LiveServer


def copy(isil: str, barcode: str, location: str, call: str = "895.92 NG-D") -> Field:
    return Field(
        tag="952",
        indicators=[" ", " "],
        subfields=[
            Subfield("a", isil),
            Subfield("c", location),
            Subfield("o", call),
            Subfield("p", barcode),
            Subfield("y", "book"),
        ],
    )


def kieu(isil: str, *copies: Field) -> Record:
    return make_record(f"kieu-{isil}", "Truyện Kiều", "Nguyễn Du", 1995, isbn="9786041234567", extra=list(copies))


def member(tmp_path: Path, isil: str, records: list[Record]) -> Database:
    db = Database(f"sqlite:///{tmp_path / (isil + '.db')}")
    migrate.upgrade(db)
    add_libraries(db, isil)
    load(db, isil, records)
    return db


def load(db: Database, isil: str, records: list[Record]) -> None:
    data = b"".join(r.as_marc() for r in records)
    report = Importer(db, library_isil=isil, holdings=KOHA_952).run(read_records(io.BytesIO(data)))
    assert not report.rejected


def copies(db: Database) -> dict[str, tuple[str, str | None, str, ItemStatus, int]]:
    """barcode → (library ISIL, location code, call number, status, shared record id)."""
    with db.session() as session:
        rows = session.execute(
            select(Item.barcode, Library.isil, Location.code, Holding.call_number, Item.status, Item.record_id)
            .join(Library, Library.id == Item.library_id)
            .join(Holding, Holding.id == Item.holding_id)
            .outerjoin(Location, Location.id == Item.location_id)
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


def test_members_copies_become_items_under_the_shared_record(db: Database, tmp_path: Path) -> None:
    other = make_record("tho", "Thơ Hồ Xuân Hương", "Hồ Xuân Hương", 2001, extra=[copy("VN-A", "A3", "TN", "895.1")])
    a = member(tmp_path, "VN-A", [kieu("VN-A", copy("VN-A", "A1", "KHO"), copy("VN-A", "A2", "KHO")), other])
    b = member(tmp_path, "VN-B", [kieu("VN-B", copy("VN-B", "B1", "MUON", "895.92 NG"))])
    add_libraries(db, "VN-A", "VN-B")
    try:
        with LiveServer(a) as provider_a, LiveServer(b) as provider_b:
            add_source(db, "A", provider_a.url + "/oai", "VN-A")  # marc21: Koha-style 952, chosen per record
            add_source(db, "B", provider_b.url + "/oai", "VN-B", prefix="marc21_withholdings")
            first = harvest(db, "A")
            assert (first.new_records, first.items, first.warnings) == (2, 3, [])
            # the holdings-bearing format: 852 $a $c $h followed by one 876 $p per copy, by configuration
            second = harvest(db, "B", holdings=MARC_852_876)
            assert (second.merged, second.items, second.warnings) == (1, 1, [])
            found = copies(db)
            shared = found["A1"][4]
            assert found == {
                "A1": ("VN-A", "KHO", "895.92 NG-D", ItemStatus.AVAILABLE, shared),
                "A2": ("VN-A", "KHO", "895.92 NG-D", ItemStatus.AVAILABLE, shared),
                "A3": ("VN-A", "TN", "895.1", ItemStatus.AVAILABLE, found["A3"][4]),
                "B1": ("VN-B", "MUON", "895.92 NG", ItemStatus.AVAILABLE, shared),
            }
            assert found["A3"][4] != shared

            # re-harvesting updates: no second copy of anything
            again = harvest(db, "A")
            assert again.fetched >= 1 and again.items == 0
            assert copies(db) == found

            # A2 has loan history in the union catalog; at A it leaves the record, A4 arrives, A1 moves shelf;
            # the other title (A3, no history) is deleted at A
            with db.write() as session:
                a2 = session.scalar(select(Item).where(Item.barcode == "A2"))
                assert a2 is not None
                now = dt.datetime.now(dt.UTC)
                session.add(
                    Loan(
                        item_id=a2.id, patron_category="adult", library_id=a2.library_id, checked_out_at=now,
                        due_at=now, returned_at=now,
                    )  # fmt: skip
                )
            load(a, "VN-A", [kieu("VN-A", copy("VN-A", "A1", "TN"), copy("VN-A", "A4", "KHO"))])
            with a.write() as session:
                gone = session.scalar(select(BibRecord).where(BibRecord.control_number == "tho"))
                assert gone is not None
                delete_record(session, gone)
            third = harvest(db, "A")
            assert (third.items, third.items_withdrawn, third.items_deleted) == (1, 1, 1)
            after = copies(db)
            assert after == {
                "A1": ("VN-A", "TN", "895.92 NG-D", ItemStatus.AVAILABLE, shared),
                "A2": ("VN-A", "KHO", "895.92 NG-D", ItemStatus.WITHDRAWN, shared),
                "A4": ("VN-A", "KHO", "895.92 NG-D", ItemStatus.AVAILABLE, shared),
                "B1": ("VN-B", "MUON", "895.92 NG", ItemStatus.AVAILABLE, shared),
            }
            with db.session() as session:
                orphan = session.get(BibRecord, found["A3"][4])
                assert orphan is not None and orphan.deleted_at is not None  # held by no one any more
                assert not session.scalars(select(Holding).where(Holding.record_id == orphan.id)).all()
            # B's copies are untouched by A's harvests, and B's re-harvest keeps them
            assert harvest(db, "B").items == 0  # marc21_withholdings: 852 + 876 by default, B's own 952 ignored
            assert copies(db)["B1"] == after["B1"]
    finally:
        a.dispose()
        b.dispose()
