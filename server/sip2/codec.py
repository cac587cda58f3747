"""SIP2 (3M SIP 2.00) wire codec: checksums, dates, text encodings, parsing requests, building responses.

Bytes in, bytes out; nothing here knows about circulation. A frame is the command code, a fixed part,
variable fields ``XXvalue|`` (``|`` is the default field delimiter; an account may use another) and, with
error detection, ``AY<digit>AZ<4 hex>``, ended by CR. The checksum is the two's complement of the 16-bit sum
of the *encoded* bytes (as sent, delimiters included) up to and including ``AZ``, always four
upper-case hex digits. ``AY``/``AZ`` are located from the end of the frame (never by searching for "AY").

Login (93) comes before the account, and so its delimiter, is known: it is read with ``|``, or, when it holds
no ``|`` at all, with the punctuation character that ends its last field (see :func:`login_delimiter`).

Exceptions::

    Sip2Error (ValueError)
     ├── MalformedFrame        too short for its command, bad sequence number, undecodable
     ├── ChecksumMismatch      AZ does not match the bytes
     └── UnknownCommand        a command code this server does not speak
"""

from __future__ import annotations

import datetime as dt
import logging
import string
import unicodedata
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

CR = b"\r"
DELIMITER = "|"
DELIMITERS = frozenset(string.punctuation)  # what an account may use instead of "|"
MAX_FIELD_BYTES = 255

# Length of the fixed part after the two-character command code, for every request we accept.
REQUEST_FIXED_LENGTH: dict[str, int] = {
    "93": 2,
    "99": 8,
    "97": 0,
    "96": 0,
    "23": 21,
    "63": 31,
    "11": 38,
    "09": 37,
    "17": 18,
    "29": 38,
    "65": 18,
    "35": 18,
    "37": 25,
    "15": 19,
    "19": 18,
    "25": 18,
    "01": 19,
}


class Sip2Error(ValueError):
    """A frame this server cannot act on."""


class MalformedFrame(Sip2Error):
    pass


class ChecksumMismatch(Sip2Error):
    pass


class UnknownCommand(Sip2Error):
    pass


def checksum(prefix: bytes) -> str:
    """AZ for the bytes from the command code through the characters ``AZ``."""
    return format((-sum(prefix)) & 0xFFFF, "04X")


def verify_checksum(frame: bytes) -> bool:
    """Whether a frame (without CR) ending ``AZhhhh`` carries the right checksum."""
    if len(frame) < 6 or frame[-6:-4] != b"AZ":
        return False
    try:
        value = int(frame[-4:].decode("ascii"), 16)
    except (UnicodeDecodeError, ValueError):
        return False
    return (sum(frame[:-4]) + value) & 0xFFFF == 0


# -- text -------------------------------------------------------------------------------------------------

ENCODINGS = ("utf-8", "cp850", "ascii")


