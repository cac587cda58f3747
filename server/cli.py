"""``thuvien server`` and ``thuvien db``: run the central server; manage the schema."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from edge.config import SettingsError, load_settings
from server import logs, migrate
from server.db import Database, DatabaseError
from server.settings import ServerSettings

log = logging.getLogger(__name__)


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: {message}", file=sys.stderr)  # noqa: T201
    return 2


def load(config: Path | None) -> ServerSettings:
    return load_settings(ServerSettings, config)


def open_database(settings: ServerSettings) -> Database:
    if settings.database.url.startswith("sqlite:///"):
        path = Path(settings.database.url.removeprefix("sqlite:///"))
        if path.parent and not path.parent.exists() and settings.database.auto_migrate:
            path.parent.mkdir(parents=True, exist_ok=True)
    return Database(settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size)


def server_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="thuvien server", description="Run the central server.")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--host", help="HTTP listen address (overrides http.host)")
    parser.add_argument("--port", type=int, help="HTTP port (overrides http.port)")
    parser.add_argument("--migrate", action="store_true", help="upgrade the database schema before starting")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    http: dict[str, object] = {}
    if args.host:
        http["host"] = args.host
    if args.port is not None:
        http["port"] = args.port
    if http:
        overrides["http"] = http
    try:
        settings = load_settings(ServerSettings, args.config, **overrides)
    except SettingsError as exc:
        return _fail("thuvien server", str(exc))
    logs.configure(settings.logging.level, json_format=settings.logging.json_format)
    db = open_database(settings)
    try:
        migrate.ensure_schema(db, auto_migrate=args.migrate or settings.database.auto_migrate)
    except DatabaseError as exc:
        return _fail("thuvien server", str(exc))
    from server.runtime import ServerProcess, run

    log.info("serving on http://%s:%d", settings.http.host, settings.http.port)
    try:
        run(ServerProcess(settings, db).run())
    except OSError as exc:
        return _fail("thuvien server", f"cannot listen: {exc}")
    finally:
        db.dispose()
    return 0


def db_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="thuvien db", description="Manage the database schema.")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default $THUVIEN_CONFIG")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("upgrade", help="bring the schema up to this version")
    down = sub.add_parser("downgrade", help="take the schema down to a revision (default: remove it)")
    down.add_argument("revision", nargs="?", default="base")
    sub.add_parser("current", help="show the schema revision of the database")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(ServerSettings, args.config)
    except SettingsError as exc:
        return _fail("thuvien db", str(exc))
    logs.configure(settings.logging.level)
    db = open_database(settings)
    try:
        db.ping()
        if args.action == "upgrade":
            migrate.upgrade(db)
            print("schema is at", ", ".join(sorted(migrate.current_revisions(db))))  # noqa: T201
        elif args.action == "downgrade":
            migrate.downgrade(db, args.revision)
            print("schema is at", ", ".join(sorted(migrate.current_revisions(db))) or "base")  # noqa: T201
        else:
            current = sorted(migrate.current_revisions(db))
            heads = sorted(migrate.code_heads(db))
            print(f"database: {', '.join(current) or 'no schema'}; this version: {', '.join(heads)}")  # noqa: T201
    except DatabaseError as exc:
        return _fail("thuvien db", str(exc))
    finally:
        db.dispose()
    return 0
