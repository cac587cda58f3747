"""Shared set-up of the MQTT benchmarks: a private Mosquitto, a migrated scratch PostgreSQL database with the
registered devices, edge worker processes (one per device, each with a pre-filled outbox and the real uplink,
started together), and the raw QoS 1 reference."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

DEVICE = "bench-k01"
PREFIX = "bench"


def devices(count: int) -> list[str]:
    return [f"bench-k{i:02d}" for i in range(1, count + 1)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Mosquitto:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "m.conf").write_text(
            "user root\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
            f"max_queued_messages 1000000\nmax_inflight_messages 1000\nlistener {self.port} 127.0.0.1\n"
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(["mosquitto", "-c", str(self.directory / "m.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None


def raw_qos1(port: int, count: int, size: int = 200) -> float:
    """Mosquitto's raw QoS 1 rate with paho (publisher in a child process, subscriber here): messages/s."""
    received = threading.Event()
    got = [0]
    first: list[float] = []

    last: list[float] = [0.0]

    def on_message(_c: object, _u: object, _m: object) -> None:
        if not first:
            first.append(time.perf_counter())
        got[0] += 1
        if got[0] >= count:
            last[0] = time.perf_counter()
            received.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw-sub", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.on_socket_open = lambda _c, _u, s: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    subscribed = threading.Event()
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    sub.subscribe("raw/qos1", qos=1)
    subscribed.wait(10)
    publisher = subprocess.Popen([sys.executable, __file__, "raw-publisher", str(port), str(count), str(size)])
    ok = received.wait(120)
    publisher.wait(60)
    sub.disconnect()
    sub.loop_stop()
    if not ok:
        raise RuntimeError(f"raw QoS 1: only {got[0]} of {count} messages arrived")
    # From the first message to the last: the publisher's interpreter start-up is not the broker's time.
    return (count - 1) / (last[0] - first[0])


def _raw_publisher(port: int, count: int, size: int) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw-pub", protocol=mqtt.MQTTv5)
    pub.on_socket_open = lambda _c, _u, s: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pub.max_inflight_messages_set(500)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    payload = b"x" * size
    infos = [pub.publish("raw/qos1", payload, qos=1) for _ in range(count)]
    infos[-1].wait_for_publish(120)
    pub.disconnect()
    pub.loop_stop()


KINDS = ("checkout", "checkin", "renew")


def event_ids(device: str, count: int) -> list[str]:
    return [f"{device}-{i:07d}" for i in range(count)]


def fill_outbox(path: Path, count: int, device: str = DEVICE, *, run: int = 0) -> None:
    """``count`` events of ``device`` committed to its outbox: checkouts, checkins and renewals in turn, ``run``
    of one kind in a row (0: all checkouts)."""
    from edge.contract import DeviceTopics, Event
    from edge.outbox import Outbox

    topics = DeviceTopics(PREFIX, "VN-HDU", "kiosk", device)
    box = Outbox(path, max_events=max(count, 1))
    now = dt.datetime.now(dt.UTC)
    ids = event_ids(device, count)
    for start in range(0, count, 5000):
        items = []
        for i in range(start, min(count, start + 5000)):
            kind = KINDS[i // run % len(KINDS)] if run else KINDS[0]
            items.append((topics.event(kind), Event(
                event_id=ids[i], device_id=device, kind=kind, occurred_at=now,
                data={"item": f"3{i:09d}", "patron": "0001000001", "library": "VN-HDU"})))
        box.add_many(items)
    box.close()


def _edge_worker(port: int, outbox_path: str, count: int, device: str, event_batch: int) -> None:
    """Publish a pre-filled outbox through the real uplink until the server acknowledged everything: "ready"
    once set up, the uplink starts on a line on stdin, "connected at T" and "edge drained True at T" (epoch s),
    then "cpu S" (CPU seconds of this process from the start of the uplink to the empty outbox)."""
    from edge.contract import DeviceTopics, Status
    from edge.outbox import Outbox
    from edge.uplink import MqttLinkSettings, Uplink

    box = Outbox(outbox_path, max_events=max(count, 1), resend_after=float(os.environ.get("RESEND_S", "10")))
    topics = DeviceTopics(PREFIX, "VN-HDU", "kiosk", device)
    settings = MqttLinkSettings(port=port, topic_prefix=PREFIX, window=1000, batch=1000, reconnect_min_s=1,
                                reconnect_max_s=1, event_batch=event_batch)
    uplink = Uplink(settings, topics, box, birth=lambda: Status(device_id=device, state="online"))
    print("ready", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    uplink.start()
    print("edge started", flush=True)
    if uplink.connected.wait(110):
        print(f"connected at {time.time():.6f}", flush=True)
    deadline = time.monotonic() + 110
    while box.depth() > 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    print(f"edge drained {box.depth() == 0} at {time.time():.6f}", flush=True)
    print(f"cpu {time.process_time() - cpu:.6f}", flush=True)
    uplink.stop()
    box.close()


@contextmanager
def database(device_ids: list[str] | None = None) -> Iterator[object]:
    from bench.common import scratch_pg
    from server import migrate
    from server.db import Database
    from server.devices import service
    from server.libraries.models import Library, LibraryKind

    with scratch_pg("mqtt") as url:
        db = Database(url)
        migrate.upgrade(db)
        with db.write() as session:
            session.add(Library(isil="VN-HDU", name="Thư viện tỉnh", kind=LibraryKind.PROVINCE))
        with db.write() as session:
            for device in device_ids or [DEVICE]:
                service.add_device(session, device, "kiosk", "VN-HDU")
        try:
            yield db
        finally:
            db.dispose()


def stored(db: object) -> int:
    from sqlalchemy import func, select

    from server.db import Database
    from server.devices.models import DeviceEvent

    assert isinstance(db, Database)
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DeviceEvent)) or 0)


