"""``thuvien sip2 account add|list|remove``: manage the SIP2 accounts of self-check machines."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path

from edge.config import SettingsError, load_settings
from server.db import Database, DatabaseError
from server.settings import ServerSettings
from server.sip2.accounts import TERMINATORS, AccountError, Sip2AccountService
from server.sip2.codec import DELIMITER, ENCODINGS
from server.sip2.models import ALL_OPERATIONS

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thuvien sip2", description="SIP2 accounts for self-check machines.")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--database", help="database URL (overrides database.url)")
    groups = parser.add_subparsers(dest="group", required=True)
    account = groups.add_parser("account", help="add, list or remove accounts")
    actions = account.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="add an account")
    add.add_argument("login")
    add.add_argument("--library", required=True, help="ISIL of the library the machine stands in")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--password", help="the password (prefer --password-stdin)")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--institution", help="institution id (AO); default the library's ISIL")
    add.add_argument("--location", default="", help="terminal location (AN)")
    add.add_argument("--encoding", choices=ENCODINGS, default="utf-8")
    add.add_argument("--terminator", choices=sorted(TERMINATORS), default="CR")
    add.add_argument("--delimiter", default=DELIMITER, help="field delimiter, one punctuation character (default |)")
    add.add_argument("--no-error-detection", action="store_true", help="send no AY/AZ")
    add.add_argument("--operations", help=f"comma-separated subset of: {', '.join(ALL_OPERATIONS)}")
    add.add_argument("--fees-do-not-block", action="store_true", help="let patrons over the fee limit borrow")
    add.add_argument("--no-offline", action="store_true", help="treat no-block (offline) requests as ordinary")
    add.add_argument("--no-hold-alerts", action="store_true", help="send no CV/CT/CY/DA on checkin")
    add.add_argument(
        "--sort-bin",
        action="append",
        default=[],
        metavar="ROUTE=BIN",
        help="CL sort bin per route (shelf, hold_here, hold_other_branch, transit)",
    )

    listing = actions.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")
    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("login")
    return parser


def _fail(message: str) -> int:
    print(f"thuvien sip2: {message}", file=sys.stderr)  # noqa: T201
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides: dict[str, object] = {"database": {"url": args.database}} if args.database else {}
    try:
        settings = load_settings(ServerSettings, args.config, **overrides)
    except SettingsError as exc:
        return _fail(str(exc))
    db = Database(settings.database.url)
    accounts = Sip2AccountService(db)
    try:
        if args.action == "add":
            return _add(accounts, args)
        if args.action == "list":
            rows = accounts.list()
            if args.json:
                data = [
                    {
                        "login": a.login,
                        "institution": a.institution_id,
                        "library": a.library_isil,
                        "location": a.terminal_location,
                        "encoding": a.encoding,
                        "delimiter": a.field_delimiter,
                        "enabled": a.enabled,
                    }
                    for a in rows
                ]
                print(json.dumps(data, ensure_ascii=False, indent=2))  # noqa: T201
            for a in [] if args.json else rows:
                row = (a.login, a.institution_id, a.library_isil, a.encoding, a.field_delimiter, a.terminal_location)
                print("\t".join(row))  # noqa: T201
            return 0
        accounts.remove(args.login)
        print(f"removed SIP2 account {args.login}")  # noqa: T201
        return 0
    except AccountError as exc:
        return _fail(str(exc))
    except DatabaseError as exc:
        return _fail(str(exc))
    finally:
        db.dispose()


def _add(accounts: Sip2AccountService, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif args.password:
        password = args.password
    else:
        password = getpass.getpass(f"password for {args.login}: ")
    bins: dict[str, str] = {}
    for item in args.sort_bin:
        route, sep, bin_name = item.partition("=")
        if not sep:
            return _fail(f"--sort-bin needs ROUTE=BIN, not {item!r}")
        bins[route.strip()] = bin_name.strip()
    options: dict[str, object] = {
        "terminal_location": args.location,
        "encoding": args.encoding,
        "terminator": TERMINATORS[args.terminator],
        "field_delimiter": args.delimiter,
        "error_detection": not args.no_error_detection,
        "fees_block_checkout": not args.fees_do_not_block,
        "accept_offline": not args.no_offline,
        "hold_alerts": not args.no_hold_alerts,
        "sort_bins": bins,
    }
    if args.operations:
        options["allowed_operations"] = [op.strip() for op in args.operations.split(",") if op.strip()]
    config = accounts.add(args.login, password, library_isil=args.library, institution_id=args.institution, **options)
    print(f"added SIP2 account {config.login} (institution {config.institution_id}, {config.library_isil})")  # noqa: T201
    return 0
