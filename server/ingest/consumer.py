"""The ingest consumer: a server-side MQTT client feeding :class:`~server.ingest.processor.Processor` in batches.

paho delivers messages on its network thread with ``manual_ack=True``; they are queued, and a worker thread
stores them in batches (one transaction per batch), *then* sends the broker's PUBACKs and the application
acks to each device. A crash anywhere before the commit leaves the events unacknowledged, so the device's
outbox sends them again; after the commit, a redelivery is recognised by ``event_id``. The consumer uses a
clean session: durability comes from the outboxes, not from broker queues (which are lost with an unsaved
broker, and which would keep feeding a dead consumer its share of a ``$share`` group).

Several server processes may run at once: with ``share_group`` set, events, results and telemetry arrive on
``$share/<group>/...`` subscriptions (each message to one process); without it (brokers lacking shared
subscriptions), the processes elect one consumer through the database (a PostgreSQL advisory lock; SQLite
has one process by construction) and the others wait as standbys.

Once its subscriptions are granted (on every connect), the consumer sends every active device an ack naming no
event: "the server listens (again)". A device then resends at once what it published while no consumer was
subscribed (the broker drops messages no subscriber takes), instead of after its resend timeout.

The consumer also publishes pending commands (MQTT 5 message expiry where available; the payload always
carries ``expires_at``), expires stale ones and deletes telemetry past its retention.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import socket
import ssl
import threading
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import delete, select, text

from edge.contract import Ack, Command, DeviceTopics, encode, server_filters
from server.db import Database, utcnow
from server.devices.models import CommandStatus, Device, DeviceCommand, TelemetrySample
from server.ingest.processor import Incoming, Processor
from server.libraries.models import Library
from server.settings import MqttSettings

log = logging.getLogger(__name__)

ELECTION_LOCK_KEY = 0x7468_7576  # "thuv": the advisory lock the elected consumer holds


class _Election:
    """One consumer among several server processes, when the broker has no shared subscriptions."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Any = None

    def try_lead(self) -> bool:
        if self.db.dialect != "postgresql":
            return True
        if self._conn is None:
            self._conn = self.db.engine.connect()
        won = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ELECTION_LOCK_KEY}).scalar())
        self._conn.commit()
        return won

    def resign(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ELECTION_LOCK_KEY})
                self._conn.commit()
            except Exception:
                log.debug("advisory unlock failed; dropping the connection releases it", exc_info=True)
            finally:
                self._conn.invalidate()  # never back into the pool: the lock belongs to this session
                self._conn.close()
                self._conn = None


