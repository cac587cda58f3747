"""Tag data formats: the public vectors, auto-detection, Vietnamese data, encoding refusals."""

from __future__ import annotations

from typing import Any

import pytest

from edge.tags import (
    ChecksumError,
    EncodeError,
    FieldTooLongError,
    LibraryTag,
    MissingFieldError,
    TagFormatError,
    UnencodableCharacterError,
    UnknownFormatError,
    decode,
    encode,
    iso28560_2,
    iso28560_3,
    reverse_blocks,
    rfid501,
)
from edge.tags.compaction import decode_isil, encode_isil

from .conftest import load_vectors

TAG_VECTORS = load_vectors()["tags"]


@pytest.mark.parametrize("vector", TAG_VECTORS, ids=lambda v: v["format"])
@pytest.mark.parametrize("reverse", [False, True])
def test_tag_vectors(vector: dict[str, Any], reverse: bool) -> None:
    memory = bytes.fromhex(vector["memory"])
    if reverse:
        memory = reverse_blocks(memory)
    tag = decode(memory)
    assert tag.format == vector["format"]
    assert tag.block_reversed is reverse
    for key, value in vector["expect"].items():
        if key == "crc":
            assert memory[19:21] if not reverse else True
            assert iso28560_3.basic_block_crc(bytes.fromhex(vector["memory"])) == int(value, 16)
        else:
            assert getattr(tag, key) == value, key


def test_part2_vector_details() -> None:
    tag = decode(bytes.fromhex(TAG_VECTORS[1]["memory"]))
    assert (tag.parts_in_set, tag.part_number) == (12, 3)
    assert tag.extras["content_parameter"] == "D0"
    assert tag.extras["content_oids"] == "3,4,6"
    assert iso28560_2.content_oids(bytes.fromhex("D002")) == [3, 4, 6, 17]


def test_isil_compaction_vector() -> None:
    assert encode_isil("US-InU-Mu") == bytes.fromhex("ACC09EBAA06F6B")
    assert decode_isil(bytes.fromhex("ACC09EBAA06F6B")) == "US-InU-Mu"


@pytest.mark.parametrize("fmt", ["iso28560-3", "iso28560-2"])
def test_vietnamese_item(fmt: str) -> None:
    tag = LibraryTag(
        primary_item_id="TV2024000123",
        owner_isil="VN-HCM0001",
        type_of_usage=1,
        title="Nhật ký trong tù",
        shelf_location="895.922 HO-C",
    )
    memory = encode(tag, fmt)
    assert len(memory) % 4 == 0
    back = decode(memory)
    assert back.format == fmt
    for key in ("primary_item_id", "owner_isil", "title", "shelf_location", "type_of_usage"):
        assert getattr(back, key) == getattr(tag, key)


def test_part3_long_isil_and_long_id_go_to_extension_block() -> None:
    tag = LibraryTag(primary_item_id="A" * 20, owner_isil="VN-TUYENQUANG01", media_format=1)
    memory = encode(tag, "iso28560-3")
    assert memory[3] == 0x01
    back = decode(memory)
    assert (back.primary_item_id, back.owner_isil, back.media_format) == ("A" * 20, "VN-TUYENQUANG01", 1)


def test_part3_truncated_32_byte_form() -> None:
    tag = LibraryTag(primary_item_id="12345", owner_isil="DK-710100", title="Bog")
    memory = iso28560_3.encode(tag, truncated=True)
    back = iso28560_3.decode(memory)
    assert (back.owner_isil, back.title) == ("DK-710100", "Bog")


def test_part3_crc_error_carries_bytes() -> None:
    memory = bytearray.fromhex(TAG_VECTORS[0]["memory"])
    memory[5] ^= 0x01
    with pytest.raises(ChecksumError) as info:
        iso28560_3.decode(bytes(memory))
    assert info.value.data == bytes(memory[:34])
    with pytest.raises(UnknownFormatError) as unknown:
        decode(bytes(memory))
    assert unknown.value.data == bytes(memory)


def test_part3_extension_xor_error() -> None:
    memory = bytearray(encode(LibraryTag(primary_item_id="1", title="T"), "iso28560-3"))
    memory[34 + 4] ^= 0xFF
    with pytest.raises(ChecksumError):
        iso28560_3.decode(bytes(memory))


def test_part3_extension_cut_by_short_read_keeps_basic_block() -> None:
    memory = encode(LibraryTag(primary_item_id="1", title="Một cuốn sách rất dài"), "iso28560-3")
    tag = decode(memory[:36])
    assert tag.primary_item_id == "1" and tag.title is None
    assert "extension_incomplete" in tag.extras


def test_blank_tags() -> None:
    assert decode(bytes(32)).format == "blank"
    three_m = decode(b"\x55" * 24 + bytes(8))
    assert three_m.format == "blank" and three_m.extras["blank"] == "3m"
    assert decode(b"\xff" * 36).extras["blank"] == "erased"


