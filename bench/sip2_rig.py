"""Shared rig of the SIP2 benchmarks: a seeded database, our SIP2 server in a child process, asyncio clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing as mp
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import migrate  # noqa: E402
from server.db import Database  # noqa: E402
from server.sip2.codec import checksum, format_date  # noqa: E402
from tests.circulation.builders import add_readers, build_world  # noqa: E402

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
N_CLIENTS = 50


def seed(url: str) -> None:
    db = Database(url)
    migrate.upgrade(db)
    world = build_world(db, extra_items=N_CLIENTS)
    add_readers(db, world, [f"P{n:04d}" for n in range(N_CLIENTS)], pin="1234")
    db.dispose()


def _serve(url: str, workers: int, conn: Connection) -> None:
    logging.disable(logging.WARNING)
    from server.settings import DatabaseSettings, LoggingSettings, ServerSettings, Sip2Settings
    from server.sip2.server import Sip2Server
    from server.sip2.workers import Sip2Workers

    async def main() -> None:
        settings = ServerSettings(
            demo=True,
            database=DatabaseSettings(url=url, pool_size=25),
            sip2=Sip2Settings(host="127.0.0.1", port=0, idle_timeout_seconds=600, workers=workers),
            logging=LoggingSettings(level="ERROR"),  # worker processes configure their logging from this
        )
        db = Database(url, pool_size=25)
        # The same choice as `thuvien server` (server.sip2.workers.sip2_service), with a larger pool.
        server = Sip2Workers(settings) if workers > 1 else Sip2Server(settings, db, threads=25)
        await server.start()
        conn.send(server.port)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await server.stop()
        db.dispose()

    asyncio.run(main())


class ServerProcess:
    """Our SIP2 server in a child process: its port and the CPU time its process tree has used."""

    def __init__(self, process: BaseProcess, port: int) -> None:
        self.process, self.port = process, port

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process and its workers so far (Linux /proc; NaN elsewhere)."""
        assert self.process.pid is not None
        return sum(_cpu(pid) for pid in _tree(self.process.pid))


def _tree(pid: int) -> list[int]:
    found = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            found += _tree(int(child))
    return found


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sip2_server(url: str, workers: int = 1) -> Iterator[ServerProcess]:
    """Our SIP2 server over ``url`` in a separate process (its own GIL), with ``workers`` listener processes."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(url, workers, child), daemon=False)
    process.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the SIP2 server process did not start within 120 s")
        yield ServerProcess(process, int(parent.recv()))
    finally:
        parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.kill()


def frame(body: str, seq: int) -> bytes:
    data = body.encode("utf-8") + f"AY{seq}AZ".encode()
    return data + checksum(data).encode() + b"\r"


def now() -> str:
    return format_date(dt.datetime.now(dt.UTC), ZONE)


class Client:
    """One asyncio SIP2 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.seq = reader, writer, 0

    @classmethod
    async def open(cls, port: int, login: bool = True) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        client = cls(reader, writer)
        if login:
            reply = await client.ask("9300CNkiosk1|COkiosk1-pass|CPBENCH|")
            if not reply.startswith(b"941"):
                raise RuntimeError(f"login refused: {reply!r}")
        return client

    async def ask(self, body: str) -> bytes:
        self.writer.write(frame(body, self.seq))
        self.seq = (self.seq + 1) % 10
        return await self.reader.readuntil(b"\r")

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass
