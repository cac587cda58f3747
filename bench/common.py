"""Small helpers the benchmarks share: percentiles, tables, and a scratch PostgreSQL database."""

from __future__ import annotations

import os
import secrets
import statistics
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

PG_ADMIN_URL = os.environ.get("THUVIEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: Sequence[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms, "
        f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.fmean(ms):.2f} ms"
    )


def marcxml_writer() -> str:
    """Which writer turns stored records into MARCXML here (SRU and OAI-PMH figures depend on it)."""
    from server.catalog import marcio

    return "MARCXML written " + ("in C" if marcio.WRITER_IN_C else "in Python (the C extension is not built)")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextmanager
def scratch_pg(label: str = "bench") -> Iterator[str]:
    """A new empty PostgreSQL database for one benchmark run, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"thuvien_{label}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
