"""3M "RFID501" (3M alphanumeric) tag data, 8 blocks of 4 bytes::

    block 0   0x04 | part << 4 | total | 0x00 | item type
    1-4       barcode, 16 bytes ASCII, NUL padded
    5         branch (12 bits) | library (20 bits), big-endian
    6         custom value, signed 32-bit big-endian
    7         00 00 00 00

A factory-fresh 3M tag holds 24 x 0x55 then zeros (see :mod:`edge.tags.detect`).
Branch, library, custom value and the raw item type live in ``LibraryTag.extra``.
"""

from __future__ import annotations

from ._text import ascii_field, check_byte, read_ascii
from .errors import EncodeError, InvalidFieldError, MissingFieldError, TruncatedDataError
from .model import LibraryTag

__all__ = ["FORMAT", "ITEM_TYPES", "decode", "encode", "looks_like"]

FORMAT = "3m-rfid501"

ITEM_TYPES: dict[int, str] = {
    0: "other",
    1: "book",
    2: "magazine",
    3: "bound journal",
    4: "audio tape",
    5: "video",
    6: "CD/CD-ROM",
    7: "diskette",
    8: "book with diskette",
    9: "book with CD",
    13: "book with audio tape",
}
# 3M item type -> ISO 28560-3 media format, and back
_TO_MEDIA = {0: 4, 1: 1, 2: 1, 3: 1, 4: 3, 5: 3, 6: 2, 7: 4, 8: 4, 9: 4, 13: 4}
_FROM_MEDIA = {0: 0, 1: 1, 2: 6, 3: 4, 4: 0, 5: 0, 6: 0}
_HOLDABLE = {"primary_item_id", "parts_in_set", "part_number", "media_format", "set_information"}


def looks_like(data: bytes) -> bool:
    return len(data) >= 4 and data[0] == 0x04 and data[2] == 0x00


def decode(data: bytes) -> LibraryTag:
    data = bytes(data)
    if len(data) < 28:
        raise TruncatedDataError(f"RFID501 needs 7 blocks (28 bytes), got {len(data)}", data=data)
    if not looks_like(data):
        raise InvalidFieldError(f"RFID501 block 0 must be 04 xx 00 xx, got {data[:4].hex()}", data=data[:4])
    part, total = data[1] >> 4, data[1] & 0x0F
    if total == 0 or part == 0 or part > total:
        raise InvalidFieldError(f"RFID501 set byte 0x{data[1]:02X}: part {part} of {total}", data=data[:4])
    item_type = data[3]
    if item_type not in ITEM_TYPES:
        raise InvalidFieldError(f"RFID501 item type {item_type} is not defined", data=data[:4])
    barcode = read_ascii(data[4:20])
    if not barcode:
        raise InvalidFieldError(f"RFID501 barcode is not ASCII: {data[4:20].hex()}", data=data[4:20])
    word = int.from_bytes(data[20:24], "big")
    custom = int.from_bytes(data[24:28], "big", signed=True)
    if len(data) >= 32 and data[28:32] != b"\x00\x00\x00\x00":
        raise InvalidFieldError(f"RFID501 block 7 must be zero: {data[28:32].hex()}", data=data[28:32])
    extra = {
        "item_type": str(item_type),
        "branch": str(word >> 20),
        "library": str(word & 0xFFFFF),
        "custom": str(custom),
    }
    return LibraryTag._trusted(
        format=FORMAT,
        primary_item_id=barcode,
        parts_in_set=total,
        part_number=part,
        media_format=_TO_MEDIA[item_type],
        extra=tuple(sorted(extra.items())),
    )


def _int_extra(extras: dict[str, str], name: str, default: int) -> int:
    text = extras.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError as exc:
        raise EncodeError(FORMAT, f"extra.{name}", text, "not an integer") from exc


def encode(tag: LibraryTag, *, block_size: int = 4) -> bytes:
    present = tag.present()
    for name in present:
        if name not in _HOLDABLE:
            raise EncodeError(FORMAT, name, present[name], "the 3M RFID501 format has no field for it")
    if not tag.primary_item_id:
        raise MissingFieldError(FORMAT, "primary_item_id", tag.primary_item_id, "mandatory")
    barcode = ascii_field(FORMAT, "primary_item_id", tag.primary_item_id, 16)
    total = check_byte(FORMAT, "parts_in_set", tag.parts_in_set or 1, 1, 15)
    part = check_byte(FORMAT, "part_number", tag.part_number or 1, 1, 15)
    if part > total:
        raise EncodeError(FORMAT, "part_number", part, f"greater than parts_in_set {total}")
    if tag.set_information is not None and tag.set_information not in (
        f"{total}{part}",
        f"{total:02d}{part:02d}",
    ):
        raise EncodeError(FORMAT, "set_information", tag.set_information, "disagrees with the parts")
    extras = dict(tag.extra)
    if "item_type" in extras:
        item_type = _int_extra(extras, "item_type", 1)
        if item_type not in ITEM_TYPES:
            raise EncodeError(FORMAT, "extra.item_type", item_type, "not a 3M item type")
    elif tag.media_format is not None:
        if tag.media_format not in _FROM_MEDIA:
            raise EncodeError(FORMAT, "media_format", tag.media_format, "no matching 3M item type")
        item_type = _FROM_MEDIA[tag.media_format]
    else:
        item_type = 1
    if tag.media_format is not None and _TO_MEDIA[item_type] != tag.media_format and "item_type" in extras:
        raise EncodeError(FORMAT, "media_format", tag.media_format, f"disagrees with item type {item_type}")
    branch = _int_extra(extras, "branch", 0)
    library = _int_extra(extras, "library", 0)
    custom = _int_extra(extras, "custom", 0)
    if not 0 <= branch < 1 << 12:
        raise EncodeError(FORMAT, "extra.branch", branch, "12 bits")
    if not 0 <= library < 1 << 20:
        raise EncodeError(FORMAT, "extra.library", library, "20 bits")
    if not -(1 << 31) <= custom < 1 << 31:
        raise EncodeError(FORMAT, "extra.custom", custom, "signed 32 bits")
    out = bytes((0x04, part << 4 | total, 0x00, item_type)) + barcode
    out += (branch << 20 | library).to_bytes(4, "big") + custom.to_bytes(4, "big", signed=True) + bytes(4)
    return out + bytes((-len(out)) % block_size)
