"""ISO/IEC 15962 compaction schemes used by ISO 28560-2, and the ISIL 5/4-bit compaction.

Each scheme has ``encode_*`` (raising :class:`CompactionError`, a :class:`ValueError`, if the text does not
fit the scheme) and ``decode_*`` (raising :class:`InvalidFieldError` on bytes the scheme cannot produce).
:func:`compact` picks the shortest scheme that can hold a text.
"""

from __future__ import annotations

import base64
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
    value = 0
    for v in values:
        value = value << width | v
    nbits = len(values) * width
    extra = (-nbits) % 8
    if extra:
        pad = (pad_bits + "0" * 8)[:extra]
        value = value << extra | int(pad, 2)
        nbits += extra
    return value.to_bytes(nbits // 8, "big")


def _unpack(data: bytes, width: int) -> tuple[list[int], int, int]:
    """(values, leftover bits value, leftover bit count)."""
    nbits = len(data) * 8
    value = int.from_bytes(data, "big")
    n = nbits // width
    mask = (1 << width) - 1
    rest_len = nbits - n * width
    values = [(value >> (nbits - (i + 1) * width)) & mask for i in range(n)]
    return values, value & ((1 << rest_len) - 1), rest_len


_B32_INDEX = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", bytes(range(32)))
_B64_INDEX = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", bytes(range(64)))
_FIVE = bytes((v | 0x40) & 0xFF for v in range(256))
_SIX = bytes((v if v >= 0x20 else v | 0x40) & 0xFF for v in range(256))


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
    # base32 splits bytes into 5-bit groups in C; map its alphabet back to the group values
    nbits = len(data) * 8
    n, rest_len = divmod(nbits, 5)
    groups = base64.b32encode(data).translate(_B32_INDEX)
    values = groups[:n]
    rest = groups[n] >> (5 - rest_len) if rest_len else 0
    while values and values[-1] == 0 and rest_len + 5 < 8:
        rest_len += 5
        values = values[:-1]
    if not values or rest or 0 in values:
        raise InvalidFieldError(f"not a 5-bit compacted string: {data.hex()}", data=data)
    return values.translate(_FIVE).decode("ascii")


def encode_6bit(text: str) -> bytes:
    if not text or any(not 0x20 <= ord(c) <= 0x5F for c in text) or text.endswith(" "):
        raise CompactionError(f"6-bit compaction holds 0x20-0x5F without trailing spaces: {text!r}")
    return _pack([ord(c) & 0x3F for c in text], 6, "100000")


def decode_6bit(data: bytes) -> str:
    # base64 splits bytes into 6-bit groups in C; map its alphabet back to the group values
    nbits = len(data) * 8
    n, rest_len = divmod(nbits, 6)
    groups = base64.b64encode(data).translate(_B64_INDEX)
    values = groups[:n]
    rest = groups[n] >> (6 - rest_len) if rest_len else 0
    if values and values[-1] == 0x20 and rest_len + 6 < 8:
        rest |= 0x20 << rest_len
        rest_len += 6
        values = values[:-1]
    if not values or (rest_len and rest != 1 << (rest_len - 1)):
        raise InvalidFieldError(f"not a 6-bit compacted string: {data.hex()}", data=data)
    return values.translate(_SIX).decode("ascii")


def encode_7bit(text: str) -> bytes:
    if not text or any(ord(c) > 0x7E for c in text):
        raise CompactionError(f"7-bit compaction holds ASCII up to 0x7E: {text!r}")
    return _pack([ord(c) for c in text], 7, "1111111")


def decode_7bit(data: bytes) -> str:
    values, rest, rest_len = _unpack(data, 7)
    if values and values[-1] == 0x7F and rest_len + 7 < 8:
        rest |= 0x7F << rest_len
        rest_len += 7
        values.pop()
    if not values or rest != (1 << rest_len) - 1 or 0x7F in values:
        raise InvalidFieldError(f"not a 7-bit compacted string: {data.hex()}", data=data)
    return bytes(values).decode("ascii")


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


_SWITCH_BY_CODE: dict[tuple[int, int], tuple[int, bool]] = {}
for (_frm, _to), (_latch, _shift) in _SWITCH.items():
    _SWITCH_BY_CODE[(_frm, _latch)] = (_to, False)
    _SWITCH_BY_CODE[(_frm, _shift)] = (_to, True)


_TABLES = (_SETS[_UPPER], _SETS[_LOWER], _SETS[_NUMERIC])
_TABLE_SIZES = tuple(len(t) for t in _TABLES)


def decode_isil(data: bytes) -> str:
    total = len(data) * 8
    value = int.from_bytes(data, "big")
    pos, mode, out = 0, _UPPER, []
    shifted: int | None = None
    while pos < total:
        rest_len = total - pos
        if rest_len < 8 and shifted is None:
            ones = (1 << rest_len) - 1
            if value & ones == ones:
                break  # padding
        current = mode if shifted is None else shifted
        width = 4 if current == _NUMERIC else 5
        if rest_len < width:
            raise InvalidFieldError(f"ISIL compaction ends inside a character: {data.hex()}", data=data)
        pos += width
        code = (value >> (total - pos)) & (15 if width == 4 else 31)
        table = _TABLES[current]
        if code < _TABLE_SIZES[current]:
            out.append(table[code])
            shifted = None
            continue
        if shifted is not None:
            raise InvalidFieldError(f"ISIL compaction: switch code after a shift: {data.hex()}", data=data)
        target, is_shift = _SWITCH_BY_CODE[(current, code)]
        if is_shift:
            shifted = target
        else:
            mode = target
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


def _decode_octet(data: bytes) -> str:
    return _check_text(data.decode("latin-1"), data)


def _decode_utf8(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFieldError(f"not UTF-8: {data.hex()}", data=data) from exc
    return _check_text(text, data)


def _check_text(text: str, data: bytes) -> str:
    if not text.isprintable():
        # str.isprintable() also rejects separators other than space: check the strict rule only then
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
            raise InvalidFieldError(f"control characters in a text field: {data.hex()}", data=data)
    return text


def _decode_raw(data: bytes) -> str:
    return data.hex().upper()


_DECOMPACT = {
    0: _decode_raw,
    1: decode_integer,
    2: decode_numeric,
    3: decode_5bit,
    4: decode_6bit,
    5: decode_7bit,
    6: _decode_octet,
    7: _decode_utf8,
}


def decompact(scheme: int, data: bytes) -> str:
    """Bytes of ``scheme`` back to text (application-defined: hex)."""
    return _DECOMPACT[scheme & 7](data)
