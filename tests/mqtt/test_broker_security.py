"""The generated Mosquitto configuration (``thuvien mqtt config``) on a private broker: passwords, per-device
ACL with %u patterns, and a TLS listener with a throwaway CA."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from edge.agent import Agent
from edge.contract import DeviceTopics
from server.db import Database
from server.devices import service
from server.devices.models import DeviceEvent
from server.ingest import cli as mqtt_cli
from server.ingest.consumer import IngestConsumer
from tests.mqtt.brokers import Broker, Listener, Pki, add_device, add_library
from tests.support import free_port, wait_for

pytestmark = pytest.mark.mosquitto

SERVER_USER, SERVER_PASSWORD = "thuvien-server", "server-secret-for-tests"


@pytest.fixture
def registry(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("THUVIEN_SECRET_KEY", "a-long-random-secret-for-tests")
    add_library(sqlite_db)
    return {name: add_device(sqlite_db, name) for name in ("hdu-k01", "hdu-k02")}


def _generate(db: Database, out: Path, prefix: str, *extra: str) -> None:
    code = mqtt_cli.main(["--database", db.url, "config", "--out", str(out), "--server-user", SERVER_USER,
                          "--server-password", SERVER_PASSWORD, *extra])
    assert code == 0


@pytest.fixture
def secured(sqlite_db: Database, registry: dict[str, str], tmp_path: Path, prefix: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    monkeypatch.setenv("THUVIEN_MQTT__TOPIC_PREFIX", prefix)
    port = free_port()
    _generate(sqlite_db, tmp_path / "conf", prefix, "--port", str(port))
    conf = (tmp_path / "conf" / "mosquitto.conf").read_text()
    broker = Broker(tmp_path / "broker", extra=conf, port=port).start()
    yield broker
    broker.kill()


class Device:
    """A raw MQTT 5 client logged in as a device, recording PUBACK reason codes."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.reasons: dict[int, Any] = {}
        self.messages: list[str] = []
        self.connected = threading.Event()
        self.connect_reason: Any = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username + "-raw", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.reasons.__setitem__(mid, reason)
        self.client.on_message = lambda _c, _u, m: self.messages.append(m.topic)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connect_reason = reason
        self.connected.set()

    def publish(self, topic: str) -> Any:
        info = self.client.publish(topic, b"{}", qos=1)
        assert wait_for(lambda: info.mid in self.reasons, timeout=5)
        return self.reasons[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_wrong_or_missing_credentials_are_refused(secured: Broker, registry: dict[str, str]) -> None:
    for password in ("wrong", registry["hdu-k02"]):  # k02's password does not open k01
        device = Device(secured.port, "hdu-k01", password)
        assert device.connected.wait(5)
        assert device.connect_reason.is_failure
        device.close()


def test_a_device_may_use_only_its_own_topics(secured: Broker, registry: dict[str, str], prefix: str) -> None:
    k1 = DeviceTopics(prefix, "VN-HDU", "kiosk", "hdu-k01")
    k2 = DeviceTopics(prefix, "VN-HDU", "kiosk", "hdu-k02")
    server = Listener(secured.port, [f"{prefix}/#"], username=SERVER_USER, password=SERVER_PASSWORD)
    a = Device(secured.port, "hdu-k01", registry["hdu-k01"])
    b = Device(secured.port, "hdu-k02", registry["hdu-k02"])
    try:
        assert a.connected.wait(5) and not a.connect_reason.is_failure
        assert b.connected.wait(5) and not b.connect_reason.is_failure
        assert server.subscribed.wait(5)
        a.client.subscribe([(k2.commands, 1), (k2.ack, 1), ("#", 1), (k1.commands, 1)])
        b.client.subscribe([(k2.commands, 1)])
        assert not a.publish(k1.event("checkout")).is_failure
        assert a.publish(k2.event("checkout")).is_failure  # publishing as B: "Not authorized"
        assert a.publish(k2.status).is_failure
        assert a.publish(f"{prefix}/vn-hdu/kiosk/hdu-k01/cmd/ping").is_failure  # devices do not command
        assert wait_for(lambda: k1.event("checkout") in server.topics(), timeout=5)
        server.client.publish(k2.command("ping"), b"{}", qos=1)
        server.client.publish(k1.command("ping"), b"{}", qos=1)
        assert wait_for(lambda: k2.command("ping") in b.messages, timeout=5)
        assert wait_for(lambda: k1.command("ping") in a.messages, timeout=5)
        assert k2.event("checkout") not in server.topics()
        assert k2.command("ping") not in a.messages  # A cannot read B's commands, even subscribed to #
        assert all(t.startswith(k1.base) for t in a.messages)
    finally:
        for client in (a, b, server):
            client.close()


def test_events_flow_through_the_secured_broker(
    secured: Broker, sqlite_db: Database, registry: dict[str, str], prefix: str,
    make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    make_consumer(sqlite_db, port=secured.port, topic_prefix=prefix, username=SERVER_USER, password=SERVER_PASSWORD)
    agent = make_agent("hdu-k01", mqtt={"port": secured.port, "topic_prefix": prefix,
                                        "password": registry["hdu-k01"]})
    for i in range(20):
        agent.context.emit("checkin", {"item": str(i)})
    assert wait_for(lambda: agent.outbox.depth() == 0, timeout=20)
    with sqlite_db.session() as session:
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == 20


def test_rotation_and_removal_take_effect_after_regeneration(
    secured: Broker, sqlite_db: Database, registry: dict[str, str], tmp_path: Path, prefix: str
) -> None:
    with sqlite_db.write() as session:
        fresh = service.rotate_credentials(session, "hdu-k01").password
        service.retire_device(session, "hdu-k02")
    _generate(sqlite_db, tmp_path / "conf", prefix, "--port", str(secured.port))
    secured.reload()
    outcomes = {}
    for name, password in (("old", registry["hdu-k01"]), ("new", fresh), ("retired", registry["hdu-k02"])):
        user = "hdu-k02" if name == "retired" else "hdu-k01"
        device = Device(secured.port, user, password)
        assert device.connected.wait(5)
        outcomes[name] = not device.connect_reason.is_failure
        device.close()
    assert outcomes == {"old": False, "new": True, "retired": False}


def test_tls_listener(sqlite_db: Database, registry: dict[str, str], tmp_path: Path, prefix: str,
                      monkeypatch: pytest.MonkeyPatch, make_consumer: Callable[..., IngestConsumer],
                      make_agent: Callable[..., Agent]) -> None:
    monkeypatch.setenv("THUVIEN_MQTT__TOPIC_PREFIX", prefix)
    pki = Pki(tmp_path / "pki")
    tls_port = free_port()
    _generate(sqlite_db, tmp_path / "conf", prefix, "--port", "0", "--tls-port", str(tls_port),
              "--cafile", str(pki.ca), "--certfile", str(pki.server_cert), "--keyfile", str(pki.server_key))
    conf = (tmp_path / "conf" / "mosquitto.conf").read_text()
    assert f"listener {tls_port}" in conf and "cafile" in conf
    broker = Broker(tmp_path / "broker", extra=conf, port=tls_port).start()
    try:
        plain = Device(tls_port, "hdu-k01", registry["hdu-k01"])  # no TLS: the handshake never completes
        assert not plain.connected.wait(2) or plain.connect_reason.is_failure
        plain.close()
        make_consumer(sqlite_db, port=tls_port, topic_prefix=prefix, username=SERVER_USER,
                      password=SERVER_PASSWORD, tls_ca=pki.ca)
        agent = make_agent("hdu-k02", mqtt={"port": tls_port, "topic_prefix": prefix, "tls_ca": pki.ca,
                                            "password": registry["hdu-k02"]})
        event_id = agent.context.emit("checkout", {"item": "1"})
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=20)
        with sqlite_db.session() as session:
            assert session.scalars(select(DeviceEvent.event_id)).all() == [event_id]
    finally:
        broker.kill()
