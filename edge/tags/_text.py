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
    text, pad = (raw, b"") if end < 0 else (raw[:end], raw[end:])
    if pad.strip(b"\x00"):
        return None
    if any(not 0x20 <= b <= 0x7E for b in text):
        return None
    return text.decode("ascii")


def check_byte(fmt: str, name: str, value: int, lo: int, hi: int) -> int:
    if not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(fmt, name, value, f"must be an integer {lo}..{hi}")
    return value
