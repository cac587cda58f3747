"""``thuvien device add|list|remove|rotate``: provision kiosks, gates and stations with their own credentials.

After adding, removing or rotating, run ``thuvien mqtt config`` and reload Mosquitto (``kill -HUP``) so the
broker's password and ACL files follow the registry.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from edge.config import SettingsError, load_settings
from server.db import Database, DatabaseError
from server.devices import repository, service
from server.devices.errors import DeviceError
from server.settings import ServerSettings

log = logging.getLogger(__name__)


def _fail(message: str) -> int:
    print(f"thuvien device: {message}", file=sys.stderr)  # noqa: T201
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thuvien device", description="Kiosks, gates and staff stations.")
    parser.add_argument("--config", type=Path, help="server settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--database", help="database URL (overrides the settings)")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="register a device and print its broker password (shown once)")
    add.add_argument("device_id", help="lowercase id, also the MQTT username, e.g. hdu-k01")
    add.add_argument("--kind", required=True, choices=["kiosk", "gate", "station"])
    add.add_argument("--library", required=True, help="ISIL of the library, e.g. VN-HDU")
    add.add_argument("--name", default="")
    listing = sub.add_parser("list", help="list devices with their state")
    listing.add_argument("--library", help="only this library (ISIL)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--all", action="store_true", help="include retired devices")
    remove = sub.add_parser("remove", help="retire a device (its records are kept; its id is never reused)")
    remove.add_argument("device_id")
    rotate = sub.add_parser("rotate", help="give a device a new password (printed once)")
    rotate.add_argument("device_id")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, object] = {"database": {"url": args.database}} if args.database else {}
    try:
        settings = load_settings(ServerSettings, args.config, **overrides)
    except SettingsError as exc:
        return _fail(str(exc))
    db = Database(settings.database.url)
    try:
        return _run(args, db)
    except DeviceError as exc:
        return _fail(str(exc))
    except DatabaseError as exc:
        return _fail(str(exc))
    finally:
        db.dispose()


def _run(args: argparse.Namespace, db: Database) -> int:
    if args.action == "add":
        with db.write() as session:
            done = service.add_device(session, args.device_id, args.kind, args.library, name=args.name)
        print(f"device {args.device_id} added ({args.kind}, {done.library_isil})")  # noqa: T201
        print(f"mqtt username: {args.device_id}\nmqtt password: {done.password}")  # noqa: T201
        print("then run `thuvien mqtt config` and reload Mosquitto")  # noqa: T201
    elif args.action == "rotate":
        with db.write() as session:
            done = service.rotate_credentials(session, args.device_id)
        print(f"mqtt password of {args.device_id}: {done.password}")  # noqa: T201
        print("then run `thuvien mqtt config` and reload Mosquitto")  # noqa: T201
    elif args.action == "remove":
        with db.write() as session:
            service.retire_device(session, args.device_id)
        print(f"device {args.device_id} retired; run `thuvien mqtt config` and reload Mosquitto")  # noqa: T201
    else:
        with db.session() as session:
            rows = repository.list_with_library(session, library_isil=args.library, include_retired=args.all)
            listing = [
                {
                    "device_id": d.device_id,
                    "kind": d.kind.value,
                    "library": isil,
                    "state": d.state.value,
                    "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None,
                    "retired": d.retired_at is not None,
                }
                for d, isil in rows
            ]
        if args.json:
            print(json.dumps(listing, indent=2))  # noqa: T201
        else:
            for row in listing:
                print(  # noqa: T201
                    f"{row['device_id']:<20} {row['kind']:<8} {row['library']:<12} {row['state']:<8} "
                    f"{row['last_seen_at'] or '-'}{'  (retired)' if row['retired'] else ''}"
                )
    return 0
