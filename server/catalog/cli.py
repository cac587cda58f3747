"""``thuvien marc``: import, export and search MARC21 records from the command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from edge.config import SettingsError
from server import migrate
from server.catalog.errors import CatalogError
from server.catalog.export import ENCODINGS, FORMATS, ExportNote, export
from server.catalog.holdings import MAPPINGS
from server.catalog.importer import Importer, ImportReport
from server.catalog.marcio import read_records, sniff
from server.catalog.search import SORTS, search
from server.cli import load, open_database
from server.db import Database, DatabaseError

log = logging.getLogger(__name__)
PROG = "thuvien marc"


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)  # noqa: T201
    return 2


def _print_report(report: ImportReport, report_path: Path | None) -> None:
    print(  # noqa: T201
        f"read {report.read}, added {report.added}, updated {report.updated}, withdrawn {report.withdrawn}, "
        f"rejected {len(report.rejected)}, holdings {report.holdings}, items {report.items}, "
        f"warnings {len(report.warnings)}"
    )
    for problem in report.rejected[:50]:
        print(f"  record {problem.position} at {problem.offset}: {problem.reason}")  # noqa: T201
    if len(report.rejected) > 50:
        print(f"  ... and {len(report.rejected) - 50} more")  # noqa: T201
    if report_path is not None:
        rows = [
            {"kind": kind, "position": p.position, "offset": p.offset, "reason": p.reason}
            for kind, problems in (("rejected", report.rejected), ("warning", report.warnings))
            for p in problems
        ]
        report_path.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Import, export and search MARC21 records.")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default $THUVIEN_CONFIG")
    sub = parser.add_subparsers(dest="action", required=True)
    imp = sub.add_parser("import", help="import ISO 2709 or MARCXML (UTF-8 or MARC-8)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--library", help="ISIL of the library the records belong to")
    imp.add_argument("--format", choices=("auto", "iso2709", "xml"), default="auto")
    imp.add_argument("--holdings", choices=sorted(MAPPINGS), help="make holdings and items from 852 or 952 fields")
    imp.add_argument("--report", type=Path, help="write every rejected record and warning as JSON here")
    imp.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes parsing ISO 2709 (default: CPU count)"
    )
    exp = sub.add_parser("export", help="export records (a library's, or all) as ISO 2709, MARCXML or JSON")
    exp.add_argument("--library", help="ISIL; default every record of the province")
    exp.add_argument("--format", choices=FORMATS, default="iso2709")
    exp.add_argument("--encoding", choices=ENCODINGS, default="utf-8", help="ISO 2709 character coding")
    exp.add_argument("--report", type=Path, help="write the records skipped or changed as JSON here")
    exp.add_argument("-o", "--output", type=Path, required=True)
    find = sub.add_parser("search", help='search the catalog (words, "phrases", prefix*)')
    find.add_argument("query")
    find.add_argument("--sort", choices=SORTS, default="relevance")
    find.add_argument("--limit", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        settings = load(args.config)
    except SettingsError as exc:
        return _fail(str(exc))
    db = open_database(settings)
    try:
        migrate.ensure_schema(db, auto_migrate=settings.database.auto_migrate)
        if args.action == "import":
            return _import(args, db)
        if args.action == "export":
            return _export(args, db)
        with db.session() as session:
            results = search(session, args.query, sort=args.sort, limit=args.limit)
            print(f"{results.total} records")  # noqa: T201
            for hit in results.hits:
                rec = hit.record
                print(f"{rec.id:>8}  {rec.year or '':>4}  {rec.title[:70]}  / {rec.authors[:40]}")  # noqa: T201
        return 0
    except (DatabaseError, CatalogError, ValueError, OSError) as exc:
        return _fail(str(exc))
    finally:
        db.dispose()


def _export(args: argparse.Namespace, db: Database) -> int:
    notes: list[ExportNote] = []
    with args.output.open("wb") as out, Progress(transient=True) as bar:
        task = bar.add_task("exporting", total=None)
        count = export(
            db, out, args.format, args.library, lambda n: bar.update(task, completed=n), args.encoding, notes
        )
    print(f"exported {count} records to {args.output}")  # noqa: T201
    for note in notes[:20]:
        print(f"  record {note.record_id} ({note.control_number or '-'}): {note.message}")  # noqa: T201
    if args.report is not None:
        args.report.write_text(json.dumps([asdict(n) for n in notes], ensure_ascii=False, indent=1), "utf-8")
    return 1 if any(n.skipped for n in notes) else 0


def _import(args: argparse.Namespace, db: Database) -> int:
    importer = Importer(db, library_isil=args.library, holdings=MAPPINGS.get(args.holdings or ""))
    size = args.file.stat().st_size
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with args.file.open("rb") as fh, Progress(*columns, transient=True) as bar:
        task = bar.add_task(f"importing {args.file.name}", total=size)
        fmt = args.format if args.format != "auto" else sniff(fh.peek(64)[:64])
        if fmt == "iso2709" and args.workers > 1:
            report = importer.run_iso2709(fh, args.workers, lambda o: bar.update(task, completed=fh.tell()))
        else:
            report = importer.run(read_records(fh, fmt), lambda o: bar.update(task, completed=fh.tell()))
    _print_report(report, args.report)
    return 0 if report.read else 1
