"""Search latency p50/p95 on the catalog loaded by ``bench_catalog_import.py`` (SQLite, and PostgreSQL with
``--postgres`` there): keyword, fielded, Vietnamese and filtered queries, 20 results with the total count."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import PG_ADMIN_URL, percentile, table  # noqa: E402
from server.catalog.folding import fold  # noqa: E402
from server.catalog.models import BibRecord  # noqa: E402
from server.catalog.search import Filters, Term, search  # noqa: E402
from server.db import Database  # noqa: E402

SQLITE_DB = ROOT / "var" / "bench" / "catalog.db"
PG_NAME = "thuvien_bench_catalog"
PG_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_NAME


def recreate_pg() -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()


def pg_exists() -> bool:
    admin = create_engine(PG_ADMIN_URL)
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_NAME}).first()
    admin.dispose()
    return found is not None


def queries(db: Database, count: int, seed: int = 9) -> list[tuple[str, object, Filters | None]]:
    """A reproducible mix drawn from the loaded titles and authors, plus fixed Vietnamese queries."""
    rng = random.Random(seed)
    with db.session() as session:
        top = session.scalar(select(func.max(BibRecord.id))) or 1
        ids = [rng.randint(1, top) for _ in range(count)]
        rows = session.execute(select(BibRecord.title, BibRecord.authors).where(BibRecord.id.in_(ids))).all()
    mix: list[tuple[str, object, Filters | None]] = [
        ("vietnamese", "chiến tranh", None),
        ("vietnamese", "viet nam lich su", None),
        ("vietnamese", "nguyen", None),
        ("common word", "history", None),
        ("filtered", "history", Filters(year_from=1990, year_to=2000)),
        ("sorted", "war", None),
    ]
    for title, authors in rows:
        words = [w for w in fold(title).split() if len(w) > 3 and w.isalpha()]
        if len(words) >= 2:
            start = rng.randrange(len(words) - 1)
            mix.append(("two title words", " ".join(words[start : start + 2]), None))
        surname = fold(authors.split(",")[0]).split()
        if surname:
            mix.append(("author field", Term("author", surname[0]), None))
    return mix


def measure(db: Database, mix: list[tuple[str, object, Filters | None]]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with db.session() as session:
        for _kind, query, filters in mix[:3]:
            search(session, query, filters, limit=20)  # type: ignore[arg-type]  # warm-up
        for kind, query, filters in mix:
            started = time.perf_counter()
            search(session, query, filters, sort="title" if kind == "sorted" else "relevance", limit=20)  # type: ignore[arg-type]
            elapsed = time.perf_counter() - started
            timings.setdefault(kind, []).append(elapsed)
            timings.setdefault("all", []).append(elapsed)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows: list[list[object]] = []
    targets = []
    if SQLITE_DB.exists():
        targets.append(("SQLite", Database(f"sqlite:///{SQLITE_DB}")))
    if pg_exists():
        targets.append(("PostgreSQL", Database(PG_URL)))
    if not targets:
        print("no loaded catalog: run bench/bench_catalog_import.py first")
        return 1
    mix = queries(targets[0][1], args.queries)
    for name, db in targets:
        with db.session() as session:
            size = session.scalar(select(func.count()).select_from(BibRecord))
        for kind, samples in sorted(measure(db, mix).items()):
            ms = [s * 1000 for s in samples]
            rows.append([name, size, kind, len(ms), f"{percentile(ms, 50):.1f}", f"{percentile(ms, 95):.1f}"])
        db.dispose()
    print(table(["database", "records", "queries", "n", "p50 ms", "p95 ms"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
