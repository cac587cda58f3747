"""The gate agent on the protocol-exact FEIG simulator (pty, air timing on), in real time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from edge.readers import TagReader, open_reader
from edge.readers.sim import ReaderSimulator
from edge.readers.sim.feig_sim import FeigProtocol
from gate.agent import CountingConfig, GateAgent
from gate.counter import AisleBeams, ReaderInputs
from gate.detector import DetectorConfig
from gate.events import MemorySink
from gate.outputs import ReaderOutputs
from gate.sim import GateWorld, SimClock, SimTag, SimulatorBridge, Traffic, Walker
from tests.support import wait_for


class FeigGate:
    def __init__(self) -> None:
        self.simulator = ReaderSimulator("feig", "pty", timing=True).start()
        self.clock = SimClock(realtime=True)
        self.world = GateWorld(self.clock)
        SimulatorBridge(self.world, self.simulator)
        self.traffic = Traffic(self.world, auto=False)
        self.sink = MemorySink()
        self.agent = GateAgent(
            "gate-1",
            self._open,
            self.sink,
            detector=DetectorConfig(gate_id="gate-1", hold_s=1.0, alarm_s=0.5),
            outputs=lambda reader: ReaderOutputs(reader, (1, 3)),
            counting=CountingConfig(aisles=(AisleBeams(1, 1, 2),), poll_s=0.02, period_s=3600),
            inputs=ReaderInputs,
        )

    def _open(self) -> TagReader:
        return open_reader(self.simulator.url + "&timeout=0.5")

    def start(self) -> None:
        self.traffic.start()
        self.agent.start()

    def stop(self) -> None:
        self.agent.stop()
        self.traffic.stop()
        self.simulator.stop()


@pytest.fixture
def gate() -> Iterator[FeigGate]:
    g = FeigGate()
    g.start()
    yield g
    g.stop()


def test_secured_item_alarms_once_with_its_identity_and_borrowed_item_does_not(gate: FeigGate) -> None:
    assert wait_for(lambda: bool(gate.sink.of("reader_state")), 10)
    secured = SimTag.item("E004010000000004", "3000000004")
    gate.world.walk(Walker(gate.clock.now() + 0.1, "out", [secured]))
    assert wait_for(lambda: len(gate.sink.of("alarm")) >= 1, 15)
    assert wait_for(lambda: secured.uid not in gate.world.in_field, 10)
    time.sleep(1.5)  # the pass must end without a second alarm
    alarms = gate.sink.of("alarm")
    assert len(alarms) == 1
    item = alarms[0].data["item"]
    assert isinstance(item, dict) and item["barcode"] == "3000000004"
    assert alarms[0].data["tag_uid"] == "E004010000000004"
    engine = gate.simulator.engine
    assert isinstance(engine, FeigProtocol)
    assert wait_for(lambda: engine.outputs.get(1) == 0, 10)  # raised, then released
    borrowed = SimTag.item("E004010000000005", "3000000005", secured=False)
    gate.world.walk(Walker(gate.clock.now() + 0.1, "out", [borrowed]))
    assert wait_for(lambda: borrowed.uid in gate.world.left_at, 10)
    time.sleep(0.3)
    assert len(gate.sink.of("alarm")) == 1


def test_beams_on_reader_inputs_count_in_and_out(gate: FeigGate) -> None:
    assert wait_for(lambda: bool(gate.sink.of("reader_state")), 10)
    start = gate.clock.now() + 0.1
    for i, direction in enumerate(["in", "out", "in"]):
        gate.world.walk(Walker(start + 1.0 * i, direction, speed_m_s=1.4))
    counter = gate.agent.counter
    assert counter is not None
    assert wait_for(lambda: (counter.total_in, counter.total_out) == (2, 1), 20)
