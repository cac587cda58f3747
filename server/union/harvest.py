"""Harvesting other libraries' OAI-PMH providers into the union catalog, incrementally.

Each :class:`HarvestSource` is harvested from its ``last_datestamp`` (inclusive, in the provider's
granularity). Every harvested record is kept as a :class:`SourceRecord` (the member's original, updated but
never deleted). A new record is matched against the shared catalog (:mod:`server.union.matching`): a
duplicate is attached to the shared record (a :class:`RecordMerge` row for a cataloguer to review), else it
becomes a new shared record. Either way the member's 852/952-style fields become holdings and items under the
shared record through the same configured mapping as local imports (:mod:`server.catalog.holdings`; by
default 852 + 876 for ``marc21_withholdings``, else chosen per record: 952, 852 followed by 876, or 852),
else one holding for the source's library. An item that disappears from the member's record is withdrawn
when it has a history (loans, holds, gate alarms) and deleted otherwise. A deletion at the source retires
that library's items the same way and removes its empty holdings; the shared record is withdrawn
(persistent deletion) only when no library holds it any more and no live source record points to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from pymarc import Record
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from server.catalog.holdings import MARC_852_876, HoldingsMapping, HoldingsWriter, detect
from server.catalog.marcio import MARCXML_NS, repair_record, xml_to_record
from server.catalog.models import BibRecord, Holding, Item, ItemStatus
from server.catalog.service import apply_marc
from server.circulation.models import Hold, Loan
from server.db import Database, utcnow
from server.devices.models import GateAlarm
from server.libraries.models import Library
from server.union.errors import HarvestError
from server.union.matching import Matcher, keys_of
from server.union.models import HarvestSource, RecordMerge, SourceRecord

log = logging.getLogger(__name__)

OAI = "{http://www.openarchives.org/OAI/2.0/}"
BATCH = 200


@dataclass(frozen=True)
class Harvested:
    identifier: str
    datestamp: str
    deleted: bool
    metadata: Any | None


@dataclass
class HarvestReport:
    source: str
    fetched: int = 0
    new_records: int = 0
    merged: int = 0
    updated: int = 0
    deleted: int = 0
    items: int = 0
    items_withdrawn: int = 0
    items_deleted: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    last_datestamp: str | None = None


class OaiHarvester:
    """A small OAI-PMH client: ListRecords with resumption, Identify; errors become :class:`HarvestError`."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url
        self.timeout = timeout

    def _get(self, params: dict[str, str]) -> Any:
        url = self.base_url + "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310  (configured http URL)
                body = response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise HarvestError(f"cannot fetch {url}: {exc}") from exc
        try:
            return etree.fromstring(body)
        except etree.XMLSyntaxError as exc:
            raise HarvestError(f"{url} did not answer XML: {exc}") from exc

    def granularity(self) -> str:
        root = self._get({"verb": "Identify"})
        value = root.findtext(f"{OAI}Identify/{OAI}granularity")
        return value or "YYYY-MM-DD"

    def list_records(self, prefix: str, set_spec: str | None = None, start: str | None = None) -> Iterator[Harvested]:
        params = {"verb": "ListRecords", "metadataPrefix": prefix}
        if set_spec:
            params["set"] = set_spec
        if start:
            params["from"] = start
        while True:
            root = self._get(params)
            error = root.find(f"{OAI}error")
            if error is not None:
                if error.get("code") == "noRecordsMatch":
                    return
                raise HarvestError(f"{self.base_url} answered {error.get('code')}: {error.text}")
            listing = root.find(f"{OAI}ListRecords")
            if listing is None:
                raise HarvestError(f"{self.base_url} answered neither ListRecords nor an error")
            for record in listing.iterfind(f"{OAI}record"):
                header = record.find(f"{OAI}header")
                if header is None:
                    continue
                metadata = record.find(f"{OAI}metadata")
                marc = None
                if metadata is not None:
                    marc = metadata.find(f"{{{MARCXML_NS}}}record")
                yield Harvested(
                    identifier=header.findtext(f"{OAI}identifier") or "",
                    datestamp=header.findtext(f"{OAI}datestamp") or "",
                    deleted=header.get("status") == "deleted",
                    metadata=marc,
                )
            token = listing.findtext(f"{OAI}resumptionToken")
            if not token:
                return
            params = {"verb": "ListRecords", "resumptionToken": token}


