"""MARCXML written straight from stored ISO 2709 bytes (SRU, OAI-PMH) says what pymarc reads from the bytes.

The writer takes a quick path for records laid out as the catalog writes them and plain text; every other
record (fields out of directory order, text to escape, odd subfield codes, empty subfields) takes the careful
one. Both must give the same fields.
"""

from __future__ import annotations

import io
import itertools
import warnings

import pytest
from lxml import etree
from pymarc import MARCReader, Record, parse_xml_to_array

from server.catalog.marcio import MARCXML_NS, iso2709_to_marcxml
from tests.catalog.helpers import MARC


def _fields(record: Record) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    out = []
    for fld in record.fields:
        if fld.is_control_field():
            out.append((fld.tag, "", "", [("", fld.data or "")]))
        else:
            subfields = [(sf.code, sf.value) for sf in fld.subfields if sf.value or sf.code]
            out.append((fld.tag, fld.indicator1 or " ", fld.indicator2 or " ", subfields))
    return out


def _read_back(xml: str) -> Record:
    document = f'<collection xmlns="{MARCXML_NS}">{xml}</collection>'
    return parse_xml_to_array(io.BytesIO(document.encode("utf-8")))[0]


def _iso(leader: str, fields: list[tuple[str, str]], order: list[int] | None = None) -> bytes:
    """An ISO 2709 record of (tag, text) fields; ``order`` lists the directory entries' order (data stays put)."""
    bodies = [(text + "\x1e").encode("utf-8") for _tag, text in fields]
    offsets = list(itertools.accumulate([0] + [len(b) for b in bodies[:-1]]))
    placed = zip(fields, bodies, offsets, strict=True)
    entries = [f"{tag}{len(body):04d}{offset:05d}" for (tag, _), body, offset in placed]
    directory = "".join(entries[i] for i in (order or range(len(entries)))).encode("ascii") + b"\x1e"
    base = 24 + len(directory)
    total = base + sum(len(b) for b in bodies) + 1
    return f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}".encode("ascii") + directory + b"".join(bodies) + b"\x1d"


LEADER = "00000nam a2200000 a 4500"


@pytest.mark.parametrize("name", ["vie_loc.mrc", "loc_books_20k.mrc"])
def test_real_records_read_back_as_pymarc_reads_them(name: str) -> None:
    data = (MARC / name).read_bytes()
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in itertools.islice(data.split(b"\x1d"), 3000):
            raw = raw.lstrip(b"\r\n") + b"\x1d"
            if len(raw) < 25 or raw[9:10] != b"a":
                continue
            try:
                expected = next(iter(MARCReader(io.BytesIO(raw), to_unicode=True)))
            except (StopIteration, ValueError, UnicodeDecodeError):
                continue
            if expected is None:
                continue
            assert _fields(_read_back(iso2709_to_marcxml(raw))) == _fields(expected)
            compared += 1
    assert compared >= 100


def test_fields_out_of_directory_order_keep_their_tags() -> None:
    fields = [("001", "ctl-1"), ("245", "10\x1faFirst title"), ("650", " 0\x1faSubject")]
    raw = _iso(LEADER, fields, order=[0, 2, 1])  # the directory lists 650 before 245
    record = _read_back(iso2709_to_marcxml(raw))
    assert record["245"]["a"] == "First title"
    assert record["650"]["a"] == "Subject"
    assert [f.tag for f in record.fields] == ["001", "650", "245"]


def test_text_is_escaped_and_forbidden_characters_dropped() -> None:
    fields = [("001", "a&b"), ("245", '10\x1faFish & "chips" <fried>\x01')]
    xml = iso2709_to_marcxml(_iso(LEADER, fields))
    etree.fromstring(xml)  # well-formed
    record = _read_back(xml)
    assert record["001"].data == "a&b"
    assert record["245"]["a"] == 'Fish & "chips" <fried>'


def test_odd_codes_and_empty_subfields() -> None:
    fields = [("245", "1 \x1f\x1faTitle\x1fBUpper\x1f6digit\x1f"), ("500", "  \x1f&amp")]
    xml = iso2709_to_marcxml(_iso(LEADER, fields))
    root = etree.fromstring(xml)
    ns = {"m": MARCXML_NS}
    codes = [(sf.get("code"), sf.text) for sf in root.findall("m:datafield[@tag='245']/m:subfield", ns)]
    assert codes == [("a", "Title"), ("B", "Upper"), ("6", "digit")]
    assert root.find("m:datafield[@tag='500']/m:subfield", ns).get("code") == "&"


def test_skip_and_extra() -> None:
    fields = [("001", "x"), ("245", "10\x1faTitle"), ("852", "  \x1faVN-HN")]
    xml = iso2709_to_marcxml(_iso(LEADER, fields), prefix="", skip=frozenset({"852"}), extra='<datafield tag="999"/>')
    root = etree.fromstring(xml)
    tags = [el.get("tag") for el in root if el.get("tag")]
    assert tags == ["001", "245", "999"]