def stored_ids(db: object) -> list[str]:
    from sqlalchemy import select

    from server.db import Database
    from server.devices.models import DeviceEvent

    assert isinstance(db, Database)
    with db.session() as session:
        return list(session.scalars(select(DeviceEvent.event_id)))


def distinct_ids(db: object) -> int:
    from sqlalchemy import distinct, func, select

    from server.db import Database
    from server.devices.models import DeviceEvent

    assert isinstance(db, Database)
    with db.session() as session:
        return int(session.scalar(select(func.count(distinct(DeviceEvent.event_id)))) or 0)


def consumer(db: object, port: int) -> object:
    from server.db import Database
    from server.ingest.consumer import IngestConsumer
    from server.settings import MqttSettings

    assert isinstance(db, Database)
    c = IngestConsumer(MqttSettings(enabled=True, port=port, topic_prefix=PREFIX, client_id="bench-ingest",
                                    batch_size=1000), db)
    c.start_threads()
    if not c.subscribed.wait(10):
        raise RuntimeError("the consumer did not subscribe")
    deadline = time.monotonic() + 10
    while not c.counters["announcements"] and time.monotonic() < deadline:  # its "listening" acks are out
        time.sleep(0.01)
    return c


class Edge:
    """An edge worker process (see :func:`_edge_worker`): :meth:`go` starts its uplink."""

    def __init__(self, port: int, outbox: Path, count: int, device: str = DEVICE, *, resend_s: float = 10.0,
                 event_batch: int = 100) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "edge-worker", str(port), str(outbox), str(count), device, str(event_batch)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "RESEND_S": str(resend_s)},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"edge worker for {device} did not start: {line!r}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self) -> tuple[float | None, float | None, float]:
        """Wait for the worker; (connected at, drained at) in epoch seconds (None when it never did), and the
        CPU seconds it spent sending."""
        out, _ = self.proc.communicate(timeout=130)
        connected = drained = None
        cpu = 0.0
        for line in out.splitlines():
            if line.startswith("connected at "):
                connected = float(line.split()[-1])
            elif line.startswith("edge drained True at "):
                drained = float(line.split()[-1])
            elif line.startswith("cpu "):
                cpu = float(line.split()[-1])
        return connected, drained, cpu


def edge_process(port: int, outbox: Path, count: int, resend_s: float = 10.0) -> Edge:
    edge = Edge(port, outbox, count, resend_s=resend_s)
    edge.go()
    return edge


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="thuvien-bench-mqtt-")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["raw-publisher", "edge-worker"])
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    if ns.role == "raw-publisher":
        _raw_publisher(int(ns.args[0]), int(ns.args[1]), int(ns.args[2]))
    else:
        _edge_worker(int(ns.args[0]), ns.args[1], int(ns.args[2]), ns.args[3], int(ns.args[4]))
