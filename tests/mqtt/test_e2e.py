"""End to end against the real Mosquitto: edge outbox -> broker -> ingest -> PostgreSQL -> ack -> outbox empty."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from edge.agent import Agent
from server.db import Database
from server.devices import service
from server.devices.models import CommandStatus, DeviceCommand, DeviceEvent, DeviceState, EventStatus, TelemetrySample
from server.devices.repository import get as get_device
from server.ingest.consumer import IngestConsumer
from tests.mqtt.brokers import Listener, add_device, add_library, require_default_broker
from tests.support import wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]


def _count(db: Database, *where: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DeviceEvent).where(*where)) or 0)


def _mqtt(prefix: str, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": 1883, "topic_prefix": prefix, **extra}


def test_events_arrive_once_and_are_acknowledged(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-k01")
    make_consumer(pg_db, topic_prefix=prefix)
    agent = make_agent("hdu-k01", mqtt=_mqtt(prefix), telemetry_interval_s=0.5)
    ids = [agent.context.emit("checkout", {"item": f"3000{i:06d}", "patron": "0001000001"}) for i in range(50)]
    assert wait_for(lambda: agent.outbox.depth() == 0, timeout=20), "the server never acknowledged"
    assert _count(pg_db) == 50
    with pg_db.session() as session:
        stored = set(session.scalars(select(DeviceEvent.event_id)))
        assert stored == set(ids)
        assert {e.status for e in session.scalars(select(DeviceEvent))} == {EventStatus.APPLIED}
    assert wait_for(lambda: _telemetry_count(pg_db) > 0, timeout=10)
    with pg_db.session() as session:
        device = get_device(session, "hdu-k01")
        assert device is not None
        assert device.state is DeviceState.ONLINE
        assert device.versions["role"] == "kiosk"
        assert device.last_seen_at is not None
        assert device.outbox_depth is not None


def _telemetry_count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(TelemetrySample)) or 0)


def test_commands_round_trip_and_expire(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-s02", kind="station")
    make_consumer(pg_db, topic_prefix=prefix)
    agent = make_agent("hdu-s02", role="station", mqtt=_mqtt(prefix))
    assert agent.uplink.connected.wait(10)
    with pg_db.write() as session:
        ping = service.issue_command(session, "hdu-s02", "ping").command_id
        mode = service.issue_command(session, "hdu-s02", "set-mode", {"mode": "maintenance"}).command_id
        bad = service.issue_command(session, "hdu-s02", "set-mode", {"mode": "party"}).command_id

    def status(command_id: str) -> CommandStatus:
        with pg_db.session() as session:
            command = session.scalar(select(DeviceCommand).where(DeviceCommand.command_id == command_id))
            assert command is not None
            return command.status

    assert wait_for(lambda: status(ping) is CommandStatus.DONE, timeout=10)
    assert wait_for(lambda: status(mode) is CommandStatus.DONE, timeout=10)
    assert wait_for(lambda: status(bad) is CommandStatus.FAILED, timeout=10)
    assert agent.mode == "maintenance"
    # A command that expires before any consumer publishes it is never run.
    with pg_db.write() as session:
        late = service.issue_command(session, "hdu-s02", "ping", ttl=dt.timedelta(seconds=1))
        late.expires_at = late.issued_at - dt.timedelta(seconds=1)
        late_id = late.command_id
    assert wait_for(lambda: status(late_id) is CommandStatus.EXPIRED, timeout=10)


def test_last_will_marks_a_dropped_device_offline(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-s01", kind="station")
    make_consumer(pg_db, topic_prefix=prefix)
    agent = make_agent("hdu-s01", role="station", mqtt=_mqtt(prefix, keepalive=5, reconnect_min_s=5))

    def state() -> DeviceState | None:
        with pg_db.session() as session:
            device = get_device(session, "hdu-s01")
            return None if device is None else device.state

    assert wait_for(lambda: state() is DeviceState.ONLINE, timeout=10)
    agent.uplink.kill_connection()
    assert wait_for(lambda: state() is DeviceState.OFFLINE, timeout=10), "the Last Will never arrived"
    assert wait_for(lambda: state() is DeviceState.ONLINE, timeout=20), "the device never came back"


def test_bad_messages_and_failing_callbacks_do_not_kill_the_connection(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-k09")
    agent = make_agent("hdu-k09", mqtt=_mqtt(prefix))
    assert agent.uplink.connected.wait(10)
    real_acknowledge = agent.outbox.acknowledge
    calls: list[int] = []

    def explode_once(ids: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("simulated bug in an ack handler")
        return real_acknowledge(ids)

    agent.outbox.acknowledge = explode_once  # type: ignore[method-assign]
    observer = Listener(1883, [])
    try:
        assert wait_for(lambda: observer.connect_reason is not None, timeout=10)
        for expected, topic in enumerate((agent.topics.ack, agent.topics.command("ping")), start=1):
            observer.client.publish(topic, b"\x00not json", qos=1).wait_for_publish(5)
            assert wait_for(lambda n=expected: agent.uplink.counters["bad_messages"] >= n, timeout=10)  # type: ignore[misc]
        observer.client.publish(agent.topics.ack, b'{"v": 1, "event_ids": ["nothing"]}', qos=1)
        assert wait_for(lambda: bool(calls), timeout=10)
        make_consumer(pg_db, topic_prefix=prefix)
        agent.context.emit("renew", {"item": "1"})
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=30), "the uplink died with its callback"
        assert agent.uplink.connected.is_set()
        assert agent.uplink.counters["connects"] == 1
    finally:
        observer.close()


def test_thuvien_station_runs_from_its_settings_file_and_says_goodbye(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], tmp_path: Path
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-s09", kind="station")
    make_consumer(pg_db, topic_prefix=prefix)
    config = tmp_path / "station.toml"
    config.write_text(
        f'device_id = "hdu-s09"\nlibrary = "VN-HDU"\ndata_dir = "{tmp_path / "edge"}"\ntelemetry_interval_s = 1\n'
        f'[mqtt]\ntopic_prefix = "{prefix}"\n[[readers]]\nname = "desk"\nurl = "standin://"\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "station", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def state() -> DeviceState | None:
        with pg_db.session() as session:
            device = get_device(session, "hdu-s09")
            return None if device is None else device.state

    try:
        assert wait_for(lambda: state() is DeviceState.ONLINE, timeout=30)
        assert wait_for(lambda: _telemetry_count(pg_db) > 0, timeout=15)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert wait_for(lambda: state() is DeviceState.OFFLINE, timeout=10)
    with pg_db.session() as session:
        reasons = [e.payload["data"].get("state") for e in session.scalars(select(DeviceEvent))]
    assert "connected" in reasons  # the reader_state event of the stand-in reader


def test_bad_settings_file_is_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('role = "kiosk"\ndevice_id = "hdu-k01"\nlibrary = "VN-HDU"\nmode = "party"\n')
    proc = subprocess.run([sys.executable, "-m", "edge.cli", "edge", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("thuvien edge: setting 'mode'")
    assert len(proc.stderr.strip().splitlines()) == 1
