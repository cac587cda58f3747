"""SC Status (99 → 98) round trips per second: our SIP2 server against a pysip2 0.1.0 in-memory AnyIO server.

Both servers run in their own process on this machine, in the same run, with the same asyncio client
(checksums on, one request in flight per connection). Our server is logged in first (as kiosks are);
pysip2 needs no login. The ratio ours/theirs is the figure (target ≥ 1.0).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, table  # noqa: E402
from bench.sip2_rig import Client, seed, sip2_server  # noqa: E402

SECONDS = 3.0
LEVELS = (1, 10, 50)


def _serve_pysip2(conn: Connection) -> None:
    import logging

    import anyio
    from pysip2 import SIP2Server

    logging.disable(logging.WARNING)

    async def main() -> None:
        app = SIP2Server(institution_id="VN-TEST", encoding="utf-8", library_name="Thư viện tỉnh Thử")
        async with app.start() as port:
            conn.send(port)
            await anyio.to_thread.run_sync(conn.recv)

    anyio.run(main)


@contextmanager
def pysip2_server() -> Iterator[int]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve_pysip2, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("pysip2 did not start")
        yield int(parent.recv())
    finally:
        parent.send("stop")
        process.join(30)
        if process.is_alive():
            process.kill()


async def status_loop(client: Client, deadline: float, latencies: list[float]) -> int:
    count = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        reply = await client.ask("9900802.00")
        latencies.append(time.perf_counter() - t0)
        if not reply.startswith(b"98"):
            raise RuntimeError(f"unexpected reply {reply!r}")
        count += 1
    return count


async def measure(port: int, connections: int, login: bool) -> tuple[float, list[float]]:
    clients = [await Client.open(port, login=login) for _ in range(connections)]
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + SECONDS
    counts = await asyncio.gather(*(status_loop(c, deadline, latencies) for c in clients))
    rate = sum(counts) / (time.perf_counter() - start)
    for c in clients:
        await c.close()
    return rate, latencies


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/status.db"
        seed(url)
        with sip2_server(url) as server, pysip2_server() as theirs_port:
            ours_port = server.port
            asyncio.run(measure(ours_port, 1, True))
            asyncio.run(measure(theirs_port, 1, False))
            for connections in LEVELS:
                # alternate the two so that machine load hits both alike
                ours, ours_lat = asyncio.run(measure(ours_port, connections, True))
                theirs, theirs_lat = asyncio.run(measure(theirs_port, connections, False))
                rows.append(
                    [
                        connections,
                        f"{ours:,.0f}",
                        f"{percentile([x * 1000 for x in ours_lat], 50):.2f}",
                        f"{theirs:,.0f}",
                        f"{percentile([x * 1000 for x in theirs_lat], 50):.2f}",
                        f"{ours / theirs:.2f}",
                    ]
                )
    print("SC Status (99/98) round trips per second, ours vs pysip2 0.1.0 (same machine, same run)")
    print(table(["connections", "ours/s", "ours p50 ms", "pysip2/s", "pysip2 p50 ms", "ratio"], rows))


if __name__ == "__main__":
    main()
