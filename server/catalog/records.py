"""From a MARC21 record (pymarc) to the columns a :class:`BibRecord` keeps beside the whole record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pymarc import Record
from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn
from stdnum.exceptions import ValidationError

from server.catalog.folding import fold, repair
from server.catalog.sortkey import vi_sort_key

_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
_TRAILING = " /:;,=.[]"


@dataclass(frozen=True)
class Extracted:
    """What the catalog indexes from a record, in display form (NFC, repaired)."""

    control_number: str | None
    title: str
    authors: list[str]
    subjects: list[str]
    publisher: str
    year: int | None
    language: str | None
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    filing_title: str = ""
    edition: str = ""
    volume: str = ""
    material: str = ""

    @property
    def search_text(self) -> str:
        """The folded words searched besides the title, authors and subjects (which have columns of their own,
        never repeated here): the publisher and the standard numbers."""
        return fold(" ".join([self.publisher, *[value for _scheme, value in self.identifiers]]))

    @property
    def sort_key(self) -> str:
        return vi_sort_key(self.filing_title or self.title)

    @property
    def title_key(self) -> str:
        """Duplicate-matching key: the filing title folded, punctuation dropped."""
        return title_key(self.filing_title or self.title)


_NON_WORD = re.compile(r"[^\w]+")

# A data field as extract() reads it: indicator 1, indicator 2, (code, value) of every subfield.
DataField = tuple[str, str, list[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class Fields:
    """The parts of a record :func:`extract` reads: the leader, the first of each control field, data fields.

    Built from a pymarc record (:func:`fields_of`) or straight from ISO 2709 bytes
    (:func:`server.catalog.scan.scan_utf8`), so the bulk import need not build pymarc objects.
    """

    leader: str
    control: dict[str, str]
    data: dict[str, list[DataField]]


def fields_of(record: Record) -> Fields:
    control: dict[str, str] = {}
    data: dict[str, list[DataField]] = {}
    for fld in record.fields:
        if fld.is_control_field():
            control.setdefault(fld.tag, fld.data or "")
        else:
            subfields = [(sf.code, sf.value) for sf in fld.subfields]
            data.setdefault(fld.tag, []).append((fld.indicator1 or " ", fld.indicator2 or " ", subfields))
    return Fields(str(record.leader) if record.leader is not None else "", control, data)


def title_key(title: str) -> str:
    return " ".join(_NON_WORD.sub(" ", fold(title).replace("&", " and ")).split())[:255]


def _clean(value: str) -> str:
    return repair(value).strip().strip(_TRAILING).strip()


def _subfields(fields: Fields, tag: str, codes: str) -> list[str]:
    values: list[str] = []
    for _ind1, _ind2, subfields in fields.data.get(tag, ()):
        parts = [value for code, value in subfields if code in codes]
        if parts:
            values.append(_clean(" ".join(parts)))
    return values


def normalise_isbn(raw: str) -> str | None:
    """ISBN-13 without hyphens, or None; 893… is an EAN for other goods, never an ISBN."""
    candidate = raw.strip().split(" ")[0].replace("-", "")
    try:
        compact: str = stdnum_isbn.validate(candidate)  # compacted and checked once
    except ValidationError:
        return None
    if len(compact) == 10:
        compact = stdnum_isbn.to_isbn13(compact)
    return compact if compact.startswith(("978", "979")) else None


def normalise_issn(raw: str) -> str | None:
    candidate = raw.strip().split(" ")[0]
    if not stdnum_issn.is_valid(candidate):
        return None
    compact: str = stdnum_issn.compact(candidate)
    return compact


def extract(record: Record | Fields) -> Extracted:
    fields = record if isinstance(record, Fields) else fields_of(record)
    ctrl = fields.control.get("001")
    title_parts = _subfields(fields, "245", "abnp")
    filing_title = ""
    volume = ""
    f245 = next(iter(fields.data.get("245", ())), None)
    if f245 is not None:
        _ind1, indicator2, subfields = f245
        parts = [value for code, value in subfields if code in "anp"]
        skip = int(indicator2) if indicator2.isdigit() else 0
        filing_title = _clean(" ".join(parts))
        if 0 < skip < len(filing_title) and parts and _clean(parts[0])[:skip].strip():
            filing_title = filing_title[skip:].strip()
        volume = " ".join(_clean(value) for code, value in subfields if code in "n")
    authors = _subfields(fields, "100", "abcd") + _subfields(fields, "110", "ab") + _subfields(fields, "700", "abcd")
    subjects: list[str] = []
    for tag in ("600", "610", "650", "651"):
        subjects += _subfields(fields, tag, "abxyzv")
    publisher = next(iter(_subfields(fields, "264", "b") + _subfields(fields, "260", "b")), "")
    year: int | None = None
    f008 = fields.control.get("008")
    if f008 is not None and f008[7:11].isdigit():
        year = int(f008[7:11])
    if year is None:
        for date in _subfields(fields, "264", "c") + _subfields(fields, "260", "c"):
            match = _YEAR.search(date)
            if match:
                year = int(match.group(1))
                break
    language = None
    if f008 is not None and len(f008) >= 38:
        language = f008[35:38].strip() or None
    identifiers: list[tuple[str, str]] = []
    for raw in _subfields(fields, "020", "a"):
        value = normalise_isbn(raw)
        if value:
            identifiers.append(("isbn", value))
    for raw in _subfields(fields, "022", "a"):
        value = normalise_issn(raw)
        if value:
            identifiers.append(("issn", value))
    for raw in _subfields(fields, "010", "a"):
        identifiers.append(("lccn", raw.replace(" ", "")))
    return Extracted(
        control_number=ctrl.strip() if ctrl else None,
        title=" ".join(title_parts) or "(không nhan đề)",
        authors=authors,
        subjects=subjects,
        publisher=publisher,
        year=year,
        language=language,
        identifiers=list(dict.fromkeys(identifiers)),
        filing_title=filing_title,
        edition=next(iter(_subfields(fields, "250", "a")), ""),
        volume=volume,
        material=fields.leader[6:8],
    )