def add_source(
    db: Database, name: str, base_url: str, library_isil: str, prefix: str = "marc21", set_spec: str | None = None
) -> int:
    with db.write() as session:
        library_id = session.scalar(select(Library.id).where(Library.isil == library_isil))
        if library_id is None:
            raise ValueError(f"no library with ISIL {library_isil!r}")
        source = HarvestSource(
            name=name, base_url=base_url, library_id=library_id, metadata_prefix=prefix, set_spec=set_spec
        )
        session.add(source)
        session.flush()
        return source.id


class UnionBuilder:
    """Applies harvested records of one source to the union catalog inside a session."""

    def __init__(
        self, session: Session, source: HarvestSource, report: HarvestReport, holdings: HoldingsMapping | None = None
    ) -> None:
        self.session = session
        self.source = source
        self.report = report
        self.holdings = holdings
        self.matcher = Matcher(session)
        self.writer = HoldingsWriter({isil: lid for isil, lid in session.execute(select(Library.isil, Library.id))})

    def apply(self, item: Harvested) -> None:
        source_record = self.session.scalar(
            select(SourceRecord).where(
                SourceRecord.source_id == self.source.id, SourceRecord.identifier == item.identifier
            )
        )
        if source_record is None:
            source_record = SourceRecord(source_id=self.source.id, identifier=item.identifier)
            self.session.add(source_record)
        source_record.datestamp = item.datestamp
        source_record.harvested_at = utcnow()
        if item.deleted:
            source_record.deleted = True
            self.session.flush()
            self._withdraw(source_record)
            self.report.deleted += 1
            return
        if item.metadata is None:
            raise HarvestError(f"{item.identifier}: no MARCXML metadata")
        try:
            record = xml_to_record(item.metadata)
        except ValueError as exc:
            raise HarvestError(f"{item.identifier}: {exc}") from exc
        repair_record(record)
        source_record.marc = record.as_marc()
        source_record.deleted = False
        self.session.flush()
        if source_record.record_id is not None:
            shared = self.session.get(BibRecord, source_record.record_id)
            if shared is not None and self._is_origin(source_record):
                apply_marc(shared, record)
                shared.deleted_at = None
                self.matcher.forget(shared.id)
            if shared is not None:
                self._holdings(shared, record, item.identifier)
            self.report.updated += 1
            return
        match = self.matcher.find(keys_of(record))
        if match is not None:
            shared = self.session.get(BibRecord, match.record_id)
            assert shared is not None  # noqa: S101  (the matcher returns live rows)
            source_record.record_id = shared.id
            self.session.add(
                RecordMerge(
                    kept_record_id=shared.id,
                    source_record_id=source_record.id,
                    match_key=match.key,
                    score=match.score,
                    reason=match.reason,
                )
            )
            shared.updated_at = utcnow()  # the disseminated holdings change
            self.report.merged += 1
        else:
            shared = apply_marc(BibRecord(source_library_id=self.source.library_id), record)
            self.session.add(shared)
            self.session.flush()
            source_record.record_id = shared.id
            self.report.new_records += 1
        self._holdings(shared, record, item.identifier)

    def _is_origin(self, source_record: SourceRecord) -> bool:
        return not self.session.scalar(select(exists().where(RecordMerge.source_record_id == source_record.id)))

    def _holdings(self, shared: BibRecord, record: Record, identifier: str) -> None:
        """The member's holdings and items under the shared record; its copies no longer named are retired."""
        mapping = self.holdings or detect(record)
        kept_holdings: set[int] = set()
        kept_items: set[int] = set()
        scope = {self.source.library_id} if self.source.library_id is not None else set()
        if mapping is not None:
            made = self.writer.apply(self.session, shared.id, record, mapping, self.source.library_id)
            self.report.items += made.items
            self.report.warnings += [f"{identifier}: {note}" for note in made.warnings]
            kept_holdings, kept_items = made.holding_ids, made.item_ids
            scope |= {h.library_id for h in self.session.scalars(select(Holding).where(Holding.id.in_(kept_holdings)))}
        if not kept_holdings and self.source.library_id is not None:
            kept_holdings = {self._plain_holding(shared.id, self.source.library_id)}
        self._retire(shared.id, scope, kept_holdings, kept_items)

    def _plain_holding(self, record_id: int, library_id: int) -> int:
        present = self.session.scalar(
            select(Holding.id).where(
                Holding.record_id == record_id, Holding.library_id == library_id, Holding.call_number == ""
            )
        )
        if present is not None:
            return present
        holding = Holding(record_id=record_id, library_id=library_id, call_number="")
        self.session.add(holding)
        self.session.flush()
        return holding.id

    def _retire(self, record_id: int, libraries: set[int], kept_holdings: set[int], kept_items: set[int]) -> None:
        """Retire these libraries' items of the record not in ``kept_items``, then their empty holdings."""
        if not libraries:
            return
        gone = select(Item).where(
            Item.record_id == record_id, Item.library_id.in_(libraries), Item.id.not_in(kept_items)
        )
        for copy in self.session.scalars(gone):
            if self._has_history(copy.id):
                if copy.status != ItemStatus.WITHDRAWN:
                    copy.status = ItemStatus.WITHDRAWN
                    self.report.items_withdrawn += 1
            else:
                self.session.delete(copy)
                self.report.items_deleted += 1
        self.session.flush()
        self.session.execute(
            delete(Holding).where(
                Holding.record_id == record_id,
                Holding.library_id.in_(libraries),
                Holding.id.not_in(kept_holdings),
                ~exists().where(Item.holding_id == Holding.id),
            )
        )

    def _has_history(self, item_id: int) -> bool:
        return bool(
            self.session.scalar(
                select(
                    exists().where(Loan.item_id == item_id)
                    | exists().where(Hold.item_id == item_id)
                    | exists().where(GateAlarm.item_id == item_id)
                )
            )
        )

    def _withdraw(self, source_record: SourceRecord) -> None:
        if source_record.record_id is None or self.source.library_id is None:
            return
        rid = source_record.record_id
        self._retire(rid, {self.source.library_id}, set(), set())
        live_sources = self.session.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.record_id == rid, SourceRecord.deleted.is_(False))
        )
        holdings = self.session.scalar(select(func.count()).select_from(Holding).where(Holding.record_id == rid))
        shared = self.session.get(BibRecord, rid)
        if shared is None:
            return
        shared.updated_at = utcnow()
        if not live_sources and not holdings:
            shared.deleted_at = shared.updated_at


