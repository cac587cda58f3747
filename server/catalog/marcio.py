"""Reading and writing MARC21: ISO 2709 (UTF-8 or MARC-8) and MARCXML, one record at a time.

Reading never stops at a bad record: every record comes back as a :class:`ReadOutcome` that holds either
the parsed record (display text repaired for Vietnamese: combining-mark order, NFC) or a precise reason
with the record's position (1-based) and byte offset. ISO 2709 input is split on the record terminator
(0x1D), so a record with a wrong length in its leader costs only that record, not the rest of the file.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from lxml import etree
from pymarc import Field, Indicators, Leader, Record, Subfield
from pymarc.exceptions import PymarcException

from server.catalog.errors import MarcFormatUnknown
from server.catalog.folding import repair

log = logging.getLogger(__name__)

MARCXML_NS = "http://www.loc.gov/MARC21/slim"
_RECORD_END = b"\x1d"
_BLOCK = 1 << 20
_XML_RECORD = f"{{{MARCXML_NS}}}record"


@dataclass(frozen=True)
class ReadOutcome:
    """One record of an input file: parsed, or rejected with a reason."""

    position: int
    offset: int
    record: Record | None
    raw: bytes | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    repaired: bool = False


def needs_repair(text: str) -> bool:
    return not text.isascii() and (not unicodedata.is_normalized("NFC", text) or repair(text) != text)


def repair_record(record: Record) -> bool:
    """Repair Vietnamese text in every data subfield in place; True when anything changed."""
    changed = False
    for fld in record.fields:
        if fld.is_control_field():
            continue
        for index, sub in enumerate(fld.subfields):
            if needs_repair(sub.value):
                fld.subfields[index] = Subfield(sub.code, repair(sub.value))
                changed = True
    return changed


def _leader_problem(chunk: bytes) -> str | None:
    if len(chunk) < 25:
        return f"record of {len(chunk)} bytes is shorter than a leader and directory"
    leader = chunk[:24]
    if not leader.isascii():
        return "leader contains non-ASCII bytes"
    length, base = leader[0:5], leader[12:17]
    if not length.isdigit():
        return f"leader record length {length.decode('ascii')!r} is not a number"
    if not base.isdigit():
        return f"leader base address {base.decode('ascii')!r} is not a number"
    declared = int(length)
    if declared != len(chunk):
        return f"leader says the record is {declared} bytes long but it is {len(chunk)} bytes up to the terminator"
    if int(base) < 25 or int(base) >= len(chunk):
        return f"leader base address {int(base)} is outside the record ({len(chunk)} bytes)"
    if chr(leader[9]) not in " a":
        return f"leader/09 character coding {chr(leader[9])!r} is neither blank (MARC-8) nor 'a' (UTF-8)"
    return None


def parse_iso2709(chunk: bytes) -> tuple[Record | None, str | None, tuple[str, ...], bool]:
    """Parse one record (terminator included): (record, None, warnings, repaired) or (None, reason, ...)."""
    problem = _leader_problem(chunk)
    if problem is not None:
        return None, problem, (), False
    marc8 = chunk[9:10] == b" "
    captured = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stderr(captured) if marc8 else contextlib.nullcontext():
                record = Record(data=chunk, to_unicode=True, utf8_handling="strict")
        except UnicodeDecodeError as exc:
            if exc.encoding == "ascii":
                return (
                    None,
                    f"non-ASCII byte {exc.object[exc.start : exc.start + 1]!r} in the leader or directory",
                    (),
                    False,
                )
            return None, f"invalid UTF-8 at byte {exc.start} of a field: {exc.reason}", (), False
        except (PymarcException, ValueError, IndexError) as exc:
            return None, f"{type(exc).__name__}: {exc}".rstrip(": "), (), False
    notes = tuple(str(w.message) for w in caught)
    if marc8 and captured.getvalue():
        return None, "MARC-8 text does not decode: " + captured.getvalue().strip().splitlines()[0], notes, False
    if not record.fields:
        return None, "record has no fields", notes, False
    return record, None, notes, repair_record(record)


def iter_chunks(stream: BinaryIO) -> Iterator[tuple[int, int, bytes, str | None]]:
    """(position, offset, bytes, problem) of every record of an ISO 2709 stream, split on the terminator."""
    buffer = b""
    offset = 0
    position = 0
    while True:
        block = stream.read(_BLOCK)
        if not block:
            break
        buffer += block
        start = 0
        while True:
            end = buffer.find(_RECORD_END, start)
            if end < 0:
                break
            position += 1
            yield position, offset + start, buffer[start : end + 1], None
            start = end + 1
        offset += start
        buffer = buffer[start:]
    rest = buffer.strip(b"\r\n\t ")
    if rest:
        yield position + 1, offset, rest, f"truncated record: {len(rest)} bytes without a terminator"


def iter_iso2709(stream: BinaryIO) -> Iterator[ReadOutcome]:
    """Every record of an ISO 2709 stream, split on the record terminator."""
    for position, offset, chunk, problem in iter_chunks(stream):
        if problem is not None:
            yield ReadOutcome(position, offset, None, chunk, problem)
        else:
            yield outcome_of(position, offset, chunk)


def outcome_of(position: int, offset: int, chunk: bytes) -> ReadOutcome:
    """The parsed record (or the reason it cannot be) of one ISO 2709 chunk."""
    # Files sometimes carry newlines between records.
    stripped = chunk.lstrip(b"\r\n")
    offset += len(chunk) - len(stripped)
    record, error, notes, repaired = parse_iso2709(stripped)
    return ReadOutcome(position, offset, record, stripped, error, notes, repaired)


def _text(element: Any) -> str:
    return str(element.text or "")


def xml_to_record(element: Any) -> Record:
    """A pymarc record from a MARCXML ``record`` element; ValueError when it is malformed."""
    record = Record()
    leader = element.find(f"{{{MARCXML_NS}}}leader")
    if leader is not None:
        text = _text(leader)
        if len(text) != 24:
            raise ValueError(f"leader has {len(text)} characters, not 24")
        record.leader = Leader(text)
    for child in element:
        tag = child.get("tag")
        local = etree.QName(child).localname
        if local == "controlfield":
            if not tag or len(tag) != 3:
                raise ValueError(f"control field with invalid tag {tag!r}")
            record.add_field(Field(tag=tag, data=_text(child)))
        elif local == "datafield":
            if not tag or len(tag) != 3:
                raise ValueError(f"data field with invalid tag {tag!r}")
            subfields = [
                Subfield(sf.get("code") or " ", _text(sf)) for sf in child if etree.QName(sf).localname == "subfield"
            ]
            indicators = Indicators((child.get("ind1") or " ")[:1] or " ", (child.get("ind2") or " ")[:1] or " ")
            record.add_field(Field(tag=tag, indicators=indicators, subfields=subfields))
    if not record.fields:
        raise ValueError("record has no fields")
    return record


def iter_marcxml(stream: BinaryIO) -> Iterator[ReadOutcome]:
    """Every ``record`` element of a MARCXML stream (collection or single record)."""
    position = 0
    parser = etree.iterparse(stream, events=("end",), tag=_XML_RECORD, huge_tree=True, recover=False)
    try:
        for _event, element in parser:
            position += 1
            line = element.sourceline or 0
            try:
                record = xml_to_record(element)
                repair_record(record)
                yield ReadOutcome(position, line, record)
            except ValueError as exc:
                yield ReadOutcome(position, line, None, None, f"line {line}: {exc}")
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]  # keep memory flat on large collections
    except etree.XMLSyntaxError as exc:
        yield ReadOutcome(position + 1, exc.lineno or 0, None, None, f"XML syntax error: {exc}")


def sniff(head: bytes) -> str:
    """``"xml"`` or ``"iso2709"`` from the first bytes of a file."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "xml"
    if text[:5].isdigit() or text[:1].isalnum():
        return "iso2709"
    raise MarcFormatUnknown(f"input starts with {head[:16]!r}: neither ISO 2709 nor MARCXML")