def test_rfid501_round_trip_and_fields() -> None:
    tag = LibraryTag(
        primary_item_id="31234000123456",
        parts_in_set=2,
        part_number=1,
        extra=(("item_type", "9"), ("branch", "12"), ("library", "40001"), ("custom", "-5")),
    )
    memory = encode(tag, "3m-rfid501")
    assert memory[:4] == bytes((0x04, 0x12, 0x00, 0x09))
    back = decode(memory)
    assert back.format == "3m-rfid501"
    assert back.extras == {"item_type": "9", "branch": "12", "library": "40001", "custom": "-5"}
    assert (back.parts_in_set, back.part_number) == (2, 1)


def test_random_memory_is_a_typed_error() -> None:
    with pytest.raises(UnknownFormatError) as info:
        decode(bytes(range(1, 41)))
    assert info.value.data == bytes(range(1, 41))


@pytest.mark.parametrize(
    ("fmt", "tag", "error", "field"),
    [
        ("iso28560-3", LibraryTag(), MissingFieldError, "primary_item_id"),
        ("iso28560-3", LibraryTag(primary_item_id="Sách-01"), UnencodableCharacterError, "primary_item_id"),
        ("iso28560-3", LibraryTag(primary_item_id="1", owner_isil="VN_HN"), UnencodableCharacterError, "owner_isil"),
        ("iso28560-3", LibraryTag(primary_item_id="1", owner_isil="VN-" + "X" * 20), FieldTooLongError, "owner_isil"),
        ("iso28560-3", LibraryTag(primary_item_id="1", type_of_usage=16), EncodeError, "type_of_usage"),
        ("iso28560-3", LibraryTag(primary_item_id="1", usage_qualifier=2), EncodeError, "usage_qualifier"),
        ("iso28560-3", LibraryTag(primary_item_id="1", parts_in_set=2, part_number=3), EncodeError, "part_number"),
        ("iso28560-2", LibraryTag(primary_item_id="1", owner_isil="VN HN"), UnencodableCharacterError, "owner_isil"),
        ("iso28560-2", LibraryTag(primary_item_id="1", media_format=1), EncodeError, "media_format"),
        ("3m-rfid501", LibraryTag(primary_item_id="1" * 17), FieldTooLongError, "primary_item_id"),
        ("3m-rfid501", LibraryTag(primary_item_id="1", owner_isil="VN-1"), EncodeError, "owner_isil"),
        ("3m-rfid501", LibraryTag(primary_item_id="1", parts_in_set=16), EncodeError, "parts_in_set"),
        ("nope", LibraryTag(primary_item_id="1"), EncodeError, "format"),
    ],
)
def test_encode_refuses_with_field_and_reason(fmt: str, tag: LibraryTag, error: type[EncodeError], field: str) -> None:
    with pytest.raises(error) as info:
        encode(tag, fmt)
    assert info.value.field == field
    assert field in str(info.value)


def test_part2_oid_extension_and_unknown_oids() -> None:
    tag = LibraryTag(primary_item_id="42", local_data_c="xyz", alternative_owner_isil="VN-HNI")
    memory = iso28560_2.encode(tag)
    back = iso28560_2.decode(memory)
    assert (back.local_data_c, back.alternative_owner_isil) == ("xyz", "VN-HNI")
    # an undefined OID 27 (precursor 0x6F, extension byte 12) lands in extra
    raw = bytes.fromhex("110101") + bytes((0x6F, 12, 3)) + b"abc" + b"\x00"
    assert iso28560_2.decode(raw).extras["oid_27"] == "abc"


def test_part2_truncated_chain() -> None:
    with pytest.raises(TagFormatError):
        iso28560_2.decode(bytes.fromhex("9100051CBE99"))


def test_rfid501_bad_item_type() -> None:
    memory = bytearray(rfid501.encode(LibraryTag(primary_item_id="1")))
    memory[3] = 0x0B
    with pytest.raises(TagFormatError):
        rfid501.decode(bytes(memory))


def test_to_dict_uses_contract_field_names() -> None:
    d = decode(bytes.fromhex(TAG_VECTORS[0]["memory"])).to_dict()
    for key in (
        "format",
        "primary_item_id",
        "owner_isil",
        "type_of_usage",
        "parts_in_set",
        "part_number",
        "shelf_location",
        "title",
        "set_information",
        "media_format",
    ):
        assert key in d
    assert LibraryTag.from_dict(d).to_dict() == d


def test_part3_24_bit_extension_block_id() -> None:
    basic = bytes.fromhex(TAG_VECTORS[0]["memory"]) + b"\x00\x00"  # 34-byte form (bytes 32-33 zero)
    body = b"abc\x00"
    block = bytearray((6 + len(body), 0x34, 0xFF, 0x12, 0x00, 0x00)) + body  # id 0x001234, checksum at 5
    x = 0
    for b in block:
        x ^= b
    block[5] = x
    tag = iso28560_3.decode(basic + bytes(block) + b"\x00")
    assert tag.extras["extension_block_4660"] == body.hex()