class IngestConsumer:
    """The MQTT ingest as a server background service (``start``/``stop``), or used directly from threads."""

    name = "mqtt ingest"

    def __init__(self, settings: MqttSettings, db: Database, *, command_interval: float = 0.5) -> None:
        self.settings = settings
        self.db = db
        self.processor = Processor(
            db,
            prefix=settings.topic_prefix,
            max_clock_skew=dt.timedelta(seconds=settings.max_clock_skew_s),
            max_event_age=dt.timedelta(days=settings.max_event_age_days),
        )
        self.client_id = settings.client_id or f"thuvien-ingest-{socket.gethostname()}"
        self.command_interval = command_interval
        self.counters: Counter[str] = Counter()
        self.connected = threading.Event()
        self.leading = threading.Event()
        self.subscribed = threading.Event()  # set once the broker granted the subscriptions
        self._queue: queue.SimpleQueue[tuple[mqtt.MQTTMessage, dt.datetime] | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._client: mqtt.Client | None = None
        self._threads: list[threading.Thread] = []
        self._election = _Election(db)
        self._subscribed = False
        self._announce = threading.Event()  # subscriptions granted: tell the devices (housekeeping thread)

    # -- Service protocol ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self.start_threads)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_threads)

    def start_threads(self) -> None:
        self._client = self._make_client()
        # A clean session on every connect: a consumer that is gone must not keep its share of a $share group
        # in a persistent session. Nothing is lost by it: what a consumer never stored, the device's outbox
        # sends again, because only the application ack removes an event from the outbox.
        kwargs: dict[str, Any] = {"clean_start": True} if self.settings.protocol == "5" else {}
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=30, **kwargs)
        self._client.loop_start()
        for target, label in ((self._work_loop, "ingest"), (self._housekeeping_loop, "ingest-commands")):
            thread = threading.Thread(target=target, name=label, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("MQTT ingest connecting to %s:%d as %s", self.settings.host, self.settings.port, self.client_id)

    def stop_threads(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        self._election.resign()
        log.info("MQTT ingest stopped: %s", dict(self.counters))

    def kill_connection(self) -> None:
        """Drop the TCP connection without DISCONNECT (chaos tests)."""
        sock: Any = self._client.socket() if self._client is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- MQTT ----------------------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        if s.protocol == "5":
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5, manual_ack=True
            )
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=True,
                manual_ack=True,
            )
        client.suppress_exceptions = True
        client.enable_logger(logging.getLogger(__name__ + ".paho"))
        if s.username:
            client.username_pw_set(s.username, s.password.get_secret_value() if s.password else None)
        if s.tls_ca is not None or s.tls_cert is not None:
            ca, cert, key = (None if p is None else str(p) for p in (s.tls_ca, s.tls_cert, s.tls_key))
            client.tls_set(ca_certs=ca, certfile=cert, keyfile=key, cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(s.tls_insecure)
        client.reconnect_delay_set(1, 2)  # one client per server process: retrying often costs nothing
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.on_socket_open = _guard(lambda _c, _u, sock: _nodelay(sock))
        client.on_connect = _guard(self._on_connect)
        client.on_disconnect = _guard(self._on_disconnect)
        client.on_message = _guard(self._on_message)
        client.on_subscribe = _guard(self._on_subscribe)
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker %s:%d refused the ingest connection: %s", self.settings.host, self.settings.port, reason)
            return
        self.connected.set()
        self._subscribed = False
        if self.settings.share_group or self.leading.is_set():
            self._subscribe(client)
        log.info("MQTT ingest connected (session present: %s)", getattr(flags, "session_present", None))

    def _subscribe(self, client: mqtt.Client) -> None:
        filters = server_filters(self.settings.topic_prefix, self.settings.share_group or None)
        client.subscribe([(f, 1) for f in filters])
        self._subscribed = True

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed.set()
        self._announce.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self.connected.is_set():
            log.warning("MQTT ingest disconnected: %s", reason)
        self.connected.clear()
        self.subscribed.clear()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._queue.put((message, utcnow()))

    # -- worker --------------------------------------------------------------------------------------------

    def _take_batch(self) -> list[tuple[mqtt.MQTTMessage, dt.datetime]] | None:
        try:
            first = self._queue.get(timeout=0.5)
        except queue.Empty:
            return []
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + 0.02
        while len(batch) < self.settings.batch_size:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _work_loop(self) -> None:
        while not self._stopping.is_set():
            batch = self._take_batch()
            if batch is None:
                return
            if not batch:
                continue
            try:
                self._handle(batch)
            except Exception:
                # Nothing was PUBACKed: the broker redelivers after the reconnect this forces.
                log.exception("ingest batch failed; dropping the connection so the broker redelivers")
                self.kill_connection()
                self._stopping.wait(1.0)

    def _handle(self, batch: list[tuple[mqtt.MQTTMessage, dt.datetime]]) -> None:
        incoming = [Incoming(m.topic, bytes(m.payload), at, token=m) for m, at in batch]
        outcome = self.processor.process(incoming)
        self.counters.update(outcome.counters)
        client = self._client
        if client is None:
            return
        if outcome.counters.get("failed"):
            self.kill_connection()  # unstored messages must come again; a reconnect makes the broker resend
            return
        for message, _at in batch:
            if message.qos > 0:
                client.ack(message.mid, message.qos)
        for topic, ids in outcome.acks.items():
            for start in range(0, len(ids), 1000):
                client.publish(topic, b'{"v":1,"event_ids":' + _json_list(ids[start : start + 1000]) + b"}", qos=1)
                self.counters["acks_sent"] += 1
            self.counters["acked_events"] += len(ids)

    # -- commands, retention, election ---------------------------------------------------------------------

    def _housekeeping_loop(self) -> None:
        last_retention = 0.0
        last_report, reported = time.monotonic(), Counter[str]()
        while not self._stopping.wait(self.command_interval):
            if time.monotonic() - last_report > 60 and self.counters != reported:
                last_report, reported = time.monotonic(), Counter(self.counters)
                log.info("MQTT ingest counters: %s", dict(sorted(reported.items())))
            try:
                if not self.settings.share_group and not self.leading.is_set():
                    if self._election.try_lead():
                        self.leading.set()
                        log.info("this process is the elected MQTT ingest consumer")
                        if self._client is not None and self.connected.is_set():
                            self._subscribe(self._client)
                    continue
                if self._announce.is_set() and self.connected.is_set():
                    self._announce.clear()
                    self.announce()
                if self.connected.is_set():
                    self.dispatch_commands()
                if time.monotonic() - last_retention > 3600:
                    last_retention = time.monotonic()
                    self.apply_retention()
            except Exception:
                log.exception("ingest housekeeping failed (retrying)")

    def announce(self) -> int:
        """Send every active device an ack naming no event (this consumer listens now); how many devices."""
        client = self._client
        if client is None:
            return 0
        with self.db.session() as session:
            rows = session.execute(
                select(Device.device_id, Device.kind, Library.isil)
                .join(Library, Library.id == Device.library_id)
                .where(Device.retired_at.is_(None))
            ).all()
        payload = encode(Ack(event_ids=[]))
        for device_id, kind, isil in rows:
            client.publish(DeviceTopics(self.settings.topic_prefix, isil, kind.value, device_id).ack, payload, qos=1)
        self.counters["announcements"] += 1
        return len(rows)

    def dispatch_commands(self) -> int:
        """Publish pending commands, expire stale ones; how many were published."""
        client = self._client
        if client is None:
            return 0
        now = utcnow()
        published = 0
        with self.db.write() as session:
            query = (
                select(DeviceCommand, Device, Library.isil)
                .join(Device, Device.device_id == DeviceCommand.device_id)
                .join(Library, Library.id == Device.library_id)
                .where(DeviceCommand.status.in_([CommandStatus.PENDING, CommandStatus.SENT]))
                .limit(200)
            )
            if self.db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True, of=DeviceCommand)
            for command, device, isil in session.execute(query).all():
                if command.expires_at <= now:
                    command.status = CommandStatus.EXPIRED
                    command.completed_at = now
                    continue
                if command.status is CommandStatus.SENT:
                    continue
                topics = DeviceTopics(self.settings.topic_prefix, isil, device.kind.value, device.device_id)
                payload = Command(
                    command_id=command.command_id,
                    name=command.name,
                    args=command.args,
                    issued_at=command.issued_at,
                    expires_at=command.expires_at,
                )
                properties = None
                if self.settings.protocol == "5":
                    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                    properties.MessageExpiryInterval = max(1, int((command.expires_at - now).total_seconds()))
                client.publish(topics.command(command.name), encode(payload), qos=1, properties=properties)
                command.status = CommandStatus.SENT
                published += 1
        return published

    def apply_retention(self) -> int:
        cutoff = utcnow() - dt.timedelta(days=self.settings.telemetry_retention_days)
        with self.db.write() as session:
            result = session.execute(delete(TelemetrySample).where(TelemetrySample.sampled_at < cutoff))
            removed = int(getattr(result, "rowcount", 0) or 0)
        if removed:
            log.info("deleted %d telemetry samples older than %s", removed, cutoff.date())
        return removed


def _json_list(ids: list[str]) -> bytes:
    import json

    return json.dumps(ids).encode()


def _nodelay(sock: Any) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def _guard(func: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:
            log.exception("MQTT ingest callback failed (ignored)")
            return None

    return wrapper
