"""The MQTT uplink of an edge device: status (birth + Last Will), the outbox sender, telemetry, commands, acks.

paho-mqtt runs the network in its own thread and reconnects with backoff (``reconnect_delay_set``); every
callback is wrapped so that an exception is logged and never kills that thread. A sender thread publishes the
outbox's due rows at QoS 1, oldest first, with a bounded window of unconfirmed publishes; consecutive due rows
of one topic go out together as one ``EventBatch`` message (up to ``event_batch`` events), so a backlog costs
one MQTT round trip per batch rather than per event. A row leaves the outbox only when the server's ``ack``
names its event_id. On every (re)connect the device re-subscribes, sends its retained ``online`` birth message
and rewinds the outbox, because a restarted broker may have lost everything it held; an ack naming no event
(the server consumer has just subscribed) rewinds it too. ``TCP_NODELAY`` is set on the socket (Nagle + delayed
ACK cost ~40 ms per exchange).

Protocol ``auto`` tries MQTT 5 (PUBACK reason codes reveal ACL refusals; commands carry a message expiry)
and falls back to MQTT 3.1.1 when the broker refuses it (the demo's embedded broker speaks 3.1.1 only).

Exceptions::

    UplinkError (RuntimeError)
     └── UplinkClosed        used after stop()
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from edge.config import ReadableFile, check_key_pair
from edge.contract import (
    MAX_BATCH_EVENTS,
    Ack,
    Command,
    CommandResult,
    DeviceTopics,
    PayloadError,
    Status,
    Telemetry,
    decode,
    encode,
    encode_batch,
)
from edge.outbox import Outbox, OutboxError, OutboxRow

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
CONNACK_TIMEOUT_S = 5.0


class UplinkError(RuntimeError):
    """Base of the uplink errors."""


class UplinkClosed(UplinkError):
    """The uplink was stopped."""


class MqttLinkSettings(BaseModel):
    """How a device reaches its broker (the ``[mqtt]`` section of an edge agent's settings)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None  # default: the device id (Mosquitto's %u)
    password: SecretStr | None = None
    tls_ca: ReadableFile | None = None  # the broker's CA (PEM); default: the system's CAs when TLS is on
    tls_cert: ReadableFile | None = None  # this device's client certificate (PEM), with tls_key
    tls_key: ReadableFile | None = None
    tls_insecure: bool = False  # skip host name checking (test certificates only)
    topic_prefix: str = "thuvien"
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    keepalive: int = Field(default=30, ge=5, le=3600)
    reconnect_min_s: int = Field(default=1, ge=1)
    reconnect_max_s: int = Field(default=30, ge=1)
    session_expiry_s: int = Field(default=86_400, ge=0)
    window: int = Field(default=500, ge=1, le=100_000)  # unconfirmed QoS 1 publishes at a time
    batch: int = Field(default=200, ge=1, le=10_000)
    # Events per message when several of one topic are due (an EventBatch); 1 = one event per message, for a
    # server older than EventBatch (it would quarantine a batch unacknowledged, and the events would wait).
    event_batch: int = Field(default=100, ge=1, le=MAX_BATCH_EVENTS)

    @model_validator(mode="after")
    def _key_pair(self) -> MqttLinkSettings:
        check_key_pair(self.tls_cert, self.tls_key)
        return self


