"""SIP2 checkout (11) + checkin (09) pairs through our server, on SQLite and PostgreSQL.

What is measured, per database and per server layout (1 listener process, then ``sip2.workers`` processes,
by default one per core):

* **closed loop** at 1, 10 and 50 connections: each connection is a kiosk with its own patron and item,
  lending and returning as fast as the server answers. This is the saturation throughput; at 50
  connections the latency is mostly queueing behind the other 49 and says little about a kiosk's wait.
* **paced** at 50 connections, 1 pair per second each (100 SIP2 transactions/s, several times a
  province's peak), then 2 pairs per second each: every kiosk starts at a random phase (uniform offset
  within its period) and keeps its rhythm, as independent kiosks do. The issue's target — **p95 ≤ 20 ms
  at 50 connections on PostgreSQL** — is read on the 1 pair/s paced row with worker processes.

Latency is per SIP2 request (11 or 09) as the client sees it, login excluded. The server runs in its own
process tree; "server CPU/req" is the user+system CPU that tree used per request during the row (read
from /proc), which stays meaningful on a loaded machine where wall-clock figures do not. Run with
``.venv/bin/python bench/bench_sip2_throughput.py``; state ``uptime`` beside the figures.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, scratch_pg, table  # noqa: E402
from bench.sip2_rig import Client, ServerProcess, now, seed, sip2_server  # noqa: E402

SECONDS = 4.0
PACED_SECONDS = 10.0
LEVELS = (1, 10, 50)
PACED = (1.0, 2.0)  # pairs per second per kiosk
KIOSKS = 50
BLANK = " " * 18


async def kiosk(
    client: Client, n: int, deadline: float, latencies: list[float], interval: float | None, phase: float
) -> int:
    patron, item = f"P{n:04d}", f"4{n:07d}"
    pairs = 0
    next_start = time.perf_counter() + phase
    try:
        await asyncio.sleep(phase)
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            out = await client.ask(f"11YN{now()}{BLANK}AOVN-TEST|AA{patron}|AB{item}|AC|")
            t1 = time.perf_counter()
            back = await client.ask(f"09N{now()}{BLANK}APbench|AOVN-TEST|AB{item}|AC|")
            t2 = time.perf_counter()
            if not out.startswith(b"121") or not back.startswith(b"101"):
                raise RuntimeError(f"unexpected replies {out[:40]!r} / {back[:40]!r}")
            latencies += [t1 - t0, t2 - t1]
            pairs += 1
            if interval is not None:
                next_start += interval
                await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
    finally:
        await client.close()
    return pairs


async def level(
    port: int, connections: int, seconds: float, interval: float | None = None
) -> tuple[float, list[float]]:
    """Pairs per second and request latencies; paced kiosks (``interval``) start at random phases."""
    latencies: list[float] = []
    clients = [await Client.open(port) for _ in range(connections)]  # logins are not timed
    rng = random.Random(connections)
    phases = [rng.uniform(0, interval) if interval is not None else 0.0 for _ in clients]
    start = time.perf_counter()
    deadline = start + seconds
    pairs = await asyncio.gather(
        *(
            kiosk(c, n, deadline, latencies, interval, phase)
            for n, (c, phase) in enumerate(zip(clients, phases, strict=True))
        )
    )
    elapsed = time.perf_counter() - start
    return sum(pairs) / elapsed, latencies


def measured(server: ServerProcess, connections: int, seconds: float, interval: float | None = None) -> list[object]:
    cpu = server.cpu_seconds()
    rate, lat = asyncio.run(level(server.port, connections, seconds, interval))
    requests = 2 * rate * seconds
    cpu_ms = (server.cpu_seconds() - cpu) * 1000 / requests if requests else float("nan")
    ms = [x * 1000 for x in lat]
    return [
        f"{rate:.1f}",
        f"{2 * rate:.0f}",
        f"{percentile(ms, 50):.1f}",
        f"{percentile(ms, 95):.1f}",
        f"{percentile(ms, 99):.1f}",
        f"{cpu_ms:.2f}",
    ]


def run_backend(name: str, url: str, rows: list[list[object]]) -> None:
    seed(url)
    for workers in sorted({1, os.cpu_count() or 1}):
        with sip2_server(url, workers) as server:
            asyncio.run(level(server.port, KIOSKS, 1.0))  # warm-up: every worker's pool and caches
            layout = "1 process" if workers == 1 else f"{workers} workers"
            for connections in LEVELS:
                rows.append([name, layout, f"{connections} closed loop"] + measured(server, connections, SECONDS))
            for rate in PACED:
                label = f"{KIOSKS} × {rate:g} pair/s, random phase"
                rows.append([name, layout, label] + measured(server, KIOSKS, PACED_SECONDS, 1 / rate))


def main() -> None:
    rows: list[list[object]] = []
    started, load_before = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        run_backend("SQLite", f"sqlite:///{tmp}/bench.db", rows)
    with scratch_pg("sip2bench") as url:
        run_backend("PostgreSQL", url, rows)
    print("SIP2 checkout (11) + checkin (09) pairs; latency per SIP2 request")
    headers = ["database", "server", "load", "pairs/s", "requests/s", "p50 ms", "p95 ms", "p99 ms", "server CPU/req ms"]
    print(table(headers, rows))
    loads = " → ".join(" ".join(f"{x:.2f}" for x in load) for load in (load_before, os.getloadavg()))
    print(f"load average (1, 5, 15 min) {loads}; {os.cpu_count()} cores")
    print(f"(total {time.perf_counter() - started:.0f} s; FOLIO publishes check-out p95 1,228 ms at 8 users)")


if __name__ == "__main__":
    main()
