"""MARC import rate against raw pymarc parsing of the same file in the same run (target ≥ 0.5×), each import
against a parse run just before it (the machine's speed drifts within a run).

The file is LoC's 250,000-record ``BooksAll.2016.part01.utf8`` from the pymarc 5.4.0 sdist, fetched into
``var/bench`` with ``pip download --no-deps --no-binary pymarc pymarc==5.4.0`` (never committed); without
it the benchmark falls back to ``loc_books_20k.mrc`` and says so. ``--limit N`` imports the first N records.
The loaded databases are kept in ``var/bench`` for the search, SRU and OAI benchmarks.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import time
import warnings
from pathlib import Path

from pymarc import MARCReader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import table  # noqa: E402
from server import migrate  # noqa: E402
from server.catalog.importer import Importer  # noqa: E402
from server.db import Database  # noqa: E402
from tests.support import shared_path  # noqa: E402

VAR = ROOT / "var" / "bench"
BIG = VAR / "BooksAll.2016.part01.utf8"
SMALL = shared_path("testdata", "marc", "loc_books_20k.mrc")
SQLITE_DB = VAR / "catalog.db"


def loc_file() -> tuple[Path, str]:
    """The 250k LoC file (fetched on first use) or the 20k fallback, with a note saying which."""
    if BIG.exists():
        return BIG, "LoC BooksAll 250k (pymarc 5.4.0 sdist)"
    VAR.mkdir(parents=True, exist_ok=True)
    try:
        sdist = VAR / "pymarc-5.4.0.tar.gz"
        if not sdist.exists():
            # --no-binary pymarc (not :all:): pip prepares the sdist's metadata, and its build backend (hatchling)
            # then installs from a wheel into the isolated build environment instead of failing or being built.
            command = ["pip", "download", "--no-deps", "--no-binary", "pymarc", "pymarc==5.4.0", "-d", str(VAR)]
            subprocess.run([sys.executable, "-m", *command], check=True, capture_output=True, timeout=900)
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("BooksAll.2016.part01.utf8"))
            source = tar.extractfile(member)
            assert source is not None
            BIG.write_bytes(source.read())
        return BIG, "LoC BooksAll 250k (pymarc 5.4.0 sdist)"
    except (subprocess.SubprocessError, StopIteration, OSError, tarfile.TarError) as exc:
        return SMALL, f"loc_books_20k.mrc (fetching the sdist failed: {exc})"


def head(path: Path, limit: int | None) -> bytes:
    data = path.read_bytes()
    if limit is None:
        return data
    end = 0
    for _ in range(limit):
        nxt = data.find(b"\x1d", end)
        if nxt < 0:
            break
        end = nxt + 1
    return data[:end]


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the parsing processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def raw_parse(data: bytes) -> tuple[int, float, float]:
    started, cpu = time.perf_counter(), cpu_seconds()
    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for record in MARCReader(io.BytesIO(data), to_unicode=True):
            count += record is not None
    return count, time.perf_counter() - started, cpu_seconds() - cpu


def import_into(db: Database, data: bytes, workers: int) -> tuple[int, float, int, float]:
    started, cpu = time.perf_counter(), cpu_seconds()
    report = Importer(db).run_iso2709(io.BytesIO(data), workers=workers)  # batches as `thuvien marc import` writes them
    return report.imported, time.perf_counter() - started, len(report.rejected), cpu_seconds() - cpu


def fresh_sqlite() -> Database:
    for suffix in ("", "-wal", "-shm"):
        Path(str(SQLITE_DB) + suffix).unlink(missing_ok=True)
    db = Database(f"sqlite:///{SQLITE_DB}")
    migrate.upgrade(db)
    return db


def fresh_postgres() -> Database:
    from bench.bench_catalog_search import PG_URL, recreate_pg

    recreate_pg()
    db = Database(PG_URL)
    migrate.upgrade(db)
    return db


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="import only the first N records")
    parser.add_argument(
        "--target", choices=("sqlite", "postgres", "both"), default="sqlite", help="where to import (kept for reuse)"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parsing processes (1: sequential)")
    args = parser.parse_args()
    path, note = loc_file()
    data = head(path, args.limit)
    print(f"file: {note}, {len(data) / 1e6:.0f} MB")
    rows: list[list[object]] = []
    rejected = 0
    targets = [("SQLite", fresh_sqlite)] if args.target in ("sqlite", "both") else []
    targets += [("PostgreSQL", fresh_postgres)] if args.target in ("postgres", "both") else []
    for name, fresh in targets:
        # the parse just before the import it is compared with: the machine's speed drifts within a run
        parsed, parse_s, parse_cpu = raw_parse(data)
        rows.append(["raw pymarc parse", parsed, f"{parse_s:.1f} s", f"{parsed / parse_s:,.0f}", "1.00×",
                     f"{parse_cpu / parsed * 1e6:.0f}"])
        db = fresh()
        imported, import_s, rejected, cpu = import_into(db, data, args.workers)
        db.dispose()
        ratio = (imported / import_s) / (parsed / parse_s)
        rows.append([f"import → {name}", imported, f"{import_s:.1f} s", f"{imported / import_s:,.0f}",
                     f"{ratio:.2f}×", f"{cpu / imported * 1e6:.0f}"])
    print(table(["step", "records", "time", "records/s", "vs parse", "CPU µs/record"], rows))
    print(
        f"rejected: {rejected}; the import reads and indexes in {args.workers} processes while one writes "
        "(the raw parse is one process, run just before each import); "
        "CPU µs/record excludes the database server's (PostgreSQL); "
        "target: import ≥ 0.5× raw parse"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
