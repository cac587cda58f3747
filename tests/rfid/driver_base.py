"""Shared byte-exact driver tests: a scripted port and a base class every driver's tests subclass.

Each subclass supplies the driver and frame builders for its wire protocol; the base class owns the
scenarios (inventory, AFI filter, read, write AFI, system info, EAS, resynchronisation, timeouts).
"""

from __future__ import annotations

from collections import deque

import pytest

from edge.iso15693 import SystemInfo, Uid
from edge.readers import NoTagError, ReaderTimeoutError, TagReader

UID = Uid.from_hex("E004010012345678")
UID2 = Uid.from_hex("E004010012345679")


class ScriptedPort:
    """A Port that checks every write against a script and answers with the scripted bytes."""

    def __init__(self) -> None:
        self.timeout: float | None = 0.01
        self.script: deque[tuple[bytes, bytes]] = deque()
        self.rx = bytearray()
        self.closed = False

    def expect(self, request: bytes, response: bytes) -> ScriptedPort:
        self.script.append((request, response))
        return self

    def write(self, data: bytes, /) -> int:
        assert self.script, f"unexpected write {data.hex()}"
        expected, response = self.script.popleft()
        assert data.hex() == expected.hex()
        self.rx += response
        return len(data)

    def read(self, size: int = 1, /) -> bytes:
        out = bytes(self.rx[:size])
        del self.rx[:size]
        return out

    @property
    def in_waiting(self) -> int:
        return len(self.rx)

    def reset_input_buffer(self) -> None:
        self.rx.clear()

    def close(self) -> None:
        self.closed = True

    def done(self) -> None:
        assert not self.script, f"{len(self.script)} scripted exchanges never happened"


class ReaderDriverTests:
    """Scenarios every TagReader driver must pass byte for byte (subclass and implement the builders)."""

    # -- to implement -------------------------------------------------------------------------------
    def make_reader(self, port: ScriptedPort) -> TagReader:
        raise NotImplementedError

    def inventory_request(self, afi: int | None) -> bytes:
        raise NotImplementedError

    def inventory_response(self, uids: list[Uid]) -> bytes:
        raise NotImplementedError

    def no_tag_inventory_response(self) -> bytes:
        raise NotImplementedError

    def read_request(self, uid: Uid, first: int, count: int) -> bytes:
        raise NotImplementedError

    def read_response(self, uid: Uid, first: int, memory: bytes) -> bytes:
        raise NotImplementedError

    def write_afi_request(self, uid: Uid, afi: int) -> bytes:
        raise NotImplementedError

    def write_afi_response(self, uid: Uid) -> bytes:
        raise NotImplementedError

    def no_tag_response(self, request: bytes, uid: Uid) -> bytes:
        raise NotImplementedError

    def system_info_request(self, uid: Uid) -> bytes:
        raise NotImplementedError

    def system_info_response(self, info: SystemInfo) -> bytes:
        raise NotImplementedError

    def set_eas_request(self, uid: Uid) -> bytes:
        raise NotImplementedError

    def set_eas_response(self, uid: Uid) -> bytes:
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------------------------
    @pytest.fixture
    def port(self) -> ScriptedPort:
        return ScriptedPort()

    # -- scenarios -----------------------------------------------------------------------------------
    def test_inventory(self, port: ScriptedPort) -> None:
        port.expect(self.inventory_request(None), self.inventory_response([UID, UID2]))
        reader = self.make_reader(port)
        assert [r.uid for r in reader.inventory()] == [UID, UID2]
        port.done()

    def test_inventory_with_afi(self, port: ScriptedPort) -> None:
        port.expect(self.inventory_request(0x07), self.inventory_response([UID]))
        assert [r.uid for r in self.make_reader(port).inventory(0x07)] == [UID]
        port.done()

    def test_inventory_empty(self, port: ScriptedPort) -> None:
        port.expect(self.inventory_request(None), self.no_tag_inventory_response())
        assert self.make_reader(port).inventory() == []
        port.done()

    def test_read_blocks_in_memory_order(self, port: ScriptedPort) -> None:
        memory = bytes(range(1, 37))
        port.expect(self.read_request(UID, 0, 9), self.read_response(UID, 0, memory))
        assert self.make_reader(port).read_blocks(UID, 0, 9) == memory
        port.done()

    def test_write_afi(self, port: ScriptedPort) -> None:
        port.expect(self.write_afi_request(UID, 0xC2), self.write_afi_response(UID))
        self.make_reader(port).write_afi(UID, 0xC2)
        port.done()

    def test_system_info(self, port: ScriptedPort) -> None:
        info = SystemInfo(UID, 0x06, 0x07, 4, 28, 0x01)
        port.expect(self.system_info_request(UID), self.system_info_response(info))
        assert self.make_reader(port).system_info(UID) == info
        port.done()

    def test_set_eas(self, port: ScriptedPort) -> None:
        port.expect(self.set_eas_request(UID), self.set_eas_response(UID))
        self.make_reader(port).set_eas(UID)
        port.done()

    def test_resynchronises_after_garbage(self, port: ScriptedPort) -> None:
        garbage = bytes.fromhex("FF00D6F0A502C3")
        port.expect(self.write_afi_request(UID, 0x07), garbage + self.write_afi_response(UID))
        self.make_reader(port).write_afi(UID, 0x07)
        port.done()

    def test_bad_crc_is_never_accepted(self, port: ScriptedPort) -> None:
        good = bytearray(self.write_afi_response(UID))
        good[-1] ^= 0xFF
        port.expect(self.write_afi_request(UID, 0x07), bytes(good))
        with pytest.raises(ReaderTimeoutError) as info:
            self.make_reader(port).write_afi(UID, 0x07)
        assert info.value.data  # the unparsed bytes are reported
        port.done()

    def test_truncated_response_times_out(self, port: ScriptedPort) -> None:
        port.expect(self.write_afi_request(UID, 0x07), self.write_afi_response(UID)[:-3])
        with pytest.raises(ReaderTimeoutError):
            self.make_reader(port).write_afi(UID, 0x07)

    def test_silent_reader_times_out(self, port: ScriptedPort) -> None:
        port.expect(self.inventory_request(None), b"")
        with pytest.raises(ReaderTimeoutError):
            self.make_reader(port).inventory()

    def test_no_tag_is_typed(self, port: ScriptedPort) -> None:
        request = self.read_request(UID, 0, 1)
        port.expect(request, self.no_tag_response(request, UID))
        reader = self.make_reader(port)
        retries = getattr(reader, "retries", 0)
        for _ in range(retries):
            port.expect(request, self.no_tag_response(request, UID))
        with pytest.raises(NoTagError):
            reader.read_blocks(UID, 0, 1)
        port.done()
