"""The simulators' protocol engines answer the reference request frames byte for byte."""

from __future__ import annotations

from edge.iso15693 import HIGH_RATE, Uid, crc16_genibus, crc16_mcrf4xx
from edge.readers.bibliotheca810 import M3FrameParser
from edge.readers.feig import FeigFrameParser
from edge.readers.sim import Faults, TagField, VirtualTag
from edge.readers.sim.feig_sim import FeigProtocol
from edge.readers.sim.m3_sim import M3Protocol

UID = Uid.from_hex("E004010012345678")
MEMORY = bytes(range(0x10, 0x10 + 32)) + bytes(80)


def feig_resp(cmd: int, status: int, data: bytes = b"", addr: int = 0x00) -> bytes:
    body = bytes((len(data) + 6, addr, cmd, status)) + data
    return body + crc16_mcrf4xx(body).to_bytes(2, "little")


def m3_resp(cmd: int, body: bytes) -> bytes:
    head = (len(body) + 3).to_bytes(2, "big") + bytes((cmd,)) + body
    return b"\xd6" + head + crc16_genibus(head).to_bytes(2, "big")


def field() -> TagField:
    return TagField([VirtualTag(UID, bytearray(MEMORY), afi=0x07, dsfid=0x06, eas=True)])


def feig(hexframe: str, engine: FeigProtocol) -> bytes | None:
    [frame] = FeigFrameParser(responses=False).feed(bytes.fromhex(hexframe))
    answer, _ = engine.handle(frame)
    return answer


def test_feig_engine_reference_frames() -> None:
    engine = FeigProtocol(field(), Faults(), lambda: HIGH_RATE)
    assert feig("07FFB001001C56", engine) == feig_resp(0xB0, 0x00, b"\x01\x03\x06" + UID.msb)
    blocks = b"".join(b"\x00" + MEMORY[i : i + 4][::-1] for i in range(0, 32, 4))
    assert feig("11FFB02301E004010012345678000807D6", engine) == feig_resp(0xB0, 0x00, b"\x08\x04" + blocks)
    assert feig("10FFB02701E004010012345678" + "07D8DE", engine) == feig_resp(0xB0, 0x00)
    assert feig("0FFFB02B01E00401001234567811A3", engine) == feig_resp(
        0xB0, 0x00, b"\x06" + UID.msb + b"\x07\x03\x1b\x01"
    )
    eas = feig("08FFB104A5007313", engine)
    assert eas is not None and eas[3] == 0x00 and len(eas) == 6 + 32
    reset_eas = "10FFB104A301E004010012345678"
    assert feig(reset_eas + _crc(reset_eas), engine) == feig_resp(0xB1, 0x00)
    assert feig("08FFB104A5007313", engine) == feig_resp(0xB1, 0x01)  # EAS off: the tag stays silent
    assert feig("05FF698901", engine) == feig_resp(0x69, 0x00)
    assert feig("06FF8007" + _crc("06FF8007"), engine) == feig_resp(0x80, 0x00, bytes(14))


def _crc(hexbody: str) -> str:
    return crc16_mcrf4xx(bytes.fromhex(hexbody)).to_bytes(2, "little").hex()


def test_feig_engine_ignores_other_bus_addresses() -> None:
    engine = FeigProtocol(field(), Faults(), lambda: HIGH_RATE, address=0x12)
    answer = feig("06128007E580", engine)  # Read Config addressed to 0x12: answered from 0x12
    assert answer is not None and answer[1] == 0x12 and answer[2:4] == b"\x80\x00"
    [frame] = FeigFrameParser(responses=False).feed(bytes.fromhex("06138007") + bytes.fromhex(_crc("06138007")))
    assert engine.handle(frame) == (None, 0.0)


def test_3m_engine_reference_frames() -> None:
    engine = M3Protocol(field(), Faults(), lambda: HIGH_RATE)

    def ask(hexframe: str) -> bytes | None:
        [frame] = M3FrameParser().feed(bytes.fromhex(hexframe.replace(" ", "")))
        answer, _ = engine.handle(frame)
        return answer

    assert ask("D6 00 03 11 64 20") == m3_resp(0x11, b"\x00\x0a\x05\x02")
    assert ask("D6 00 05 FE 00 05 FA 40") == m3_resp(0xFE, b"\x00\x00\x05\x01" + UID.msb)
    assert ask("D6 00 05 FE 07 05 63 D7") == m3_resp(0xFE, b"\x00\x07\x05\x01" + UID.msb)
    blocks = b"".join(b"\x00" + MEMORY[i : i + 4] for i in range(0, 32, 4))
    assert ask("D6 00 0E 02 E0 04 01 00 12 34 56 78 00 08 05 4D E5") == m3_resp(
        0x02, b"\x00" + UID.msb + b"\x00\x08" + blocks
    )
    assert ask("D6 00 0B 03 E0 04 01 00 12 34 56 78 BD 43") == m3_resp(0x03, b"\x00" + UID.msb)
    assert ask("D6 00 0C 09 E0 04 01 00 12 34 56 78 C2 6F 0B") == m3_resp(0x09, b"\x00" + UID.msb)
    assert ask("D6 00 0B 0A E0 04 01 00 12 34 56 78 7F 9F") == m3_resp(0x0A, b"\x00" + UID.msb + b"\xc2")
    assert ask("D6 00 0C 0D E0 04 01 00 12 34 56 78 0F CA DF") == m3_resp(
        0x0D, b"\x00" + UID.msb + b"\x0f\x06\xc2\x03\x1b\x01"
    )
    # ISO pass-through of the reference frame: the TI UID is not in the field, so error 06
    assert ask("D6 00 14 14 00 0B 00 06 00 00 23 20 93 69 73 12 00 00 07 E0 00 27 C3") == m3_resp(0x14, b"\x06")
