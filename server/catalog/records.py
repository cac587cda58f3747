"""From a MARC21 record (pymarc) to the columns a :class:`BibRecord` keeps beside the whole record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pymarc import Record
from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn

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
        numbers = [value for _scheme, value in self.identifiers]
        return fold(" ".join([self.title, *self.authors, *self.subjects, self.publisher, *numbers]))

    @property
    def sort_key(self) -> str:
        return vi_sort_key(self.filing_title or self.title)

    @property
    def title_key(self) -> str:
        """Duplicate-matching key: the filing title folded, punctuation dropped."""
        return title_key(self.filing_title or self.title)


_NON_WORD = re.compile(r"[^\w]+")


def title_key(title: str) -> str:
    return " ".join(_NON_WORD.sub(" ", fold(title).replace("&", " and ")).split())[:255]


def _clean(value: str) -> str:
    return repair(value).strip().strip(_TRAILING).strip()


def _subfields(record: Record, tag: str, codes: str) -> list[str]:
    values: list[str] = []
    for fld in record.get_fields(tag):
        parts = [sf.value for sf in fld.subfields if sf.code in codes]
        if parts:
            values.append(_clean(" ".join(parts)))
    return values


def normalise_isbn(raw: str) -> str | None:
    """ISBN-13 without hyphens, or None; 893… is an EAN for other goods, never an ISBN."""
    candidate = raw.strip().split(" ")[0].replace("-", "")
    if not stdnum_isbn.is_valid(candidate):
        return None
    converted: str = stdnum_isbn.to_isbn13(candidate)
    compact: str = stdnum_isbn.compact(converted)
    return compact if compact.startswith(("978", "979")) else None


def normalise_issn(raw: str) -> str | None:
    candidate = raw.strip().split(" ")[0]
    if not stdnum_issn.is_valid(candidate):
        return None
    compact: str = stdnum_issn.compact(candidate)
    return compact


def extract(record: Record) -> Extracted:
    ctrl = record.get("001")
    title_parts = _subfields(record, "245", "abnp")
    filing_title = ""
    volume = ""
    f245 = record.get("245")
    if f245 is not None:
        parts = [sf.value for sf in f245.subfields if sf.code in "anp"]
        skip = int(f245.indicator2) if (f245.indicator2 or "").isdigit() else 0
        filing_title = _clean(" ".join(parts))
        if 0 < skip < len(filing_title) and parts and _clean(parts[0])[:skip].strip():
            filing_title = filing_title[skip:].strip()
        volume = " ".join(_clean(sf.value) for sf in f245.subfields if sf.code in "n")
    authors = _subfields(record, "100", "abcd") + _subfields(record, "110", "ab") + _subfields(record, "700", "abcd")
    subjects: list[str] = []
    for tag in ("600", "610", "650", "651"):
        subjects += _subfields(record, tag, "abxyzv")
    publisher = next(iter(_subfields(record, "264", "b") + _subfields(record, "260", "b")), "")
    year: int | None = None
    f008 = record.get("008")
    if f008 is not None and f008.data is not None and f008.data[7:11].isdigit():
        year = int(f008.data[7:11])
    if year is None:
        for date in _subfields(record, "264", "c") + _subfields(record, "260", "c"):
            match = _YEAR.search(date)
            if match:
                year = int(match.group(1))
                break
    language = None
    if f008 is not None and f008.data is not None and len(f008.data) >= 38:
        language = f008.data[35:38].strip() or None
    identifiers: list[tuple[str, str]] = []
    for raw in _subfields(record, "020", "a"):
        value = normalise_isbn(raw)
        if value:
            identifiers.append(("isbn", value))
    for raw in _subfields(record, "022", "a"):
        value = normalise_issn(raw)
        if value:
            identifiers.append(("issn", value))
    for raw in _subfields(record, "010", "a"):
        identifiers.append(("lccn", raw.replace(" ", "")))
    return Extracted(
        control_number=ctrl.data.strip() if ctrl is not None and ctrl.data else None,
        title=" ".join(title_parts) or "(không nhan đề)",
        authors=authors,
        subjects=subjects,
        publisher=publisher,
        year=year,
        language=language,
        identifiers=list(dict.fromkeys(identifiers)),
        filing_title=filing_title,
        edition=next(iter(_subfields(record, "250", "a")), ""),
        volume=volume,
        material=str(record.leader)[6:8] if record.leader is not None else "",
    )
