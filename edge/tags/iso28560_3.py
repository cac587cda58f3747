"""ISO 28560-3 fixed-length encoding (the Danish data model): basic block plus extension blocks.

Basic block (34 bytes, or 32 on small tags)::

    0      version (high nibble, 1) | type of usage (low nibble)
    1      parts in set (total)          2   part number
    3-18   primary item identifier, ASCII, NUL padded (byte 3 = 0x01: the id is in extension block 1)
    19-20  CRC-16/CCITT-FALSE over bytes 0-18 + 21-33 (32-byte form: + two 0x00), stored LSB first
    21-22  owner ISIL country prefix     23-33  rest of the ISIL without the hyphen, NUL padded

Extension blocks follow at byte 34 (32): ``length | block id (16-bit LSB first; high byte 0xFF: 24-bit,
bytes LSB, 0xFF, middle, MSB) | XOR checksum | fields``. Fields are NUL terminated except the first byte of
block 1 (media format); a block may end after any field. Length 0 ends the data, length 1 is a filler byte.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.iso15693.crc import crc16_ccitt_false

from ._text import ascii_field, check_byte, read_ascii
from .errors import (
    ChecksumError,
    EncodeError,
    FieldTooLongError,
    InvalidFieldError,
    MissingFieldError,
    TruncatedDataError,
    UnencodableCharacterError,
)
from .model import LibraryTag

__all__ = ["FORMAT", "decode", "encode", "basic_block_crc", "EXTENSION_BLOCKS", "looks_like"]

FORMAT = "iso28560-3"
VERSION = 1

# block id -> field names in their fixed order ("media_format" is one fixed byte, the rest NUL terminated)
EXTENSION_BLOCKS: dict[int, tuple[str, ...]] = {
    1: ("media_format", "primary_item_id", "owner_isil"),
    2: (
        "supplier_id",
        "product_id_local",
        "order_number",
        "supplier_invoice_number",
        "gs1_product_id",
        "supply_chain_stage",
    ),
    3: ("shelf_location", "marc_media_format", "onix_media_format", "subsidiary_of_owner"),
    4: ("title",),
    5: ("ill_borrowing_isil", "ill_transaction_number", "alternative_ill_borrowing_isil"),
}
_EXT_FIELDS = {name for names in EXTENSION_BLOCKS.values() for name in names}
_HOLDABLE = _EXT_FIELDS | {"type_of_usage", "parts_in_set", "part_number", "set_information"}


def basic_block_crc(block: bytes) -> int:
    """CRC of a 32- or 34-byte basic block (bytes 19-20 skipped, short blocks zero-padded to 34)."""
    body = bytes(block[:19]) + bytes(block[21:34])
    return crc16_ccitt_false(body + bytes(32 - len(body)))


def _stored_crc(block: bytes) -> int:
    return block[19] | block[20] << 8


def looks_like(data: bytes) -> bool:
    """Cheap test: version nibble 1 or 2 and the CRC at bytes 19-20 matches (34- or 32-byte form)."""
    return len(data) >= 32 and data[0] >> 4 in (1, 2) and _basic_size(data) > 0


def _basic_size(data: bytes) -> int:
    """34 or 32 when the stored CRC matches that form of the basic block, else 0."""
    if len(data) < 32:
        return 0
    stored = data[19] | data[20] << 8
    head = data[:19]
    if len(data) >= 34 and crc16_ccitt_false(head + data[21:34]) == stored:
        return 34
    if crc16_ccitt_false(head + data[21:32] + b"\x00\x00") == stored:
        return 32
    return 0


def _isil_parts(country: bytes, library: bytes) -> str | None:
    c = read_ascii(country)
    lib = read_ascii(library)
    if c is None or lib is None:
        raise InvalidFieldError(f"owner ISIL bytes are not ASCII: {(country + library).hex()}", data=country)
    if not c and not lib:
        return None
    if not c:
        raise InvalidFieldError(f"owner library without country: {library.hex()}", data=library)
    return f"{c}-{lib}" if lib else c


def decode(data: bytes) -> LibraryTag:
    """Decode a basic block and its extension blocks; raise a :class:`TagFormatError` if it is not one."""
    data = bytes(data)
    if len(data) < 32:
        raise TruncatedDataError(f"ISO 28560-3 needs at least 32 bytes, got {len(data)}", data=data)
    size = _basic_size(data)
    if not size:
        stored = _stored_crc(data)
        raise ChecksumError(
            f"ISO 28560-3 CRC mismatch: stored 0x{stored:04X}, computed 0x{basic_block_crc(data[:34]):04X}",
            data=data[:34],
        )
    block = data[:size]
    version, usage = block[0] >> 4, block[0] & 0x0F
    if version not in (1, 2):
        raise InvalidFieldError(f"ISO 28560-3 version nibble {version} (expected 1)", data=block[:1])
    parts, part = block[1], block[2]
    pii: str | None
    long_pii = block[3] == 0x01 and not block[4:19].strip(b"\x00")
    if long_pii:
        pii = None
    else:
        pii = read_ascii(block[3:19])
        if pii is None:
            raise InvalidFieldError(f"primary item id is not ASCII: {block[3:19].hex()}", data=block[3:19])
    country, library = block[21:23], block[23:size]
    if country.strip(b"\x00") and not all(0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A for b in country):
        raise InvalidFieldError(f"ISIL country prefix is not letters: {country.hex()}", data=country)
    isil = _isil_parts(country, library)
    fields: dict[str, object] = {
        "format": FORMAT,
        "version": version,
        "type_of_usage": usage,
        "parts_in_set": parts,
        "part_number": part,
        "primary_item_id": pii,
        "owner_isil": isil,
    }
    extra: dict[str, str] = {}
    _decode_extensions(data, size, fields, extra)
    if long_pii and fields.get("primary_item_id") is None:
        raise InvalidFieldError("byte 3 = 0x01 but no library extension block holds the item id", data=block)
    fields["extra"] = tuple(sorted(extra.items()))
    return LibraryTag._trusted(**fields)


def _decode_extensions(data: bytes, pos: int, fields: dict[str, object], extra: dict[str, str]) -> None:
    while pos < len(data):
        length = data[pos]
        if length == 0:
            return
        if length == 1:
            pos += 1
            continue
        if pos + length > len(data):
            # the read stopped inside a block: keep the basic block, say so
            extra["extension_incomplete"] = data[pos:].hex()
            return
        blk = data[pos : pos + length]
        if length < 4:
            raise TruncatedDataError(f"extension block shorter than its header: {blk.hex()}", data=blk)
        x = 0
        for b in blk:
            x ^= b
        if x:
            raise ChecksumError(f"extension block XOR checksum mismatch: {blk.hex()}", data=blk)
        if blk[2] == 0xFF:
            if length < 6:
                raise TruncatedDataError(f"24-bit extension block too short: {blk.hex()}", data=blk)
            block_id = blk[1] | blk[3] << 8 | blk[4] << 16
            body = blk[6:]
        else:
            block_id = blk[1] | blk[2] << 8
            body = blk[4:]
        names = EXTENSION_BLOCKS.get(block_id)
        if names is None:
            extra[f"extension_block_{block_id}"] = body.hex()
        else:
            _decode_fields(block_id, names, body, fields)
        pos += length


def _decode_fields(block_id: int, names: Sequence[str], body: bytes, fields: dict[str, object]) -> None:
    i = 0
    for name in names:
        if i >= len(body):
            return  # truncated block: the remaining fields are absent
        if name == "media_format":
            fields[name] = body[i] or None  # 0 = undefined
            i += 1
            continue
        end = body.find(0, i)
        if end < 0:
            raise TruncatedDataError(
                f"extension block {block_id}: field {name} is not NUL terminated: {body[i:].hex()}", data=body
            )
        raw = body[i:end]
        i = end + 1
        if not raw:
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidFieldError(f"extension field {name} is not UTF-8: {raw.hex()}", data=raw) from exc
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
            raise InvalidFieldError(f"extension field {name} has control characters: {raw.hex()}", data=raw)
        if name == "primary_item_id" and fields.get("primary_item_id") is not None:
            raise InvalidFieldError("item id both in the basic block and in extension block 1", data=raw)
        if name == "owner_isil" and fields.get("owner_isil") is not None and fields["owner_isil"] != text:
            raise InvalidFieldError(f"two different owner ISILs: {fields['owner_isil']} / {text}", data=raw)
        fields[name] = text


def _split_isil(isil: str, room: int) -> tuple[bytes, bytes] | None:
    """Country and library bytes for the basic block, or None if the ISIL only fits an extension block."""
    prefix, sep, rest = isil.partition("-")
    if not sep or len(prefix) != 2 or not prefix.isascii() or not prefix.isalpha():
        return None
    if len(rest) > room or not rest.isascii():
        return None
    return prefix.encode("ascii"), rest.encode("ascii") + bytes(room - len(rest))


def _check_isil(name: str, isil: str) -> None:
    for ch in isil:
        if not (ch.isascii() and (ch.isalnum() or ch in "-:/")):
            raise UnencodableCharacterError(FORMAT, name, isil, f"character {ch!r} is not allowed in an ISIL")
    if len(isil) > 16:
        raise FieldTooLongError(FORMAT, name, isil, "an ISIL has at most 16 characters")


def encode(tag: LibraryTag, *, block_size: int = 4, truncated: bool = False) -> bytes:
    """Basic block (34 bytes, 32 if ``truncated``) + extension blocks + end byte, padded to ``block_size``."""
    present = tag.present()
    for name in present:
        if name not in _HOLDABLE:
            raise EncodeError(FORMAT, name, present[name], "ISO 28560-3 has no field for it")
    pii = tag.primary_item_id
    if not pii:
        raise MissingFieldError(FORMAT, "primary_item_id", pii, "the primary item identifier is mandatory")
    usage = check_byte(FORMAT, "type_of_usage", 1 if tag.type_of_usage is None else tag.type_of_usage, 0, 15)
    parts, part = _parts(tag)
    size = 32 if truncated else 34
    block = bytearray(size)
    block[0] = VERSION << 4 | usage
    block[1], block[2] = parts, part
    ext1: dict[str, object] = {}
    if len(pii) <= 16:
        block[3:19] = ascii_field(FORMAT, "primary_item_id", pii, 16)
    else:
        if len(pii.encode("utf-8")) > 200:
            raise FieldTooLongError(FORMAT, "primary_item_id", pii, "too long for an extension block")
        ascii_field(FORMAT, "primary_item_id", pii, len(pii))  # character check
        block[3] = 0x01
        ext1["primary_item_id"] = pii
    if tag.owner_isil:
        _check_isil("owner_isil", tag.owner_isil)
        split = _split_isil(tag.owner_isil, size - 23)
        if split is None:
            ext1["owner_isil"] = tag.owner_isil
        else:
            block[21:23], block[23:size] = split
    if tag.media_format is not None:
        ext1["media_format"] = check_byte(FORMAT, "media_format", tag.media_format, 0, 255)
    crc = basic_block_crc(bytes(block))
    block[19], block[20] = crc & 0xFF, crc >> 8
    out = bytearray(block)
    for block_id, names in EXTENSION_BLOCKS.items():
        if block_id == 1:
            if ext1:
                out += _extension_block(1, names, ext1)
        elif any(n in present for n in names):
            out += _extension_block(block_id, names, present)
    if len(out) > size:
        out.append(0)  # end block
    pad = (-len(out)) % block_size
    return bytes(out + bytes(pad))


def _parts(tag: LibraryTag) -> tuple[int, int]:
    parts, part = tag.parts_in_set, tag.part_number
    if tag.set_information is not None:
        si = tag.set_information
        if len(si) % 2 or not si.isdigit():
            raise EncodeError(FORMAT, "set_information", si, "expected total and part digits, e.g. '0201'")
        total, number = int(si[: len(si) // 2]), int(si[len(si) // 2 :])
        if (parts is not None and parts != total) or (part is not None and part != number):
            raise EncodeError(FORMAT, "set_information", si, "disagrees with parts_in_set/part_number")
        parts, part = total, number
    parts = check_byte(FORMAT, "parts_in_set", 1 if parts is None else parts, 1, 255)
    part = check_byte(FORMAT, "part_number", 1 if part is None else part, 1, 255)
    if part > parts:
        raise EncodeError(FORMAT, "part_number", part, f"greater than parts_in_set {parts}")
    return parts, part


def _extension_block(block_id: int, names: Sequence[str], values: dict[str, object]) -> bytes:
    body = bytearray()
    last = max(i for i, n in enumerate(names) if values.get(n) is not None)
    for name in names[: last + 1]:
        value = values.get(name)
        if name == "media_format":
            body.append(int(value) if isinstance(value, int) else 0)
            continue
        text = "" if value is None else str(value)
        raw = text.encode("utf-8")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
            raise UnencodableCharacterError(FORMAT, name, text, "control characters cannot be stored")
        body += raw + b"\x00"
    length = 4 + len(body)
    if length > 255:
        raise FieldTooLongError(FORMAT, names[last], values.get(names[last]), "extension block over 255 bytes")
    blk = bytearray((length, block_id & 0xFF, block_id >> 8, 0)) + body
    x = 0
    for b in blk:
        x ^= b
    blk[3] = x
    return bytes(blk)
