"""Making union-catalog merges in a test database: a member's record applied as a harvest would apply it."""

from __future__ import annotations

from pymarc import Record
from sqlalchemy import select

from server.catalog.marcio import to_marcxml_element
from server.db import Database
from server.union.harvest import Harvested, HarvestReport, UnionBuilder, add_source
from server.union.models import HarvestSource


def harvest_record(db: Database, source_name: str, isil: str, identifier: str, record: Record) -> HarvestReport:
    """Apply ``record`` as if harvested from the source ``source_name`` of library ``isil`` (made if missing)."""
    with db.session() as session:
        known = session.scalar(select(HarvestSource.id).where(HarvestSource.name == source_name))
    if known is None:
        add_source(db, source_name, f"http://{source_name}.invalid/oai", isil)
    report = HarvestReport(source=source_name)
    with db.write() as session:
        source = session.scalar(select(HarvestSource).where(HarvestSource.name == source_name))
        assert source is not None
        UnionBuilder(session, source, report).apply(
            Harvested(identifier, "2026-11-26T00:00:00Z", False, to_marcxml_element(record))
        )
    return report