def read_records(stream: BinaryIO, fmt: str = "auto") -> Iterator[ReadOutcome]:
    """Records of ``stream`` in ``fmt`` (``auto``, ``iso2709`` or ``xml``)."""
    if fmt == "auto":
        buffered: Any = stream if hasattr(stream, "peek") else io.BufferedReader(cast(Any, stream))
        head = bytes(buffered.peek(64)[:64])
        if not head:
            return iter(())
        fmt = sniff(head)
        stream = buffered
    if fmt == "xml":
        return iter_marcxml(stream)
    return iter_iso2709(stream)


# ---------------------------------------------------------------------------------------------- writing


def to_iso2709(record: Record) -> bytes:
    """UTF-8 ISO 2709 (leader/09 = 'a')."""
    data: bytes = record.as_marc()
    return data


def to_marcxml_element(record: Record) -> Any:
    """A MARCXML ``record`` element (namespace ``marc`` slim)."""
    root = etree.Element(f"{{{MARCXML_NS}}}record", nsmap={"marc": MARCXML_NS})
    leader = etree.SubElement(root, f"{{{MARCXML_NS}}}leader")
    leader.text = str(record.leader)
    for fld in record.fields:
        if fld.is_control_field():
            cf = etree.SubElement(root, f"{{{MARCXML_NS}}}controlfield", tag=fld.tag)
            cf.text = _xml_safe(fld.data or "")
        else:
            df = etree.SubElement(
                root, f"{{{MARCXML_NS}}}datafield", tag=fld.tag, ind1=fld.indicator1 or " ", ind2=fld.indicator2 or " "
            )
            for sub in fld.subfields:
                sf = etree.SubElement(df, f"{{{MARCXML_NS}}}subfield", code=sub.code)
                sf.text = _xml_safe(sub.value)
    return root


