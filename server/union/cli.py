"""``thuvien union``: harvest sources, build the union catalog, review merges, open-data dumps, copy cataloguing."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rich.progress import Progress
from sqlalchemy import select

from edge.config import SettingsError
from server import migrate
from server.catalog.errors import CatalogError
from server.catalog.export import export
from server.catalog.holdings import MAPPINGS
from server.cli import load, open_database
from server.db import Database, DatabaseError
from server.union.errors import UnionError
from server.union.harvest import add_source, harvest
from server.union.models import HarvestSource
from server.union.review import confirm_merge, merge_report, undo_merge

log = logging.getLogger(__name__)
PROG = "thuvien union"


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)  # noqa: T201
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Provincial union catalog.")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default $THUVIEN_CONFIG")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add-source", help="register another library's OAI-PMH provider")
    add.add_argument("name")
    add.add_argument("url", help="base URL of the provider, e.g. https://koha.example.vn/cgi-bin/koha/oai.pl")
    add.add_argument("--library", required=True, help="ISIL of the library the records belong to")
    add.add_argument("--prefix", default="marc21", help="metadataPrefix (marc21, marcxml, marc21_withholdings)")
    add.add_argument("--set", dest="set_spec", help="setSpec to harvest")
    sub.add_parser("sources", help="list the harvest sources")
    run = sub.add_parser("harvest", help="harvest sources incrementally (all when none is named)")
    run.add_argument("names", nargs="*")
    run.add_argument(
        "--holdings", choices=sorted(MAPPINGS), help="where the members' holdings and items are (default: per record)"
    )
    merges = sub.add_parser("merges", help="the merges to review")
    merges.add_argument("--all", action="store_true", help="include reviewed merges")
    merges.add_argument("--json", action="store_true")
    undo = sub.add_parser("undo-merge", help="split a wrongly merged record out again")
    undo.add_argument("merge_id", type=int)
    keep = sub.add_parser("confirm-merge", help="mark a merge as reviewed and kept")
    keep.add_argument("merge_id", type=int)
    dump = sub.add_parser("dump", help="open-data dump of a library or of the province (MARCXML or JSON)")
    dump.add_argument("--library", help="ISIL; default the whole province")
    dump.add_argument("--format", choices=("xml", "json", "iso2709"), default="xml")
    dump.add_argument("-o", "--output", type=Path, required=True)
    copy = sub.add_parser("copy", help="copy cataloguing: search a remote SRU or Z39.50 target, import chosen records")
    copy.add_argument("target", help="sru:http://host/path or z3950:host:port/database")
    copy.add_argument("query", help="CQL for SRU; PQF (e.g. @attr 1=7 9786041234567) for Z39.50")
    copy.add_argument("--import", dest="pick", type=int, nargs="*", help="positions (1-based) of records to import")
    copy.add_argument("--library", help="ISIL of the library cataloguing the records")
    copy.add_argument("--max", type=int, default=10)
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load(args.config)
    except SettingsError as exc:
        return _fail(str(exc))
    db = open_database(settings)
    try:
        migrate.ensure_schema(db, auto_migrate=settings.database.auto_migrate)
        return _run(args, db)
    except (DatabaseError, CatalogError, UnionError, ValueError, OSError) as exc:
        return _fail(str(exc))
    finally:
        db.dispose()


def _run(args: argparse.Namespace, db: Database) -> int:
    if args.action == "add-source":
        add_source(db, args.name, args.url, args.library, args.prefix, args.set_spec)
        print(f"source {args.name} added")  # noqa: T201
    elif args.action == "sources":
        with db.session() as session:
            for source in session.scalars(select(HarvestSource).order_by(HarvestSource.name)):
                print(f"{source.name:20} {source.base_url}  {source.metadata_prefix}  from {source.last_datestamp}")  # noqa: T201
    elif args.action == "harvest":
        names = args.names
        if not names:
            with db.session() as session:
                names = list(session.scalars(select(HarvestSource.name).order_by(HarvestSource.name)))
        status = 0
        for name in names:
            with Progress(transient=True) as bar:
                bar.add_task(f"harvesting {name}", total=None)
                report = harvest(db, name, holdings=MAPPINGS.get(args.holdings or ""))
            print(  # noqa: T201
                f"{name}: fetched {report.fetched}, new {report.new_records}, merged {report.merged}, "
                f"updated {report.updated}, deleted {report.deleted}, errors {len(report.errors)}; items new "
                f"{report.items}, withdrawn {report.items_withdrawn}, deleted {report.items_deleted}"
            )
            for warning in report.warnings[:20]:
                print(f"  {warning}")  # noqa: T201
            for error in report.errors[:20]:
                print(f"  {error}")  # noqa: T201
            status = status or (1 if report.errors else 0)
        return status
    elif args.action == "merges":
        rows = merge_report(db, include_reviewed=args.all)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=1))  # noqa: T201
        for row in [] if args.json else rows:
            print(  # noqa: T201
                f"#{row['merge_id']:<6} {row['score']:.2f} {row['match_key']:18} {row['source']}:"
                f"{row['source_identifier']} → {row['kept_record_id']} {row['kept_title'][:60]}  ({row['reason']})"
            )
    elif args.action == "undo-merge":
        print(f"record split out as {undo_merge(db, args.merge_id)}")  # noqa: T201
    elif args.action == "confirm-merge":
        confirm_merge(db, args.merge_id)
        print(f"merge {args.merge_id} confirmed")  # noqa: T201
    elif args.action == "dump":
        with args.output.open("wb") as out:
            count = export(db, out, args.format, args.library)
        print(f"{count} records written to {args.output}")  # noqa: T201
    elif args.action == "copy":
        from server.union.copycat import copy_catalogue, search_target

        found = search_target(args.target, args.query, maximum=args.max)
        print(f"{found.total} records at {args.target}")  # noqa: T201
        for position, record in enumerate(found.records, start=1):
            title = record["245"]["a"] if record.get("245") is not None else "?"
            print(f"{position:>3}  {title}")  # noqa: T201
        if args.pick:
            chosen = [found.records[p - 1] for p in args.pick if 0 < p <= len(found.records)]
            ids = copy_catalogue(db, chosen, library_isil=args.library)
            print(f"imported as records {', '.join(map(str, ids))}")  # noqa: T201
    return 0
