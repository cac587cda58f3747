"""Prometheus export of the MQTT ingest and the device registry, on the app's own registry (``/metrics``).

The ingest consumer counts what it does in ``IngestConsumer.counters`` (keys such as ``applied``,
``quarantined.<reason>``, ``dropped.<channel>_<reason>``); :class:`IngestCollector` turns them into metric
families when ``/metrics`` is scraped, so the consumer's hot path stays a dictionary increment. Labels are
bounded sets only: the quarantine reason codes of docs/mqtt.md, the channel, the library (one per library of
the network) and the device state; never the device id or the event id.

:class:`DevicesCollector` counts the registered devices by library and state (``online``, ``offline``,
``unknown``) with one grouped query per scrape; each server process reports the same figure, so dashboards take
``max`` (not ``sum``) across processes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from server.db import Database
from server.devices.models import Device
from server.ingest.consumer import IngestConsumer
from server.libraries.models import Library

log = logging.getLogger(__name__)

# ``dropped.<channel>_<reason>``: messages other than events (status, telemetry, command results) that the
# consumer refuses; what is left over (``dropped.bad_topic``...) is reported under channel ``other``.
_DROPPED_CHANNELS = ("status", "telemetry", "result")

# Plain counters of the consumer: key -> (metric name, help).
_PLAIN = {
    "received": ("thuvien_mqtt_messages_received", "MQTT messages the ingest consumer took in"),
    "failed": ("thuvien_mqtt_store_failures", "Messages not stored because the database failed (redelivered)"),
    "acks_sent": ("thuvien_mqtt_acks_sent", "Application acks published to devices"),
    "acked_events": ("thuvien_mqtt_acked_events", "Event ids named in application acks"),
    "telemetry": ("thuvien_mqtt_telemetry_samples", "Telemetry samples stored"),
    "status": ("thuvien_mqtt_status_messages", "Device status messages applied (birth, Last Will)"),
    "results": ("thuvien_mqtt_command_results", "Command results recorded"),
}


def ingest_families(counters: Mapping[str, int]) -> list[Metric]:
    """The metric families for one snapshot of the consumer's counters (every family, zeros included)."""
    stored = CounterMetricFamily(
        "thuvien_mqtt_events_stored", "Device events stored, applied or quarantined", labels=["status"]
    )
    quarantined = CounterMetricFamily(
        "thuvien_mqtt_events_quarantined", "Device events stored quarantined, by reason code", labels=["reason"]
    )
    dropped = CounterMetricFamily(
        "thuvien_mqtt_messages_dropped", "Status, telemetry or result messages refused, by reason",
        labels=["channel", "reason"],
    )
    duplicates = CounterMetricFamily(
        "thuvien_mqtt_duplicates", "Redelivered events or results recognised and not applied again",
        labels=["channel"],
    )
    plain = {key: CounterMetricFamily(name, text) for key, (name, text) in _PLAIN.items()}
    quarantined_total = 0
    for key, value in sorted(counters.items()):
        kind, _, rest = key.partition(".")
        if key in plain:
            plain[key].add_metric([], value)
        elif kind == "quarantined" and rest:
            quarantined.add_metric([rest], value)
            quarantined_total += value
        elif kind == "dropped" and rest:
            channel, _, reason = rest.partition("_")
            if channel in _DROPPED_CHANNELS and reason:
                dropped.add_metric([channel, reason], value)
            else:
                dropped.add_metric(["other", rest], value)
        elif key == "duplicate":
            duplicates.add_metric(["evt"], value)
        elif key == "duplicate_result":
            duplicates.add_metric(["res"], value)
    for key, family in plain.items():
        if key not in counters:
            family.add_metric([], 0)
    stored.add_metric(["applied"], counters.get("applied", 0))
    stored.add_metric(["quarantined"], quarantined_total)
    return [stored, quarantined, dropped, duplicates, *plain.values()]


def _merged(consumers: Iterable[IngestConsumer]) -> dict[str, int]:
    total: dict[str, int] = {}
    for consumer in consumers:
        for key, value in dict(consumer.counters).items():  # a copy: the worker thread keeps counting
            total[key] = total.get(key, 0) + value
    return total


class IngestCollector(Collector):
    """The ingest consumers' counters and connection state, read at scrape time."""

    def __init__(self, consumers: Sequence[IngestConsumer]) -> None:
        self.consumers = list(consumers)

    def collect(self) -> Iterator[Metric]:
        yield from ingest_families(_merged(self.consumers))
        connected = GaugeMetricFamily("thuvien_mqtt_consumer_connected", "1 while the ingest consumer is connected")
        connected.add_metric([], float(any(c.connected.is_set() for c in self.consumers)))
        yield connected


class DevicesCollector(Collector):
    """Registered (not retired) devices by library and state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "thuvien_devices", "Registered devices by library (ISIL) and state (online, offline, unknown)",
            labels=["library", "state"],
        )
        try:
            with self.db.session() as session:
                rows = session.execute(
                    select(Library.isil, Device.state, func.count())
                    .join(Library, Library.id == Device.library_id)
                    .where(Device.retired_at.is_(None))
                    .group_by(Library.isil, Device.state)
                ).all()
        except Exception:
            log.exception("cannot count the devices for /metrics")
            return
        for isil, state, count in rows:
            family.add_metric([isil, state.value], count)
        yield family


def install(registry: CollectorRegistry, db: Database, services: Iterable[object]) -> None:
    """Register the device gauge, and the ingest counters when this process runs an ingest consumer."""
    registry.register(DevicesCollector(db))
    consumers = [s for s in services if isinstance(s, IngestConsumer)]
    if consumers:
        registry.register(IngestCollector(consumers))
