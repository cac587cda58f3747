"""Unicode → MARC-8, for exports to systems that still want MARC-8 ISO 2709 (leader/09 blank).

pymarc decodes MARC-8 but cannot encode it. The reverse table is built once, at first use, from pymarc's
own MARC-8 tables (:mod:`pymarc.marc8_mapping`), so encoder and decoder cannot disagree; nothing is copied.

* Text is taken in NFC. A character with a MARC-8 code is written as such; one without is split by its
  canonical decomposition, one level at a time (ớ → ơ + ◌́, ệ → ẹ + ◌̂ → e + ◌̣ + ◌̂), so every Vietnamese letter
  becomes ASCII or ANSEL letters (ơ ư đ exist in ANSEL) plus ANSEL combining marks.
* MARC-8 writes combining marks BEFORE the base letter they sit on (Unicode writes them after).
* Default sets are ASCII in G0 and ANSEL in G1. Other sets are designated only where a character needs them
  (Greek symbols, subscripts, superscripts with ``ESC g|b|p`` … ``ESC s``; Greek, Cyrillic, Hebrew, Arabic
  with ``ESC ( F`` / ``ESC ) F``; EACC with ``ESC $ 1``), the current set is kept while it still has the next
  character, and every subfield ends back in the default sets (pymarc decodes each subfield on its own).
  A record that designates a set with ``ESC (``, ``ESC )`` or ``ESC $`` gets a 066 field ($c per set), as
  MARC 21 requires.
* A character outside the MARC-8 repertoire (or a mark with no base letter, or a control character) is
  written with the Library of Congress "lossless conversion" convention, a numeric character reference
  ``&#xXXXX;`` (the whole cluster when its base letter has no MARC-8 form); callers report which.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from pymarc import Record, marc8_mapping

from server.catalog.marcio import to_iso2709

ESC = "\x1b"
ASCII, ANSEL = 0x42, 0x45
TECHNIQUE_1 = frozenset({0x67, 0x62, 0x70})  # Greek symbols, subscripts, superscripts: ESC F … ESC s
MULTIBYTE = 0x31  # EACC, three bytes a character
# Preference when a character is in several sets: the defaults, then the single-byte sets, EACC last.
ORDER = (ASCII, ANSEL, 0x67, 0x62, 0x70, 0x53, 0x4E, 0x51, 0x32, 0x33, 0x34, MULTIBYTE)

FIELD_TERMINATOR = b"\x1e"
# Bytes that may not be copied as they are: C0 controls (ESC among them) other than the MARC delimiters, DEL.
_CONTROL = re.compile(rb"[\x00-\x1c\x7f]")
RECORD_TERMINATOR = b"\x1d"
SUBFIELD_DELIMITER = b"\x1f"


@dataclass(frozen=True)
class Code:
    charset: int
    code: int
    combining: bool


@cache
def _in_set(charset: int) -> dict[str, Code]:
    """Unicode character → its code in one MARC-8 set, from pymarc's MARC-8 → Unicode table of that set."""
    found: dict[str, Code] = {}
    for code, (unicode_point, combining) in marc8_mapping.CODESETS[charset].items():
        if charset == ASCII and code < 0x20:
            continue  # ESC and the MARC delimiters are structure, never text
        found.setdefault(chr(unicode_point), Code(charset, code, bool(combining)))
    return found


@cache
def _table() -> dict[str, Code]:
    """Unicode character → its preferred MARC-8 code (the sets in ``ORDER``)."""
    table: dict[str, Code] = {}
    for charset in ORDER:
        for char, code in _in_set(charset).items():
            table.setdefault(char, code)
    return table


@cache
def _expand(char: str) -> tuple[str, ...]:
    """``char`` as characters that have MARC-8 codes where possible (canonical decomposition, level by level)."""
    if char in _table():
        return (char,)
    decomposition = unicodedata.decomposition(char)
    if not decomposition or decomposition.startswith("<"):
        return (char,)
    return tuple(part for point in decomposition.split() for part in _expand(chr(int(point, 16))))


def _is_mark(char: str) -> bool:
    code = _table().get(char)
    return code.combining if code is not None else unicodedata.category(char).startswith("M")


def _ncr(char: str) -> bytes:
    return f"&#x{ord(char):04X};".encode("ascii")


