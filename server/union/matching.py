"""Duplicate matching for the union catalog: standard numbers first, then title/author/year keys, with guards.

1. Normalised ISBN (ISBN-13), ISSN, LCCN shared with a candidate → a match (score 1.0) unless a guard fails.
2. Otherwise the title key (filing title folded, punctuation dropped) must be equal, the first author's
   key equal when both records have one, the year equal when both have one (score 0.9; 0.8 when the author
   or year is missing on one side).

Guards (a false merge is worse than a missed one): a different edition number (250), a different volume or
part (245 $n/$p), a different kind of material (leader/06-07), or — when the match is by title — a
different year reject the candidate.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from pymarc import Record
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.folding import fold
from server.catalog.marcio import record_from_bytes
from server.catalog.models import BibIdentifier, BibRecord
from server.catalog.records import extract

log = logging.getLogger(__name__)

_NUMBER_WORDS = {
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
    "nhat": "1", "hai": "2", "ba": "3", "bon": "4", "tu": "4", "nam": "5", "sau": "6",
}  # fmt: skip
_DIGITS = re.compile(r"\d+")
_WORDS = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class MatchKeys:
    identifiers: tuple[tuple[str, str], ...]
    title_key: str
    author_key: str
    year: int | None
    edition: str
    volume: str
    material: str


@dataclass(frozen=True)
class Match:
    record_id: int
    key: str
    score: float
    reason: str


def edition_key(statement: str) -> str:
    """The edition number of a 250 statement ("2nd ed." → "2", "Tái bản lần thứ ba" → "3"), else folded text."""
    folded = fold(statement)
    digits = _DIGITS.findall(folded)
    if digits:
        return digits[0].lstrip("0") or "0"
    for word in _WORDS.findall(folded):
        if word in _NUMBER_WORDS:
            return _NUMBER_WORDS[word]
    return " ".join(_WORDS.findall(folded))


def keys_of(record: Record) -> MatchKeys:
    data = extract(record)
    author = fold(data.authors[0]) if data.authors else ""
    surname = _WORDS.findall(author.split(",")[0])
    return MatchKeys(
        identifiers=tuple(data.identifiers),
        title_key=data.title_key,
        author_key=" ".join(surname),
        year=data.year,
        edition=edition_key(data.edition) if data.edition else "",
        volume=" ".join(_WORDS.findall(fold(data.volume))),
        material=data.material,
    )


def guard(a: MatchKeys, b: MatchKeys, *, by_title: bool) -> str | None:
    """Why two records that look alike must not be merged, or None."""
    # A record without an edition statement is taken as the first edition when the other one is numbered.
    edition_a = a.edition or ("1" if b.edition.isdigit() else "")
    edition_b = b.edition or ("1" if a.edition.isdigit() else "")
    if edition_a and edition_b and edition_a != edition_b:
        return f"edition {edition_a!r} ≠ {edition_b!r}"
    if a.volume != b.volume:
        return f"volume {a.volume!r} ≠ {b.volume!r}"
    if a.material and b.material and a.material != b.material:
        return f"material {a.material!r} ≠ {b.material!r}"
    if by_title and a.year is not None and b.year is not None and a.year != b.year:
        return f"year {a.year} ≠ {b.year}"
    return None


class Matcher:
    """Finds the shared record a harvested or imported record duplicates."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._keys: dict[int, MatchKeys] = {}

    def candidate_keys(self, record: BibRecord) -> MatchKeys:
        if record.id not in self._keys:
            self._keys[record.id] = keys_of(record_from_bytes(record.marc))
        return self._keys[record.id]

    def forget(self, record_id: int) -> None:
        self._keys.pop(record_id, None)

    def find(self, keys: MatchKeys, exclude: set[int] | None = None) -> Match | None:
        exclude = exclude or set()
        for scheme in ("isbn", "issn", "lccn"):
            values = [v for s, v in keys.identifiers if s == scheme]
            if not values:
                continue
            stmt = (
                select(BibRecord)
                .join(BibIdentifier, BibIdentifier.record_id == BibRecord.id)
                .where(BibIdentifier.scheme == scheme, BibIdentifier.value.in_(values), BibRecord.deleted_at.is_(None))
                .order_by(BibRecord.id)
            )
            for candidate in self.session.scalars(stmt).unique():
                if candidate.id in exclude:
                    continue
                why_not = guard(keys, self.candidate_keys(candidate), by_title=False)
                if why_not is None:
                    return Match(candidate.id, scheme, 1.0, f"same {scheme.upper()}")
                log.debug("%s candidate %d refused: %s", scheme, candidate.id, why_not)
        if not keys.title_key:
            return None
        stmt = (
            select(BibRecord)
            .where(BibRecord.title_key == keys.title_key, BibRecord.deleted_at.is_(None))
            .order_by(BibRecord.id)
            .limit(50)
        )
        for candidate in self.session.scalars(stmt):
            if candidate.id in exclude:
                continue
            other = self.candidate_keys(candidate)
            if keys.author_key and other.author_key and keys.author_key != other.author_key:
                continue
            if guard(keys, other, by_title=True) is not None:
                continue
            complete = bool(keys.author_key and other.author_key and keys.year and other.year)
            return Match(
                candidate.id,
                "title-author-year",
                0.9 if complete else 0.8,
                f"same title key {keys.title_key[:60]!r}"
                + ("" if complete else " (author or year missing on one side)"),
            )
        return None
