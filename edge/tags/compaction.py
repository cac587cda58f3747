"""ISO/IEC 15962 compaction schemes used by ISO 28560-2, and the ISIL 5/4-bit compaction.

Each scheme has ``encode_*`` (raising :class:`CompactionError`, a :class:`ValueError`, if the text does not
fit the scheme) and ``decode_*`` (raising :class:`InvalidFieldError` on bytes the scheme cannot produce).
:func:`compact` picks the shortest scheme that can hold a text.
"""

from __future__ import annotations

from enum import IntEnum

from .errors import InvalidFieldError

__all__ = [
    "Compaction",
    "CompactionError",
    "compact",
    "decompact",
    "encode_integer",
    "decode_integer",
    "encode_numeric",
    "decode_numeric",
    "encode_5bit",
    "decode_5bit",
    "encode_6bit",
    "decode_6bit",
    "encode_7bit",
    "decode_7bit",
    "encode_isil",
    "decode_isil",
    "ISIL_CHARACTERS",
]


class Compaction(IntEnum):
    APPLICATION_DEFINED = 0
    INTEGER = 1
    NUMERIC = 2
    FIVE_BIT = 3
    SIX_BIT = 4
    SEVEN_BIT = 5
    OCTET = 6
    UTF8 = 7


class CompactionError(ValueError):
    """The text cannot be written with this compaction scheme."""


def _pack(values: list[int], width: int, pad_bits: str) -> bytes:
    bits = "".join(format(v, f"0{width}b") for v in values)
    extra = (-len(bits)) % 8
    bits += pad_bits[:extra] if len(pad_bits) >= extra else pad_bits + "0" * (extra - len(pad_bits))
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _unpack(data: bytes, width: int) -> tuple[list[int], str]:
    bits = "".join(format(b, "08b") for b in data)
    n = len(bits) // width
    return [int(bits[i * width : (i + 1) * width], 2) for i in range(n)], bits[n * width :]


# -- integer ---------------------------------------------------------------------------------------------


def encode_integer(text: str) -> bytes:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0") or len(text) > 19:
        raise CompactionError(f"integer compaction needs 1-19 digits without a leading zero: {text!r}")
    value = int(text)
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def decode_integer(data: bytes) -> str:
    if not data or len(data) > 8:
        raise InvalidFieldError(f"integer compaction of {len(data)} bytes", data=data)
    if len(data) > 1 and data[0] == 0:
        raise InvalidFieldError(f"integer with a leading zero byte: {data.hex()}", data=data)
    return str(int.from_bytes(data, "big"))


# -- numeric (BCD) ---------------------------------------------------------------------------------------


def encode_numeric(text: str) -> bytes:
    if not text or not text.isascii() or not text.isdigit():
        raise CompactionError(f"numeric compaction needs digits: {text!r}")
    digits = text + ("F" if len(text) % 2 else "")
    return bytes.fromhex(digits)


def decode_numeric(data: bytes) -> str:
    text = data.hex().upper()
    if text.endswith("F"):
        text = text[:-1]
    if not text or not text.isdigit():
        raise InvalidFieldError(f"not BCD digits: {data.hex()}", data=data)
    return text


# -- 5-bit, 6-bit, 7-bit ---------------------------------------------------------------------------------


def encode_5bit(text: str) -> bytes:
    if not text or any(not 0x41 <= ord(c) <= 0x5F for c in text):
        raise CompactionError(f"5-bit compaction holds A-Z [\\]^_ only: {text!r}")
    return _pack([ord(c) & 0x1F for c in text], 5, "")


def decode_5bit(data: bytes) -> str:
    values, rest = _unpack(data, 5)
    while values and values[-1] == 0 and len(rest) + 5 < 8:
        rest = "00000" + rest
        values.pop()
    if not values or "1" in rest or 0 in values:
        raise InvalidFieldError(f"not a 5-bit compacted string: {data.hex()}", data=data)
    return "".join(chr(v | 0x40) for v in values)


def encode_6bit(text: str) -> bytes:
    if not text or any(not 0x20 <= ord(c) <= 0x5F for c in text) or text.endswith(" "):
        raise CompactionError(f"6-bit compaction holds 0x20-0x5F without trailing spaces: {text!r}")
    return _pack([ord(c) & 0x3F for c in text], 6, "100000")


def decode_6bit(data: bytes) -> str:
    values, rest = _unpack(data, 6)
    if values and values[-1] == 0x20 and len(rest) + 6 < 8:
        rest = "100000" + rest
        values.pop()
    if not values or (rest and rest != "1" + "0" * (len(rest) - 1)):
        raise InvalidFieldError(f"not a 6-bit compacted string: {data.hex()}", data=data)
    return "".join(chr(v if v >= 0x20 else v | 0x40) for v in values)


def encode_7bit(text: str) -> bytes:
    if not text or any(ord(c) > 0x7E for c in text):
        raise CompactionError(f"7-bit compaction holds ASCII up to 0x7E: {text!r}")
    return _pack([ord(c) for c in text], 7, "1111111")


def decode_7bit(data: bytes) -> str:
    values, rest = _unpack(data, 7)
    if values and values[-1] == 0x7F and len(rest) + 7 < 8:
        rest = "1111111" + rest
        values.pop()
    if not values or "0" in rest or 0x7F in values:
        raise InvalidFieldError(f"not a 7-bit compacted string: {data.hex()}", data=data)
    return "".join(map(chr, values))


# -- ISIL ------------------------------------------------------------------------------------------------