@dataclass
class Encoded:
    data: bytes
    unencodable: list[str] = field(default_factory=list)  # characters written as NCRs
    designations: set[str] = field(default_factory=set)  # "(N", ")Q", "$1"... (for field 066)


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()
        self.g0 = ASCII
        self.g1 = ANSEL
        self.unencodable: list[str] = []
        self.designations: set[str] = set()

    def put(self, code: Code) -> None:
        charset = code.charset
        if charset == MULTIBYTE or code.code < 0x80:
            if self.g0 != charset:
                self._set_g0(charset)
            if charset == MULTIBYTE:
                self.out += code.code.to_bytes(3, "big")
            else:
                self.out.append(code.code)
            return
        if self.g1 != charset:
            self.out += f"{ESC})".encode("ascii") + bytes([charset])
            if charset != ANSEL:
                self.designations.add(")" + chr(charset))
            self.g1 = charset
        self.out.append(code.code)

    def _set_g0(self, charset: int) -> None:
        if charset == ASCII:
            self.out += b"\x1bs" if self.g0 in TECHNIQUE_1 else b"\x1b(B"
        elif charset in TECHNIQUE_1:
            self.out += bytes([0x1B, charset])
        elif charset == MULTIBYTE:
            self.out += b"\x1b$1"
            self.designations.add("$1")
        else:
            self.out += bytes([0x1B, ord("("), charset])
            self.designations.add("(" + chr(charset))
        self.g0 = charset

    def code_of(self, char: str) -> Code | None:
        table = _table()
        best = table.get(char)
        if best is None or best.charset == self.g0 or best.charset == self.g1:
            return best
        # stay in the current set when it has the character too (no escape needed)
        for charset in (self.g0, self.g1):
            here = _in_set(charset).get(char)
            if here is not None:
                return here
        return best

    def ascii(self, data: bytes) -> None:
        if self.g0 != ASCII:
            self._set_g0(ASCII)
        self.out += data

    def cluster(self, base: str, marks: list[str]) -> None:
        base_code = self.code_of(base) if base else None
        if base_code is None or base_code.combining:
            for char in ([base] if base else []) + marks:
                self.unencodable.append(char)
                self.ascii(_ncr(char))
            return
        late: list[str] = []
        for mark in marks:
            code = self.code_of(mark)
            if code is None:
                late.append(mark)
            else:
                self.put(code)  # MARC-8: the mark before its base letter
        self.put(base_code)
        for mark in late:
            self.unencodable.append(mark)
            self.ascii(_ncr(mark))

    def end(self) -> None:
        if self.g0 != ASCII:
            self._set_g0(ASCII)
        if self.g1 != ANSEL:
            self.out += b"\x1b)E"
            self.g1 = ANSEL


def encode(text: str) -> Encoded:
    """One subfield (or control field) as MARC-8 bytes, ending in the default sets."""
    if text.isascii() and text.isprintable():
        return Encoded(text.encode("ascii"))
    writer = _Writer()
    chars = [part for char in unicodedata.normalize("NFC", text) for part in _expand(char)]
    base = ""
    marks: list[str] = []
    for char in chars:
        if _is_mark(char):
            marks.append(char)
            continue
        if base or marks:
            writer.cluster(base, marks)
        base, marks = char, []
    if base or marks:
        writer.cluster(base, marks)
    writer.end()
    return Encoded(bytes(writer.out), writer.unencodable, writer.designations)


@dataclass
class Marc8Record:
    data: bytes
    unencodable: list[str]


def record_to_marc8(record: Record) -> Marc8Record:
    """A pymarc record as MARC-8 ISO 2709 (see :func:`utf8_to_marc8`)."""
    return utf8_to_marc8(to_iso2709(record))


def utf8_to_marc8(data: bytes) -> Marc8Record:
    """A UTF-8 ISO 2709 record (as stored) as MARC-8 ISO 2709: leader/09 blank, a 066 field when other sets
    are designated. Fields in plain printable ASCII are copied as they are (ASCII is MARC-8's G0).

    Raises ``ValueError`` when the input is not a readable record (``UnicodeDecodeError`` for bad UTF-8) or the
    result cannot be valid ISO 2709 (a field over 9,999 or a record over 99,999 bytes).
    """
    if len(data) < 25 or not data[12:17].isdigit():
        raise ValueError("not an ISO 2709 record (leader)")
    base_address = int(data[12:17])
    end_of_directory = data.index(FIELD_TERMINATOR, 24)
    unencodable: list[str] = []
    designations: set[str] = set()
    bodies: list[tuple[str, bytes]] = []
    for at in range(24, end_of_directory - 11, 12):
        entry = data[at : at + 12]
        tag = entry[:3].decode("ascii")
        start = base_address + int(entry[7:12])
        raw = data[start : start + int(entry[3:7])].rstrip(FIELD_TERMINATOR)
        if tag == "066":
            continue  # rebuilt below from what this encoding designates
        if raw.isascii() and not _CONTROL.search(raw):
            body = raw
        elif tag < "010":
            encoded = encode(raw.decode("utf-8"))
            body = encoded.data
            unencodable += encoded.unencodable
            designations |= encoded.designations
        else:
            parts = [raw[:2]]
            for sub in raw[2:].split(SUBFIELD_DELIMITER)[1:]:
                encoded = encode(sub[1:].decode("utf-8"))
                parts.append(SUBFIELD_DELIMITER + sub[:1] + encoded.data)
                unencodable += encoded.unencodable
                designations |= encoded.designations
            body = b"".join(parts)
        bodies.append((tag, body + FIELD_TERMINATOR))
    if designations:
        body = b"  " + b"".join(SUBFIELD_DELIMITER + b"c" + d.encode("ascii") for d in sorted(designations))
        at = next((i for i, (tag, _) in enumerate(bodies) if tag > "066"), len(bodies))
        bodies.insert(at, ("066", body + FIELD_TERMINATOR))
    directory = bytearray()
    offset = 0
    for tag, body in bodies:
        directory += f"{tag:0>3.3}{len(body):04d}{offset:05d}".encode("ascii")
        offset += len(body)
    base = 24 + len(directory) + 1
    length = base + offset + 1
    if length > 99_999 or any(len(body) > 9_999 for _, body in bodies):
        raise ValueError(f"the MARC-8 record would be {length} bytes (a field over 9,999 or a record over 99,999)")
    head = b"%05d" % length + data[5:9] + b" 22" + b"%05d" % base + data[17:20] + b"4500"
    out = head + bytes(directory) + FIELD_TERMINATOR + b"".join(body for _, body in bodies) + RECORD_TERMINATOR
    return Marc8Record(out, unencodable)
