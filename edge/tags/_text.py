"""Small helpers shared by the format modules."""

from __future__ import annotations

from .errors import EncodeError, FieldTooLongError, UnencodableCharacterError


def ascii_field(fmt: str, name: str, value: str, size: int) -> bytes:
    """``value`` as printable ASCII, NUL-padded to ``size`` bytes."""
    for ch in value:
        if not 0x20 <= ord(ch) <= 0x7E:
            raise UnencodableCharacterError(fmt, name, value, f"character {ch!r} is not printable ASCII")
    raw = value.encode("ascii")
    if len(raw) > size:
        raise FieldTooLongError(fmt, name, value, f"{len(raw)} characters, the field holds {size}")
    return raw + bytes(size - len(raw))


def read_ascii(raw: bytes) -> str | None:
    """NUL-padded printable ASCII, or None if the bytes are not that (NUL inside, control bytes)."""
    end = raw.find(0)
    if end >= 0:
        if raw.count(0, end) != len(raw) - end:
            return None
        raw = raw[:end]
    if not raw.isascii():
        return None
    text = raw.decode("ascii")
    return text if text.isprintable() else None


def check_byte(fmt: str, name: str, value: int, lo: int, hi: int) -> int:
    if not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(fmt, name, value, f"must be an integer {lo}..{hi}")
    return value
