"""ISO 15693 layer: CRCs, UIDs, request frames, response parsing, system info (byte exact)."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.iso15693 import (
    HIGH_RATE,
    CrcError,
    ErrorCode,
    SystemInfo,
    TagError,
    TruncatedFrameError,
    Uid,
    UidError,
    commands,
    crc16_ccitt_false,
    crc16_genibus,
    crc16_mcrf4xx,
    crc16_x25,
)
from edge.iso15693.crc import append_crc_x25, check_crc_x25

from .conftest import load_vectors

UID = Uid.from_hex("E004010012345678")
VECTORS = load_vectors()
CRC_FUNCS = {"iso15693": crc16_x25, "feig": crc16_mcrf4xx, "3m": crc16_genibus, "iso28560-3": crc16_ccitt_false}
WIRE_ORDER: dict[str, Literal["little", "big"]] = {"iso15693": "little", "feig": "little", "3m": "big"}


@pytest.mark.parametrize("vector", VECTORS["crc"], ids=lambda v: v["algorithm"][:12])
def test_crc_vectors(vector: dict[str, str]) -> None:
    algorithm = vector["algorithm"].split(" ")[0]
    func = CRC_FUNCS[algorithm]
    data = bytes.fromhex(vector["data"]) if "data" in vector else vector["data_ascii"].encode()
    value = func(data)
    if "crc_wire" in vector:
        assert value.to_bytes(2, WIRE_ORDER[algorithm]) == bytes.fromhex(vector["crc_wire"])
    else:
        assert value == int(vector["crc_value"], 16)


def test_more_crc_vectors_from_reference() -> None:
    assert crc16_mcrf4xx(bytes.fromhex("0200081280 07".replace(" ", ""))).to_bytes(2, "little").hex() == "a02d"
    assert crc16_mcrf4xx(bytes.fromhex("020007FF65")).to_bytes(2, "little").hex() == "6e61"
    assert crc16_genibus(bytes.fromhex("000904001 10A050002".replace(" ", ""))).to_bytes(2, "big").hex() == "7250"
    assert crc16_genibus(bytes.fromhex("0005040011")) == 0x8C66


@given(st.binary(max_size=64))
def test_x25_residue(data: bytes) -> None:
    framed = data + crc16_x25(data).to_bytes(2, "little")
    assert check_crc_x25(framed) == (len(framed) >= 3)


AIR = {f["name"]: f["frame"].lower() for f in VECTORS["frames"] if f["protocol"] == "iso15693-air"}


def test_air_frames_from_vectors() -> None:
    assert commands.inventory(0x07).hex() == AIR["Inventory 1 slot, AFI 07"]
    assert commands.read_multiple_blocks(0, 8, UID).hex() == AIR["Read multiple blocks 0..7, addressed"]
    assert commands.write_afi(0x07, UID).hex() == AIR["Write AFI 07, addressed"]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (commands.inventory(), "26 01 00 F6 0A"),
        (commands.inventory(0xC2), "36 01 C2 00 70 58"),
        (commands.inventory(one_slot=False), "06 01 00 CD 09"),
        (commands.get_system_info(), "02 2B 26 A3"),
        (commands.get_system_info(UID), "22 2B 78 56 34 12 00 01 04 E0 B6 E9"),
        (commands.read_single_block(0), "02 20 00 47 50"),
        (commands.read_multiple_blocks(0, 8), "02 23 00 07 48 5D"),
        (commands.write_single_block(0, bytes.fromhex("11223344"), UID), "22 21 78563412000104E0 00 11223344 46 04"),
        (commands.lock_afi(UID), "22 28 78 56 34 12 00 01 04 E0 B1 3F"),
        (commands.eas_alarm(), "02 A5 04 17 E4"),
        (commands.set_eas(UID), "22 A2 04 78 56 34 12 00 01 04 E0 55 0F"),
        (commands.reset_eas(UID), "22 A3 04 78 56 34 12 00 01 04 E0 72 23"),
    ],
)
def test_reference_request_frames(frame: bytes, expected: str) -> None:
    assert frame == bytes.fromhex(expected.replace(" ", ""))


def test_uid_byte_orders() -> None:
    assert UID.lsb == bytes.fromhex("78563412000104E0")
    assert Uid.from_lsb(UID.lsb) == UID
    assert str(UID) == "E004010012345678"
    assert UID.manufacturer == "NXP"
    assert Uid.from_hex("e0:04:01:00:12:34:56:78") == UID
    assert int(Uid.from_int(int(UID))) == int(UID)
    with pytest.raises(UidError):
        Uid.from_hex("E004")
    with pytest.raises(UidError):
        Uid.from_hex("zz")


@pytest.mark.parametrize("vector", VECTORS["system_info"])
def test_system_info_vectors(vector: dict[str, object]) -> None:
    info = SystemInfo.parse(bytes.fromhex(str(vector["payload"])))
    expect = vector["expect"]
    assert isinstance(expect, dict)
    assert info.info_flags == int(expect["info_flags"], 16)
    assert info.uid == Uid.from_hex(expect["uid"])
    assert info.dsfid == int(expect["dsfid"], 16)
    assert info.afi == int(expect["afi"], 16)
    assert info.to_payload() == bytes.fromhex(str(vector["payload"]))


def test_system_info_acr1552u_example() -> None:
    info = SystemInfo.parse(bytes.fromhex("0F2E985C8A000104E000001B0301"))
    assert info.uid == Uid.from_hex("E00401008A5C982E")
    assert (info.block_size, info.block_count, info.ic_reference) == (4, 28, 1)
    assert info.memory_size == 112


def test_system_info_truncated() -> None:
    with pytest.raises(TruncatedFrameError):
        SystemInfo.parse(bytes.fromhex("0F2E985C8A000104E000"))


def test_parse_request_round_trip() -> None:
    req = commands.parse_request(commands.read_multiple_blocks(3, 9, UID, option=True))
    assert (req.command, req.uid, req.params, req.option) == (0x23, UID, bytes((3, 8)), True)
    inv = commands.parse_request(commands.inventory(0x07, one_slot=False, mask_len=12, mask=0xABC))
    assert (inv.afi, inv.mask_len, inv.mask, inv.is_inventory) == (0x07, 12, 0xABC, True)
    eas = commands.parse_request(commands.set_eas(UID))
    assert (eas.mfr, eas.uid) == (0x04, UID)


def test_parse_response_errors() -> None:
    assert commands.parse_response(commands.response_frame(b"\x01\x02")) == b"\x01\x02"
    with pytest.raises(TagError) as info:
        commands.parse_response(commands.error_frame(0x12))
    assert info.value.code == ErrorCode.BLOCK_LOCKED
    bad = bytearray(commands.response_frame(b"\x01"))
    bad[-1] ^= 1
    with pytest.raises(CrcError) as crc:
        commands.parse_response(bytes(bad))
    assert crc.value.data == bytes(bad)
    with pytest.raises(TruncatedFrameError):
        commands.parse_response(b"\x00")


def test_parse_blocks() -> None:
    blocks = commands.parse_blocks(bytes.fromhex("0011223344015566778899"[:20]), 4, with_security=True)
    assert blocks == [(0, bytes.fromhex("11223344")), (1, bytes.fromhex("55667788"))]


def test_timing_model_matches_reference_budget() -> None:
    assert HIGH_RATE.inventory_1slot_us(True) == pytest.approx(6180, abs=30)
    assert HIGH_RATE.read_blocks_us(9) == pytest.approx(17100, abs=100)
    assert HIGH_RATE.write_afi_us() == pytest.approx(5900, abs=50)
    uids = [Uid.from_int(0xE004_0100_0000_0000 | i * 0x1111) for i in range(10)]
    found, total = HIGH_RATE.anticollision(uids)
    assert sorted(found) == sorted(uids)
    assert 40_000 < total < 200_000


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=(1 << 64) - 1), max_size=30, unique=True))
def test_anticollision_finds_every_tag(values: list[int]) -> None:
    uids = [Uid.from_int(v) for v in values]
    found, _ = HIGH_RATE.anticollision(uids)
    assert sorted(found) == sorted(uids)


@settings(max_examples=10_000, deadline=None)
@given(st.binary(max_size=40), st.booleans())
def test_fuzz_parse_request_and_response(data: bytes, with_crc: bool) -> None:
    if with_crc:
        data = append_crc_x25(data)
    for parser in (commands.parse_request, commands.parse_response):
        try:
            parser(data)
        except (CrcError, TruncatedFrameError, TagError):
            pass
    try:
        SystemInfo.parse(data)
    except TruncatedFrameError:
        pass
