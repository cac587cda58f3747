"""SRU searchRetrieve p50/p95 of ``/sru`` next to Zebra 2.2 serving the same records in the same run
(target: our p50 ≤ 1.5× Zebra's). All get the same CQL queries (dc.title words drawn from the records),
maximumRecords=10; ours answers MARCXML, Zebra its default USMARC-in-XML (Zebra has no marcxml schema here).
The words are spelled without diacritics in the titles they come from: Zebra's default character map does not
fold diacritics, so a folded word ("transicion" of "transición") finds nothing there, and an empty answer is no
comparison. Each query is asked of every server in turn, so that the machine's drift during the run falls on
all alike. Every server first answers other queries of the same kind, untimed (``--warm-up``): the measured
ones find each as it is after serving for a while (its indexes in memory), not as the import left it, and none
of them was asked before. Twice: as asked
(``dc.title = w``: Zebra answers in its own order, ours newest first), and with CQL's relevance modifier
(``dc.title =/relevant w``: Zebra ranks with 2=102, ours with bm25 / ts_rank).
``--records N`` limits how many of the loaded catalog's records Zebra indexes (and ours searches: all)."""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_catalog_oai import served  # noqa: E402
from bench.bench_catalog_search import PG_URL, SQLITE_DB, pg_exists  # noqa: E402
from bench.common import marcxml_writer, percentile, table  # noqa: E402
from server.catalog.models import BibRecord  # noqa: E402
from server.db import Database  # noqa: E402
from tests.union.zebra import Zebra  # noqa: E402

TERMINATOR = b"\x1d"


def records_and_queries(db: Database, limit: int, count: int) -> tuple[bytes, list[str]]:
    rng = random.Random(11)
    with db.session() as session:
        rows = session.execute(select(BibRecord.marc, BibRecord.title).order_by(BibRecord.id).limit(limit)).all()
    data = b"".join(marc for marc, _ in rows)
    queries: list[str] = []
    while len(queries) < count:
        _marc, title = rows[rng.randrange(len(rows))]
        words = [w.lower() for w in title.split() if len(w) > 3 and w.isascii() and w.isalpha()]
        if words:
            queries.append(f"dc.title = {rng.choice(words)}")
    return data, queries


def url_of(base: str, query: str, schema: str | None) -> str:
    params = {"version": "1.2", "operation": "searchRetrieve", "query": query, "maximumRecords": "10"}
    if schema:
        params["recordSchema"] = schema
    return base + "?" + urllib.parse.urlencode(params)


def timed(client: httpx.Client, servers: list[tuple[str, str | None]], queries: list[str]) -> list[list[float]]:
    """The time of each query on each server, asked of the servers in turn."""
    samples: list[list[float]] = [[] for _ in servers]
    for query in queries:
        for times, (base, schema) in zip(samples, servers, strict=True):
            url = url_of(base, query, schema)
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return samples


def with_hits(client: httpx.Client, base: str, schema: str | None, queries: list[str]) -> int:
    """How many of the queries find something on a server."""
    return sum(b"numberOfRecords>0<" not in client.get(url_of(base, query, schema)).content for query in queries)


def postgres_memory(db: Database) -> str:
    """How much of the catalog PostgreSQL's own buffers can hold: each record served is read from its
    ``bib_records`` page, and a page outside them is read from the operating system's cache."""
    with db.session() as session:
        buffers, heap = session.execute(
            text("SELECT current_setting('shared_buffers'), pg_size_pretty(pg_relation_size('bib_records'))")
        ).one()
    return f"PostgreSQL: shared_buffers {buffers}, bib_records heap {heap}"


def _ms(samples: list[float]) -> list[str]:
    return [f"{percentile(samples, 50) * 1000:.1f}", f"{percentile(samples, 95) * 1000:.1f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument(
        "--warm-up", type=int, default=400, help="other queries every server answers first, untimed, in each order"
    )
    args = parser.parse_args()
    if not SQLITE_DB.exists():
        print("no loaded catalog: run bench/bench_catalog_import.py first")
        return 1
    targets = [("SQLite", Database(f"sqlite:///{SQLITE_DB}"))]
    if pg_exists():
        targets.append(("PostgreSQL", Database(PG_URL)))
    data, drawn = records_and_queries(targets[0][1], args.records, args.warm_up + args.queries)
    rows: list[list[object]] = []
    relevant = [q.replace(" = ", " =/relevant ", 1) for q in drawn]
    modes = [("as asked", drawn), ("/relevant", relevant)]
    with tempfile.TemporaryDirectory(dir=ROOT / "var" / "bench") as tmp, httpx.Client(timeout=60) as client:
        started = time.perf_counter()
        with Zebra(Path(tmp), data) as zebra, contextlib.ExitStack() as stack:
            indexed = time.perf_counter() - started
            # ours each in a process of its own, as Zebra is
            servers: list[tuple[str, str | None]] = [(zebra.sru, None)]
            servers += [(stack.enter_context(served(db)) + "/sru", "marcxml") for _, db in targets]
            names = [f"Zebra ({data.count(TERMINATOR)} records, indexed in {indexed:.0f} s)"]
            names += [f"/sru on {name}" for name, _ in targets]
            for mode, both in modes:
                warm_up, asked = both[: args.warm_up], both[args.warm_up :]
                timed(client, servers, warm_up)
                results = timed(client, servers, asked)
                zebra_p50 = percentile(results[0], 50)
                for name, (base, schema), times in zip(names, servers, results, strict=True):
                    hits = with_hits(client, base, schema, asked)
                    ratio = f"{percentile(times, 50) / zebra_p50:.2f}×"
                    rows.append([name, mode, len(times), hits, *_ms(times), ratio])
    print(table(["server", "order", "queries", "with hits", "p50 ms", "p95 ms", "vs Zebra p50"], rows))
    for name, db in targets:
        if name == "PostgreSQL":
            print(postgres_memory(db))
        db.dispose()
    print(marcxml_writer())
    print("target: /sru p50 ≤ 1.5× Zebra")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
