"""Building small MARC records and libraries for the catalog and union tests."""

from __future__ import annotations

from pymarc import Field, Record, Subfield

from server.db import Database
from server.libraries.models import Library, LibraryKind
from tests.support import shared_path

MARC = shared_path("testdata", "marc")


def make_record(
    control: str,
    title: str,
    author: str = "",
    year: int | None = None,
    isbn: str = "",
    extra: list[Field] | None = None,
    subject: str = "",
) -> Record:
    record = Record()
    record.leader = "00000nam a2200000 a 4500"  # type: ignore[assignment]
    record.add_field(Field(tag="001", data=control))
    date = f"{year:04d}" if year else "    "
    record.add_field(Field(tag="008", data=f"990101s{date}    vm            000 0 vie d"))
    if isbn:
        record.add_field(Field(tag="020", indicators=[" ", " "], subfields=[Subfield("a", isbn)]))
    if author:
        record.add_field(Field(tag="100", indicators=["1", " "], subfields=[Subfield("a", author)]))
    record.add_field(Field(tag="245", indicators=["1", "0"], subfields=[Subfield("a", title)]))
    if subject:
        record.add_field(Field(tag="650", indicators=[" ", "0"], subfields=[Subfield("a", subject)]))
    for fld in extra or []:
        record.add_field(fld)
    return record


def add_libraries(db: Database, *isils: str) -> dict[str, int]:
    ids: dict[str, int] = {}
    with db.write() as session:
        for isil in isils:
            lib = Library(isil=isil, name=f"Thư viện {isil}", kind=LibraryKind.DISTRICT)
            session.add(lib)
            session.flush()
            ids[isil] = lib.id
    return ids
