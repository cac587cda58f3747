"""The gate agent against the simulated gate: people walking through with and without secured items."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.contract import Command
from edge.readers import ReaderConnectionError
from gate.agent import CommandRejected, CountingConfig, GateAgent
from gate.counter import AisleBeams
from gate.detector import DetectorConfig
from gate.events import MemorySink
from gate.outputs import RecordingOutput
from gate.sim import GateWorld, SimClock, SimTag, Walker, WorldReader

DE_MEN = "E004010000000004"
ON_LOAN = "E004010000000005"


class Gate:
    def __init__(self, *, aisles: int = 1, seed: int = 3, **detector: object) -> None:
        self.clock = SimClock()
        self.world = GateWorld(self.clock, aisles=range(1, aisles + 1), seed=seed)
        self.reader = WorldReader(self.world)
        self.sink = MemorySink()
        self.output = RecordingOutput(self.clock)
        self.opened = 0
        counting = CountingConfig(
            aisles=tuple(AisleBeams(a, 2 * a - 1, 2 * a) for a in range(1, aisles + 1)), poll_s=0.03, period_s=600
        )
        self.agent = GateAgent(
            "gate-1",
            self._open,
            self.sink,
            detector=DetectorConfig(gate_id="gate-1", **detector),  # type: ignore[arg-type]
            outputs=lambda _r: self.output,
            counting=counting,
            clock=self.clock,
            wait=self.clock.wait,
        )

    def _open(self) -> WorldReader:
        self.opened += 1
        if self.world.unplugged:
            raise ReaderConnectionError("no such port")
        return self.reader

    def run_for(self, seconds: float) -> None:
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            pause = self.agent.step()
            self.clock.wait(pause)

    def alarms(self) -> list[dict[str, object]]:
        return [e.data for e in self.sink.of("alarm")]


def test_a_secured_item_walking_out_gives_one_alarm_naming_it() -> None:
    gate = Gate()
    book = SimTag.item(DE_MEN, "3000000004", title="Dế Mèn phiêu lưu ký")
    gate.world.walk(Walker(gate.clock.now() + 0.2, "out", [book]))
    gate.run_for(5)
    alarms = gate.alarms()
    assert len(alarms) == 1
    assert alarms[0]["tag_uid"] == DE_MEN
    item = alarms[0]["item"]
    assert isinstance(item, dict) and item["barcode"] == "3000000004" and item["owner_isil"] == "VN-HDU"
    assert gate.output.activations == 1
    on_at = gate.output.changes[0][0]
    entered = gate.world.entered_at[book.uid][0]
    assert entered < on_at < gate.world.left_at[book.uid][0]


def test_a_borrowed_item_walks_out_silently() -> None:
    gate = Gate()
    gate.world.walk(Walker(gate.clock.now() + 0.2, "out", [SimTag.item(ON_LOAN, "3000000005", secured=False)]))
    gate.run_for(5)
    assert gate.alarms() == []
    assert gate.output.activations == 0


def test_several_people_at_once_with_tags_at_bad_angles() -> None:
    gate = Gate(aisles=3)
    now = gate.clock.now()
    secured = [SimTag.item(f"E0040100000002{i:02d}", f"300000020{i}", read_probability=0.5) for i in range(3)]
    borrowed = [SimTag.item(f"E0040100000003{i:02d}", f"300000030{i}", secured=False) for i in range(3)]
    for aisle in (1, 2, 3):
        gate.world.walk(Walker(now + 0.2 + 0.05 * aisle, "out", [secured[aisle - 1], borrowed[aisle - 1]], aisle))
    gate.world.walk(Walker(now + 0.3, "in", [], aisle=2, speed_m_s=1.2))
    gate.run_for(6)
    named = sorted(str(a["tag_uid"]) for a in gate.alarms())
    assert named == sorted(t.uid.hex for t in secured)
    gate.agent.close()
    visitors = gate.sink.of("visitors")
    assert sum(int(v.data["count_out"]) for v in visitors) == 3


def test_a_cart_of_fifty_books_alarms_for_every_book_without_blocking_the_next_person() -> None:
    gate = Gate()
    now = gate.clock.now()
    cart = [SimTag.item(f"E00401000000{0x1000 + i:04X}", f"30000010{i:02d}") for i in range(50)]
    gate.world.walk(Walker(now + 0.2, "out", cart, speed_m_s=0.7))
    follower = SimTag.item(DE_MEN, "3000000004")
    gate.world.walk(Walker(now + 0.6, "out", [follower], aisle=1))
    gate.run_for(8)
    uids = [str(a["tag_uid"]) for a in gate.alarms()]
    assert sorted(uids) == sorted([t.uid.hex for t in cart] + [DE_MEN])
    assert len(set(uids)) == 51
    assert gate.agent.detector is not None and gate.agent.detector.alarms_total == 51


def test_visitors_are_counted_in_and_out_per_period() -> None:
    gate = Gate()
    now = gate.clock.now()
    for i, direction in enumerate(["in", "in", "out", "in", "out"]):
        gate.world.walk(Walker(now + 0.2 + 1.5 * i, direction))
    gate.run_for(10)
    gate.agent.close()
    visitors = gate.sink.of("visitors")
    assert sum(int(v.data["count_in"]) for v in visitors) == 3
    assert sum(int(v.data["count_out"]) for v in visitors) == 2
    assert gate.alarms() == []


def test_a_blocked_beam_is_reported_as_a_fault() -> None:
    gate = Gate()
    assert gate.agent.counter is not None
    gate.agent.counter.aisles[0].blocked_limit_s = 5
    gate.world.block_beam(1)
    gate.run_for(7)
    gate.world.block_beam(1, False)
    gate.run_for(1)
    faults = gate.sink.of("beam_fault")
    assert [f.data["state"] for f in faults] == ["blocked", "clear"]


def test_an_unplugged_reader_is_reported_and_reopened() -> None:
    gate = Gate()
    gate.run_for(0.5)
    gate.world.unplugged = True
    gate.run_for(3)
    gate.world.unplugged = False
    gate.run_for(3)
    book = SimTag.item(DE_MEN, "3000000004")
    gate.world.walk(Walker(gate.clock.now() + 0.1, "out", [book]))
    gate.run_for(3)
    states = [e.data["state"] for e in gate.sink.of("reader_state")]
    assert states == ["connected", "unplugged", "connected"]
    assert gate.opened >= 3
    assert len(gate.alarms()) == 1


def test_a_silent_reader_is_reported() -> None:
    gate = Gate()
    gate.run_for(0.5)
    gate.world.silent = True
    gate.run_for(3)
    gate.world.silent = False
    gate.run_for(1)
    states = [e.data["state"] for e in gate.sink.of("reader_state")]
    assert states == ["connected", "silent", "connected"]


def _command(name: str, args: dict[str, object], expires_in: float = 60) -> Command:
    now = dt.datetime.now(dt.UTC)
    return Command(
        command_id="c1", name=name, args=args, issued_at=now, expires_at=now + dt.timedelta(seconds=expires_in)
    )


def test_silence_alarm_command_keeps_outputs_off_but_still_reports() -> None:
    gate = Gate()
    gate.run_for(0.1)
    assert gate.agent.handle_command(_command("silence-alarm", {"seconds": 30})) == {"silenced_s": 30.0}
    gate.world.walk(Walker(gate.clock.now() + 0.1, "out", [SimTag.item(DE_MEN, "3000000004")]))
    gate.run_for(3)
    assert gate.output.activations == 0
    assert [a["silenced"] for a in gate.alarms()] == [True]
    with pytest.raises(CommandRejected, match="expired"):
        gate.agent.handle_command(_command("silence-alarm", {"seconds": 30}, expires_in=-1))
    with pytest.raises(CommandRejected, match="seconds"):
        gate.agent.handle_command(_command("silence-alarm", {"seconds": "x"}))


def test_an_external_people_counter_on_a_line_stream() -> None:
    from gate.counter import LineCounter

    from .test_counter import FakeStream

    stream = FakeStream()
    opened: list[LineCounter] = []

    def open_counter() -> LineCounter:
        if not opened:
            opened.append(LineCounter(stream))
            raise OSError("port busy")  # the first open fails: retried later
        return opened[0]

    clock = SimClock()
    world = GateWorld(clock)
    sink = MemorySink()
    agent = GateAgent(
        "gate-1",
        lambda: WorldReader(world),
        sink,
        counting=CountingConfig(aisles=(AisleBeams(1, -2, -3),), poll_s=0.05, period_s=600),
        line_counter=open_counter,
        clock=clock,
        wait=clock.wait,
    )
    stream.data = b"IN\nIN\nOUT\nBLOCKED 1\nCLEAR 1\n"
    end = clock.now() + 3
    while clock.now() < end:
        clock.wait(agent.step() or 0.01)
    agent.close()
    (visitors,) = sink.of("visitors")
    assert (visitors.data["count_in"], visitors.data["count_out"]) == (2, 1)
    assert [f.data["state"] for f in sink.of("beam_fault")] == ["blocked", "clear"]


def test_eas_mode_alarms_on_the_eas_bit_and_names_a_lone_item() -> None:
    from gate.detector import DetectionMode

    gate = Gate(mode=DetectionMode.EAS)
    borrowed = SimTag.item(ON_LOAN, "3000000005", secured=False)
    gate.world.walk(Walker(gate.clock.now() + 0.2, "out", [borrowed]))
    gate.run_for(3)
    assert gate.alarms() == []
    book = SimTag.item(DE_MEN, "3000000004")
    gate.world.walk(Walker(gate.clock.now() + 0.2, "out", [book]))
    gate.run_for(3)
    (alarm,) = gate.alarms()
    assert alarm["source"] == "eas" and alarm["tag_uid"] == DE_MEN
    assert isinstance(alarm["item"], dict) and alarm["item"]["barcode"] == "3000000004"


def test_a_tag_that_answers_but_cannot_be_read_is_reported_by_uid() -> None:
    gate = Gate()
    broken = SimTag.item(DE_MEN, "3000000004", readable=False)
    gate.world.walk(Walker(gate.clock.now() + 0.2, "out", [broken]))
    gate.run_for(3)
    (alarm,) = gate.alarms()
    assert alarm["tag_uid"] == DE_MEN and alarm["item"] is None
    assert "TagResponseError" in str(alarm["identity_error"])
    assert gate.output.activations == 1
