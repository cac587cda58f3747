"""MARC-8 export rate vs UTF-8 export of the same records (records/s, wall and CPU), on a scratch SQLite catalog
loaded with the LoC sample (20,000 records) and the 121 Vietnamese records (also measured alone)."""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import table  # noqa: E402
from server import migrate  # noqa: E402
from server.catalog.export import ExportNote, export  # noqa: E402
from server.catalog.importer import Importer  # noqa: E402
from server.catalog.marcio import read_records  # noqa: E402
from server.db import Database  # noqa: E402
from server.libraries.models import Library, LibraryKind  # noqa: E402

MARC = ROOT.parent / "shared" / "testdata" / "marc"


def load(db: Database) -> None:
    migrate.upgrade(db)
    with db.write() as session:
        session.add(Library(isil="VN-BENCH", name="Bench", kind=LibraryKind.DISTRICT))
    loc = (MARC / "loc_books_20k.mrc").read_bytes()
    Importer(db).run(read_records(io.BytesIO(loc)))
    vie = (MARC / "vie_loc.mrc").read_bytes()
    Importer(db, library_isil="VN-BENCH").run(read_records(io.BytesIO(vie)))  # VN-BENCH: the Vietnamese subset


def run(db: Database, isil: str | None, encoding: str, rounds: int) -> tuple[int, float, float, int]:
    best_wall, best_cpu, count, notes_count = float("inf"), float("inf"), 0, 0
    for _ in range(rounds):
        notes: list[ExportNote] = []
        out = io.BytesIO()
        wall, cpu = time.perf_counter(), time.process_time()
        count = export(db, out, isil=isil, encoding=encoding, notes=notes)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        notes_count = len(notes)
    return count, best_wall, best_cpu, notes_count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'marc8.db'}")
        load(db)
        rows = []
        for label, isil in (("LoC 20k + Vietnamese", None), ("Vietnamese 121", "VN-BENCH")):
            results = {enc: run(db, isil, enc, args.rounds) for enc in ("utf-8", "marc8")}
            for enc, (count, wall, cpu, notes) in results.items():
                rows.append(
                    (label, enc, count, f"{count / wall:,.0f}", f"{count / cpu:,.0f}", notes,
                     f"{results['utf-8'][2] / cpu:.2f}x")  # fmt: skip
                )
        db.dispose()
    print(table(("records", "encoding", "n", "rec/s wall", "rec/s CPU", "notes", "CPU speed vs UTF-8"), rows))  # noqa: T201
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
