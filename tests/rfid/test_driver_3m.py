"""3M / Bibliotheca 810 driver, byte for byte (the shared scenarios plus 3M specifics)."""

from __future__ import annotations

import pytest

from edge.iso15693 import SystemInfo, Uid, crc16_genibus
from edge.readers import UnsupportedOperationError
from edge.readers.bibliotheca810 import Bibliotheca810Reader, M3FrameParser, build_frame

from .conftest import load_vectors
from .driver_base import UID, UID2, ReaderDriverTests, ScriptedPort


def frame(cmd: int, body: bytes = b"") -> bytes:
    head = (len(body) + 3).to_bytes(2, "big") + bytes((cmd,)) + body
    return b"\xd6" + head + crc16_genibus(head).to_bytes(2, "big")


class Test3MDriver(ReaderDriverTests):
    def make_reader(self, port: ScriptedPort) -> Bibliotheca810Reader:
        return Bibliotheca810Reader(port, timeout=0.05, retries=2)

    def inventory_request(self, afi: int | None) -> bytes:
        return frame(0xFE, bytes((afi or 0, 0x01)))

    def inventory_response(self, uids: list[Uid]) -> bytes:
        return frame(0xFE, bytes((0, 0, 1, len(uids))) + b"".join(u.msb for u in uids))

    def no_tag_inventory_response(self) -> bytes:
        return frame(0xFE, b"\x06\x00\x01\x00")

    def read_request(self, uid: Uid, first: int, count: int) -> bytes:
        return frame(0x02, uid.msb + bytes((first, count, 0x05)))

    def read_response(self, uid: Uid, first: int, memory: bytes) -> bytes:
        blocks = [memory[i : i + 4] for i in range(0, len(memory), 4)]
        return frame(0x02, b"\x00" + uid.msb + bytes((first, len(blocks))) + b"".join(b"\x00" + b for b in blocks))

    def write_afi_request(self, uid: Uid, afi: int) -> bytes:
        return frame(0x09, uid.msb + bytes((afi,)))

    def write_afi_response(self, uid: Uid) -> bytes:
        return frame(0x09, b"\x00" + uid.msb)

    def no_tag_response(self, request: bytes, uid: Uid) -> bytes:
        return frame(request[3], b"\x06" + uid.msb)

    def system_info_request(self, uid: Uid) -> bytes:
        return frame(0x0D, uid.msb + b"\x0f")

    def system_info_response(self, info: SystemInfo) -> bytes:
        mem = bytes(((info.block_size or 4) - 1, (info.block_count or 1) - 1))
        data = bytes((0x0F, info.dsfid or 0, info.afi or 0)) + mem + bytes((info.ic_reference or 0,))
        return frame(0x0D, b"\x00" + info.uid.msb + data)

    def set_eas_request(self, uid: Uid) -> bytes:
        return frame(0x0C, uid.msb + b"\x01")

    def set_eas_response(self, uid: Uid) -> bytes:
        return frame(0x0C, b"\x00" + uid.msb)

    # -- 3M specifics ---------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "vector", [f for f in load_vectors()["frames"] if f["protocol"] == "3m"], ids=lambda f: f["name"]
    )
    def test_reference_frames(self, vector: dict[str, str]) -> None:
        raw = bytes.fromhex(vector["frame"])
        assert build_frame(raw[3], raw[4:-2]) == raw
        assert M3FrameParser().feed(raw)[0].body == raw[4:-2]

    @pytest.mark.parametrize(
        "hexframe",
        [
            "D6 00 05 FE 00 05 FA 40",
            "D6 00 05 FE 07 05 63 D7",
            "D6 00 0E 02 E0 04 01 00 12 34 56 78 00 08 05 4D E5",
            "D6 00 0B 0A E0 04 01 00 12 34 56 78 7F 9F",
            "D6 00 0C 09 E0 04 01 00 12 34 56 78 C2 6F 0B",
            "D6 00 0B 03 E0 04 01 00 12 34 56 78 BD 43",
            "D6 00 0C 0C E0 04 01 00 12 34 56 78 01 44 54",
            "D6 00 0C 0D E0 04 01 00 12 34 56 78 0F CA DF",
            "D6 00 09 03 00 02 00 00 00 03 12 E6",
        ],
    )
    def test_reference_frames_from_the_spec(self, hexframe: str) -> None:
        raw = bytes.fromhex(hexframe.replace(" ", ""))
        assert build_frame(raw[3], raw[4:-2]) == raw

    def test_documented_inventory_answer_with_ti_tag(self, port: ScriptedPort) -> None:
        answer = bytes.fromhex("D60017FE00000502" + "0000000000AD6302" + "E0070000006000AE" + "9BA5")
        port.expect(self.inventory_request(None), answer)
        uids = [r.uid.hex for r in self.make_reader(port).inventory()]
        assert uids == ["0000000000AD6302", "E0070000006000AE"]

    def test_duplicate_uids_are_removed(self, port: ScriptedPort) -> None:
        port.expect(self.inventory_request(None), self.inventory_response([UID, UID2, UID]))
        assert [r.uid for r in self.make_reader(port).inventory()] == [UID, UID2]

    def test_write_afi_retries_error_06(self, port: ScriptedPort) -> None:
        request = self.write_afi_request(UID, 0x07)
        port.expect(request, self.no_tag_response(request, UID))
        port.expect(request, self.no_tag_response(request, UID))
        port.expect(request, self.write_afi_response(UID))
        self.make_reader(port).write_afi(UID, 0x07)
        port.done()

    def test_check_eas_maps_error_06_to_off(self, port: ScriptedPort) -> None:
        port.expect(frame(0x03, UID.msb), frame(0x03, b"\x06" + UID.msb))
        port.expect(frame(0x03, UID.msb), frame(0x03, b"\x00" + UID.msb))
        reader = self.make_reader(port)
        assert reader.check_eas(UID) is False
        assert reader.check_eas(UID) is True

    def test_iso_passthru_reference_frame(self, port: ScriptedPort) -> None:
        iso = bytes.fromhex("232093697312000007E000")  # read single block 0, addressed, TI UID
        request = bytes.fromhex("D600141400 0B00060000".replace(" ", "") + iso.hex() + "27C3")
        port.expect(request, frame(0x14, bytes.fromhex("00" + "0055555555")))
        assert self.make_reader(port).iso_passthru(iso, 6) == bytes.fromhex("0055555555")
        port.done()

    def test_no_outputs(self, port: ScriptedPort) -> None:
        with pytest.raises(UnsupportedOperationError):
            self.make_reader(port).set_outputs({1: True})
