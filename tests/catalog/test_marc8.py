"""MARC-8 export: the Vietnamese LoC records written as MARC-8 and read back by pymarc (and yaz-marcdump) give
the same text; marks precede their letters; other sets are designated only where needed; characters outside
MARC-8 become numeric character references, reported per record."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pymarc import Field, MARCReader, Record, Subfield

from server.catalog import cli as marc_cli
from server.catalog.export import ExportNote, export
from server.catalog.importer import Importer
from server.catalog.marc8 import encode, record_to_marc8
from server.catalog.marcio import read_records
from server.db import Database
from tests.catalog.helpers import MARC, add_libraries, make_record
from tests.support import require


def texts(record: Record) -> list[tuple[str, str]]:
    """Every control field and subfield of a record, NFC, in order (without the 066 a MARC-8 record may get)."""
    out: list[tuple[str, str]] = []
    for fld in record.fields:
        if fld.tag == "066":
            continue
        if fld.is_control_field():
            out.append((fld.tag, unicodedata.normalize("NFC", fld.data or "")))
        else:
            out.append((fld.tag, fld.indicator1 + fld.indicator2))
            out += [(sub.code, unicodedata.normalize("NFC", sub.value)) for sub in fld.subfields]
    return out


def read_all(data: bytes) -> tuple[list[Record], str]:
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):  # pymarc reports undecodable MARC-8 on stderr only
        records = list(MARCReader(data, to_unicode=True))
    assert all(r is not None for r in records)
    return [r for r in records if r is not None], captured.getvalue()


@pytest.fixture
def env(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("THUVIEN_DEMO", "true")
    monkeypatch.setenv("THUVIEN_DATABASE__URL", sqlite_db.url)
    monkeypatch.delenv("THUVIEN_CONFIG", raising=False)
    add_libraries(sqlite_db, "VN-A")
    return sqlite_db


def test_vietnamese_records_round_trip_through_marc8(env: Database, tmp_path: Path) -> None:
    assert marc_cli.main(["import", str(MARC / "vie_loc.mrc"), "--library", "VN-A"]) == 0
    utf8, marc8 = tmp_path / "utf8.mrc", tmp_path / "marc8.mrc"
    assert marc_cli.main(["export", "--library", "VN-A", "-o", str(utf8)]) == 0
    report = tmp_path / "report.json"
    assert marc_cli.main(["export", "--encoding", "marc8", "--report", str(report), "-o", str(marc8)]) == 0
    assert json.loads(report.read_text()) == []
    originals, _ = read_all(utf8.read_bytes())
    converted, complaints = read_all(marc8.read_bytes())
    assert complaints == ""
    assert len(converted) == len(originals) == 121
    assert {str(r.leader)[9] for r in converted} == {" "}
    assert all(r.as_marc() for r in converted)  # lengths and directory are consistent enough to re-write
    assert [texts(r) for r in converted] == [texts(r) for r in originals]
    assert all(b < 0x80 for b in marc8.read_bytes()[24:60])  # directory and data are not UTF-8 any more
    assert "\u1ebf".encode() not in marc8.read_bytes()  # no UTF-8 ế left
    # our own importer reads it back with nothing rejected (it treats any MARC-8 decoding complaint as an error)
    again = Importer(env, library_isil="VN-A").run(read_records(io.BytesIO(marc8.read_bytes())))
    assert (again.updated, again.rejected) == (121, [])


def test_yaz_marcdump_reads_the_marc8_export(env: Database, tmp_path: Path) -> None:
    yaz = shutil.which("yaz-marcdump")
    require(yaz is not None, "yaz-marcdump (Debian yaz)")
    assert yaz is not None
    Importer(env, library_isil="VN-A").run(read_records(io.BytesIO((MARC / "vie_loc.mrc").read_bytes())))
    out = io.BytesIO()
    assert export(env, out, encoding="marc8") == 121
    source = tmp_path / "marc8.mrc"
    source.write_bytes(out.getvalue())
    converted = subprocess.run(  # noqa: S603
        [yaz, "-i", "marc", "-o", "marc", "-f", "marc8", "-t", "utf8", "-l", "9=97", str(source)],
        capture_output=True,
        check=True,
    ).stdout
    by_yaz, _ = read_all(converted)
    utf8 = io.BytesIO()
    export(env, utf8)
    originals, _ = read_all(utf8.getvalue())
    assert [texts(r) for r in by_yaz] == [texts(r) for r in originals]


def test_marks_come_before_their_letter_and_sets_are_designated_only_when_needed() -> None:
    # ế = e + circumflex + acute: ANSEL E3 (circumflex), E2 (acute), then the letter
    assert encode("ế").data == b"\xe3\xe2e"
    # ơ ư Ơ Ư and đ Đ are ANSEL letters; ờ is ơ + grave
    assert encode("ơưƠƯđĐờ").data == b"\xbc\xbd\xac\xad\xb3\xa3\xe1\xbc"
    assert encode("Hà Nội").data == b"H\xe1a N\xf2\xe3oi"  # no escape at all for Vietnamese
    cyrillic = encode("Мир мир")
    assert cyrillic.data == b"\x1b(NmIR\x1b(B \x1b(NMIR\x1b(B" and cyrillic.designations == {"(N"}
    assert encode("H₂O").data == b"H\x1bb2\x1bsO"  # technique 1, back with ESC s
    assert encode("漢").data.startswith(b"\x1b$1") and encode("漢").data.endswith(b"\x1b(B")
    for text in ("Ελληνικά", "Москва", "H₂O x²", "漢字", "Tiếng Việt (đã sửa), Ỷ Lan; ỹ ử ữ ự"):
        assert unicodedata.normalize("NFC", _decode(encode(text).data)) == unicodedata.normalize("NFC", text)


def _decode(data: bytes) -> str:
    from pymarc.marc8 import marc8_to_unicode

    return marc8_to_unicode(data)


def test_characters_outside_marc8_are_references_and_reported(sqlite_db: Database) -> None:
    assert encode("— ‘a’").data == b"&#x2014; &#x2018;a&#x2019;"  # typographic punctuation is not MARC-8
    assert encode("a\x1bb").data == b"a&#x001B;b"  # an ESC in the text must not start an escape sequence
    assert b"x&#x001B;y" in record_to_marc8(make_record("esc", "x\x1by")).data  # nor in an ASCII-only field
    encoded = encode("\u0301Hi 😀")  # a mark without a letter to sit on, a character outside MARC-8
    assert encoded.data == b"&#x0301;Hi &#x1F600;" and encoded.unencodable == ["\u0301", "😀"]
    record = make_record("emoji", "Sách 😀", extra=[Field(tag="880", indicators=[" ", " "], subfields=[
        Subfield("a", "Москва")])])  # fmt: skip
    written = record_to_marc8(record)
    assert b"\x1f" + b"c(N" in written.data and written.unencodable == ["😀"]
    back, complaints = read_all(written.data)
    assert complaints == "" and back[0]["066"] is not None and back[0]["245"]["a"] == "Sách &#x1F600;"
    Importer(sqlite_db).run(read_records(io.BytesIO(record.as_marc())))
    notes: list[ExportNote] = []
    assert export(sqlite_db, io.BytesIO(), encoding="marc8", notes=notes) == 1
    assert len(notes) == 1 and "U+1F600" in notes[0].message and not notes[0].skipped
    with pytest.raises(ValueError, match="only in ISO 2709"):
        export(sqlite_db, io.BytesIO(), "xml", encoding="marc8")
