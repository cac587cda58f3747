"""Reading the fields of a UTF-8 ISO 2709 record straight from its directory, for the bulk import.

Building pymarc objects for every field of every record costs more than the rest of an import; the import
only needs the few fields :func:`server.catalog.records.extract` reads and the record's bytes as they are.
:func:`scan_utf8` accepts only what it can read exactly as pymarc would (well-formed leader and directory,
UTF-8 that decodes strictly, two indicators, ASCII subfield codes, nothing to repair for Vietnamese) and
answers None for everything else: those records go through pymarc (:func:`server.catalog.marcio.outcome_of`),
which repairs them or states the precise reason they are rejected.
"""

from __future__ import annotations

from server.catalog.marcio import needs_repair
from server.catalog.records import DataField, Fields

# The data fields extract() reads; the others are only checked (UTF-8, nothing to repair).
READ_TAGS = frozenset(
    {"010", "020", "022", "100", "110", "245", "250", "260", "264", "600", "610", "650", "651", "700"}
)


def scan_utf8(chunk: bytes) -> Fields | None:
    """The fields of one record (terminator included), or None when it must be parsed by pymarc."""
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
    try:
        for start in range(0, len(directory), 12):
            tag = directory[start : start + 3].decode("ascii")
            field_start = base + int(directory[start + 7 : start + 12])
            text = chunk[field_start : field_start + int(directory[start + 3 : start + 7]) - 1].decode("utf-8")
            if tag < "010" and tag.isdigit():
                control.setdefault(tag, text)  # control fields are never repaired
                continue
            ascii_field = text.isascii()
            if ascii_field and tag not in READ_TAGS:
                continue  # only the indicators could be odd; pymarc keeps such a field, and so does the import
            parts = text.split("\x1f")
            indicators = parts[0]
            if len(indicators) != 2 or not indicators.isascii():
                return None
            subfields: list[tuple[str, str]] = []
            for part in parts[1:]:
                if not part:
                    continue
                code, value = part[0], part[1:]
                if not code.isascii() or (not ascii_field and needs_repair(value)):
                    return None
                subfields.append((code, value))
            if tag in READ_TAGS:
                data.setdefault(tag, []).append((indicators[0], indicators[1], subfields))
    except (UnicodeDecodeError, ValueError):
        return None
    return Fields(chunk[:24].decode("ascii"), control, data)
