"""Inserts and point reads per second for items and loans on SQLite and PostgreSQL.

The base later benchmarks compare against: one ORM transaction per insert batch of 500, and point reads
by barcode, by RFID tag UID and of a loan by id, each in its own short session (as a request would).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.common import scratch_pg, table  # noqa: E402
from server import migrate  # noqa: E402
from server.catalog.models import BibRecord, Item, ItemTag, ItemType  # noqa: E402
from server.circulation.models import Loan  # noqa: E402
from server.db import Database, utcnow  # noqa: E402
from server.libraries.models import Library, LibraryKind  # noqa: E402

N_ITEMS = 20_000
N_READS = 5_000
BATCH = 500


def run(db: Database) -> list[tuple[str, float]]:
    migrate.upgrade(db)
    with db.write() as s:
        lib = Library(isil="VN-BENCH", name="Thư viện đo", kind=LibraryKind.PROVINCE)
        s.add_all([lib, ItemType(code="book", name="Sách")])
        s.flush()
        record = BibRecord(marc=b"", title="Truyện Kiều", search_text="truyen kieu")
        s.add(record)
        s.flush()
        lib_id, record_id = lib.id, record.id
    figures: list[tuple[str, float]] = []

    started = time.perf_counter()
    for start in range(0, N_ITEMS, BATCH):
        with db.write() as s:
            s.add_all(
                Item(
                    barcode=f"B{n:09d}",
                    record_id=record_id,
                    library_id=lib_id,
                    item_type="book",
                    tags=[ItemTag(uid=f"E0040100{n:08X}")],
                )
                for n in range(start, start + BATCH)
            )
    figures.append(("item inserts/s (batches of 500)", N_ITEMS / (time.perf_counter() - started)))

    with db.session() as s:
        item_ids = list(s.scalars(select(Item.id)))
    due = utcnow() + dt.timedelta(days=14)
    started = time.perf_counter()
    for start in range(0, N_ITEMS, BATCH):
        with db.write() as s:
            s.add_all(
                Loan(item_id=item_id, patron_category="adult", library_id=lib_id, due_at=due)
                for item_id in item_ids[start : start + BATCH]
            )
    figures.append(("loan inserts/s (batches of 500)", N_ITEMS / (time.perf_counter() - started)))

    started = time.perf_counter()
    for _ in range(N_ITEMS // 10):
        with db.write() as s:
            s.add(Loan(item_id=random.choice(item_ids), patron_category="adult", library_id=lib_id,
                       due_at=due, returned_at=utcnow()))
    figures.append(("loan inserts/s (one transaction each)", (N_ITEMS // 10) / (time.perf_counter() - started)))

    rng = random.Random(7)
    picks = [rng.randrange(N_ITEMS) for _ in range(N_READS)]
    started = time.perf_counter()
    for n in picks:
        with db.session() as s:
            s.scalar(select(Item).where(Item.barcode == f"B{n:09d}"))
    figures.append(("item reads/s by barcode", N_READS / (time.perf_counter() - started)))
    started = time.perf_counter()
    for n in picks:
        with db.session() as s:
            s.scalar(select(Item).join(ItemTag).where(ItemTag.uid == f"E0040100{n:08X}"))
    figures.append(("item reads/s by tag UID", N_READS / (time.perf_counter() - started)))
    with db.session() as s:
        loan_ids = list(s.scalars(select(Loan.id)))
    started = time.perf_counter()
    for n in picks:
        with db.session() as s:
            s.get(Loan, loan_ids[n % len(loan_ids)])
    figures.append(("loan reads/s by id", N_READS / (time.perf_counter() - started)))
    db.dispose()
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = run(Database(f"sqlite:///{tmp}/bench.db"))
    with scratch_pg("dbbench") as url:
        pg = run(Database(url))
    rows = [(name, f"{a:,.0f}", f"{b:,.0f}") for (name, a), (_, b) in zip(sqlite, pg, strict=True)]
    print(f"Database throughput, {N_ITEMS:,} items and loans, {N_READS:,} point reads")
    print(table(["operation", "SQLite", "PostgreSQL"], rows))


if __name__ == "__main__":
    main()
