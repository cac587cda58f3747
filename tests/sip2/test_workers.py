"""SIP2 worker processes: several listeners on one port, a dead worker restarted, all stopped with the parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import migrate
from server.catalog.models import Item
from server.circulation.models import Loan
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings, Sip2Settings
from server.sip2.server import Sip2Server
from server.sip2.workers import Sip2Workers, reuse_port_supported, sip2_service, worker_count
from tests.circulation.builders import add_readers, build_world
from tests.sip2.conftest import BLANK
from tests.sip2.rawclient import RawClient
from tests.support import free_port, wait_for

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT is Linux/BSD only")

NOW = "20261126    100000"


def _lend_and_return(client: RawClient, item: str) -> None:
    out = client.request(f"11YN{NOW}{BLANK}AOVN-TEST|AA0001|AB{item}|AC|")
    assert out.startswith(b"121"), out
    back = client.request(f"09N{NOW}{BLANK}APdesk|AOVN-TEST|AB{item}|AC|")
    assert back.startswith(b"101"), back


def test_default_worker_count_is_one_per_core_on_postgresql_and_one_on_sqlite(sqlite_db: Database) -> None:
    pg = ServerSettings(demo=True, database=DatabaseSettings(url="postgresql+psycopg://thuvien@db/thuvien"))
    lite = ServerSettings(demo=True, database=DatabaseSettings(url=sqlite_db.url))
    assert worker_count(pg) == (os.cpu_count() or 1)
    assert worker_count(lite) == 1
    assert isinstance(sip2_service(lite, sqlite_db), Sip2Server)
    explicit = lite.model_copy(update={"sip2": Sip2Settings(workers=3)})
    assert worker_count(explicit) == 3
    service = sip2_service(explicit, sqlite_db)
    assert isinstance(service, Sip2Workers) and service.count == 3  # built, not started


def _answers(client: RawClient) -> bool:
    try:
        return client.request("9900302.00").startswith(b"98")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


class _Running:
    """Sip2Workers on an event loop in a background thread."""

    def __init__(self, settings: ServerSettings) -> None:
        self.workers = Sip2Workers(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.workers.start(), self.loop).result(120)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.workers.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def workers(sqlite_db: Database) -> Iterator[_Running]:
    build_world(sqlite_db, extra_items=16)
    settings = ServerSettings(
        demo=True,
        database=DatabaseSettings(url=sqlite_db.url),
        sip2=Sip2Settings(host="127.0.0.1", port=0, workers=2),
    )
    running = _Running(settings)
    try:
        yield running
    finally:
        running.stop()


def test_two_workers_share_the_port_and_a_dead_one_is_replaced(workers: _Running) -> None:
    first = workers.workers.pids
    assert len(set(first)) == 2 and os.getpid() not in first
    clients = [RawClient(workers.workers.port) for _ in range(16)]
    for n, client in enumerate(clients):
        assert client.login().startswith(b"941")
        _lend_and_return(client, f"4{n:07d}")

    victim = first[0]
    os.kill(victim, signal.SIGKILL)
    # The kernel spread the 16 connections over both workers: the victim's drop, the survivor's still serve.
    dropped = [c for c in clients if not _answers(c)]
    assert 0 < len(dropped) < len(clients)
    survivors = [c for c in clients if c not in dropped]
    for client in survivors:
        _lend_and_return(client, f"4{clients.index(client):07d}")

    assert wait_for(lambda: len(workers.workers.pids) == 2 and victim not in workers.workers.pids, timeout=90)
    fresh = RawClient(workers.workers.port)
    assert fresh.login().startswith(b"941")
    _lend_and_return(fresh, f"4{clients.index(dropped[0]):07d}")
    for client in [*clients, fresh]:
        client.close()


def test_stopping_the_service_stops_every_worker(sqlite_db: Database) -> None:
    build_world(sqlite_db)
    settings = ServerSettings(
        demo=True,
        database=DatabaseSettings(url=sqlite_db.url),
        sip2=Sip2Settings(host="127.0.0.1", port=0, workers=2),
    )
    running = _Running(settings)
    pids, port = running.workers.pids, running.workers.port
    client = RawClient(port)
    assert client.login().startswith(b"941")
    running.stop()
    assert client.closed()
    client.close()
    assert not any(_alive(pid) for pid in pids)
    with pytest.raises(OSError):
        RawClient(port, timeout=2).login()


@pytest.mark.postgres
def test_kiosks_on_different_workers_race_for_one_copy_on_postgresql(pg_db: Database) -> None:
    add_readers(pg_db, build_world(pg_db), [f"R{n}" for n in range(8)])
    settings = ServerSettings(
        demo=True,
        database=DatabaseSettings(url=pg_db.url),
        sip2=Sip2Settings(host="127.0.0.1", port=0, workers=2),
    )
    running = _Running(settings)
    clients = [RawClient(running.workers.port) for _ in range(8)]
    try:
        for client in clients:
            assert client.login().startswith(b"941")
        for item in ("39000001", "39000002", "39000003"):
            barrier = threading.Barrier(len(clients))
            replies = [b""] * len(clients)

            def lend(
                n: int, item: str = item, barrier: threading.Barrier = barrier, replies: list[bytes] = replies
            ) -> None:
                barrier.wait()
                replies[n] = clients[n].request(f"11YN{NOW}{BLANK}AOVN-TEST|AAR{n}|AB{item}|AC|")

            threads = [threading.Thread(target=lend, args=(n,)) for n in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert sorted(r[:3] for r in replies) == [b"120"] * (len(clients) - 1) + [b"121"], replies
            with pg_db.session() as s:
                loans = s.scalar(
                    select(func.count())
                    .select_from(Loan)
                    .join(Item, Item.id == Loan.item_id)
                    .where(Item.barcode == item, Loan.returned_at.is_(None))
                )
            assert loans == 1
    finally:
        for client in clients:
            client.close()
        running.stop()


def test_workers_of_a_killed_server_stop_and_free_the_port(tmp_path: Path) -> None:
    server, port = _start_thuvien_server(tmp_path)
    workers = [pid for pid in _children(server.pid) if _is_spawned(pid)]
    assert len(workers) == 2
    server.kill()  # no chance to stop them: they notice the closed pipe
    server.communicate(timeout=30)
    assert wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=30)
    with pytest.raises(OSError):
        RawClient(port, timeout=2).login()


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _start_thuvien_server(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``thuvien server`` with two SIP2 workers over a small SQLite world; returns once SIP2 answers."""
    url = f"sqlite:///{tmp_path}/server.db"
    db = Database(url)
    migrate.upgrade(db)
    build_world(db)
    db.dispose()
    sip2_port = free_port()
    config = tmp_path / "server.toml"
    config.write_text(
        'secret_key = "a-long-random-production-secret-0123456789"\n'
        f'[database]\nurl = "{url}"\n[sip2]\nport = {sip2_port}\nworkers = 2\n',
        encoding="utf-8",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "server", "--config", str(config), "--port", str(free_port())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def serving() -> bool:
        try:
            client = RawClient(sip2_port, timeout=5)
        except OSError:
            return False
        try:
            return client.login().startswith(b"941")
        finally:
            client.close()

    if not wait_for(serving, timeout=120, interval=0.5):
        server.kill()
        _, stderr = server.communicate(timeout=30)
        pytest.fail(f"SIP2 workers did not come up: {stderr.decode(errors='replace')[-2000:]}")
    return server, sip2_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_thuvien_server_stops_its_workers_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    server, _ = _start_thuvien_server(tmp_path)
    try:
        workers = [pid for pid in _children(server.pid) if _is_spawned(pid)]
        assert len(workers) == 2
        server.send_signal(sig)
        _, stderr = server.communicate(timeout=60)
        assert server.returncode == 0, stderr.decode()
        assert "Traceback" not in stderr.decode()
        assert not any(_alive(pid) for pid in workers)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _is_spawned(pid: int) -> bool:
    """A multiprocessing spawn child (its command line names the spawn entry point)."""
    path = Path(f"/proc/{pid}/cmdline")
    return path.exists() and b"spawn_main" in path.read_bytes()
