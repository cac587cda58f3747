"""SRU scan (``operation=scan``): browse the title, creator and subject headings in Vietnamese order.

A heading is a whole title, author name or subject heading of a live record. Headings that fold alike
(diacritics, case, punctuation) are one term: ``value`` is that folded form (what the search matches on, so
``dc.title = "<value>"`` finds the records), ``displayTerm`` the commonest written form, ``numberOfRecords``
the records carrying it. Terms are ordered by the Vietnamese collation key (:mod:`server.catalog.sortkey`),
and the scan term is placed by the same key, so it may be typed without diacritics.

``scanClause`` is CQL: ``dc.title = "chiến"`` (``dc.creator``/``dc.author``/``bath.author``/``bath.name``,
``dc.subject``/``bath.subject``; a bare term or ``cql.serverChoice`` scans titles). ``responsePosition``
(default 1) is where the scan term falls in the answer (0: just before the first term), ``maximumTerms``
(default 20, at most 100) how many terms come back. Each term says ``whereInList``: first, last, only or
inner. Answers: SRU 1.1/1.2 (``srw:scanResponse``, with ``echoedScanRequest``) and SRU 2.0
(``scan:scanResponse`` in the OASIS scan namespace). The heading lists are built once and rebuilt when the
catalog changes (newest ``updated_at`` or highest id moves).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.catalog.folding import fold
from server.catalog.marcio import xml_text
from server.catalog.models import BibRecord
from server.catalog.search import Term
from server.catalog.sortkey import vi_sort_key
from server.union.errors import SruDiagnostic
from server.union.sru import parse_query

NS_12 = "http://www.loc.gov/zing/srw/"
NS_20 = "http://docs.oasis-open.org/ns/search-ws/scan"
DIAG_12 = "http://www.loc.gov/zing/srw/diagnostic/"
DIAG_20 = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
DEFAULT_TERMS = 20
MAX_TERMS = 100
SCANNABLE = {"title": "title", "any": "title", "author": "author", "subject": "subject"}
_PUNCTUATION = re.compile(r"[^\w\s]+")


@dataclass(frozen=True)
class Heading:
    key: str  # Vietnamese collation key
    value: str  # folded form, as searched
    display: str
    records: int


@dataclass(frozen=True)
class ScanTerm:
    heading: Heading
    where: str  # first | last | only | inner


class _HeadingCache:
    """Sorted heading lists per database and index, rebuilt when the catalog's stamp changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: dict[tuple[str, str], tuple[object, list[Heading], list[str]]] = {}

    def get(self, session: Session, index: str) -> tuple[list[Heading], list[str]]:
        # two single-aggregate queries: each is one index probe (SQLite optimises min/max only alone)
        stamp = (session.scalar(select(func.max(BibRecord.updated_at))), session.scalar(select(func.max(BibRecord.id))))
        where = (str(session.get_bind().engine.url), index)
        with self._lock:
            cached = self._lists.get(where)
            if cached is not None and cached[0] == stamp:
                return cached[1], cached[2]
        headings = _build(_values(session, index))
        keys = [h.key for h in headings]
        with self._lock:
            self._lists[where] = (stamp, headings, keys)
        return headings, keys


_CACHE = _HeadingCache()


def _values(session: Session, index: str) -> Iterable[tuple[int, str]]:
    column = {"title": BibRecord.title, "author": BibRecord.authors, "subject": BibRecord.subjects}[index]
    rows = session.execute(select(BibRecord.id, column).where(BibRecord.deleted_at.is_(None), column != ""))
    for record_id, text in rows:
        for part in text.split(" ; ") if index != "title" else (text,):
            heading = part.strip().rstrip(" .,:;/=")
            if heading:
                yield record_id, heading


def _build(values: Iterable[tuple[int, str]]) -> list[Heading]:
    records: dict[str, set[int]] = {}
    forms: dict[str, Counter[str]] = {}
    for record_id, heading in values:
        value = " ".join(_PUNCTUATION.sub(" ", fold(heading)).split())
        if not value:
            continue
        records.setdefault(value, set()).add(record_id)
        forms.setdefault(value, Counter())[heading] += 1
    headings = []
    for value, ids in records.items():
        display = forms[value].most_common(1)[0][0]
        headings.append(Heading(vi_sort_key(display), value, display, len(ids)))
    headings.sort(key=lambda h: (h.key, h.value))
    return headings


def scan(session: Session, index: str, term: str, position: int = 1, maximum: int = DEFAULT_TERMS) -> list[ScanTerm]:
    """The terms of ``index`` around ``term``: the term at ``position`` (1-based; 0 = just before the list)."""
    headings, keys = _CACHE.get(session, SCANNABLE[index])
    start_key = vi_sort_key(term.strip().rstrip("*"))
    if position == 0:
        exact = bisect.bisect_left(keys, start_key)
        start = exact + 1 if exact < len(keys) and keys[exact] == start_key else exact
    else:
        start = bisect.bisect_left(keys, start_key) - (position - 1)
    start = max(start, 0)
    window = headings[start : start + maximum]
    last = len(headings) - 1
    out = []
    for offset, heading in enumerate(window):
        at = start + offset
        where = "only" if last == 0 else "first" if at == 0 else "last" if at == last else "inner"
        out.append(ScanTerm(heading, where))
    return out


def _number(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit():
        raise SruDiagnostic(6, "Unsupported parameter value", name)
    return int(raw)


def scan_response(session: Session, version: str, params: dict[str, str]) -> str:
    """The SRU scan answer (terms, or diagnostics) to a request's parameters."""
    v2 = version == "2.0"
    prefix, ns = ("scan", NS_20) if v2 else ("srw", NS_12)

    def el(name: str, content: str) -> str:
        return f"<{prefix}:{name}>{content}</{prefix}:{name}>"

    clause = params.get("scanClause", "")
    position, maximum = 1, DEFAULT_TERMS
    try:
        position = _number(params, "responsePosition", 1)
        maximum = min(_number(params, "maximumTerms", DEFAULT_TERMS), MAX_TERMS)
        if not clause.strip():
            raise SruDiagnostic(7, "Mandatory parameter not supplied", "scanClause")
        node, _sort = parse_query(clause)
        if not isinstance(node, Term) or node.index not in SCANNABLE:
            raise SruDiagnostic(16, "Unsupported index", clause)
        if position > maximum + 1:
            raise SruDiagnostic(120, "Response position out of range", str(position))
        terms = scan(session, node.index, node.value, position, maximum)
        body = el(
            "terms",
            "".join(
                el(
                    "term",
                    el("value", xml_text(t.heading.value))
                    + el("numberOfRecords", str(t.heading.records))
                    + el("displayTerm", xml_text(t.heading.display))
                    + el("whereInList", t.where),
                )
                for t in terms
            ),
        )
    except SruDiagnostic as exc:
        diag = DIAG_20 if v2 else DIAG_12
        body = el(
            "diagnostics",
            f'<diag:diagnostic xmlns:diag="{diag}"><diag:uri>info:srw/diagnostic/1/{exc.number}</diag:uri>'
            + (f"<diag:details>{xml_text(exc.details)}</diag:details>" if exc.details else "")
            + f"<diag:message>{xml_text(exc.message)}</diag:message></diag:diagnostic>",
        )
    head = "" if v2 else el("version", version)
    if not v2:
        echoed = el("version", version) + el("scanClause", xml_text(clause))
        echoed += el("responsePosition", str(position)) + el("maximumTerms", str(maximum))
        body += el("echoedScanRequest", echoed)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{prefix}:scanResponse xmlns:{prefix}="{ns}">'
        f"{head}{body}</{prefix}:scanResponse>"
    )
