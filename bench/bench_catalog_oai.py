"""Full OAI-PMH harvest rate with Sickle 0.7.0 (ListRecords, marc21, every record incl. deletions) from the
catalog loaded by ``bench_catalog_import.py`` (target ≥ 2,000 records/s). ``--limit`` stops early."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import multiprocessing.synchronize
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sickle import Sickle  # noqa: E402

from bench.bench_catalog_search import PG_URL, SQLITE_DB, pg_exists  # noqa: E402
from bench.common import marcxml_writer, table  # noqa: E402
from server.db import Database  # noqa: E402
from tests.union.conftest import LiveServer  # noqa: E402


def _serve(url: str, page_size: int, port: mp.Queue[int], stop: mp.synchronize.Event) -> None:
    """The provider in a process of its own, as `thuvien server` runs: the harvester does not share its GIL."""
    db = Database(url)
    with LiveServer(db, page_size=page_size) as live:
        port.put(live.port)
        stop.wait()
    db.dispose()


@contextmanager
def served(db: Database, page_size: int = 500) -> Iterator[str]:
    """The server's base URL, served from a process of its own for as long as the block runs."""
    ctx = mp.get_context("spawn")
    ports: mp.Queue[int] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(db.url, page_size, ports, stop), daemon=True)
    server.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}"
    finally:
        stop.set()
        server.join(30)


def harvest(db: Database, page_size: int, limit: int | None, prefix: str) -> tuple[int, float]:
    with served(db, page_size) as url:
        sickle = Sickle(f"{url}/oai", max_retries=1, timeout=120)
        started = time.perf_counter()
        count = 0
        for _record in sickle.ListRecords(metadataPrefix=prefix, ignore_deleted=False):
            count += 1
            if limit is not None and count >= limit:
                break
        return count, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="stop after N records")
    parser.add_argument("--page", type=int, default=500, help="records per OAI-PMH page")
    parser.add_argument("--prefix", default="marc21")
    args = parser.parse_args()
    rows: list[list[object]] = []
    targets = []
    if SQLITE_DB.exists():
        targets.append(("SQLite", Database(f"sqlite:///{SQLITE_DB}")))
    if pg_exists():
        targets.append(("PostgreSQL", Database(PG_URL)))
    for name, db in targets:
        count, seconds = harvest(db, args.page, args.limit, args.prefix)
        rows.append([name, args.prefix, args.page, count, f"{seconds:.1f} s", f"{count / seconds:,.0f}"])
        db.dispose()
    if not rows:
        print("no loaded catalog: run bench/bench_catalog_import.py first")
        return 1
    print(table(["database", "format", "page", "records", "time", "records/s"], rows))
    print(marcxml_writer())
    print("target: ≥ 2,000 records/s (client: Sickle 0.7.0 in this process; the provider in its own process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
