"""SIP2 (3M SIP 2.00) frames: building requests, checksums, and parsing responses from any ACS.

Pure code, no I/O. A frame is ``code + fixed fields + XXvalue| ... [+ AYnAZhhhh] + CR``. The checksum is the
two's complement of the 16-bit byte sum of the *encoded* frame up to and including ``AZ``, as four upper-case
hex digits. Responses are parsed leniently: unknown field identifiers are kept, CRLF is accepted, AY/AZ are
located from the end of the frame (a title may contain "AY").
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass, field

from .errors import Sip2ChecksumError, Sip2FrameError

log = logging.getLogger(__name__)

__all__ = [
    "checksum",
    "verify",
    "sip_date",
    "parse_sip_date",
    "fold_ascii",
    "encode_text",
    "build_frame",
    "Frame",
    "parse_frame",
    "RESPONSE_FIXED_LENGTHS",
    "REQUEST_ACS_RESEND",
]

# Length of the fixed part of every response an SC receives (after the two-character command code).
RESPONSE_FIXED_LENGTHS: dict[str, int] = {
    "94": 1,
    "96": 0,
    "98": 34,
    "24": 35,
    "26": 35,
    "64": 59,
    "12": 22,
    "10": 22,
    "18": 24,
    "20": 19,
    "30": 22,
    "66": 27,
    "36": 19,
    "38": 19,
    "16": 20,
}

REQUEST_ACS_RESEND = b"97AZFEF5\r"

_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ơ": "o", "Ơ": "O", "ư": "u", "Ư": "U"})


def checksum(data: bytes) -> str:
    """The AZ value for ``data`` = every byte from the command code through ``AZ``."""
    return format((-sum(data)) & 0xFFFF, "04X")


def verify(frame: bytes) -> bool:
    """True when a frame ending ``AZhhhh`` (no CR) carries a correct checksum."""
    if len(frame) < 6 or frame[-6:-4] != b"AZ":
        return False
    try:
        value = int(frame[-4:], 16)
    except ValueError:
        return False
    return (sum(frame[:-4]) + value) & 0xFFFF == 0


def sip_date(when: dt.datetime) -> str:
    """18-character SIP2 date in local time (four blank zone characters); aware datetimes are localised."""
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y%m%d    %H%M%S")


def parse_sip_date(text: str) -> dt.datetime | None:
    """Parse an 18-character SIP2 date (local or ``Z``); None for blanks, zeros or free text."""
    if len(text) != 18 or not text[:8].isdigit() or not text[12:].isdigit() or set(text) <= {"0", " "}:
        return None
    try:
        base = dt.datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if text[8:12] == "   Z":
        return base.replace(tzinfo=dt.UTC).astimezone()
    return base.astimezone()


def fold_ascii(text: str) -> str:
    """Vietnamese (and other Latin) text without diacritics, for legacy ACSs that only take ASCII."""
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.encode("ascii", "replace").decode("ascii")


def encode_text(text: str, encoding: str) -> bytes:
    """Encode for the wire; ``ascii-fold`` folds diacritics, other encodings replace what they cannot hold."""
    if encoding == "ascii-fold":
        return fold_ascii(text).encode("ascii")
    return unicodedata.normalize("NFC", text).encode(encoding, "replace")


def _clean(value: str) -> str:
    # CR, NUL and the delimiter may not appear inside a field.
    return value.replace("\r", " ").replace("\n", " ").replace("\x00", "").replace("|", "/")


def build_frame(
    code: str,
    fixed: str,
    fields: list[tuple[str, str]],
    *,
    sequence: int | None,
    encoding: str = "utf-8",
    error_detection: bool = True,
) -> bytes:
    """A complete request frame (CR included). ``fields`` are (identifier, value) pairs, kept in order."""
    if len(code) != 2 or not code.isdigit():
        raise ValueError(f"not a SIP2 command code: {code!r}")
    text = code + fixed + "".join(f"{fid}{_clean(value)}|" for fid, value in fields)
    body = encode_text(text, encoding)
    if not error_detection:
        return body + b"\r"
    if sequence is None or not 0 <= sequence <= 9:
        raise ValueError(f"sequence number must be 0..9, got {sequence!r}")
    body += f"AY{sequence}AZ".encode("ascii")
    return body + checksum(body).encode("ascii") + b"\r"


@dataclass(frozen=True)
class Frame:
    """A parsed response: command code, fixed part, variable fields (repeatable, in order), sequence number."""

    code: str
    fixed: str
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = None
    raw: bytes = field(default=b"", repr=False)

    def get(self, fid: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == fid:
                return value
        return default

    def all(self, fid: str) -> list[str]:
        return [value for key, value in self.fields if key == fid]

    def has(self, fid: str) -> bool:
        return any(key == fid for key, _ in self.fields)


def parse_frame(raw: bytes, *, encoding: str = "utf-8", check: bool = True) -> Frame:
    """Parse one response frame (with or without its CR/CRLF); raises on a bad checksum or a short fixed part."""
    data = raw.rstrip(b"\r\n")
    if len(data) < 2:
        raise Sip2FrameError(f"SIP2 frame too short: {raw!r}")
    sequence: int | None = None
    if len(data) >= 6 and data[-6:-4] == b"AZ":
        if check and not verify(data):
            raise Sip2ChecksumError(f"bad SIP2 checksum in {raw!r}")
        data = data[:-6]
        if len(data) >= 3 and data[-3:-1] == b"AY" and data[-1:].isdigit():
            sequence = int(data[-1:])
            data = data[:-3]
    wire = "ascii" if encoding == "ascii-fold" else encoding
    text = data.decode(wire, "replace")
    code = text[:2]
    if not code.isdigit():
        raise Sip2FrameError(f"not a SIP2 response: {raw!r}")
    fixed_len = RESPONSE_FIXED_LENGTHS.get(code, 0)
    if len(text) < 2 + fixed_len:
        raise Sip2FrameError(f"SIP2 {code} response has a short fixed part: {raw!r}")
    fixed = text[2 : 2 + fixed_len]
    rest = text[2 + fixed_len :]
    fields: list[tuple[str, str]] = []
    for part in rest.split("|"):
        if len(part) < 2:
            if part:
                log.debug("ignoring stray text %r in SIP2 %s", part, code)
            continue
        fields.append((part[:2], part[2:]))
    return Frame(code, fixed, tuple(fields), sequence, raw)
