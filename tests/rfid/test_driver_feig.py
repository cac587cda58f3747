"""FEIG ISC driver, byte for byte (the shared scenarios plus FEIG specifics)."""

from __future__ import annotations

import pytest

from edge.iso15693 import SystemInfo, Uid, crc16_mcrf4xx
from edge.readers import ProtocolError, ReaderStatusError, TagResponseError
from edge.readers.feig import FeigFrameParser, FeigReader, build_frame

from .conftest import load_vectors
from .driver_base import UID, UID2, ReaderDriverTests, ScriptedPort


def req(cmd: int, data: bytes = b"", addr: int = 0xFF) -> bytes:
    body = bytes((len(data) + 5, addr, cmd)) + data
    return body + crc16_mcrf4xx(body).to_bytes(2, "little")


def resp(cmd: int, status: int, data: bytes = b"", addr: int = 0x00) -> bytes:
    body = bytes((len(data) + 6, addr, cmd, status)) + data
    return body + crc16_mcrf4xx(body).to_bytes(2, "little")


def adv_resp(cmd: int, status: int, data: bytes = b"") -> bytes:
    size = len(data) + 8
    body = bytes((0x02, size >> 8, size & 0xFF, 0x00, cmd, status)) + data
    return body + crc16_mcrf4xx(body).to_bytes(2, "little")


def records(uids: list[Uid]) -> bytes:
    return bytes((len(uids),)) + b"".join(b"\x03\x00" + u.msb for u in uids)


