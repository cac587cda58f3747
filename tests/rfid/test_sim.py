"""Drivers against the protocol-exact simulator over real pseudo-terminals (and TCP), with faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.iso15693 import Uid
from edge.readers import (
    NoTagError,
    ReaderConnectionError,
    ReaderState,
    ReaderTimeoutError,
    ReconnectingReader,
    TagReader,
    open_reader,
    read_library_tag,
)
from edge.readers.sim import ReaderSimulator, SimControl, VirtualTag, demo_tags, load_tags, save_tags
from edge.tags import LibraryTag

ITEMS = [
    LibraryTag(primary_item_id=f"TV00{i}", owner_isil="VN-TQ0001", title=f"Sách {i}", media_format=1) for i in range(5)
]


def make_tags() -> list[VirtualTag]:
    tags = [
        VirtualTag.with_item(Uid.from_int(0xE004_0100_0000_1000 + i * 0x101), item, afi=0x07, eas=i % 2 == 0)
        for i, item in enumerate(ITEMS)
    ]
    tags.append(
        VirtualTag.with_item(
            "E007000012345678", LibraryTag(primary_item_id="1203", owner_isil="VN-HNI"), "iso28560-2", afi=0xC2
        )
    )
    return tags


class SimReaderTests:
    protocol = "feig"
    link = "pty"

    @pytest.fixture
    def sim(self) -> Iterator[ReaderSimulator]:
        with ReaderSimulator(self.protocol, self.link, make_tags(), timing=False, control="tcp:0") as sim:
            yield sim

    @pytest.fixture
    def reader(self, sim: ReaderSimulator) -> Iterator[TagReader]:
        reader = open_reader(sim.url + "&timeout=0.3")
        yield reader
        reader.close()

    def test_url_names_the_link(self, sim: ReaderSimulator) -> None:
        prefix = "serial:///dev/" if self.link == "pty" else "socket://127.0.0.1:"
        assert sim.url.startswith(prefix) and sim.url.endswith(f"driver={self.protocol}")

    def test_inventory_and_afi_filter(self, reader: TagReader) -> None:
        assert len(reader.inventory()) == 6
        assert len(reader.inventory(0x07)) == 5
        assert [r.uid.hex for r in reader.inventory(0xC2)] == ["E007000012345678"]
        assert reader.inventory(0x21) == []

    def test_read_and_decode_every_tag(self, reader: TagReader) -> None:
        seen = {}
        for result in reader.inventory():
            info, tag = read_library_tag(reader, result.uid)
            seen[tag.primary_item_id] = (tag.format, tag.title, info.afi)
        assert seen["TV001"] == ("iso28560-3", "Sách 1", 0x07)
        assert seen["1203"] == ("iso28560-2", None, 0xC2)

    def test_write_blocks_and_read_back(self, reader: TagReader, sim: ReaderSimulator) -> None:
        uid = reader.inventory()[0].uid
        reader.write_blocks(uid, 20, bytes.fromhex("0102030405060708"))
        assert reader.read_blocks(uid, 20, 2) == bytes.fromhex("0102030405060708")
        assert sim.field.get(uid).memory[80:88] == bytes.fromhex("0102030405060708")

    def test_write_afi_moves_tag_between_filters(self, reader: TagReader) -> None:
        uid = reader.inventory(0x07)[0].uid
        reader.write_afi(uid, 0xC2)
        assert reader.system_info(uid).afi == 0xC2
        assert uid not in {r.uid for r in reader.inventory(0x07)}

    def test_eas(self, reader: TagReader, sim: ReaderSimulator) -> None:
        assert reader.eas_alarm() is True
        for tag in sim.field.all():
            if tag.eas:
                reader.reset_eas(tag.uid)
        assert reader.eas_alarm() is False
        uid = reader.inventory()[0].uid
        reader.set_eas(uid)
        assert sim.field.get(uid).eas is True
        assert reader.eas_alarm() is True

    def test_place_remove_move_at_run_time(self, reader: TagReader, sim: ReaderSimulator) -> None:
        uid = reader.inventory()[0].uid
        sim.remove(uid)
        assert uid not in {r.uid for r in reader.inventory()}
        sim.place(uid)
        assert uid in {r.uid for r in reader.inventory()}
        new = VirtualTag.with_item("E004010099999999", LibraryTag(primary_item_id="NEW1"))
        sim.place(new)
        assert len(reader.inventory()) == 7

    def test_control_socket(self, reader: TagReader, sim: ReaderSimulator) -> None:
        assert sim.control_address is not None
        with SimControl(sim.control_address) as ctl:
            listing = ctl.call("list")
            assert listing["ok"] and len(listing["tags"]) == 6
            entry = {"uid": "E0040100ABCDEF01", "afi": "07", "item": {"primary_item_id": "CTL-1"}}
            assert ctl.call("place", tag=entry)["ok"]
            assert len(reader.inventory(0x07)) == 6
            assert ctl.call("remove", uid="E0040100ABCDEF01")["ok"]
            assert ctl.call("fault", kind="bogus")["ok"] is False
            assert ctl.call("nonsense")["ok"] is False
            assert ctl.call("stats")["requests"] >= 1

    def test_noise_before_response_is_skipped(self, reader: TagReader, sim: ReaderSimulator) -> None:
        sim.inject("noise", size=7)
        assert len(reader.inventory()) == 6

    def test_corrupted_response_then_recovery(self, reader: TagReader, sim: ReaderSimulator) -> None:
        sim.inject("corrupt")
        with pytest.raises(ReaderTimeoutError) as info:
            reader.inventory()
        assert info.value.data
        assert len(reader.inventory()) == 6

    def test_dropped_and_silent(self, reader: TagReader, sim: ReaderSimulator) -> None:
        sim.inject("drop")
        with pytest.raises(ReaderTimeoutError):
            reader.inventory()
        sim.inject("silent", 2)
        for _ in range(2):
            with pytest.raises(ReaderTimeoutError):
                reader.inventory()
        assert len(reader.inventory()) == 6

    def test_tag_leaves_mid_write(self, reader: TagReader, sim: ReaderSimulator) -> None:
        uid = reader.inventory()[0].uid
        before = bytes(sim.field.get(uid).memory[:8])
        sim.inject("leave_mid_write")
        with pytest.raises(NoTagError):
            reader.write_blocks(uid, 0, bytes(range(8)))
        tag = sim.field.get(uid)
        assert not tag.present
        assert bytes(tag.memory[:4]) == bytes(range(4)) and bytes(tag.memory[4:8]) == before[4:8]

    def test_collision_loses_tags_for_one_round(self, reader: TagReader, sim: ReaderSimulator) -> None:
        sim.inject("collision")
        first = reader.inventory()
        assert len(first) <= 6
        assert len(reader.inventory()) == 6

    def test_locked_block_write_is_refused(self, reader: TagReader, sim: ReaderSimulator) -> None:
        uid = reader.inventory()[0].uid
        sim.field.get(uid).locked_blocks.add(0)
        with pytest.raises(Exception) as info:
            reader.write_blocks(uid, 0, bytes(4))
        assert getattr(info.value, "code", None) in (0x12,)

    def test_unplug_is_a_connection_error(self, reader: TagReader, sim: ReaderSimulator) -> None:
        sim.inject("unplug")
        with pytest.raises((ReaderConnectionError, ReaderTimeoutError)):
            reader.inventory()
            reader.inventory()


class TestFeigOverPty(SimReaderTests):
    protocol = "feig"

    def test_outputs_inputs_config(self, reader: TagReader, sim: ReaderSimulator) -> None:
        reader.set_outputs({1: True, 2: False})
        with SimControl(sim.control_address or "") as ctl:
            assert ctl.call("outputs")["outputs"] == {"1": 1, "2": 0}
            ctl.call("inputs", value=3)
        assert reader.read_inputs()[2] is True
        reader.write_config(1, bytes(range(14)))  # type: ignore[attr-defined]
        assert reader.read_config(1) == bytes(range(14))  # type: ignore[attr-defined]

    def test_more_data_with_many_tags(self, sim: ReaderSimulator) -> None:
        sim.engine.max_records = 2  # type: ignore[union-attr]
        reader = open_reader(sim.url)
        try:
            assert len(reader.inventory()) == 6
        finally:
            reader.close()

    def test_buffered_read_mode(self, reader: TagReader, sim: ReaderSimulator) -> None:
        reader.init_buffer()  # type: ignore[attr-defined]
        assert len(reader.read_buffer()) == 6  # type: ignore[attr-defined]
        reader.clear_buffer()  # type: ignore[attr-defined]
        assert reader.read_buffer() == []  # type: ignore[attr-defined]
        sim.place(VirtualTag(Uid.from_hex("E004010055555555")))
        assert [r.uid.hex for r in reader.read_buffer()] == ["E004010055555555"]  # type: ignore[attr-defined]


class TestFeigAdvancedFrames(SimReaderTests):
    """The same scenarios with the FEIG advanced protocol frame (STX, two length bytes)."""

    protocol = "feig"

    @pytest.fixture
    def reader(self, sim: ReaderSimulator) -> Iterator[TagReader]:
        reader = open_reader(sim.url + "&timeout=0.3&advanced=1")
        yield reader
        reader.close()


class Test3MOverPty(SimReaderTests):
    protocol = "3m"

    def test_retries_hide_transient_error_06(self, reader: TagReader, sim: ReaderSimulator) -> None:
        uid = reader.inventory()[0].uid
        sim.inject("no_tag", 3)
        reader.write_afi(uid, 0xDA)
        assert sim.field.get(uid).afi == 0xDA


class TestFeigOverTcp(SimReaderTests):
    protocol = "feig"
    link = "tcp:0"

    def test_unplug_is_a_connection_error(self, reader: TagReader, sim: ReaderSimulator) -> None:
        sim.inject("unplug")
        with pytest.raises((ReaderConnectionError, ReaderTimeoutError)):
            reader.inventory()


@pytest.mark.parametrize("baud", [None, 38400])
def test_timing_on_paces_answers(baud: int | None) -> None:
    with ReaderSimulator("feig", "pty", make_tags(), timing=True, link_baud=baud) as sim:
        reader = open_reader(sim.url)
        try:
            assert len(reader.inventory()) == 6
        finally:
            reader.close()
        assert sim.air_seconds > 0


def test_tag_file_round_trip_and_sim_url(tmp_path: Path) -> None:
    path = tmp_path / "tags.json"
    save_tags(path, demo_tags(3))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data["tags"][0]) >= {
        "uid",
        "afi",
        "dsfid",
        "eas",
        "block_size",
        "block_count",
        "memory",
        "locked_blocks",
    }
    assert [t.uid for t in load_tags(path)] == [t.uid for t in demo_tags(3)]
    reader = open_reader(f"sim://?driver=3m&tags={path}&timing=off")
    try:
        results = reader.inventory(0x07)
        assert len(results) == 3
        assert read_library_tag(reader, results[0].uid)[1].title == "Truyện Kiều"
    finally:
        reader.close()


def test_reconnecting_reader_states(tmp_path: Path) -> None:
    sim = ReaderSimulator("feig", "pty", make_tags(), timing=False).start()
    states: list[ReaderState] = []
    url = sim.url + "&timeout=0.2"
    wrapped = ReconnectingReader(lambda: open_reader(url), on_state=states.append, backoff_initial=0.01)
    assert len(wrapped.inventory()) == 6
    sim.inject("silent", 2)
    for _ in range(2):
        with pytest.raises(ReaderTimeoutError):
            wrapped.inventory()
    assert wrapped.state is ReaderState.SILENT
    assert len(wrapped.inventory()) == 6
    sim.stop()
    with pytest.raises((ReaderConnectionError, ReaderTimeoutError)):
        wrapped.inventory()
        wrapped.inventory()
    assert not wrapped.connect(attempts=2)
    assert wrapped.state.value == "unplugged"
    wrapped.close()
    assert states[:2] == [ReaderState.CONNECTED, ReaderState.SILENT]