_UPPER, _LOWER, _NUMERIC = 0, 1, 2
_SETS: dict[int, str] = {
    _UPPER: "-ABCDEFGHIJKLMNOPQRSTUVWXYZ:",
    _LOWER: "-abcdefghijklmnopqrstuvwxyz/",
    _NUMERIC: "0123456789-:",
}
ISIL_CHARACTERS = frozenset("".join(_SETS.values()))
# (latch, shift) codes to reach set `to` from set `frm`
_SWITCH: dict[tuple[int, int], tuple[int, int]] = {
    (_UPPER, _LOWER): (0b11100, 0b11101),
    (_UPPER, _NUMERIC): (0b11110, 0b11111),
    (_LOWER, _UPPER): (0b11100, 0b11101),
    (_LOWER, _NUMERIC): (0b11110, 0b11111),
    (_NUMERIC, _UPPER): (0b1100, 0b1101),
    (_NUMERIC, _LOWER): (0b1110, 0b1111),
}


def _width(mode: int) -> int:
    return 4 if mode == _NUMERIC else 5


def _home(ch: str, mode: int) -> int:
    if ch in _SETS[mode]:
        return mode
    for candidate in (_UPPER, _LOWER, _NUMERIC):
        if ch in _SETS[candidate]:
            return candidate
    raise CompactionError(f"character {ch!r} cannot be held by ISIL compaction")


def encode_isil(text: str) -> bytes:
    """ISIL compaction: 5-bit upper/lower sets and a 4-bit numeric set with shift and latch codes."""
    if not text:
        raise CompactionError("empty ISIL")
    bits: list[str] = []
    mode = _UPPER
    for i, ch in enumerate(text):
        target = _home(ch, mode)
        if target != mode:
            latch, shift = _SWITCH[(mode, target)]
            following = text[i + 1 : i + 2]
            stay = bool(following) and following in _SETS[target] and following not in _SETS[mode]
            bits.append(format(latch if stay else shift, f"0{_width(mode)}b"))
            if stay:
                mode = target
            bits.append(format(_SETS[target].index(ch), f"0{_width(target)}b"))
            continue
        bits.append(format(_SETS[mode].index(ch), f"0{_width(mode)}b"))
    joined = "".join(bits)
    joined += "1" * ((-len(joined)) % 8)
    return int(joined, 2).to_bytes(len(joined) // 8, "big")


def decode_isil(data: bytes) -> str:
    bits = "".join(format(b, "08b") for b in data)
    pos, mode, out = 0, _UPPER, []
    shifted: int | None = None
    while pos < len(bits):
        rest = bits[pos:]
        if len(rest) < 8 and "0" not in rest and shifted is None:
            break  # padding
        current = mode if shifted is None else shifted
        width = _width(current)
        if len(rest) < width:
            raise InvalidFieldError(f"ISIL compaction ends inside a character: {data.hex()}", data=data)
        value = int(rest[:width], 2)
        pos += width
        table = _SETS[current]
        if value < len(table):
            out.append(table[value])
            shifted = None
            continue
        if shifted is not None:
            raise InvalidFieldError(f"ISIL compaction: switch code after a shift: {data.hex()}", data=data)
        for (frm, to), (latch, shift) in _SWITCH.items():
            if frm == current and value in (latch, shift):
                if value == latch:
                    mode = to
                else:
                    shifted = to
                break
        else:
            raise InvalidFieldError(f"ISIL compaction: undefined code {value}: {data.hex()}", data=data)
    if shifted is not None or not out:
        raise InvalidFieldError(f"ISIL compaction ends after a shift code: {data.hex()}", data=data)
    return "".join(out)


# -- choosing --------------------------------------------------------------------------------------------

_ENCODERS = (
    (Compaction.INTEGER, encode_integer),
    (Compaction.NUMERIC, encode_numeric),
    (Compaction.FIVE_BIT, encode_5bit),
    (Compaction.SIX_BIT, encode_6bit),
    (Compaction.SEVEN_BIT, encode_7bit),
)


def compact(text: str, *, utf8: bool = False) -> tuple[Compaction, bytes]:
    """The shortest (scheme, bytes) for ``text``; ``utf8`` forces UTF-8 (what GB/T 35660 does for titles)."""
    if not text:
        raise CompactionError("empty text cannot be compacted")
    if utf8:
        return Compaction.UTF8, text.encode("utf-8")
    best: tuple[Compaction, bytes] | None = None
    for scheme, encoder in _ENCODERS:
        try:
            raw = encoder(text)
        except CompactionError:
            continue
        if decompact(scheme, raw) != text:
            continue
        if best is None or len(raw) < len(best[1]):
            best = (scheme, raw)
    if best is not None:
        return best
    try:
        return Compaction.OCTET, text.encode("latin-1")
    except UnicodeEncodeError:
        return Compaction.UTF8, text.encode("utf-8")


def decompact(scheme: int, data: bytes) -> str:
    """Bytes of ``scheme`` back to text (application-defined: hex)."""
    if scheme == Compaction.INTEGER:
        return decode_integer(data)
    if scheme == Compaction.NUMERIC:
        return decode_numeric(data)
    if scheme == Compaction.FIVE_BIT:
        return decode_5bit(data)
    if scheme == Compaction.SIX_BIT:
        return decode_6bit(data)
    if scheme == Compaction.SEVEN_BIT:
        return decode_7bit(data)
    if scheme == Compaction.OCTET:
        text = data.decode("latin-1")
    elif scheme == Compaction.UTF8:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidFieldError(f"not UTF-8: {data.hex()}", data=data) from exc
    else:
        return data.hex().upper()
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
        raise InvalidFieldError(f"control characters in a text field: {data.hex()}", data=data)
    return text
