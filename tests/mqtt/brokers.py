"""Helpers for the MQTT suites: private Mosquitto instances, registered devices, plain paho clients."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from server.db import Database
from server.devices import service
from server.libraries.models import Library, LibraryKind
from tests.support import free_port, port_open, require, wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def require_default_broker() -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto at 127.0.0.1:1883")


@dataclass
class Broker:
    """A private mosquitto on a free port (kill -9 and restart on the same port and files)."""

    directory: Path
    extra: str = ""
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def conf(self) -> Path:
        return self.directory / "broker.conf"

    def write_conf(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        base = self.extra or "allow_anonymous true\n"
        text = f"user root\nset_tcp_nodelay true\nmax_queued_messages 100000\n{base}\n"
        if "listener" not in base:
            text += f"listener {self.port} 127.0.0.1\n"
        self.conf.write_text(text)

    def start(self) -> Broker:
        require(Path(MOSQUITTO).exists(), "the mosquitto executable")
        if not self.conf.exists():
            self.write_conf()
        with (self.directory / "broker.log").open("ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        if not wait_for(lambda: port_open("127.0.0.1", self.port, 0.2), timeout=10):
            self.kill()
            raise RuntimeError(f"mosquitto did not start: {(self.directory / 'broker.log').read_text()[-2000:]}")
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def reload(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)


def add_library(db: Database, isil: str = "VN-HDU") -> None:
    with db.write() as session:
        session.add(Library(isil=isil, name=f"Thư viện {isil}", kind=LibraryKind.PROVINCE))


def add_device(db: Database, device_id: str, kind: str = "kiosk", isil: str = "VN-HDU") -> str:
    """Register a device; its broker password."""
    with db.write() as session:
        return service.add_device(session, device_id, kind, isil).password


class Listener:
    """A plain paho client collecting messages of some filters (test observer)."""

    def __init__(self, port: int, filters: list[str], *, username: str | None = None, password: str | None = None,
                 protocol: int = mqtt.MQTTv5, client_id: str = "") -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.connect_reason: Any = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.filters = filters
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connect_reason = reason
        if not reason.is_failure and self.filters:
            client.subscribe([(f, 1) for f in self.filters])

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append(message)

    def topics(self) -> list[str]:
        with self.lock:
            return [m.topic for m in self.messages]

    def wait(self, condition: Callable[[], bool], timeout: float = 10) -> bool:
        return wait_for(condition, timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