def fold_ascii(text: str) -> str:
    """Vietnamese (and other Latin) letters without their marks: "Truyện Kiều" → "Truyen Kieu"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def encode_text(text: str, encoding: str) -> bytes:
    """Encode for an account: UTF-8 as is; cp850 and ASCII fold what they cannot represent."""
    if encoding == "utf-8":
        return text.encode("utf-8")
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode(encoding)
        except UnicodeEncodeError:
            out += fold_ascii(char).encode(encoding, errors="replace")
    return bytes(out)


def decode_text(data: bytes, encoding: str) -> str:
    codec = "ascii" if encoding == "ascii" else encoding
    return data.decode(codec, errors="replace")


def clean_value(value: str, delimiter: str = DELIMITER) -> str:
    """A field value with the characters that would break framing (the delimiter, CR, LF, NUL) replaced."""
    value = value.replace(delimiter, "/" if delimiter != "/" else "|")
    return value.replace("\r", " ").replace("\n", " ").replace("\x00", "")


def truncate_encoded(value: str, encoding: str, limit: int = MAX_FIELD_BYTES) -> str:
    """Cut ``value`` so that it encodes to at most ``limit`` bytes, at a character boundary."""
    if len(encode_text(value, encoding)) <= limit:
        return value
    while value and len(encode_text(value, encoding)) > limit:
        value = value[:-1]
    return value


# -- dates ------------------------------------------------------------------------------------------------


def format_date(moment: dt.datetime, zone: ZoneInfo) -> str:
    """18-character SIP date in local time with a blank zone: ``YYYYMMDD    HHMMSS``."""
    local = moment.astimezone(zone)
    return local.strftime("%Y%m%d") + "    " + local.strftime("%H%M%S")


def parse_date(text: str, zone: ZoneInfo) -> dt.datetime | None:
    """An aware UTC datetime from an 18-character SIP date; blanks, zeros or garbage give ``None``."""
    if len(text) != 18 or not text.strip() or text.strip("0 ") == "":
        return None
    date_part, tz_part, time_part = text[:8], text[8:12], text[12:]
    try:
        naive = dt.datetime.strptime(date_part + time_part.replace(" ", "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if tz_part.strip() == "Z":
        return naive.replace(tzinfo=dt.UTC)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


# -- requests ---------------------------------------------------------------------------------------------


@dataclass
class Request:
    """A parsed request: code, fixed part and variable fields (every occurrence, in order)."""

    code: str
    fixed: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    sequence: str | None = None
    checksum: str | None = None

    def get(self, field_id: str, default: str = "") -> str:
        values = self.fields.get(field_id)
        return values[0] if values else default

    def has(self, field_id: str) -> bool:
        return field_id in self.fields

    def fixed_at(self, start: int, length: int) -> str:
        return self.fixed[start : start + length]


def split_trailer(frame: bytes) -> tuple[bytes, str | None, str | None]:
    """Split ``...AYnAZhhhh`` (or ``...AZhhhh``) off the end of a frame without CR."""
    if len(frame) >= 6 and frame[-6:-4] == b"AZ":
        az = frame[-4:].decode("ascii", errors="replace")
        body = frame[:-6]
        if len(body) >= 3 and body[-3:-1] == b"AY":
            return body[:-3], chr(body[-1]), az
        return body, None, az
    return frame, None, None


def login_delimiter(body: str) -> str:
    """The delimiter of a login (93) body after its command code: ``|`` if present, else the last character
    when that is punctuation (every variable field ends with the delimiter), else ``|``."""
    if DELIMITER in body or not body or body[-1] not in DELIMITERS:
        return DELIMITER
    return body[-1]


def parse_request(
    frame: bytes, encoding: str = "utf-8", *, check: bool = True, delimiter: str = DELIMITER
) -> Request:
    """Parse one frame (CR already removed) whose fields end with ``delimiter`` (a login: see
    :func:`login_delimiter`). Raises a :class:`Sip2Error` subclass it cannot use."""
    if len(frame) < 2:
        raise MalformedFrame(f"frame too short: {frame!r}")
    body, sequence, az = split_trailer(frame)
    if az is not None and check and not verify_checksum(frame):
        raise ChecksumMismatch(f"bad checksum {az!r}")
    if sequence is not None and not sequence.isdigit():
        raise MalformedFrame(f"sequence number is not a digit: {sequence!r}")
    try:
        code = body[:2].decode("ascii")
    except UnicodeDecodeError:
        raise UnknownCommand(f"command code is not ASCII: {body[:2]!r}") from None
    if code not in REQUEST_FIXED_LENGTH:
        raise UnknownCommand(f"unknown command {code!r}")
    fixed_len = REQUEST_FIXED_LENGTH[code]
    text = decode_text(body[2:], encoding)
    if len(text) < fixed_len:
        raise MalformedFrame(f"{code}: fixed part needs {fixed_len} characters, got {len(text)}")
    request = Request(code=code, fixed=text[:fixed_len], sequence=sequence, checksum=az)
    rest = text[fixed_len:]
    if code == "93":
        delimiter = login_delimiter(rest.rstrip("\r\n"))
    for piece in rest.split(delimiter):
        piece = piece.strip("\r\n")
        if len(piece) < 2:
            continue  # empty tail after the last delimiter, or a stray character
        request.fields.setdefault(piece[:2], []).append(piece[2:])
    return request


# -- responses --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """How one account wants its bytes: encoding, error detection, terminator, field delimiter."""

    encoding: str = "utf-8"
    error_detection: bool = True
    terminator: bytes = CR
    delimiter: str = DELIMITER


def build_response(
    code: str,
    fixed: str,
    fields: list[tuple[str, str | None]],
    wire: Wire,
    sequence: str | None,
) -> bytes:
    """Encode a response; ``None`` values are left out, values are cleaned and cut to 255 bytes."""
    out = bytearray(code.encode("ascii"))
    out += encode_text(fixed, wire.encoding)
    delimiter = wire.delimiter.encode("ascii")
    for field_id, value in fields:
        if value is None:
            continue
        value = truncate_encoded(clean_value(value, wire.delimiter), wire.encoding)
        out += field_id.encode("ascii") + encode_text(value, wire.encoding) + delimiter
    if wire.error_detection and sequence is not None:
        # "" = the request carried AZ without AY: answer with a checksum only.
        out += (b"AY" + sequence.encode("ascii") if sequence else b"") + b"AZ"
        out += checksum(bytes(out)).encode("ascii")
    return bytes(out) + wire.terminator


def resend_request(with_checksum: bool) -> bytes:
    """``96`` (request SC resend), with its constant checksum when error detection is on."""
    if with_checksum:
        return b"96AZ" + checksum(b"96AZ").encode("ascii") + CR
    return b"96" + CR
