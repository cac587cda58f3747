"""Library-scoped accounts in the generated ACL, on a private Mosquitto: a library's monitoring account reads its
own library's devices only (also when another library's device publishes under its library level), and a branch
bridge account reads and writes its library's device topics only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.contract import DeviceTopics
from server.db import Database
from server.ingest import accounts
from server.ingest import cli as mqtt_cli
from tests.mqtt.brokers import Broker, add_device, add_library
from tests.support import free_port, wait_for

pytestmark = pytest.mark.mosquitto

SERVER_USER, SERVER_PASSWORD = "thuvien-server", "server-secret-for-tests"


class Client:
    """A raw MQTT 5 client recording PUBACK reason codes and the topics it receives."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.reasons: dict[int, Any] = {}
        self.received: list[str] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.connect_reason: Any = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username + "-test", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.reasons.__setitem__(mid, reason)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connect_reason = reason

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.received.append(message.topic)

    def subscribe(self, *filters: str) -> None:
        assert wait_for(lambda: self.connect_reason is not None, timeout=5)
        assert not self.connect_reason.is_failure, self.connect_reason
        self.client.subscribe([(f, 1) for f in filters])
        assert self.ready.wait(5)

    def publish(self, topic: str) -> bool:
        """True when the broker accepted the publish (MQTT 5 PUBACK without a failure reason)."""
        assert wait_for(lambda: self.connect_reason is not None, timeout=5)
        info = self.client.publish(topic, b"{}", qos=1)
        assert wait_for(lambda: info.mid in self.reasons, timeout=5)
        return not self.reasons[info.mid].is_failure

    def topics(self) -> list[str]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def network(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, prefix: str) -> Iterator[
        tuple[Broker, dict[str, str]]]:
    """Two libraries with a kiosk each, a monitoring account for VN-HDU, a bridge account for VN-HNI."""
    monkeypatch.setenv("THUVIEN_SECRET_KEY", "a-long-random-secret-for-tests")
    monkeypatch.setenv("THUVIEN_MQTT__TOPIC_PREFIX", prefix)
    add_library(sqlite_db, "VN-HDU")
    add_library(sqlite_db, "VN-HNI")
    passwords = {"hdu-k01": add_device(sqlite_db, "hdu-k01"), "hni-k01": add_device(sqlite_db, "hni-k01",
                                                                                    isil="VN-HNI")}
    with sqlite_db.write() as session:
        passwords["monitor-hdu"] = accounts.add_account(session, "monitor-hdu", "VN-HDU", "read")[1]
        passwords["bridge-hni"] = accounts.add_account(session, "bridge-hni", "VN-HNI", "bridge")[1]
    port = free_port()
    out = tmp_path / "conf"
    assert mqtt_cli.main(["--database", sqlite_db.url, "config", "--out", str(out), "--server-user", SERVER_USER,
                          "--server-password", SERVER_PASSWORD, "--port", str(port)]) == 0
    acl = (out / "acl").read_text()
    assert f"user monitor-hdu\ntopic read {prefix}/vn-hdu/kiosk/hdu-k01/#\n" in acl
    broker = Broker(tmp_path / "broker", extra=(out / "mosquitto.conf").read_text(), port=port).start()
    yield broker, passwords
    broker.kill()


def test_a_library_account_reads_its_own_devices_only(network: tuple[Broker, dict[str, str]], prefix: str) -> None:
    broker, passwords = network
    hdu = DeviceTopics(prefix, "VN-HDU", "kiosk", "hdu-k01")
    hni = DeviceTopics(prefix, "VN-HNI", "kiosk", "hni-k01")
    spoof = DeviceTopics(prefix, "VN-HDU", "kiosk", "hni-k01")  # hni-k01 publishing under VN-HDU's level
    clients = {name: Client(broker.port, name, password) for name, password in passwords.items()}
    server = Client(broker.port, SERVER_USER, SERVER_PASSWORD)
    monitor = clients["monitor-hdu"]
    try:
        monitor.subscribe("#", f"{prefix}/#", f"{prefix}/vn-hni/#")
        server.subscribe(f"{prefix}/#")
        assert clients["hdu-k01"].publish(hdu.status)
        assert clients["hdu-k01"].publish(hdu.event("checkout"))
        assert clients["hni-k01"].publish(hni.status)
        assert clients["hni-k01"].publish(hni.event("checkout"))
        assert clients["hni-k01"].publish(spoof.status)  # the device patterns allow it; the server quarantines it
        assert server.publish(hdu.command("ping"))
        assert server.publish(hni.command("ping"))
        assert wait_for(lambda: len(server.topics()) >= 7, timeout=10)
        assert wait_for(lambda: len(monitor.topics()) >= 3, timeout=10)
        assert sorted(set(monitor.topics())) == sorted({hdu.status, hdu.event("checkout"), hdu.command("ping")})
        assert not monitor.publish(hdu.command("ping"))  # read only: it cannot command the devices
        assert not monitor.publish(hdu.status)
    finally:
        for client in (*clients.values(), server):
            client.close()


def test_a_bridge_account_carries_its_own_library_only(network: tuple[Broker, dict[str, str]], prefix: str) -> None:
    broker, passwords = network
    hdu = DeviceTopics(prefix, "VN-HDU", "kiosk", "hdu-k01")
    hni = DeviceTopics(prefix, "VN-HNI", "kiosk", "hni-k01")
    bridge = Client(broker.port, "bridge-hni", passwords["bridge-hni"])
    server = Client(broker.port, SERVER_USER, SERVER_PASSWORD)
    try:
        bridge.subscribe(f"{prefix}/+/+/+/cmd/+", f"{prefix}/+/+/+/ack")
        server.subscribe(f"{prefix}/#")
        assert bridge.publish(hni.event("checkout"))  # forwarding its library's device out to the centre
        assert bridge.publish(hni.status)
        assert bridge.publish("bridges/vn-hni/state")
        assert not bridge.publish(hdu.event("checkout"))  # another library's device
        assert not bridge.publish("bridges/vn-hdu/state")
        assert server.publish(hdu.command("ping"))
        assert server.publish(hni.command("ping"))
        assert server.publish(hni.ack)
        assert wait_for(lambda: len(bridge.topics()) >= 2, timeout=10)
        assert wait_for(lambda: len(server.topics()) >= 5, timeout=10)
        assert sorted(set(bridge.topics())) == sorted({hni.command("ping"), hni.ack})
        assert hdu.event("checkout") not in server.topics()
    finally:
        bridge.close()
        server.close()