def harvest(
    db: Database, name: str, harvester: OaiHarvester | None = None, holdings: HoldingsMapping | None = None
) -> HarvestReport:
    """Harvest the source called ``name`` from its last datestamp; returns what happened.

    ``holdings`` is the mapping of the member's holding fields. Without one, ``marc21_withholdings`` means
    852 followed by 876 (that format's holdings, whatever 952 the records also carry); any other format
    chooses per record (:func:`server.catalog.holdings.detect`).
    """
    with db.session() as session:
        source = session.scalar(select(HarvestSource).where(HarvestSource.name == name))
        if source is None:
            raise ValueError(f"no harvest source called {name!r}")
        base_url, prefix, set_spec, since = (
            source.base_url,
            source.metadata_prefix,
            source.set_spec,
            source.last_datestamp,
        )
        source_id = source.id
    if holdings is None and prefix == "marc21_withholdings":
        holdings = MARC_852_876
    client = harvester or OaiHarvester(base_url)
    if since and client.granularity() == "YYYY-MM-DD":
        since = since[:10]
    report = HarvestReport(source=name)
    batch: list[Harvested] = []
    for item in client.list_records(prefix, set_spec, since):
        report.fetched += 1
        batch.append(item)
        if len(batch) >= BATCH:
            _apply(db, source_id, batch, report, holdings)
            batch = []
    if batch:
        _apply(db, source_id, batch, report, holdings)
    with db.write() as session:
        stored = session.get(HarvestSource, source_id)
        assert stored is not None  # noqa: S101
        if report.last_datestamp and (stored.last_datestamp or "") < report.last_datestamp:
            stored.last_datestamp = report.last_datestamp
        stored.last_run_at = dt.datetime.now(dt.UTC)
    log.info(
        "harvest %s: %d fetched, %d new, %d merged, %d updated, %d deleted, %d errors; items %d new, %d withdrawn,"
        " %d deleted", name, report.fetched, report.new_records, report.merged, report.updated, report.deleted,
        len(report.errors), report.items, report.items_withdrawn, report.items_deleted,
    )  # fmt: skip
    return report


def _apply(
    db: Database, source_id: int, batch: list[Harvested], report: HarvestReport, holdings: HoldingsMapping | None
) -> None:
    with db.write() as session:
        source = session.get(HarvestSource, source_id)
        assert source is not None  # noqa: S101
        builder = UnionBuilder(session, source, report, holdings)
        for item in batch:
            try:
                with session.begin_nested():
                    builder.apply(item)
            except HarvestError as exc:
                report.errors.append(str(exc))
            if item.datestamp and (report.last_datestamp or "") < item.datestamp:
                report.last_datestamp = item.datestamp
