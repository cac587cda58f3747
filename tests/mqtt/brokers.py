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


class CuttableProxy:
    """A TCP forwarder to a broker whose connections the test can cut (both sockets closed at once)."""

    def __init__(self, target_port: int) -> None:
        import socket as socketlib

        self.target_port = target_port
        self.port = free_port()
        self._server = socketlib.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._pairs: list[tuple[Any, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket as socketlib

        while not self._stop.is_set():
            try:
                client, _addr = self._server.accept()
            except OSError:
                continue
            try:
                upstream = socketlib.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: Any, sink: Any) -> None:
        try:
            source.settimeout(None)  # raises when a cut closed the pair before this thread started
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.close()
            except OSError:
                pass

    def cut(self) -> None:
        import socket as socketlib

        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socketlib.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
        self.cuts += 1

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._server.close()


class Pki:
    """A throwaway CA made with ``openssl``: a server certificate for localhost and client certificates."""

    def __init__(self, directory: Path, name: str = "thuvien test CA") -> None:
        require(shutil.which("openssl") is not None, "the openssl executable")
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                      "-keyout", "ca.key", "-out", "ca.crt")
        self.ca = directory / "ca.crt"
        (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self.server_cert, self.server_key = self._issue("server", "localhost", "-extfile", "san.ext")

    def client(self, common_name: str) -> tuple[Path, Path]:
        """A client certificate and its key, with ``common_name`` as the CN (Mosquitto's identity)."""
        return self._issue(f"client-{common_name}", common_name)

    def _issue(self, stem: str, common_name: str, *extra: str) -> tuple[Path, Path]:
        self._openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}",
                      "-keyout", f"{stem}.key", "-out", f"{stem}.csr")
        self._openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                      "-days", "2", *extra, "-out", f"{stem}.crt")
        return self.directory / f"{stem}.crt", self.directory / f"{stem}.key"

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.directory, check=True, capture_output=True)
