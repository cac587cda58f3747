"""ISO 28560-2 encoding (ISO/IEC 15962 data sets without directory, DSFID 0x06).

Memory is a chain of data sets from block 0::

    precursor | [OID extension if OID nibble = 0xF] | [offset if bit 7] | length | data | offset x 0x00

precursor bit 7 = offset byte present, bits 6-4 = compaction scheme, bits 3-0 = relative OID (1-14; 15 means
``15 + next byte``). A 0x00 precursor (or the end of memory) ends the chain. OID 1 (primary item identifier)
comes first; OID 2 (content parameter) is a bit map of the other OIDs present, MSB of its first byte = OID 3.
OIDs 3, 11, 23 and 25 hold ISILs in the ISIL compaction (scheme 0).
"""

from __future__ import annotations

from .compaction import Compaction, CompactionError, compact, decode_isil, decompact, encode_isil
from .errors import (
    EncodeError,
    FieldTooLongError,
    InvalidFieldError,
    MissingFieldError,
    TruncatedDataError,
    UnencodableCharacterError,
)
from .model import LibraryTag

__all__ = ["FORMAT", "DSFID", "OIDS", "decode", "encode", "looks_like", "content_oids"]

FORMAT = "iso28560-2"
DSFID = 0x06

OIDS: dict[int, str] = {
    1: "primary_item_id",
    3: "owner_isil",
    4: "set_information",
    5: "type_of_usage",
    6: "shelf_location",
    7: "onix_media_format",
    8: "marc_media_format",
    9: "supplier_id",
    10: "order_number",
    11: "ill_borrowing_isil",
    12: "ill_transaction_number",
    13: "gs1_product_id",
    14: "alternative_unique_item_id",
    15: "local_data_a",
    16: "local_data_b",
    17: "title",
    18: "product_id_local",
    19: "media_format_other",
    20: "supply_chain_stage",
    21: "supplier_invoice_number",
    22: "alternative_item_id",
    23: "alternative_owner_isil",
    24: "subsidiary_of_owner",
    25: "alternative_ill_borrowing_isil",
    26: "local_data_c",
}
_BY_NAME = {name: oid for oid, name in OIDS.items()}
_ISIL_OIDS = {3, 11, 23, 25}
_HOLDABLE = set(_BY_NAME) | {"usage_qualifier", "parts_in_set", "part_number"}


def looks_like(data: bytes) -> bool:
    return bool(data) and data[0] & 0x0F == 1 and data[0] != 0


def _read_sets(data: bytes) -> list[tuple[int, int, bytes]]:
    """(oid, compaction, raw data) per data set."""
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    n = len(data)
    while pos < n:
        precursor = data[pos]
        if precursor == 0:
            break
        start = pos
        pos += 1
        oid = precursor & 0x0F
        if oid == 0x0F:
            if pos >= n:
                raise TruncatedDataError(f"OID extension byte missing at {start}", data=data[start:])
            oid = 15 + data[pos]
            pos += 1
        offset = 0
        if precursor & 0x80:
            if pos >= n:
                raise TruncatedDataError(f"offset byte missing at {start}", data=data[start:])
            offset = data[pos]
            pos += 1
        if pos >= n:
            raise TruncatedDataError(f"length byte missing at {start}", data=data[start:])
        length = data[pos]
        pos += 1
        if length == 0:
            raise InvalidFieldError(f"data set of OID {oid} with length 0 at {start}", data=data[start:pos])
        end = pos + length
        if end + offset > n:
            raise TruncatedDataError(
                f"data set of OID {oid} at {start} needs {end + offset - start} bytes", data=data[start:]
            )
        if offset and data[end : end + offset].count(0) != offset:
            raise InvalidFieldError(f"non-zero offset padding after OID {oid}", data=data[end : end + offset])
        out.append((oid, (precursor >> 4) & 0x07, data[pos:end]))
        pos = end + offset
    return out


def decode(data: bytes) -> LibraryTag:
    data = bytes(data)
    if not looks_like(data):
        raise InvalidFieldError(
            f"ISO 28560-2 starts with the primary item identifier (OID 1), got {data[:1].hex()}",
            data=data[:4],
        )
    fields: dict[str, object] = {"format": FORMAT}
    extra: dict[str, str] = {}
    sets = _read_sets(data)
    if len({s[0] for s in sets}) != len(sets):
        oids = [s[0] for s in sets]
        raise InvalidFieldError(f"an OID appears twice: {oids}", data=data)
    for oid, scheme, raw in sets:
        if oid == 2:
            extra["content_parameter"] = raw.hex().upper()
            extra["content_oids"] = ",".join(str(o) for o in content_oids(raw))
            continue
        if oid == 5:
            _decode_usage(scheme, raw, fields)
            continue
        value = decode_isil(raw) if scheme == 0 and oid in _ISIL_OIDS else decompact(scheme, raw)
        name = OIDS.get(oid)
        if name is None:
            extra[f"oid_{oid}"] = value
        else:
            fields[name] = value
    if not fields.get("primary_item_id"):
        raise InvalidFieldError("no primary item identifier", data=data[:8])
    si = fields.get("set_information")
    if isinstance(si, str) and si.isdigit() and len(si) % 2 == 0:
        half = len(si) // 2
        fields["parts_in_set"], fields["part_number"] = int(si[:half]), int(si[half:])
    fields["extra"] = tuple(sorted(extra.items()))
    return LibraryTag._trusted(**fields)