class TestFeigDriver(ReaderDriverTests):
    def make_reader(self, port: ScriptedPort) -> FeigReader:
        return FeigReader(port, timeout=0.05)

    def inventory_request(self, afi: int | None) -> bytes:
        return req(0xB0, b"\x01\x00" if afi is None else bytes((0x01, 0x10, afi)))

    def inventory_response(self, uids: list[Uid]) -> bytes:
        return resp(0xB0, 0x00, records(uids))

    def no_tag_inventory_response(self) -> bytes:
        return resp(0xB0, 0x01)

    def read_request(self, uid: Uid, first: int, count: int) -> bytes:
        return req(0xB0, b"\x23\x01" + uid.msb + bytes((first, count)))

    def read_response(self, uid: Uid, first: int, memory: bytes) -> bytes:
        blocks = [memory[i : i + 4] for i in range(0, len(memory), 4)]
        return resp(0xB0, 0x00, bytes((len(blocks), 4)) + b"".join(b"\x00" + b[::-1] for b in blocks))

    def write_afi_request(self, uid: Uid, afi: int) -> bytes:
        return req(0xB0, b"\x27\x01" + uid.msb + bytes((afi,)))

    def write_afi_response(self, uid: Uid) -> bytes:
        return resp(0xB0, 0x00)

    def no_tag_response(self, request: bytes, uid: Uid) -> bytes:
        return resp(request[2], 0x01)

    def system_info_request(self, uid: Uid) -> bytes:
        return req(0xB0, b"\x2b\x01" + uid.msb)

    def system_info_response(self, info: SystemInfo) -> bytes:
        mem = bytes(((info.block_size or 4) - 1, (info.block_count or 1) - 1))
        return resp(0xB0, 0x00, bytes((info.dsfid or 0,)) + info.uid.msb + bytes((info.afi or 0,)) + mem + b"\x01")

    def set_eas_request(self, uid: Uid) -> bytes:
        return req(0xB1, b"\x04\xa2\x01" + uid.msb)

    def set_eas_response(self, uid: Uid) -> bytes:
        return resp(0xB1, 0x00)

    # -- FEIG specifics -------------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "vector", [f for f in load_vectors()["frames"] if f["protocol"] == "feig"], ids=lambda f: f["name"]
    )
    def test_reference_frames(self, vector: dict[str, str]) -> None:
        frame = bytes.fromhex(vector["frame"])
        data = frame[3:-2]
        addr = frame[1]
        assert build_frame(frame[2], data, address=addr) == frame
        assert FeigFrameParser(responses=False).feed(frame)[0].data == data

    def test_builds_reference_requests(self, port: ScriptedPort) -> None:
        port.expect(bytes.fromhex("11FFB02301E004010012345678000807D6"), self.read_response(UID, 0, bytes(32)))
        port.expect(bytes.fromhex("10FFB02701E00401001234567807D8DE"), resp(0xB0, 0))
        port.expect(bytes.fromhex("08FFB104A5007313"), resp(0xB1, 0x01))
        port.expect(bytes.fromhex("10FFB104A201E004010012345678FCBB"), resp(0xB1, 0))
        port.expect(bytes.fromhex("05FF698901"), resp(0x69, 0))
        port.expect(bytes.fromhex("05FF65E5CB"), resp(0x65, 0, bytes(7)))
        reader = self.make_reader(port)
        reader.read_blocks(UID, 0, 8)
        reader.write_afi(UID, 0x07)
        assert reader.eas_alarm() is False
        reader.set_eas(UID)
        reader.rf_reset()
        assert reader.software_version() == bytes(7)
        port.done()

    def test_advanced_frames(self) -> None:
        assert build_frame(0x80, b"\x07", address=0x12, advanced=True).hex() == "020008128007a02d"
        assert build_frame(0x65, advanced=True).hex() == "020007ff656e61"
        parsed = FeigFrameParser(responses=True).feed(adv_resp(0xB0, 0, records([UID])))
        assert parsed[0].advanced and parsed[0].data == records([UID])

    def test_more_data_is_collected(self, port: ScriptedPort) -> None:
        port.expect(req(0xB0, b"\x01\x00"), resp(0xB0, 0x94, records([UID])))
        port.expect(req(0xB0, b"\x01\x80"), adv_resp(0xB0, 0x00, records([UID2])))
        assert [r.uid for r in self.make_reader(port).inventory()] == [UID, UID2]
        port.done()

    def test_iso_error_carries_code(self, port: ScriptedPort) -> None:
        port.expect(self.write_afi_request(UID, 7), resp(0xB0, 0x95, b"\x12"))
        with pytest.raises(TagResponseError) as info:
            self.make_reader(port).write_afi(UID, 7)
        assert info.value.code == 0x12 and info.value.status == 0x95

    def test_other_status(self, port: ScriptedPort) -> None:
        port.expect(self.write_afi_request(UID, 7), resp(0xB0, 0x83))
        with pytest.raises(ReaderStatusError) as info:
            self.make_reader(port).write_afi(UID, 7)
        assert info.value.status == 0x83

    def test_malformed_inventory_is_protocol_error(self, port: ScriptedPort) -> None:
        port.expect(req(0xB0, b"\x01\x00"), resp(0xB0, 0x00, b"\x02" + b"\x03\x00" + UID.msb))
        with pytest.raises(ProtocolError):
            self.make_reader(port).inventory()

    def test_write_blocks_reverses_each_block(self, port: ScriptedPort) -> None:
        info = SystemInfo(UID, 0, 0, 4, 28, 1)
        port.expect(self.system_info_request(UID), self.system_info_response(info))
        port.expect(
            req(0xB0, b"\x24\x01" + UID.msb + b"\x02\x02\x04" + bytes.fromhex("4433221188776655")), resp(0xB0, 0)
        )
        self.make_reader(port).write_blocks(UID, 2, bytes.fromhex("1122334455667788"))
        port.done()

    def test_lsb_block_order(self, port: ScriptedPort) -> None:
        port.expect(self.read_request(UID, 0, 1), resp(0xB0, 0, bytes.fromhex("0104") + bytes.fromhex("0011223344")))
        assert FeigReader(port, timeout=0.05, block_order="lsb").read_blocks(UID, 0, 1) == bytes.fromhex("11223344")

    def test_config_outputs_inputs(self, port: ScriptedPort) -> None:
        block = bytes(range(14))
        port.expect(req(0x81, b"\x03" + block), resp(0x81, 0))
        port.expect(req(0x80, b"\x03"), resp(0x80, 0, block))
        port.expect(req(0x82, b"\x40"), resp(0x82, 0))
        port.expect(req(0x72, b"\x00\x01\x01\x01\x00\x00"), resp(0x72, 0))
        port.expect(req(0x74), resp(0x74, 0, b"\x05"))
        reader = self.make_reader(port)
        reader.write_config(3, block)
        assert reader.read_config(3) == block
        reader.save_config()
        reader.set_outputs({1: True})
        assert reader.read_inputs()[1]
        port.done()

    def test_buffered_read_mode(self, port: ScriptedPort) -> None:
        port.expect(bytes.fromhex("05FF3356FC"), resp(0x33, 0))
        port.expect(bytes.fromhex("07FF2200FF7D7C"), resp(0x22, 0, b"\x11\x00\x01" + UID.msb + b"\x02"))
        port.expect(bytes.fromhex("05FF32DFED"), resp(0x32, 0))
        port.expect(bytes.fromhex("07FF2200FF7D7C"), resp(0x22, 0x92))
        port.expect(bytes.fromhex("05FF3144DF"), resp(0x31, 0, bytes.fromhex("040000000000")))
        reader = self.make_reader(port)
        reader.init_buffer()
        records_ = reader.read_buffer()
        assert records_[0].uid == UID and records_[0].antenna == 2
        reader.clear_buffer()
        assert reader.read_buffer() == []
        assert reader.buffer_info() == (1024, 0, 0)
        port.done()

    def test_parser_counts_discarded_garbage(self) -> None:
        parser = FeigFrameParser(responses=True)
        frames = parser.feed(b"\xf0\x01\x02" + resp(0x65, 0, b"\x01"))
        assert len(frames) == 1 and parser.discarded == 3