def _xml_safe(text: str) -> str:
    # XML 1.0 forbids most control characters; MARC data sometimes carries them.
    return "".join(c for c in text if c in "\t\n\r" or ord(c) >= 0x20)


def record_from_bytes(data: bytes) -> Record:
    """A stored record (UTF-8 ISO 2709) back as pymarc."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Record(data=data, to_unicode=True, force_utf8=True, utf8_handling="replace")


def record_to_json(record: Record) -> dict[str, Any]:
    """MARC-in-JSON (the code4lib form pymarc writes)."""
    result: dict[str, Any] = record.as_dict()
    return result


def write_marcxml(records: Iterable[Record], out: IO[bytes]) -> int:
    """A MARCXML collection; returns the number written."""
    count = 0
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<marc:collection xmlns:marc="' + MARCXML_NS.encode() + b'">\n')
    for record in records:
        out.write(etree.tostring(to_marcxml_element(record), encoding="utf-8"))
        out.write(b"\n")
        count += 1
    out.write(b"</marc:collection>\n")
    return count


def write_json_lines(records: Iterable[Record], out: IO[bytes]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record_to_json(record), ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_NEEDS_ESCAPE = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def xml_text(text: str) -> str:
    """``text`` escaped for XML content and attributes, with the characters XML 1.0 forbids removed."""
    if _NEEDS_ESCAPE.search(text) is None:  # the usual case: nothing to do
        return text
    return _CONTROL.sub("", text).translate(_ESCAPES)


# Plain field text: nothing to escape or drop (the separators \x1e and \x1f aside), and every subfield code an
# ASCII letter or digit. Two patterns: each alone is a quick scan, their alternation is not.
_TO_ESCAPE = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1d\ufffe\uffff]')
_ODD_CODE = re.compile("\x1f(?:[^0-9a-zA-Z]|$)")
_INDICATORS: dict[str, tuple[str, str]] = {}


def _indicators(raw: str) -> tuple[str, str]:
    """The two indicators as MARCXML writes them (anything but a letter or digit is a blank)."""
    ind = "".join(c if c.isalnum() else " " for c in raw[:2]).ljust(2)
    found = (ind[0], ind[1])
    if len(_INDICATORS) < 4096:  # remembered, within bounds: odd indicators of odd records must not grow it
        _INDICATORS[raw] = found
    return found


def _writer_in_c() -> Callable[[bytes, str, str, str], str | None] | None:
    """The MARCXML writer in C (server/catalog/_marcxml.c), built by the install where a C compiler is found."""
    try:
        from server.catalog._marcxml import render
    except ImportError:
        return None
    return render


WRITER_IN_C = _writer_in_c()  # None where the extension is not built


@functools.lru_cache(maxsize=64)
def _tags(skip: frozenset[str]) -> str:
    """The tags of ``skip`` as the C writer takes them: three characters each, one after the other (a tag of
    another length, or outside ASCII, is never a field's)."""
    return "".join(sorted(tag for tag in skip if len(tag) == 3 and tag.isascii()))


def iso2709_to_marcxml(data: bytes, prefix: str = "marc", skip: frozenset[str] = frozenset(), extra: str = "") -> str:
    """MARCXML text of a stored UTF-8 ISO 2709 record; ``prefix`` names the slim namespace (declared here).

    Fields with a tag in ``skip`` are left out; ``extra`` (already MARCXML with the same prefix) is added last.
    Written in C where the extension is built and the record is laid out as the catalog stores it (ten times
    faster: most of an SRU or OAI-PMH response's time), otherwise by :func:`iso2709_to_marcxml_in_python`, to
    the same text.
    """
    if WRITER_IN_C is not None:
        written = WRITER_IN_C(data, prefix, _tags(skip), extra)
        if written is not None:
            return written
    return iso2709_to_marcxml_in_python(data, prefix, skip, extra)


def iso2709_to_marcxml_in_python(
    data: bytes, prefix: str = "marc", skip: frozenset[str] = frozenset(), extra: str = ""
) -> str:
    """:func:`iso2709_to_marcxml` in Python, for any record. A data field of plain text (the usual case) is
    written without looking at each of its subfields."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f' xmlns:{prefix}="{MARCXML_NS}"' if prefix else f' xmlns="{MARCXML_NS}"'
    out = [f"<{p}record{xmlns}><{p}leader>{xml_text(data[:24].decode('ascii', 'replace'))}</{p}leader>"]
    base = int(data[12:17])
    directory = data[24 : base - 1]
    split = _fields_in_order(data, base, directory)
    if split is not None:
        whole, fields = split
        plain = _TO_ESCAPE.search(whole) is None and _ODD_CODE.search(whole) is None
    else:
        fields, plain = [], False
        for start in range(0, len(directory) - len(directory) % 12, 12):
            entry = directory[start : start + 12]
            offset = base + int(entry[7:12])
            body = data[offset : offset + int(entry[3:7]) - 1].decode("utf-8", "replace")
            fields.append((entry[:3].decode("ascii", "replace"), body))
    indicators = _INDICATORS
    for tag, body in fields:
        if not tag.isalnum():
            tag = xml_text(tag)
        if tag in skip:
            continue
        if tag < "010" and tag.isdigit():
            out.append(f'<{p}controlfield tag="{tag}">{xml_text(body)}</{p}controlfield>')
            continue
        parts = body.split("\x1f")
        ind1, ind2 = indicators.get(parts[0]) or _indicators(parts[0])
        out.append(f'<{p}datafield tag="{tag}" ind1="{ind1}" ind2="{ind2}">')
        if plain:
            out.extend([f'<{p}subfield code="{x[0]}">{x[1:]}</{p}subfield>' for x in parts[1:]])
        else:
            for part in parts[1:]:
                if part:
                    code = part[0] if part[0].isalnum() else xml_text(part[0]) or " "
                    out.append(f'<{p}subfield code="{code}">{xml_text(part[1:])}</{p}subfield>')
        out.append(f"</{p}datafield>")
    out.append(extra)
    out.append(f"</{p}record>")
    return "".join(out)


def _fields_in_order(data: bytes, base: int, directory: bytes) -> tuple[str, list[tuple[str, str]]] | None:
    """The text of all fields and (tag, text) of each when the record is laid out as the catalog writes it
    (fields one after the other in directory order, each ended by its terminator, valid UTF-8): one decode
    and one split for the whole record instead of a slice and a decode per field. None for any other layout."""
    if len(directory) % 12:
        return None
    try:
        whole = data[base:-1].decode("utf-8")
    except UnicodeDecodeError:
        return None
    texts = whole.split("\x1e")
    count = len(directory) // 12
    if len(texts) != count + 1 or texts[-1]:
        return None
    position = 0
    for start in range(0, len(directory), 12):  # the layout is checked, not assumed
        if int(directory[start + 7 : start + 12]) != position:
            return None
        position += int(directory[start + 3 : start + 7])
    if position != len(data) - base - 1:
        return None
    tags = directory.decode("ascii", "replace")
    return whole, [(tags[i * 12 : i * 12 + 3], texts[i]) for i in range(count)]