def guarded(func: F) -> F:
    """Log and swallow any exception, so that a callback can never kill paho's network thread."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception:
            log.exception("MQTT callback %s failed (ignored; the connection stays up)", func.__name__)
            return None

    return wrapper  # type: ignore[return-value]


def set_nodelay(sock: Any) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not a TCP socket (websocket wrapper, test double)
        log.debug("could not set TCP_NODELAY on %r", sock)


class Uplink:
    """One device's MQTT connection. ``start()`` returns at once; the connection comes and goes by itself."""

    def __init__(
        self,
        settings: MqttLinkSettings,
        topics: DeviceTopics,
        outbox: Outbox,
        *,
        birth: Callable[[], Status],
        on_command: Callable[[Command], object] | None = None,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.outbox = outbox
        self._birth = birth
        self._on_command = on_command
        self.client_id = client_id or topics.device_id
        self.connected = threading.Event()
        self.counters: dict[str, int] = {
            "connects": 0,
            "disconnects": 0,
            "published": 0,
            "acked": 0,
            "publish_refused": 0,
            "commands": 0,
            "bad_messages": 0,
        }
        self._use_v5 = settings.protocol in ("auto", "5")
        self._fallback = False
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._inflight = 0
        self._inflight_lock = threading.Condition()
        self._last_ack = 0.0
        self._handshake_pending = False
        self._socket_opened_at = 0.0
        self._failed_handshakes = 0
        self._client: mqtt.Client | None = None
        self._sender: threading.Thread | None = None
        self._commands: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._command_thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._stopping.is_set():
            raise UplinkClosed("this uplink was stopped; create a new one")
        self._client = self._make_client()
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive,
                                   **self._connect_kwargs())
        self._client.loop_start()
        self._sender = threading.Thread(target=self._send_loop, name=f"outbox-{self.client_id}", daemon=True)
        self._sender.start()
        self._command_thread = threading.Thread(target=self._command_loop, name=f"cmd-{self.client_id}", daemon=True)
        self._command_thread.start()

    def stop(self, *, reason: str = "shutdown", timeout: float = 5.0) -> None:
        """Publish a retained ``offline`` (a clean disconnect suppresses the Will), then disconnect."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake.set()
        client = self._client
        if client is not None:
            if self.connected.is_set():
                offline = Status(device_id=self.topics.device_id, state="offline", reason=reason, at=_now())
                info = client.publish(self.topics.status, encode(offline), qos=1, retain=True)
                try:
                    info.wait_for_publish(timeout)
                except (RuntimeError, ValueError):
                    log.debug("offline status not confirmed before disconnect")
            client.disconnect()
            client.loop_stop()
        self._commands.put(None)
        for thread in (self._sender, self._command_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)

    def kill_connection(self) -> None:
        """Drop the TCP connection without DISCONNECT (tests and chaos drills: the Will fires, paho reconnects)."""
        client = self._client
        sock: Any = client.socket() if client is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wake(self) -> None:
        """Tell the sender that new events are in the outbox (otherwise it looks every second)."""
        self._wake.set()

    # -- publishing ----------------------------------------------------------------------------------------

    def publish_telemetry(self, telemetry: Telemetry) -> bool:
        """QoS 0, only while connected (telemetry is a sample, not a record); True when handed to paho."""
        return self._publish(self.topics.telemetry, encode(telemetry), qos=0)

    def publish_result(self, name: str, result: CommandResult) -> bool:
        return self._publish(self.topics.result(name), encode(result), qos=1)

    def publish_status(self, status: Status) -> bool:
        return self._publish(self.topics.status, encode(status), qos=1, retain=True)

    def _publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> bool:
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    # -- paho client ---------------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        protocol = mqtt.MQTTv5 if self._use_v5 else mqtt.MQTTv311
        kwargs: dict[str, Any] = {"client_id": self.client_id, "protocol": protocol}
        if not self._use_v5:
            kwargs["clean_session"] = False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, **kwargs)
        client.suppress_exceptions = True
        client.enable_logger(logging.getLogger(__name__ + ".paho"))
        client.username_pw_set(
            s.username or self.topics.device_id, s.password.get_secret_value() if s.password else None
        )
        if s.tls_ca is not None or s.tls_cert is not None:
            client.tls_set(ca_certs=_text(s.tls_ca), certfile=_text(s.tls_cert), keyfile=_text(s.tls_key),
                           cert_reqs=ssl.CERT_REQUIRED)
            client.tls_insecure_set(s.tls_insecure)
        offline = Status(device_id=self.topics.device_id, state="offline", reason="connection lost")
        client.will_set(self.topics.status, encode(offline), qos=1, retain=True)
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)
        # The sender's own window bounds what is in flight; paho's limit would only add a scan of every
        # unconfirmed message on each PUBACK (O(window) per message).
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.on_socket_open = guarded(self._on_socket_open)
        client.on_socket_close = guarded(self._on_socket_close)
        client.on_connect = guarded(self._on_connect)
        client.on_disconnect = guarded(self._on_disconnect)
        client.on_publish = guarded(self._on_publish)
        client.on_message = guarded(self._on_message)
        return client

    def _connect_kwargs(self) -> dict[str, Any]:
        if not self._use_v5:
            return {}
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.settings.session_expiry_s
        return {"clean_start": False, "properties": props}

    def _on_socket_open(self, _client: mqtt.Client, _userdata: Any, sock: Any) -> None:
        set_nodelay(sock)
        self._handshake_pending = True
        self._socket_opened_at = time.monotonic()

    def _on_socket_close(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        if not self._handshake_pending:
            return
        self._handshake_pending = False
        # Closed before any CONNACK: some MQTT 3.1.1-only brokers drop an MQTT 5 CONNECT without answering.
        self._failed_handshakes += 1
        if self._use_v5 and self.settings.protocol == "auto" and self._failed_handshakes >= 2:
            log.info("broker %s closes MQTT 5 connections unanswered; using MQTT 3.1.1", self.settings.host)
            self._fallback = True
            self._wake.set()

    def _check_handshake(self) -> None:
        """A broker that neither answers nor closes an MQTT 5 CONNECT (amqtt) is treated as 3.1.1-only."""
        if not self._handshake_pending or time.monotonic() - self._socket_opened_at < CONNACK_TIMEOUT_S:
            return
        self._handshake_pending = False
        if self._use_v5 and self.settings.protocol == "auto":
            log.info("broker %s does not answer MQTT 5; using MQTT 3.1.1", self.settings.host)
            self._fallback = True
        else:
            log.warning("broker %s did not answer CONNECT; reconnecting", self.settings.host)
            self.kill_connection()

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any) -> None:
        self._handshake_pending = False
        if reason.is_failure:
            if self._use_v5 and self.settings.protocol == "auto" and reason.value in (1, 132):
                log.info("broker %s refuses MQTT 5; using MQTT 3.1.1", self.settings.host)
                self._fallback = True
                self._wake.set()
            else:
                log.warning("broker %s:%d refused the connection: %s", self.settings.host, self.settings.port, reason)
            return
        self._failed_handshakes = 0
        self.counters["connects"] += 1
        client.subscribe([(self.topics.commands, 1), (self.topics.ack, 1)])
        client.publish(self.topics.status, encode(self._birth()), qos=1, retain=True)
        self.outbox.rewind()
        with self._inflight_lock:
            self._inflight = 0
            self._inflight_lock.notify_all()
        self.connected.set()
        self._wake.set()
        log.info("connected to %s:%d (session present: %s)", self.settings.host, self.settings.port,
                 getattr(flags, "session_present", None))

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if self.connected.is_set():
            self.counters["disconnects"] += 1
            log.warning("disconnected from %s:%d: %s", self.settings.host, self.settings.port, reason)
        self.connected.clear()
        with self._inflight_lock:
            self._inflight = 0
            self._inflight_lock.notify_all()

    def _on_publish(self, _client: mqtt.Client, _userdata: Any, _mid: int, reason: Any, _props: Any) -> None:
        if getattr(reason, "is_failure", False):
            # MQTT 5 tells us about ACL refusals; the row stays in the outbox and is retried later.
            self.counters["publish_refused"] += 1
            log.error("broker refused a publish: %s", reason)
        with self._inflight_lock:
            if self._inflight > 0:
                self._inflight -= 1
            self._inflight_lock.notify_all()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.ack:
            try:
                ack = decode(Ack, bytes(message.payload))
            except PayloadError as exc:
                self.counters["bad_messages"] += 1
                log.warning("ignoring a bad ack: %s", exc)
                return
            try:
                if not ack.event_ids:
                    # The server (re)subscribed: what it may have missed meanwhile goes again now.
                    self.outbox.rewind()
                    self._wake.set()
                    return
                self._last_ack = time.monotonic()
                self.counters["acked"] += self.outbox.acknowledge(ack.event_ids)
            except OutboxError:
                log.debug("ack after the outbox was closed")
            return
        if not message.topic.startswith(self.topics.base + "/cmd/"):
            # Never subscribed to it (amqtt sends retained messages matching other clients' subscriptions).
            self.counters["foreign_messages"] = self.counters.get("foreign_messages", 0) + 1
            log.debug("ignoring a message on %s", message.topic)
            return
        try:
            command = decode(Command, bytes(message.payload))
        except PayloadError as exc:
            self.counters["bad_messages"] += 1
            log.warning("ignoring a bad command on %s: %s", message.topic, exc)
            return
        self.counters["commands"] += 1
        self._commands.put(command)

    # -- threads -------------------------------------------------------------------------------------------

    def _command_loop(self) -> None:
        while True:
            command = self._commands.get()
            if command is None:
                return
            if self._on_command is None:
                continue
            try:
                self._on_command(command)
            except Exception:
                log.exception("command %s (%s) failed", command.name, command.command_id)

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._fallback:
                    self._rebuild_v311()
                if not self.connected.wait(0.5):
                    self._check_handshake()
                    continue
                if not self._send_due():
                    self._wake.wait(min(1.0, self.outbox.resend_after / 2))
                    self._wake.clear()
            except OutboxError:
                if not self._stopping.is_set():
                    log.exception("outbox failed; the sender stops")
                return
            except Exception:
                log.exception("outbox sender error (retrying)")
                self._stopping.wait(1.0)

    def _send_due(self) -> bool:
        """Publish one batch of due rows; False when there was nothing to do."""
        # While acknowledgements keep arriving the server is making progress through what we sent: resending
        # now would only feed it duplicates. Unanswered rows are resent once acks pause (or after a reconnect).
        acks_flowing = time.monotonic() - self._last_ack < self.outbox.resend_after / 2
        rows = self.outbox.due(self.settings.batch, resend=not acks_flowing)
        if not rows:
            return False
        client = self._client
        assert client is not None
        sent: list[int] = []
        for chunk in _chunks(rows, self.settings.event_batch):
            with self._inflight_lock:
                while self._inflight >= self.settings.window and self.connected.is_set():
                    self._inflight_lock.wait(0.5)
                if not self.connected.is_set() or self._stopping.is_set():
                    break
                self._inflight += 1
            payload = chunk[0].payload if len(chunk) == 1 else encode_batch([row.payload for row in chunk])
            info = client.publish(chunk[0].topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                with self._inflight_lock:
                    self._inflight = max(0, self._inflight - 1)
                break
            sent.extend(row.seq for row in chunk)
        if sent:
            self.outbox.mark_sent(sent)
            self.counters["published"] += len(sent)
        return bool(sent)

    def _rebuild_v311(self) -> None:
        self._fallback = False
        old = self._client
        if old is not None:
            old.disconnect()
            old.loop_stop()
        self._use_v5 = False
        self._client = self._make_client()
        self._client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive)
        self._client.loop_start()


def _chunks(rows: list[OutboxRow], size: int) -> list[list[OutboxRow]]:
    """Consecutive rows of one topic, at most ``size`` at a time, in outbox order."""
    chunks: list[list[OutboxRow]] = []
    for row in rows:
        if chunks and len(chunks[-1]) < size and chunks[-1][0].topic == row.topic:
            chunks[-1].append(row)
        else:
            chunks.append([row])
    return chunks


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)
