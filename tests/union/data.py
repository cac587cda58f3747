"""Loading test catalogs for the union tests."""

from __future__ import annotations

from sqlalchemy import select

from server.catalog.importer import Importer
from server.catalog.marcio import read_records
from server.catalog.models import BibRecord
from server.catalog.service import delete_record
from server.db import Database
from tests.catalog.helpers import MARC, add_libraries


def load_vietnamese(db: Database, deleted: int = 5) -> list[int]:
    """The 121 Vietnamese LoC records in library VN-A; the first ``deleted`` withdrawn. Returns deleted ids."""
    add_libraries(db, "VN-A", "VN-B")
    with (MARC / "vie_loc.mrc").open("rb") as fh:
        Importer(db, library_isil="VN-A").run(read_records(fh))
    with db.write() as session:
        records = list(session.scalars(select(BibRecord).order_by(BibRecord.id).limit(deleted)))
        for record in records:
            delete_record(session, record)
        return [r.id for r in records]
