"""A 10-item stack on the kiosk pad: time from the stack landing to every item borrowed with its security
verified, against the real server over SIP2 on PostgreSQL and the simulated FEIG reader with physical timing.

The air-time floor is the RF work that cannot be avoided for 10 tags: one anticollision inventory, then per tag
Get System Information + read 9 blocks (identify), Write AFI + Get System Information (write and verify),
from the ISO 15693 high-rate timing model (edge.iso15693.timing). Target: ratio <= 2.0.
Runs RUNS stacks (new items each time) after one warm-up; prints a table.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import scratch_pg, table  # noqa: E402
from tests.support import free_port, port_open, wait_for  # noqa: E402

STACK = 10
RUNS = 3
CONNECTIONS = (1, 3)
PATRON = "0001000001"


def air_floor(uids: list[object]) -> float:
    from edge.iso15693.timing import HIGH_RATE

    _, inventory_us = HIGH_RATE.anticollision(uids)  # type: ignore[arg-type]
    sysinfo = HIGH_RATE.exchange_us(12, 17)
    per_tag = sysinfo + HIGH_RATE.read_blocks_us(9) + HIGH_RATE.write_afi_us() + sysinfo
    return (inventory_us + STACK * per_tag) / 1e6


def seed_pg(url: str) -> list[str]:
    from sqlalchemy import select, text

    from server import migrate
    from server.catalog.models import Item
    from server.db import Database
    from server.demo.seed import seed

    db = Database(url)
    migrate.ensure_schema(db, auto_migrate=True)
    seed(db)
    with db.write() as session:
        session.execute(text("UPDATE loan_policies SET max_items = 100"))  # a 10-item stack needs room
        barcodes = list(
            session.scalars(
                select(Item.barcode)
                .where(Item.owner_isil == "VN-HDU", Item.barcode >= "3000000100")
                .order_by(Item.barcode)
            )
        )
    db.dispose()
    return barcodes


def run_config(
    sim: Any, sip2: int, tmp: Path, barcodes: list[str], connections: int, desk: Any, rows: list[list[object]]
) -> list[float]:
    from edge.iso15693 import Uid
    from edge.readers import open_reader
    from edge.readers.sim import VirtualTag
    from edge.tags import LibraryTag
    from kiosk.controller import ItemState, UiAction
    from kiosk.runtime import KioskRuntime
    from kiosk.settings import KioskSettings

    settings = KioskSettings(
        kiosk={
            "id": "bench",
            "library_name": "Bench",
            "accepted_owners": ["VN-HDU"],
            "data_dir": tmp / f"kiosk{connections}",
            "settle_seconds": 1.0,
            "goodbye_seconds": 0.5,
        },
        sip2={
            "host": "127.0.0.1",
            "port": sip2,
            "login": "kiosk1",
            "password": "kiosk1-pass",
            "institution": "VN-HDU",
            "location": "bench",
            "connections": connections,
        },
        security={"mode": "afi"},
        reader={"interval_seconds": 0.02},
        receipts={"mode": "none"},
        events={"sink": "memory"},
    )
    runtime = KioskRuntime(settings, reader=open_reader(sim.url))
    sip_seconds: list[float] = []
    checkout = runtime.sip2.checkout

    def timed_checkout(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return checkout(*args, **kwargs)
        finally:
            sip_seconds.append(time.perf_counter() - started)

    runtime.sip2.checkout = timed_checkout  # type: ignore[method-assign]
    runtime.start()
    controller = runtime.controller
    ratios = []
    try:
        for run in range(RUNS + 1):
            stack = barcodes[:STACK]
            controller.post(UiAction("card", PATRON))
            wait_for(lambda: controller.view.screen.value == "menu", timeout=10)
            controller.post(UiAction("borrow"))
            wait_for(lambda: controller.view.screen.value == "borrow", timeout=10)
            tags = [
                VirtualTag.with_item(
                    Uid.from_int(0xE004_0199_0000_0000 + connections * 0x10000 + run * 0x100 + i),
                    LibraryTag(primary_item_id=b, owner_isil="VN-HDU", type_of_usage=1),
                    "iso28560-3",
                    afi=0x07,
                    eas=True,
                )
                for i, b in enumerate(stack)
            ]
            air_before = sim.air_seconds
            sip_seconds.clear()
            landed = time.perf_counter()
            for tag in tags:
                sim.place(tag)

            def all_done() -> bool:
                return sum(1 for i in controller.view.items if i.state is ItemState.DONE) == STACK

            ok = wait_for(all_done, timeout=30, interval=0.002)
            elapsed = time.perf_counter() - landed
            air_used = sim.air_seconds - air_before
            verified = all(sim.field.get(t.uid).afi == 0xC2 for t in tags)
            floor = air_floor([t.uid for t in tags])
            if not ok or not verified:
                raise SystemExit(f"run {run}: not every item was lent and verified: {controller.view.items}")
            controller.post(UiAction("finish"))
            wait_for(lambda: controller.view.screen.value in ("goodbye", "attract"), timeout=10)
            for tag in tags:
                sim.remove(tag.uid)
            for barcode in stack:
                desk.checkin(barcode)  # back on the shelf for the next run
            wait_for(lambda: controller.view.screen.value == "attract", timeout=10)
            time.sleep(0.2)
            if run == 0:
                continue  # warm-up (connections, caches)
            ratios.append(elapsed / floor)
            rows.append(
                [
                    connections,
                    run,
                    STACK,
                    f"{elapsed * 1000:.0f}",
                    f"{floor * 1000:.0f}",
                    f"{air_used * 1000:.0f}",
                    f"{statistics.median(sip_seconds) * 1000:.1f}",
                    f"{elapsed / floor:.2f}x",
                ]
            )
    finally:
        runtime.stop()
    return ratios


def main() -> None:
    from edge.readers.sim import ReaderSimulator
    from kiosk.ils import Sip2Client, Sip2Config

    with scratch_pg("kiosk") as url, tempfile.TemporaryDirectory() as tmp:
        barcodes = seed_pg(url)
        if len(barcodes) < STACK:
            raise SystemExit(f"only {len(barcodes)} lendable demo items in VN-HDU")
        http, sip2 = free_port(), free_port()
        config = Path(tmp) / "server.toml"
        config.write_text(
            f'demo = true\ndata_dir = "{tmp}"\n[database]\nurl = "{url}"\n'
            f'[http]\nport = {http}\n[sip2]\nport = {sip2}\n[logging]\nlevel = "WARNING"\n',
            "utf-8",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "server", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        sim = ReaderSimulator("feig", "pty", timing=True).start()
        rows: list[list[object]] = []
        ratios: dict[int, list[float]] = {}
        try:
            if not wait_for(lambda: port_open("127.0.0.1", sip2), timeout=90):
                raise SystemExit("the server did not open its SIP2 port")
            desk = Sip2Client(
                Sip2Config(
                    host="127.0.0.1",
                    port=sip2,
                    login="kiosk1",
                    password="kiosk1-pass",
                    institution="VN-HDU",
                    location="desk",
                )
            )
            for connections in CONNECTIONS:
                ratios[connections] = run_config(sim, sip2, Path(tmp), barcodes, connections, desk, rows)
            desk.close()
        finally:
            sim.stop()
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    print("kiosk: 10-item stack, SIP2 to thuvien server on PostgreSQL, simulated FEIG pad with physical timing")
    print(
        table(
            [
                "SIP2 connections",
                "run",
                "items",
                "landing->all lent+verified ms",
                "air-time floor ms",
                "air time used ms",
                "SIP2 checkout p50 ms",
                "ratio",
            ],
            rows,
        )
    )
    for connections, values in ratios.items():
        print(f"{connections} SIP2 connection(s): median ratio {statistics.median(values):.2f}x (target <= 2.0x)")


if __name__ == "__main__":
    main()
