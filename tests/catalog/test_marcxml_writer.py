"""MARCXML written straight from stored ISO 2709 bytes (SRU, OAI-PMH) says what pymarc reads from the bytes.

The writer takes a quick path for records laid out as the catalog writes them and plain text; every other
record (fields out of directory order, text to escape, odd subfield codes, empty subfields) takes the careful
one. Both must give the same fields. The writer in C must write the very text the Python writer writes, or
decline the record (and never crash on any bytes).
"""

from __future__ import annotations

import io
import itertools
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pymarc import MARCReader, Record, parse_xml_to_array

from server.catalog import marcio
from server.catalog.marcio import MARCXML_NS, iso2709_to_marcxml, iso2709_to_marcxml_in_python
from tests.catalog.helpers import MARC
from tests.support import require


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


def written_in_c(raw: bytes, prefix: str = "marc", skip: frozenset[str] = frozenset(), extra: str = "") -> str | None:
    """What the writer in C writes (None: it declined the record), held to what the Python writer writes."""
    writer = marcio.WRITER_IN_C
    require(writer is not None, "the MARCXML writer in C (built by the install where a C compiler is found)")
    assert writer is not None
    written = writer(raw, prefix, marcio._tags(skip), extra)
    if written is not None:
        assert written == iso2709_to_marcxml_in_python(raw, prefix, skip, extra)
    return written


@pytest.mark.parametrize("name", ["vie_loc.mrc", "loc_books_20k.mrc"])
def test_the_writer_in_c_writes_what_the_python_writer_writes(name: str) -> None:
    """Every record of the test files as it is in the file (MARC-8 ones, defects and all) and as the catalog
    stores it (UTF-8, written again by pymarc)."""
    chunks = [chunk.lstrip(b"\r\n") + b"\x1d" for chunk in (MARC / name).read_bytes().split(b"\x1d")[:-1]]
    declined = sum(written_in_c(raw) is None for raw in chunks)
    stored = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in chunks[:5000]:
            try:
                record = next(iter(MARCReader(io.BytesIO(raw), to_unicode=True, force_utf8=True)))
            except (StopIteration, ValueError, UnicodeDecodeError):
                continue
            if record is not None:
                stored.append(record.as_marc21())
    for number, raw in enumerate(stored):
        prefix, skip = ("", frozenset({"650", "852", "x"})) if number % 2 else ("marc", frozenset())
        assert written_in_c(raw, prefix, skip, '<datafield tag="999"/>' if number % 3 else "") is not None
    assert len(stored) >= 100
    assert declined < len(chunks) / 2, (declined, len(chunks))


def test_the_writer_in_c_declines_what_it_does_not_write() -> None:
    fields = [("001", "ctl-1"), ("245", "10\x1faFirst title"), ("650", " 0\x1faSubject")]
    assert written_in_c(_iso(LEADER, fields)) is not None
    assert written_in_c(_iso(LEADER, fields, order=[0, 2, 1])) is None  # fields out of directory order
    assert written_in_c(_iso(LEADER, [("245", "1\u00e9\x1faTitle")])) is None  # an indicator outside ASCII
    assert written_in_c(_iso(LEADER, [("245", "10\x1f\u00e9Title")])) is None  # a subfield code outside ASCII
    raw = _iso(LEADER, fields)
    assert written_in_c(raw.replace(b"245", b"24\xe9", 1)) is None  # a tag outside ASCII
    assert written_in_c(raw.replace(b"First", b"Fi\xc3rst")) is None  # not UTF-8
    assert written_in_c(raw[:-10] + raw[-9:]) is None  # a byte short
    assert written_in_c(raw[:20]) is None


FIELD_TEXT = st.text(
    st.sampled_from(list("ab1 &<>\"'\t\n\x00\x01\x1d\x1f\x1e\x7fđĐếé\ufffe\uffff\U0001f4da")), max_size=30
)


@settings(max_examples=400, deadline=None)
@given(
    fields=st.lists(
        st.tuples(st.sampled_from(["001", "008", "00A", "010", "245", "650", "852", "9Z9", "+45", "a4b"]), FIELD_TEXT),
        min_size=1,
        max_size=8,
    ),
    leader=st.text(st.sampled_from(list("0an 45&<\x01é")), min_size=24, max_size=24),
    prefix=st.sampled_from(["marc", "", "m"]),
    skip=st.frozensets(st.sampled_from(["245", "852", "001", "24", "é45"]), max_size=3),
    cut=st.integers(min_value=0, max_value=3),
)
def test_the_writer_in_c_agrees_on_any_record(
    fields: list[tuple[str, str]], leader: str, prefix: str, skip: frozenset[str], cut: int
) -> None:
    raw = _iso(LEADER, fields)
    raw = raw[:5] + leader[5:12].encode("utf-8", "replace")[:7].ljust(7, b" ") + raw[12:]
    written_in_c(raw[: len(raw) - cut] if cut < 3 else raw, prefix, skip, "<x/>")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=299), st.binary(max_size=4))
def test_the_writer_in_c_survives_any_bytes(noise: bytes, at: int, patch: bytes) -> None:
    raw = _iso(LEADER, [("001", "ctl"), ("245", "10\x1faTitle\x1fbmore"), ("650", " 0\x1faSubject")])
    written_in_c(noise)
    written_in_c(raw[:at] + patch + raw[at + len(patch) :])
