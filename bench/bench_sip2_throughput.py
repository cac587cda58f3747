"""SIP2 checkout+checkin pairs through our server at 1, 10 and 50 connections, on SQLite and PostgreSQL.

Each connection is one kiosk with its own patron and item, lending and returning as fast as it can
(closed loop: the saturation throughput). A second run paces 50 kiosks at one pair per second each (100
SIP2 transactions/s, above a province's peak) for the latency a kiosk sees under load. The server runs in
its own process; latencies are per SIP2 request (11 or 09) as the client measures them.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import percentile, scratch_pg, table  # noqa: E402
from bench.sip2_rig import Client, now, seed, sip2_server  # noqa: E402

SECONDS = 4.0
PACED_SECONDS = 5.0
LEVELS = (1, 10, 50)
BLANK = " " * 18


async def kiosk(client: Client, n: int, deadline: float, latencies: list[float], interval: float | None) -> int:
    patron, item = f"P{n:04d}", f"4{n:07d}"
    pairs = 0
    next_start = time.perf_counter()
    try:
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
    latencies: list[float] = []
    clients = [await Client.open(port) for _ in range(connections)]  # logins are not timed
    start = time.perf_counter()
    deadline = start + seconds
    pairs = await asyncio.gather(*(kiosk(c, n, deadline, latencies, interval) for n, c in enumerate(clients)))
    elapsed = time.perf_counter() - start
    return sum(pairs) / elapsed, latencies


def run_backend(name: str, url: str, rows: list[list[object]]) -> None:
    seed(url)
    with sip2_server(url) as port:
        asyncio.run(level(port, 1, 0.5))  # warm-up: connections, caches
        for connections in LEVELS:
            rate, lat = asyncio.run(level(port, connections, SECONDS))
            rows.append(_row(name, f"{connections} (closed loop)", rate, lat))
        rate, lat = asyncio.run(level(port, 50, PACED_SECONDS, interval=1.0))
        rows.append(_row(name, "50 (1 pair/s each)", rate, lat))


def _row(name: str, label: str, rate: float, lat: list[float]) -> list[object]:
    ms = [x * 1000 for x in lat]
    return [
        name,
        label,
        f"{rate:.1f}",
        f"{2 * rate:.0f}",
        f"{percentile(ms, 50):.1f}",
        f"{percentile(ms, 95):.1f}",
        f"{percentile(ms, 99):.1f}",
    ]


def main() -> None:
    rows: list[list[object]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run_backend("SQLite", f"sqlite:///{tmp}/bench.db", rows)
    with scratch_pg("sip2bench") as url:
        run_backend("PostgreSQL", url, rows)
    print("SIP2 checkout (11) + checkin (09) pairs; latency per SIP2 request")
    print(table(["database", "connections", "pairs/s", "requests/s", "p50 ms", "p95 ms", "p99 ms"], rows))
    print(f"(total {time.perf_counter() - started:.0f} s; FOLIO publishes check-out p95 1,228 ms at 8 users)")


if __name__ == "__main__":
    main()
