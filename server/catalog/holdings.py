"""Holdings and items from 852/952-style fields, by configuration: one code path for imports and harvests.

A :class:`HoldingsMapping` says which tag carries a holding and which subfield codes carry the library (an
ISIL or a library code), call number, shelving location, barcode, item type and price. Items are either in
the holding field itself (Koha's 952, an 852 with $p) or, when ``item_tag`` is set, in item fields that
follow their holding field (852 followed by 876 $p, the shape of the ``marc21_withholdings`` OAI-PMH format).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymarc import Field, Record
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.models import Holding, Item, ItemStatus, ItemType
from server.libraries.models import Location


@dataclass(frozen=True)
class HoldingsMapping:
    """Where holdings and items are in a record: the tag(s) and the subfield codes of each datum.

    ``library`` holds an ISIL (or a library code); empty codes mean "not carried". With ``item_tag``, the
    ``barcode``/``item_type``/``price`` codes are read from the item fields following each holding field.
    """

    tag: str = "952"
    library: str = "a"
    call_number: str = "o"
    barcode: str = "p"
    item_type: str = "y"
    price: str = "g"
    location: str = "c"
    item_tag: str = ""


KOHA_952 = HoldingsMapping()
MARC_852 = HoldingsMapping(tag="852", library="a", call_number="hi", barcode="p", item_type="", price="")
MARC_852_876 = HoldingsMapping(
    tag="852", library="a", call_number="hi", barcode="p", item_type="", price="", item_tag="876"
)
MAPPINGS = {"952": KOHA_952, "852": MARC_852, "852+876": MARC_852_876}


def detect(record: Record) -> HoldingsMapping | None:
    """The mapping a record's own fields call for: 952 (Koha), 852 with 876 items, plain 852; None if none."""
    if record.get_fields("952"):
        return KOHA_952
    if record.get_fields("852"):
        return MARC_852_876 if record.get_fields("876") else MARC_852
    return None


@dataclass
class HoldingsResult:
    """What one record's holding fields made: counts of new rows, the items it names, notes for the report."""

    holdings: int = 0
    items: int = 0
    holding_ids: set[int] = field(default_factory=set)
    item_ids: set[int] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def _sub(fld: Field, codes: str) -> str:
    return " ".join(v.strip() for code in codes for v in fld.get_subfields(code)).strip() if codes else ""


class HoldingsWriter:
    """Creates or updates the holdings and items a record's 852/952-style fields describe.

    ``libraries`` maps upper-case ISILs (or library codes) to library ids; a field naming no known library
    falls back to ``default_library_id`` (the importing or harvested library), else it is reported.
    """

    def __init__(self, libraries: dict[str, int]) -> None:
        self.libraries = {code.upper(): lid for code, lid in libraries.items()}
        self.isils = {lid: code for code, lid in self.libraries.items()}

    def apply(
        self,
        session: Session,
        record_id: int,
        record: Record,
        mapping: HoldingsMapping,
        default_library_id: int | None,
    ) -> HoldingsResult:
        result = HoldingsResult()
        items: list[Item] = []
        holding: Holding | None = None
        holding_field: Field | None = None
        for fld in record.get_fields(mapping.tag, *([mapping.item_tag] if mapping.item_tag else [])):
            if fld.tag == mapping.tag:
                holding, holding_field = self._holding(session, record_id, fld, mapping, default_library_id, result)
                if holding is None or mapping.item_tag:
                    continue
            if holding is None or holding_field is None:
                continue  # an item field before any holding field, or under an unknown library
            item = self._item(session, record_id, holding, holding_field, fld, mapping, result)
            if item is not None:
                items.append(item)
        session.flush()
        result.item_ids.update(item.id for item in items)
        return result

    def _holding(
        self,
        session: Session,
        record_id: int,
        fld: Field,
        mapping: HoldingsMapping,
        default_library_id: int | None,
        result: HoldingsResult,
    ) -> tuple[Holding | None, Field | None]:
        code = _sub(fld, mapping.library).upper()
        library_id = self.libraries.get(code, default_library_id) if code else default_library_id
        if library_id is None:
            result.warnings.append(f"{mapping.tag}: unknown library {code!r}")
            return None, None
        call_number = _sub(fld, mapping.call_number)[:128]
        holding = session.scalar(
            select(Holding).where(
                Holding.record_id == record_id, Holding.library_id == library_id, Holding.call_number == call_number
            )
        )
        if holding is None:
            holding = Holding(record_id=record_id, library_id=library_id, call_number=call_number)
            session.add(holding)
            result.holdings += 1
        location = _sub(fld, mapping.location)
        if location:
            holding.location_id = self._location(session, library_id, location)
        session.flush()
        result.holding_ids.add(holding.id)
        return holding, fld

    def _location(self, session: Session, library_id: int, code: str) -> int:
        code = code[:32]
        found = session.scalar(select(Location.id).where(Location.library_id == library_id, Location.code == code))
        if found is not None:
            return found
        location = Location(library_id=library_id, code=code, name=code)
        session.add(location)
        session.flush()
        return location.id

    def _item(
        self,
        session: Session,
        record_id: int,
        holding: Holding,
        holding_field: Field,
        fld: Field,
        mapping: HoldingsMapping,
        result: HoldingsResult,
    ) -> Item | None:
        barcode = _sub(fld, mapping.barcode)[:64]
        if not barcode:
            return None
        item = session.scalar(select(Item).where(Item.barcode == barcode))
        if item is not None and item.record_id != record_id:
            result.warnings.append(
                f"{fld.tag}: barcode {barcode!r} already belongs to record {item.record_id}; item skipped"
            )
            return None
        type_code = (_sub(fld, mapping.item_type) or "book")[:32]
        if session.get(ItemType, type_code) is None:
            session.add(ItemType(code=type_code, name=type_code))
            session.flush()
        if item is None:
            item = Item(barcode=barcode, record_id=record_id, library_id=holding.library_id, item_type=type_code)
            session.add(item)
            result.items += 1
        elif item.status == ItemStatus.WITHDRAWN:
            item.status = ItemStatus.AVAILABLE  # named again by its record
        item.holding = holding
        item.library_id = holding.library_id
        item.location_id = holding.location_id if _sub(holding_field, mapping.location) else item.location_id
        item.item_type = type_code
        item.owner_isil = self.isils.get(holding.library_id)
        digits = "".join(c for c in _sub(fld, mapping.price) if c.isdigit())
        item.price_vnd = int(digits) if digits and len(digits) < 15 else item.price_vnd
        return item
