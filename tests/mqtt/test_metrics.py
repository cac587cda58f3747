"""``/metrics`` of a running server process: bad messages published to the real Mosquitto are counted by reason,
next to events stored, acks sent and devices online."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from edge.contract import DeviceTopics, Event, Status, encode, new_event_id
from server.db import Database
from server.ingest.consumer import IngestConsumer
from server.ingest.metrics import ingest_families
from server.runtime import ServerProcess
from server.settings import ServerSettings
from tests.mqtt.brokers import add_device, add_library, require_default_broker
from tests.support import free_port, wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]


@pytest.fixture
def own_prefix(prefix: str) -> str:
    """Retained status messages other tests of the session left under ``prefix`` would be counted too."""
    return prefix + secrets.token_hex(3)


@pytest.fixture
def server(pg_db: Database, own_prefix: str) -> Iterator[ServerProcess]:
    require_default_broker()
    settings = ServerSettings(
        secret_key="a-long-random-secret-for-the-metrics-tests",
        database={"url": pg_db.url},
        http={"port": free_port()},
        sip2={"enabled": False},
        mqtt={"enabled": True, "topic_prefix": own_prefix, "client_id": "metrics-" + secrets.token_hex(4)},
    )
    process = ServerProcess(settings, pg_db)
    thread = threading.Thread(target=lambda: asyncio.run(process.run()), daemon=True)
    thread.start()
    assert wait_for(lambda: process.http.started, timeout=20), "the server never served HTTP"
    consumer = _consumer(process)
    assert consumer.subscribed.wait(10), "the ingest consumer never subscribed"
    yield process
    process.stop()
    thread.join(20)


def _consumer(process: ServerProcess) -> IngestConsumer:
    return next(s for s in process.services if isinstance(s, IngestConsumer))


def _scrape(process: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"http://127.0.0.1:{process.settings.http.port}/metrics", timeout=10)
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _event(device_id: str, kind: str = "checkout", **fields: Any) -> Event:
    values: dict[str, Any] = {"event_id": new_event_id(), "device_id": device_id, "kind": kind,
                              "occurred_at": dt.datetime.now(dt.UTC), "data": {"item": "3000000001"}}
    values.update(fields)
    return Event(**values)


def test_rejections_are_counted_by_reason_in_metrics(server: ServerProcess, pg_db: Database, own_prefix: str) -> None:
    prefix = own_prefix
    add_library(pg_db)
    add_library(pg_db, "VN-HNI")
    add_device(pg_db, "hdu-k01")
    add_device(pg_db, "hdu-g01", kind="gate")
    add_device(pg_db, "hni-k01", isil="VN-HNI")
    k01 = DeviceTopics(prefix, "VN-HDU", "kiosk", "hdu-k01")
    now = dt.datetime.now(dt.UTC)
    good = _event("hdu-k01")
    messages: list[tuple[str, bytes]] = [
        (k01.event("checkout"), encode(good)),
        (k01.event("checkout"), encode(good)),  # a redelivery: recognised, not applied again
        (k01.event("checkout"), b"{not json"),
        (k01.event("checkout"), encode(_event("hdu-k01")).replace(b'"v":1', b'"v":99')),
        (k01.event("checkout"), b'{"v":1,"event_id":"x1"}'),
        (DeviceTopics(prefix, "VN-HDU", "kiosk", "ghost-01").event("checkout"), encode(_event("ghost-01"))),
        (DeviceTopics(prefix, "VN-HNI", "kiosk", "hdu-k01").event("checkout"), encode(_event("hdu-k01"))),
        (k01.event("checkout"), encode(_event("hdu-k01", occurred_at=now - dt.timedelta(days=400)))),
        (k01.event("checkout"), encode(_event("hdu-k01", occurred_at=now + dt.timedelta(hours=5)))),
        (k01.telemetry, b"\xff\xfe"),
        (k01.status, encode(Status(device_id="hdu-k01", state="online", at=now))),
        (DeviceTopics(prefix, "VN-HDU", "gate", "hdu-g01").status,
         encode(Status(device_id="hdu-g01", state="offline", at=now))),
    ]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()
    consumer = _consumer(server)
    assert wait_for(lambda: consumer.counters["received"] >= len(messages), timeout=20), dict(consumer.counters)

    samples = _scrape(server)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("thuvien_mqtt_messages_received_total") == len(messages)
    assert value("thuvien_mqtt_events_stored_total", status="applied") == 1
    assert value("thuvien_mqtt_events_stored_total", status="quarantined") == 7
    quarantined = {
        labels[0][1]: v for (name, labels), v in samples.items() if name == "thuvien_mqtt_events_quarantined_total"
    }
    assert quarantined == {"malformed_json": 1, "unknown_version": 1, "invalid_payload": 1, "unknown_device": 1,
                           "topic_mismatch": 1, "too_old": 1, "clock_ahead": 1}
    assert value("thuvien_mqtt_messages_dropped_total", channel="telemetry", reason="malformed_json") == 1
    assert value("thuvien_mqtt_duplicates_total", channel="evt") == 1
    assert value("thuvien_mqtt_status_messages_total") == 2
    # Every event with a usable event_id is acknowledged, quarantined or not (8 of the 9 event messages).
    assert value("thuvien_mqtt_acked_events_total") == 8
    assert value("thuvien_mqtt_acks_sent_total") >= 1
    assert value("thuvien_mqtt_consumer_connected") == 1
    assert value("thuvien_devices", library="VN-HDU", state="online") == 1
    assert value("thuvien_devices", library="VN-HDU", state="offline") == 1
    assert value("thuvien_devices", library="VN-HNI", state="unknown") == 1


def test_counter_names_map_to_families() -> None:
    families = {f.name: f for f in ingest_families({"dropped.bad_topic": 2, "dropped.result_unknown_command": 1,
                                                     "quarantined.rejected": 3, "duplicate_result": 4})}
    dropped = {tuple(s.labels.values()): s.value for s in families["thuvien_mqtt_messages_dropped"].samples}
    assert dropped == {("other", "bad_topic"): 2, ("result", "unknown_command"): 1}
    stored = {s.labels["status"]: s.value for s in families["thuvien_mqtt_events_stored"].samples}
    assert stored == {"applied": 0, "quarantined": 3}
    assert [s.value for s in families["thuvien_mqtt_duplicates"].samples] == [4]
    assert [s.value for s in families["thuvien_mqtt_messages_received"].samples] == [0]
