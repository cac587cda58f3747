"""SIP2 worker processes: ``sip2.workers`` listeners on one port, each with its own event loop, GIL and pool.

Circulation is CPU-bound Python, so one process serves SIP2 on one core however many threads it runs. With
``sip2.workers`` above 1 (the default on PostgreSQL: one per core) the server process starts that many
*spawned* worker processes; each opens its own
:class:`~server.db.Database` and runs a :class:`~server.sip2.server.Sip2Server` bound with ``SO_REUSEPORT``,
so the kernel spreads new connections over them (a connection stays with the worker that accepted it, which
keeps retransmission replay per connection exact). Database transactions keep two workers from lending one
copy twice exactly as they keep two threads from it (row locks on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).

The first worker binds the configured port (``0`` picks a free one) and the others join it. The parent
watches them: a worker that dies is logged as an error and started again (after a back-off when it keeps
dying). Stopping the parent (SIGINT/SIGTERM to ``thuvien server``) asks every worker to stop over its pipe,
waits, then terminates whatever is left. Workers ignore SIGINT (a terminal's Ctrl-C reaches the whole
process group; the parent decides), stop cleanly on SIGTERM, and stop when the parent's pipe closes, so a
killed parent leaves no listener behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import signal
import socket
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from server import logs
from server.db import Database
from server.settings import ServerSettings
from server.sip2.server import Sip2Server

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 60.0  # a spawned worker imports the server and opens its pool first
STOP_TIMEOUT_SECONDS = 15.0
WATCH_INTERVAL_SECONDS = 0.5
STEADY_SECONDS = 30.0  # a worker that lived this long before dying is restarted at once
MAX_BACKOFF_SECONDS = 30.0


class Sip2WorkerError(RuntimeError):
    """A worker process could not start listening."""


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def worker_count(settings: ServerSettings) -> int:
    """``sip2.workers``, or by default one per core on PostgreSQL and 1 on SQLite.

    SQLite has one writer for the whole file: a second process adds nothing but lock waits in SQLite's
    sleeping busy handler (measured: a higher p95 than one process), so it gets one unless asked.
    """
    if settings.sip2.workers is not None:
        return settings.sip2.workers
    return 1 if settings.database.url.startswith("sqlite") else os.cpu_count() or 1


def sip2_service(settings: ServerSettings, db: Database) -> Sip2Server | Sip2Workers:
    """The SIP2 listener this configuration asks for: worker processes, or one in the server process."""
    count = worker_count(settings)
    if count > 1:
        if reuse_port_supported():
            return Sip2Workers(settings, workers=count)
        log.warning("SO_REUSEPORT is not available here; SIP2 runs in the server process (sip2.workers = 1)")
    return Sip2Server(settings, db)


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    pipe: Connection
    started: float


class Sip2Workers:
    """A background service of the server process (see ``server.runtime.Service``) running SIP2 workers."""

    name = "sip2"

    def __init__(self, settings: ServerSettings, *, workers: int | None = None) -> None:
        self.settings = settings
        self.count = workers or worker_count(settings)
        self._context = mp.get_context("spawn")
        self._workers: list[_Worker] = []
        self._port: int | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._failures: dict[int, int] = {}

    @property
    def port(self) -> int:
        return self._port if self._port is not None else self.settings.sip2.port

    @property
    def pids(self) -> list[int]:
        """The process ids of the running workers (tests, diagnostics)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None and w.process.is_alive()]

    async def start(self) -> None:
        self._workers = [await self._spawn(0, self.settings.sip2.port)]
        results = await asyncio.gather(
            *(self._spawn(i, self.port) for i in range(1, self.count)), return_exceptions=True
        )
        self._workers += [r for r in results if isinstance(r, _Worker)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await self._stop_workers()
            raise failed[0]
        self._watcher = asyncio.create_task(self._watch(), name="sip2-workers")
        log.info("SIP2 listening on %s:%d in %d worker processes", self.settings.sip2.host, self.port, self.count)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._stop_workers()
        log.info("SIP2 workers stopped")

    async def _spawn(self, index: int, port: int) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(self.settings, index, port, child), name=f"thuvien-sip2-{index}", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(index, process, parent, time.monotonic())
        try:
            reply = await asyncio.get_running_loop().run_in_executor(None, _receive, parent, START_TIMEOUT_SECONDS)
        except BaseException:
            await _end(worker)
            raise
        if not (isinstance(reply, tuple) and reply[0] == "ready"):
            await _end(worker)
            reason = reply[1] if isinstance(reply, tuple) else f"no answer within {START_TIMEOUT_SECONDS:.0f} s"
            raise Sip2WorkerError(f"SIP2 worker {index} did not start: {reason}")
        if self._port is None:
            self._port = int(reply[1])
        log.debug("SIP2 worker %d is pid %s", index, process.pid)
        return worker

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            for slot, worker in enumerate(self._workers):
                if worker.process.is_alive():
                    continue
                lived = time.monotonic() - worker.started
                failures = 0 if lived >= STEADY_SECONDS else self._failures.get(worker.index, 0) + 1
                self._failures[worker.index] = failures
                delay = min(MAX_BACKOFF_SECONDS, 2.0 ** (failures - 1)) if failures else 0.0
                log.error(
                    "SIP2 worker %d (pid %s) exited with code %s after %.0f s; starting it again%s",
                    worker.index,
                    worker.process.pid,
                    worker.process.exitcode,
                    lived,
                    f" in {delay:.0f} s" if delay else "",
                )
                worker.pipe.close()
                await asyncio.sleep(delay)
                try:
                    self._workers[slot] = await self._spawn(worker.index, self.port)
                except Exception:  # the watcher must outlive any one failed start
                    log.exception("SIP2 worker %d could not be started again", worker.index)
                    worker.started = time.monotonic()  # try again next round, backing off further

    async def _stop_workers(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.pipe.send("stop")
        await asyncio.gather(*(_end(w) for w in workers))


async def _end(worker: _Worker) -> None:
    """Wait for the worker to stop on its own, then terminate, then kill it."""
    loop = asyncio.get_running_loop()
    process = worker.process
    await loop.run_in_executor(None, process.join, STOP_TIMEOUT_SECONDS)
    if process.is_alive():
        log.warning("SIP2 worker %d (pid %s) did not stop; terminating it", worker.index, process.pid)
        process.terminate()
        await loop.run_in_executor(None, process.join, 5.0)
    if process.is_alive():
        process.kill()
        await loop.run_in_executor(None, process.join, 5.0)
    worker.pipe.close()


def _receive(pipe: Connection, timeout: float) -> object:
    try:
        return pipe.recv() if pipe.poll(timeout) else None
    except (EOFError, OSError):
        return ("failed", "it exited while starting")


# -- in the worker process ------------------------------------------------------------------------------


def worker_main(settings: ServerSettings, index: int, port: int, pipe: Connection) -> None:
    """Entry point of one worker process (spawned: it imports everything afresh)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.configure(settings.logging.level, json_format=settings.logging.json_format)
    asyncio.run(_serve(settings, index, port, pipe))


async def _serve(settings: ServerSettings, index: int, port: int, pipe: Connection) -> None:
    database = settings.database
    db = Database(database.url, echo=database.echo, pool_size=database.pool_size)
    server = Sip2Server(settings, db, port=port, reuse_port=True)
    try:
        await server.start()
    except OSError as exc:
        pipe.send(("failed", f"cannot listen on {settings.sip2.host}:{port}: {exc}"))
        db.dispose()
        return
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def parent_spoke() -> None:
        try:
            pipe.recv()  # "stop" is the only message
        except (EOFError, OSError):
            log.warning("SIP2 worker %d lost its parent; stopping", index)
        stopping.set()

    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    loop.add_reader(pipe.fileno(), parent_spoke)
    pipe.send(("ready", server.port))
    try:
        await stopping.wait()
    finally:
        loop.remove_reader(pipe.fileno())
        await server.stop()
        db.dispose()
