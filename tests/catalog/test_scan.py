"""The bulk import's direct reading of ISO 2709 (server.catalog.scan) gives what the pymarc path gives."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from server.catalog.importer import Importer, _prepare_chunks
from server.catalog.marcio import iter_chunks, read_records, to_iso2709
from server.catalog.models import BibIdentifier, BibRecord
from server.catalog.records import extract
from server.catalog.scan import scan_utf8
from server.db import Database
from tests.catalog.helpers import MARC, make_record

ISO_FILES = ("loc_books_20k.mrc", "vie_loc.mrc", "bad_records.mrc", "utf8_invalid.mrc", "marc8.dat")


def _head(name: str, count: int = 2000) -> bytes:
    data = (MARC / name).read_bytes()
    end = 0
    for _ in range(count):
        found = data.find(b"\x1d", end)
        if found < 0:
            return data
        end = found + 1
    return data[:end]


@pytest.mark.parametrize("name", ISO_FILES)
def test_scan_extracts_and_stores_what_pymarc_does(name: str) -> None:
    data = _head(name)
    scanned = repaired = 0
    for (_position, _offset, chunk, _problem), outcome in zip(
        iter_chunks(io.BytesIO(data)), read_records(io.BytesIO(data), "iso2709"), strict=True
    ):
        found = scan_utf8(chunk.lstrip(b"\r\n"))
        if found is None:
            continue
        fields, marc = found
        scanned += 1
        assert outcome.record is not None and not outcome.warnings
        assert extract(fields) == extract(outcome.record)
        assert marc == (to_iso2709(outcome.record) if outcome.repaired else outcome.raw)
        repaired += outcome.repaired
    if name == "loc_books_20k.mrc":
        assert scanned == 2000 and repaired > 50  # every record, those with decomposed text repaired
    if name == "vie_loc.mrc":
        assert scanned == 121 and repaired > 0


def test_scan_leaves_records_to_pymarc() -> None:
    clean = make_record("1", "Chiến tranh và hòa bình", "Tolstoy").as_marc()
    found = scan_utf8(clean)
    assert found is not None and found[1] == clean  # nothing to repair: stored as it came
    assert scan_utf8(clean[:9] + b" " + clean[10:]) is None  # MARC-8
    assert scan_utf8(clean[:-1]) is None  # the leader's length disagrees
    at = clean.index("Chiến".encode())
    assert scan_utf8(clean[:at] + b"\xff" + clean[at + 1 :]) is None  # invalid UTF-8
    misordered = make_record("2", "Chie\u0301\u0302n tranh", "Tolstoy")  # tone before circumflex
    found = scan_utf8(misordered.as_marc())
    assert found is not None
    assert extract(found[0]).title == "Chiến tranh"
    assert found[1] != misordered.as_marc() and found[1] == make_record("2", "Chiến tranh", "Tolstoy").as_marc()


def _rows(db: Database) -> list[tuple[Any, ...]]:
    with db.session() as session:
        records = session.execute(
            select(
                BibRecord.control_number,
                BibRecord.marc,
                BibRecord.title,
                BibRecord.authors,
                BibRecord.search_text,
                BibRecord.sort_key,
                BibRecord.title_key,
                BibRecord.year,
            ).order_by(BibRecord.control_number, BibRecord.marc)  # PostgreSQL writes in two lanes: ids interleave
        ).all()
        identifiers = session.execute(
            select(BibRecord.control_number, BibIdentifier.scheme, BibIdentifier.value)
            .join(BibRecord, BibRecord.id == BibIdentifier.record_id)
            .order_by(BibRecord.control_number, BibIdentifier.scheme, BibIdentifier.value)
        ).all()
    return [tuple(r) for r in records] + [tuple(i) for i in identifiers]


@pytest.mark.parametrize("name", ("vie_loc.mrc", "bad_records.mrc", "utf8_invalid.mrc", "marc8.dat"))
def test_chunked_import_matches_the_pymarc_import(name: str, db: Database) -> None:
    data = _head(name, 500)
    via_pymarc = Importer(db).run(read_records(io.BytesIO(data)))
    expected = _rows(db)
    with db.write() as session:
        session.execute(delete(BibIdentifier))
        session.execute(delete(BibRecord))
    chunked = Importer(db).run_iso2709(io.BytesIO(data), workers=1)
    assert expected and _rows(db) == expected
    assert (chunked.read, chunked.added, chunked.updated) == (via_pymarc.read, via_pymarc.added, via_pymarc.updated)
    assert [(p.position, p.offset, p.reason) for p in chunked.rejected] == [
        (p.position, p.offset, p.reason) for p in via_pymarc.rejected
    ]
    assert [p.reason for p in chunked.warnings] == [p.reason for p in via_pymarc.warnings]
    with db.session() as session:  # datestamps stored as the ORM stores them (SQLite: text compared as text)
        stamps = session.execute(text("SELECT created_at, updated_at FROM bib_records")).all()
    if db.url.startswith("sqlite"):
        assert all(
            re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", str(value)) for row in stamps for value in row
        )
    else:
        assert all(value.tzinfo is not None for row in stamps for value in row)


def test_prepare_chunks_reads_clean_records_directly() -> None:
    data = _head("loc_books_20k.mrc", 50)
    lights = _prepare_chunks(list(iter_chunks(io.BytesIO(data))))
    assert len(lights) == 50 and all(error is None and payload is not None for _, _, error, _, payload in lights)