def content_oids(bitmap: bytes) -> list[int]:
    """OIDs a content parameter says are present (most significant bit of the first byte = OID 3)."""
    value = int.from_bytes(bitmap, "big")
    nbits = len(bitmap) * 8
    return [3 + i for i in range(nbits) if value >> (nbits - 1 - i) & 1]


def _decode_usage(scheme: int, raw: bytes, fields: dict[str, object]) -> None:
    if scheme == Compaction.APPLICATION_DEFINED and len(raw) == 1:
        value = raw[0]
    else:
        text = decompact(scheme, raw)
        try:
            value = int(text, 16)
        except ValueError as exc:
            raise InvalidFieldError(f"type of usage is not hex digits: {text!r}", data=raw) from exc
        if not 0 <= value <= 0xFF:
            raise InvalidFieldError(f"type of usage out of range: {text!r}", data=raw)
    fields["type_of_usage"], fields["usage_qualifier"] = value >> 4, value & 0x0F


def _data_set(oid: int, scheme: int, raw: bytes, *, align: int = 0, at: int = 0) -> bytes:
    if len(raw) > 255:
        raise FieldTooLongError(FORMAT, OIDS.get(oid, str(oid)), raw, "a data set holds at most 255 bytes")
    head = bytearray()
    precursor = scheme << 4 | (0x0F if oid >= 15 else oid)
    head.append(precursor)
    if oid >= 15:
        head.append(oid - 15)
    size = len(head) + 1 + len(raw)
    if align and (at + size) % align:
        pad = (-(at + size + 1)) % align
        head[0] |= 0x80
        head.append(pad)
        return bytes(head) + bytes((len(raw),)) + raw + bytes(pad)
    return bytes(head) + bytes((len(raw),)) + raw


def _set_information(tag: LibraryTag) -> str | None:
    si = tag.set_information
    parts, part = tag.parts_in_set, tag.part_number
    if si is not None:
        if si.isdigit() and len(si) % 2 == 0:
            half = len(si) // 2
            if (parts is not None and parts != int(si[:half])) or (part is not None and part != int(si[half:])):
                raise EncodeError(FORMAT, "set_information", si, "disagrees with parts_in_set/part_number")
        elif parts is not None or part is not None:
            raise EncodeError(FORMAT, "set_information", si, "not 'total+part' digits but parts are given")
        return si
    if parts is None and part is None:
        return None
    if parts is None or part is None:
        raise EncodeError(FORMAT, "parts_in_set", parts, "give both parts_in_set and part_number")
    if not 1 <= part <= parts <= 99:
        raise EncodeError(FORMAT, "part_number", part, f"needs 1 <= part <= parts <= 99 (parts {parts})")
    if parts == 1:
        return None
    return f"{parts:02d}{part:02d}"


def encode(tag: LibraryTag, *, block_size: int = 4) -> bytes:
    """Data sets: OID 1 aligned to a block boundary (lockable), the content parameter, the rest by OID."""
    present = tag.present()
    for name in present:
        if name not in _HOLDABLE:
            raise EncodeError(FORMAT, name, present[name], "ISO 28560-2 has no data element for it")
    if not tag.primary_item_id:
        raise MissingFieldError(FORMAT, "primary_item_id", tag.primary_item_id, "mandatory")
    values: dict[int, tuple[int, bytes]] = {}
    for name, value in present.items():
        oid = _BY_NAME.get(name)
        if oid is None or oid in (4, 5):
            continue
        assert isinstance(value, str)
        values[oid] = _compact_field(oid, name, value)
    si = _set_information(tag)
    if si is not None:
        values[4] = _compact_field(4, "set_information", si)
    if tag.type_of_usage is not None or tag.usage_qualifier is not None:
        cls = tag.type_of_usage or 0
        sub = tag.usage_qualifier or 0
        if not (0 <= cls <= 15 and 0 <= sub <= 15):
            raise EncodeError(FORMAT, "type_of_usage", (cls, sub), "class and qualifier are nibbles 0-15")
        values[5] = (Compaction.APPLICATION_DEFINED, bytes((cls << 4 | sub,)))
    out = bytearray(_data_set(1, *values.pop(1), align=block_size, at=0))
    others = sorted(values)
    if others:
        bitmap = 0
        nbits = max(others) - 2
        nbytes = (nbits + 7) // 8
        for oid in others:
            bitmap |= 1 << (nbytes * 8 - 1 - (oid - 3))
        out += _data_set(2, Compaction.APPLICATION_DEFINED, bitmap.to_bytes(nbytes, "big"))
        for oid in others:
            last = oid == others[-1]
            out += _data_set(oid, *values[oid], align=block_size if last else 0, at=len(out))
    pad = (-len(out)) % block_size
    return bytes(out + bytes(pad))


def _compact_field(oid: int, name: str, value: str) -> tuple[int, bytes]:
    if not value:
        raise EncodeError(FORMAT, name, value, "empty values are left out, not stored")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise UnencodableCharacterError(FORMAT, name, value, "control characters cannot be stored")
    if oid in _ISIL_OIDS:
        try:
            return Compaction.APPLICATION_DEFINED, encode_isil(value)
        except CompactionError as exc:
            raise UnencodableCharacterError(FORMAT, name, value, str(exc)) from exc
    return compact(value, utf8=oid == 17)
