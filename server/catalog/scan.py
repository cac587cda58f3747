"""Reading the fields of a UTF-8 ISO 2709 record straight from its directory, for the bulk import.

Building pymarc objects for every field of every record costs more than the rest of an import; the import
only needs the few fields :func:`server.catalog.records.extract` reads and the record's bytes.
:func:`scan_utf8` accepts only what it reads exactly as pymarc would (well-formed leader and directory, UTF-8
that decodes strictly, two indicators, ASCII subfield codes) and answers None for everything else: those
records go through pymarc (:func:`server.catalog.marcio.outcome_of`), which states the precise reason they are
rejected. Text that needs the Vietnamese repair (mark order, NFC: LoC's UTF-8 records are decomposed) is
repaired here, and the record is written again as pymarc's ``as_marc()`` writes it.
"""

from __future__ import annotations

from server.catalog.folding import repair
from server.catalog.marcio import needs_repair
from server.catalog.records import DataField, Fields

# The data fields extract() reads; the others are only checked (UTF-8, indicators, codes) and repaired.
READ_TAGS = frozenset(
    {"010", "020", "022", "100", "110", "245", "250", "260", "264", "600", "610", "650", "651", "700"}
)


def scan_utf8(chunk: bytes) -> tuple[Fields, bytes] | None:
    """The fields of one record (terminator included) and the bytes to store, or None: parse it with pymarc."""
    length = len(chunk)
    if length < 25 or chunk[9:10] != b"a" or not chunk[:5].isdigit() or int(chunk[:5]) != length:
        return None
    base_digits = chunk[12:17]
    if not base_digits.isdigit() or not 25 <= int(base_digits) < length:
        return None
    base = int(base_digits)
    directory = chunk[24 : base - 1]
    if not directory or len(directory) % 12 or not directory.isascii() or not chunk[:24].isascii():
        return None
    control: dict[str, str] = {}
    data: dict[str, list[DataField]] = {}
    # (tag, text as stored) of every field, kept for writing the record again when some text is repaired.
    written: list[tuple[str, str]] = []
    repaired = False
    try:
        for start in range(0, len(directory), 12):
            tag = directory[start : start + 3].decode("ascii")
            field_start = base + int(directory[start + 7 : start + 12])
            text = chunk[field_start : field_start + int(directory[start + 3 : start + 7]) - 1].decode("utf-8")
            if tag < "010" and tag.isdigit():
                control.setdefault(tag, text)  # control fields are never repaired
                written.append((tag, text))
                continue
            parts = text.split("\x1f")
            indicators = parts[0]
            if len(indicators) != 2 or not indicators.isascii():
                return None
            if text.isascii() and tag not in READ_TAGS:
                if "\x1f\x1f" in text or text.endswith("\x1f"):
                    return None  # pymarc drops empty subfields: its bytes would differ from these
                written.append((tag, text))
                continue
            subfields: list[tuple[str, str]] = []
            field_repaired = False
            for part in parts[1:]:
                if not part:
                    return None
                code, value = part[0], part[1:]
                if not code.isascii():
                    return None
                if not value.isascii() and needs_repair(value):
                    value = repair(value)
                    field_repaired = True
                subfields.append((code, value))
            if field_repaired:
                repaired = True
                text = indicators + "".join(f"\x1f{code}{value}" for code, value in subfields)
            written.append((tag, text))
            if tag in READ_TAGS:
                data.setdefault(tag, []).append((indicators[0], indicators[1], subfields))
    except (UnicodeDecodeError, ValueError):
        return None
    leader = chunk[:24].decode("ascii")
    fields = Fields(leader, control, data)
    return fields, (_as_marc(leader, written) if repaired else chunk)


def _as_marc(leader: str, written: list[tuple[str, str]]) -> bytes:
    """The record as pymarc's ``Record.as_marc()`` writes it (UTF-8, lengths and directory recomputed)."""
    bodies = [(text + "\x1e").encode("utf-8") for _tag, text in written]
    entries: list[str] = []
    offset = 0
    for (tag, _text), body in zip(written, bodies, strict=True):
        entries.append(f"{tag}{len(body):04d}{offset:05d}")
        offset += len(body)
    directory = ("".join(entries) + "\x1e").encode("ascii")
    base = 24 + len(directory)
    total = base + offset + 1
    head = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}".encode("ascii")
    return head + directory + b"".join(bodies) + b"\x1d"
