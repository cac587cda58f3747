"""The gate's decision logic against scripted reads: alarm first, identity after, one alarm per pass."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.iso15693 import Uid
from edge.readers import ProtocolError, ReaderConnectionError, ReaderState, ReaderTimeoutError, TagResponseError
from gate.detector import Alarm, DetectionMode, Detector, DetectorConfig, FastMode
from gate.outputs import CommandOutput, ReaderOutputs

from .scripted import ScriptedReader, StepClock, item_memory

SECURED = Uid.from_hex("E004010000000004")
OTHER = Uid.from_hex("E004010000000006")


class LoggingOutput:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def alarm_on(self) -> None:
        self.log.append("ALARM_ON")

    def alarm_off(self) -> None:
        self.log.append("ALARM_OFF")


def make(
    reader: ScriptedReader, **config: object
) -> tuple[Detector, StepClock, list[Alarm], list[tuple[ReaderState, str]]]:
    clock = StepClock()
    alarms: list[Alarm] = []
    states: list[tuple[ReaderState, str]] = []
    settings = {"gate_id": "gate-t", "hold_s": 1.0, "alarm_s": 2.0, **config}
    detector = Detector(
        reader,
        LoggingOutput(reader.log),
        DetectorConfig(**settings),  # type: ignore[arg-type]
        clock=clock,
        on_alarm=alarms.append,
        on_state=lambda s, d: states.append((s, d)),
    )
    return detector, clock, alarms, states


def run(detector: Detector, clock: StepClock, cycles: int, dt_s: float = 0.1) -> None:
    for _ in range(cycles):
        detector.step()
        clock.advance(dt_s)


def test_alarm_is_raised_before_the_tag_is_read_and_names_the_item() -> None:
    reader = ScriptedReader(inventories=[[SECURED]], memory={SECURED: item_memory("3000000004")})
    detector, _clock, alarms, _ = make(reader)
    result = detector.step()
    assert len(result.new_alarms) == 1
    assert reader.log[:3] == ["inventory", "ALARM_ON", "read"]
    assert reader.calls[0] == "inventory(7)"
    assert [a.item_barcode for a in alarms] == ["3000000004"]
    alarm = alarms[0]
    assert alarm.uid == SECURED and alarm.antenna == 2 and alarm.source == "afi"
    assert alarm.tag is not None and alarm.tag.owner_isil == "VN-HDU"


def test_one_alarm_per_pass_even_with_gaps_in_the_reads() -> None:
    seen = [SECURED]
    # read in 10 cycles of 0.1 s, with misses (a tag at a bad angle), gaps all shorter than hold_s
    script: list[list[Uid] | BaseException] = [seen, [], seen, [], [], seen, seen, [], [], seen]
    reader = ScriptedReader(inventories=script, memory={SECURED: item_memory("3000000004")})
    detector, clock, alarms, _ = make(reader)
    run(detector, clock, 12)
    assert len(alarms) == 1
    assert detector.alarms_total == 1


def test_a_new_pass_after_the_hold_time_alarms_again() -> None:
    empty: list[list[Uid] | BaseException] = [[] for _ in range(15)]
    script: list[list[Uid] | BaseException] = [[SECURED], *empty, [SECURED]]
    reader = ScriptedReader(inventories=script, memory={SECURED: item_memory("3000000004")})
    detector, clock, alarms, _ = make(reader, alarm_s=0.5)
    run(detector, clock, 20)
    assert len(alarms) == 2
    assert reader.log.count("ALARM_ON") == 2


def test_outputs_go_off_after_the_alarm_time() -> None:
    reader = ScriptedReader(inventories=[[SECURED]], memory={SECURED: item_memory("3000000004")})
    detector, clock, _alarms, _ = make(reader, alarm_s=0.5)
    detector.step()
    assert detector.outputs_on
    run(detector, clock, 10)
    assert not detector.outputs_on
    assert reader.log.count("ALARM_OFF") == 1


def test_a_tag_that_answers_the_inventory_but_cannot_be_read_still_alarms() -> None:
    broken = TagResponseError("tag error", status=0x95, code=0x0F)
    reader = ScriptedReader(inventories=[[SECURED]] * 5, memory={SECURED: broken})
    detector, clock, alarms, states = make(reader, identity_attempts=3)
    run(detector, clock, 5)
    assert reader.log.index("ALARM_ON") == 1
    assert len(alarms) == 1
    assert alarms[0].uid == SECURED and alarms[0].tag is None
    assert alarms[0].identity_error is not None and "TagResponseError" in alarms[0].identity_error
    assert alarms[0].attempts == 3
    assert detector.state is ReaderState.CONNECTED and states == []


def test_a_tag_that_leaves_before_it_is_read_is_reported_with_its_uid() -> None:
    reader = ScriptedReader(inventories=[[SECURED]], memory={})
    detector, clock, alarms, _ = make(reader, identity_attempts=100)
    run(detector, clock, 20)
    assert len(alarms) == 1
    assert alarms[0].identity_error is not None


def test_reader_errors_never_leave_the_loop_and_are_reported_as_states() -> None:
    timeout = ReaderTimeoutError("no answer")
    script: list[list[Uid] | BaseException] = [
        ProtocolError("bad crc"),
        timeout,
        timeout,
        RuntimeError("driver bug"),
        [SECURED],
        ReaderConnectionError("gone"),
        [],
    ]
    reader = ScriptedReader(inventories=script, memory={SECURED: item_memory("3000000004")})
    detector, clock, alarms, states = make(reader, silent_after_errors=3)
    backoffs = []
    for _ in range(len(script)):
        backoffs.append(detector.step().backoff_s)
        clock.advance(0.1)
    assert [s for s, _ in states] == [
        ReaderState.SILENT,
        ReaderState.CONNECTED,
        ReaderState.UNPLUGGED,
        ReaderState.CONNECTED,
    ]
    assert backoffs[0] < backoffs[1] < backoffs[2] < backoffs[3]
    assert backoffs[4] == 0
    assert len(alarms) == 1


def test_a_cart_of_fifty_secured_books_alarms_for_each_at_once() -> None:
    cart = [Uid.from_int(0xE004010000001000 + i) for i in range(50)]
    memory: dict[Uid, bytes | BaseException] = {u: item_memory(f"30000010{i:02d}") for i, u in enumerate(cart)}
    reader = ScriptedReader(inventories=[cart] * 100, memory=memory)
    detector, clock, alarms, _ = make(reader, identity_budget_s=0.0, identity_reads_per_cycle=2)
    first = detector.step()
    assert len(first.new_alarms) == 50
    assert reader.log.count("ALARM_ON") == 1
    assert reader.log.count("read") == 2  # identity reads are spread over cycles, never blocking inventory
    clock.advance(0.1)
    run(detector, clock, 30)
    assert len(alarms) == 50
    assert sorted(a.item_barcode or "" for a in alarms) == sorted(f"30000010{i:02d}" for i in range(50))
    assert detector.alarms_total == 50


def test_eas_mode_names_the_item_when_one_tag_is_in_the_field() -> None:
    reader = ScriptedReader(eas=[True, True], all_tags=[[SECURED]], memory={SECURED: item_memory("3000000004")})
    detector, clock, alarms, _ = make(reader, mode=DetectionMode.EAS)
    run(detector, clock, 3)
    assert reader.log[:2] == ["eas", "ALARM_ON"]
    assert len(alarms) == 1 and alarms[0].source == "eas" and alarms[0].item_barcode == "3000000004"


def test_eas_mode_with_several_tags_reports_candidates() -> None:
    reader = ScriptedReader(eas=[True], all_tags=[[SECURED, OTHER]])
    detector, clock, alarms, _ = make(reader, mode=DetectionMode.EAS)
    run(detector, clock, 3)
    assert len(alarms) == 1
    assert alarms[0].uid is None and alarms[0].candidates == (SECURED, OTHER)


def test_both_modes_give_one_alarm_for_one_item() -> None:
    reader = ScriptedReader(
        inventories=[[SECURED], [SECURED]], eas=[True, True], memory={SECURED: item_memory("3000000004")}
    )
    detector, clock, alarms, _ = make(reader, mode=DetectionMode.BOTH)
    run(detector, clock, 20)
    assert reader.log[:3] == ["inventory", "ALARM_ON", "eas"]
    assert len(alarms) == 1 and alarms[0].source == "afi"


def test_wall_clock_jumps_do_not_change_the_decision() -> None:
    times = iter([dt.datetime(2030, 1, 1, tzinfo=dt.UTC), dt.datetime(1999, 1, 1, tzinfo=dt.UTC)] * 10)
    script: list[list[Uid] | BaseException] = [[SECURED], [SECURED], [OTHER], [SECURED]]
    memory: dict[Uid, bytes | BaseException] = {SECURED: item_memory("1"), OTHER: item_memory("2")}
    reader = ScriptedReader(inventories=script, memory=memory)
    clock = StepClock()
    alarms: list[Alarm] = []
    detector = Detector(
        reader,
        LoggingOutput(reader.log),
        DetectorConfig(hold_s=1.0),
        clock=clock,
        wall=lambda: next(times),
        on_alarm=alarms.append,
    )
    run(detector, clock, 10)
    assert len(alarms) == 2
    assert alarms[0].detected_at.year == 2030 and alarms[1].detected_at.year == 1999


def test_silenced_gate_reports_but_keeps_outputs_off() -> None:
    reader = ScriptedReader(inventories=[[SECURED]], memory={SECURED: item_memory("3000000004")})
    detector, clock, alarms, _ = make(reader)
    detector.silence(60)
    run(detector, clock, 3)
    assert "ALARM_ON" not in reader.log
    assert len(alarms) == 1 and alarms[0].silenced
    clock.advance(61)
    reader.inventories.append([OTHER])
    detector.step()
    assert "ALARM_ON" in reader.log


@dataclass
class _Record:
    uid: Uid
    antenna: int | None = None


class BufferedScriptedReader(ScriptedReader):
    def __init__(self, buffers: list[list[_Record]], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.buffers = buffers
        self.cleared = 0

    def read_buffer(self, max_records: int = 255) -> list[object]:
        self.log.append("read_buffer")
        return list(self.buffers.pop(0)) if self.buffers else []

    def clear_buffer(self) -> None:
        self.cleared += 1


def test_buffered_read_mode_replaces_the_inventory() -> None:
    reader = BufferedScriptedReader([[_Record(SECURED, 3)], []], memory={SECURED: item_memory("3000000004")})
    detector, clock, alarms, _ = make(reader, fast_mode=FastMode.BUFFERED)
    run(detector, clock, 3)
    assert "inventory" not in reader.log
    assert reader.log[:2] == ["read_buffer", "ALARM_ON"]
    assert reader.cleared == 1
    assert len(alarms) == 1 and alarms[0].antenna == 3


@pytest.mark.parametrize(
    "bad",
    [{"afi_in_stock": 256}, {"hold_s": 0}, {"identity_attempts": 0}, {"alarm_s": -1}],
)
def test_bad_configuration_is_refused_with_the_value(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=str(next(iter(bad.values())))):
        DetectorConfig(**bad)  # type: ignore[arg-type]


def test_an_alarm_threshold_ignores_a_single_stray_read() -> None:
    stray = [[SECURED]] + [[] for _ in range(15)]
    walk: list[list[Uid] | BaseException] = [[OTHER], [], [OTHER], [OTHER]]
    reader = ScriptedReader(inventories=[*stray, *walk], memory={OTHER: item_memory("3000000006")})
    detector, clock, alarms, _ = make(reader, alarm_threshold=2)
    run(detector, clock, 25)
    assert [a.uid for a in alarms] == [OTHER]
    assert alarms[0].reads >= 2


def test_outputs_by_command_and_reader_errors_in_outputs(tmp_path: Path) -> None:
    target = tmp_path / "state.txt"
    output = CommandOutput([sys.executable, "-c", f"open({str(target)!r}, 'a').write('{{state}}\\n')"])
    output.alarm_on()
    output.wait()
    output.alarm_off()
    output.wait()
    assert target.read_text().split() == ["on", "off"]
    with pytest.raises(ValueError, match="empty"):
        CommandOutput("")

    class Broken(ScriptedReader):
        def set_outputs(self, outputs: dict[int, bool]) -> None:
            raise ReaderTimeoutError("no answer")

    ReaderOutputs(Broken(), (1, 3)).alarm_on()  # logged, never raised
