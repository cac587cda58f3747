"""Server time of the heaviest staff pages at 100,000 loans on PostgreSQL: the dashboard, a province report over
a year (page and XLSX export) and the yearly self-evaluation.

The demo data is seeded, then 100k returned loans (a year of them, desk and kiosk, over every library) plus a
year of hourly visitor counts and some gate alarms are bulk-inserted. Each page is requested in process
through the ASGI app (no network), as the system administrator (the widest scope), a few times after one
warm-up; the figures are wall time per request. Bounded: the whole run stops well under two minutes.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.common import percentile, scratch_pg, table  # noqa: E402
from server import migrate  # noqa: E402
from server.app import create_app  # noqa: E402
from server.db import Database, utcnow  # noqa: E402
from server.demo.seed import seed  # noqa: E402
from server.libraries.models import Library  # noqa: E402
from server.settings import ServerSettings  # noqa: E402

N_LOANS = 100_000
REPEAT = 3
DEADLINE_S = 110.0


def populate(db: Database) -> tuple[int, float]:
    """Generate the loans, visits and alarms inside PostgreSQL (generate_series); returns the province id and the
    seconds it took."""
    started = time.perf_counter()
    with db.session() as session:
        province = session.scalar(select(Library.id).where(Library.parent_id.is_(None)))
    assert province is not None
    with db.engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.08)"))
        conn.execute(text(
            """
            WITH items AS (SELECT id, library_id, row_number() OVER (ORDER BY id) - 1 AS n FROM items),
                 counted AS (SELECT count(*) AS total FROM items),
                 loans AS (
                   SELECT g, now() - random() * interval '365 days' AS out_at FROM generate_series(1, :n) AS g)
            INSERT INTO loans (item_id, patron_category, library_id, state, checked_out_at, due_at, returned_at,
                               returned_library_id, renewals, channel, offline)
            SELECT i.id, 'adult', i.library_id, 'returned', l.out_at, l.out_at + interval '14 days',
                   LEAST(l.out_at + (1 + floor(random() * 20)) * interval '1 day', now()), i.library_id,
                   CASE WHEN random() < 0.25 THEN 1 ELSE 0 END,
                   CASE WHEN random() < 0.6 THEN 'kiosk' ELSE 'desk' END, false
            FROM loans l CROSS JOIN counted c JOIN items i ON i.n = l.g % c.total
            """
        ), {"n": N_LOANS})
        conn.execute(text(
            """
            INSERT INTO visitor_counts (device_id, library_id, period_start, period_end, count_in, count_out)
            SELECT 'gate-' || l.id, l.id, now() - h * interval '6 hours', now() - (h - 1) * interval '6 hours',
                   floor(random() * 40), floor(random() * 40)
            FROM libraries l CROSS JOIN generate_series(1, 4 * 365) AS h
            """
        ))
        conn.execute(text(
            """
            INSERT INTO gate_alarms (event_id, device_id, library_id, occurred_at, classification)
            SELECT 'bench-' || g, 'gate-1', (SELECT id FROM libraries ORDER BY random() LIMIT 1),
                   now() - random() * interval '365 days',
                   (ARRAY['theft_attempt', 'security_write_failed', 'unknown_tag'])[1 + floor(random() * 3)::int]
            FROM generate_series(1, 2000) AS g
            """
        ))
        conn.execute(text("ANALYZE"))
    return province, time.perf_counter() - started


def timed(client: TestClient, url: str, deadline: float) -> list[float]:
    client.get(url)  # warm-up (templates, query plans)
    samples = []
    for _ in range(REPEAT):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def main() -> int:
    deadline = time.monotonic() + DEADLINE_S
    with scratch_pg("web") as url:
        db = Database(url)
        try:
            migrate.upgrade(db)
            seed(db)
            province, fill_s = populate(db)
            settings = ServerSettings(secret_key="bench-secret-" + "b" * 20, database={"url": url},
                                      http={"public_url": "https://bench"})
            client = TestClient(create_app(settings, db), base_url="https://bench")
            login = client.get("/web/login")
            token = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert token is not None
            client.post("/web/login", data={"username": "admin", "password": "thuvien-admin",
                                             "csrf": token.group(1)})
            today = utcnow().date()
            year = f"library={province}&start={(today - dt.timedelta(days=365)).isoformat()}&end={today.isoformat()}"
            pages = [
                ("dashboard /web/", "/web/"),
                ("province report, 1 year", f"/web/reports?{year}"),
                ("province report XLSX, 1 year", f"/web/reports/export.xlsx?{year}"),
                ("self-evaluation (1 Dec-30 Nov)", f"/web/reports/self-evaluation?library={province}"),
                ("live summary JSON", "/web/live/summary.json"),
            ]
            rows = []
            for name, path in pages:
                samples = timed(client, path, deadline)
                ms = [s * 1000 for s in samples]
                rows.append((name, len(ms), f"{percentile(ms, 50):.0f}", f"{max(ms, default=float('nan')):.0f}"))
            with db.session() as session:
                loans = session.scalar(text("SELECT count(*) FROM loans"))
        finally:
            db.dispose()
    print(f"PostgreSQL, {loans:,} loans (bulk insert of {N_LOANS:,} took {fill_s:.1f} s), as system administrator")
    print(table(("page", "requests", "median ms", "max ms"), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
