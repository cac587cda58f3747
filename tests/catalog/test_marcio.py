"""Reading MARC files: every record comes back parsed or with a precise reason; Vietnamese text repaired."""

from __future__ import annotations

import io
import unicodedata

import pytest

from server.catalog.errors import MarcFormatUnknown
from server.catalog.folding import repair
from server.catalog.marcio import parse_iso2709, read_records, write_json_lines, write_marcxml
from tests.catalog.helpers import MARC, make_record


def outcomes(name: str) -> list:  # type: ignore[type-arg]
    with (MARC / name).open("rb") as fh:
        return list(read_records(fh))


def test_bad_records_file_reports_each_with_position_and_reason() -> None:
    result = outcomes("bad_records.mrc")
    assert [o.record is not None for o in result].count(True) == 2
    bad = [o for o in result if o.record is None]
    assert len(bad) == 7
    assert [o.position for o in bad] == [2, 3, 4, 5, 6, 7, 9]
    reasons = " | ".join(o.error or "" for o in bad)
    assert "base address" in reasons and "truncated record" in reasons and "non-ASCII" in reasons
    assert all(o.offset >= 0 for o in bad)


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("vie_loc.mrc", 121),
        ("batch.xml", 2),
        ("marc8.dat", 1),
        ("utf8_with_leader_flag.dat", 1),
        ("utf8_invalid.mrc", 1),
    ],
)
def test_good_files_parse(name: str, count: int) -> None:
    result = outcomes(name)
    assert len(result) == count
    assert all(o.record is not None for o in result)


def test_vietnamese_records_are_repaired_to_nfc() -> None:
    records = [o.record for o in outcomes("vie_loc.mrc")]
    titles = [r["245"]["a"] for r in records if r is not None]
    assert all(unicodedata.is_normalized("NFC", t) for t in titles)
    assert all(repair(t) == t for t in titles)
    assert any("Chế" in t for t in titles)  # stored as "Ché̂" (tone before circumflex) in the LoC file


def test_marc8_is_decoded() -> None:
    (outcome,) = outcomes("marc8.dat")
    assert outcome.record is not None
    assert outcome.raw is not None and outcome.raw[9:10] == b" "


def test_invalid_utf8_is_rejected_precisely() -> None:
    record = make_record("x1", "Sách")
    data = bytearray(record.as_marc())
    index = data.index("Sách".encode())
    data[index + 1 : index + 3] = b"\xc3\x28"  # an invalid two-byte sequence
    parsed, error, _notes, _ = parse_iso2709(bytes(data))
    assert parsed is None and error is not None and "invalid UTF-8" in error


def test_bad_marc8_escape_is_rejected() -> None:
    record = make_record("x2", "Plain")
    data = bytearray(record.as_marc())
    data[9:10] = b" "
    index = data.index(b"Plain")
    data[index : index + 2] = b"\x1b\x7a"  # escape to an unknown character set, then text
    parsed, error, _notes, _ = parse_iso2709(bytes(data))
    assert parsed is None or error is None  # pymarc skips unknown escapes; if it complains we report it
    data[index : index + 2] = b"\xf0\xff"
    parsed, error, _notes, _ = parse_iso2709(bytes(data))
    assert parsed is None and error is not None and "MARC-8" in error


def test_wrong_length_costs_only_that_record() -> None:
    good = make_record("g1", "Một").as_marc()
    bad = bytearray(make_record("b1", "Hai").as_marc())
    bad[0:5] = b"%05d" % (len(bad) + 7)
    stream = io.BytesIO(good + bytes(bad) + good)
    result = list(read_records(stream))
    assert [o.record is not None for o in result] == [True, False, True]
    assert "leader says the record is" in (result[1].error or "")
    assert result[1].offset == len(good)


def test_marcxml_errors_do_not_stop_reading() -> None:
    xml = (
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">'
        b'<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">1</controlfield>'
        b'<datafield tag="245" ind1="0" ind2="0"><subfield code="a">Ti\xe1\xba\xbfng Vi\xe1\xbb\x87t</subfield>'
        b"</datafield></record>"
        b'<record><leader>short</leader><controlfield tag="001">2</controlfield></record>'
        b"</collection>"
    )
    result = list(read_records(io.BytesIO(xml)))
    assert result[0].record is not None and result[0].record["245"]["a"] == "Tiếng Việt"
    assert result[1].record is None and "leader" in (result[1].error or "")
    broken = list(read_records(io.BytesIO(xml[:-30])))
    assert broken[-1].record is None and "XML syntax error" in (broken[-1].error or "")


def test_unknown_format() -> None:
    with pytest.raises(MarcFormatUnknown):
        list(read_records(io.BytesIO(b"\x00\x01garbage")))


def test_xml_and_json_round_trip() -> None:
    records = [o.record for o in outcomes("vie_loc.mrc")][:5]
    out = io.BytesIO()
    assert write_marcxml([r for r in records if r is not None], out) == 5
    back = [o.record for o in read_records(io.BytesIO(out.getvalue()))]
    assert [r["245"]["a"] for r in back if r] == [r["245"]["a"] for r in records if r]
    lines = io.BytesIO()
    assert write_json_lines([r for r in records if r is not None], lines) == 5
    assert lines.getvalue().count(b"\n") == 5
