"""Chaos: N events, N stored exactly once (by count and by id) whatever dies on the way.

Each scenario runs a real edge agent process (durable outbox) against a private Mosquitto and the server's
ingest consumer, and breaks one thing mid-burst: kill -9 of the edge agent, of the broker (persistence off:
it forgets everything it held), of the server consumer, or a cut of the TCP connections.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select

from server.db import Database
from server.devices.models import DeviceEvent, EventStatus
from tests.mqtt.brokers import Broker, CuttableProxy, add_device, add_library
from tests.support import wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

N = 600
RATE = 300.0
ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, args: list[str]) -> None:
        self.popen = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        assert self.popen.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.popen.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip())
        stream.close()

    def saw(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for line in self.lines)

    def produced(self) -> int:
        counts = [int(line.split()[1]) for line in self.lines if line.startswith("produced ")]
        return max(counts, default=-1)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)
        self._reader.join(5)

    def finish(self, timeout: float) -> int:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = -9
        self._reader.join(5)
        return code


class Rig:
    def __init__(self, db: Database, tmp: Path, prefix: str, device: str) -> None:
        self.db = db
        self.tmp = tmp
        self.prefix = prefix
        self.device = device
        self.broker = Broker(tmp / "broker", extra="allow_anonymous true\npersistence false\n").start()
        self.edge_port = self.broker.port
        self.procs: list[Proc] = []
        add_library(db)
        add_device(db, device)

    def consumer(self) -> Proc:
        proc = Proc(["tests.mqtt.chaos_consumer", "--database", self.db.url, "--port", str(self.broker.port),
                     "--prefix", self.prefix])
        self.procs.append(proc)
        assert wait_for(lambda: proc.saw("consuming"), timeout=20), proc.lines
        return proc

    def edge(self, *extra: str) -> Proc:
        proc = Proc(["tests.mqtt.chaos_edge", "--data-dir", str(self.tmp / "edge"), "--port", str(self.edge_port),
                     "--prefix", self.prefix, "--device", self.device, "--count", str(N), "--rate", str(RATE),
                     *extra])
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        self.broker.kill()

    def assert_exactly_once(self) -> None:
        expected = {f"{self.device}-{i:06d}" for i in range(N)}
        with self.db.session() as session:
            count = session.scalar(select(func.count()).select_from(DeviceEvent))
            ids = set(session.scalars(select(DeviceEvent.event_id)))
            statuses = set(session.scalars(select(DeviceEvent.status)))
        assert ids == expected, f"missing {sorted(expected - ids)[:5]}, unexpected {sorted(ids - expected)[:5]}"
        assert count == N, f"{count} rows stored for {N} events"
        assert statuses == {EventStatus.APPLIED}


@pytest.fixture
def rig(pg_db: Database, tmp_path: Path, prefix: str) -> Iterator[Rig]:
    rig = Rig(pg_db, tmp_path, prefix, "hdu-chaos")
    yield rig
    rig.close()


def _wait_produced(edge: Proc, at_least: int) -> None:
    assert wait_for(lambda: edge.produced() >= at_least, timeout=30), edge.lines[-5:]


def test_kill_9_of_the_edge_agent_mid_burst(rig: Rig) -> None:
    rig.consumer()
    edge = rig.edge()
    _wait_produced(edge, 200)
    edge.kill()
    again = rig.edge()
    assert again.finish(120) == 0, again.lines[-5:]
    assert any(line.startswith("started at ") and line != "started at 0" for line in again.lines)
    rig.assert_exactly_once()


def test_kill_9_and_restart_of_the_broker(rig: Rig) -> None:
    rig.consumer()
    edge = rig.edge()
    _wait_produced(edge, 150)
    rig.broker.kill()
    time.sleep(1.0)
    rig.broker.start()
    assert edge.finish(120) == 0, edge.lines[-5:]
    rig.assert_exactly_once()


def test_kill_9_and_restart_of_the_server_consumer(rig: Rig) -> None:
    consumer = rig.consumer()
    edge = rig.edge()
    _wait_produced(edge, 200)
    consumer.kill()
    _wait_produced(edge, 350)  # events keep coming while no consumer is there
    rig.consumer()
    assert edge.finish(120) == 0, edge.lines[-5:]
    rig.assert_exactly_once()


def test_cut_connections_repeatedly(rig: Rig) -> None:
    proxy = CuttableProxy(rig.broker.port)
    rig.edge_port = proxy.port
    try:
        rig.consumer()
        edge = rig.edge()
        for at in (100, 250, 400):
            _wait_produced(edge, at)
            proxy.cut()
        assert edge.finish(120) == 0, edge.lines[-5:]
        assert proxy.cuts == 3
        rig.assert_exactly_once()
    finally:
        proxy.close()


def test_control_without_the_application_ack_events_are_lost(rig: Rig) -> None:
    """The same consumer outage with events forgotten once handed to the broker: the suite sees the loss."""
    consumer = rig.consumer()
    edge = rig.edge("--no-app-ack")
    _wait_produced(edge, 150)
    consumer.kill()
    _wait_produced(edge, 300)
    rig.consumer()
    assert edge.finish(120) == 0, edge.lines[-5:]
    with rig.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(DeviceEvent))
    assert stored is not None and stored < N, "the control lost nothing: the chaos suite would not see a loss"
