"""``thuvien mqtt config``: write Mosquitto's password file, ACL file and listener configuration;
``thuvien mqtt account add|list|remove|rotate``: library-scoped accounts (monitoring stations, branch bridges).

Run ``config`` after every ``thuvien device add|remove|rotate`` or ``mqtt account ...`` and reload the broker
(``kill -HUP <pid>``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from edge.config import SettingsError, load_settings
from server.db import Database, DatabaseError
from server.devices.passwords import mosquitto_hash
from server.devices.service import broker_credentials
from server.ingest import accounts
from server.ingest.brokerconf import BrokerLayout, TlsFiles, acl_file, mosquitto_conf, passwd_file, write_files
from server.ingest.errors import AccountError, BrokerConfigError
from server.settings import ServerSettings

log = logging.getLogger(__name__)


def _fail(message: str) -> int:
    print(f"thuvien mqtt: {message}", file=sys.stderr)  # noqa: T201
    return 2


def _account_parser(sub: Any) -> None:
    account = sub.add_parser("account", help="library-scoped accounts: read (monitoring) or bridge")
    actions = account.add_subparsers(dest="account_action", required=True)
    add = actions.add_parser("add", help="create an account and print its password (shown once)")
    add.add_argument("username", help="lowercase MQTT username, never a device id, e.g. bridge-vn-hdu-gl")
    add.add_argument("--library", required=True, help="ISIL of the library whose devices it may see")
    add.add_argument("--access", default="read", choices=["read", "bridge"],
                     help="read: read its library's device topics; bridge: read and write them (default read)")
    actions.add_parser("list", help="list the active accounts")
    remove = actions.add_parser("remove", help="retire an account (its name is never reused)")
    remove.add_argument("username")
    rotate = actions.add_parser("rotate", help="give an account a new password (printed once)")
    rotate.add_argument("username")


def _account(args: argparse.Namespace, db: Database) -> int:
    then = "then run `thuvien mqtt config` and reload Mosquitto"
    with db.write() as session:
        if args.account_action == "add":
            _account_row, password = accounts.add_account(session, args.username, args.library, args.access)
            print(f"account {args.username} added ({args.access}, {args.library})")  # noqa: T201
            print(f"mqtt username: {args.username}\nmqtt password: {password}\n{then}")  # noqa: T201
        elif args.account_action == "rotate":
            password = accounts.rotate_account(session, args.username)
            print(f"mqtt password of {args.username}: {password}\n{then}")  # noqa: T201
        elif args.account_action == "remove":
            accounts.retire_account(session, args.username)
            print(f"account {args.username} retired; {then}")  # noqa: T201
        else:
            for row, isil in accounts.list_accounts(session):
                print(f"{row.username:<24} {row.access.value:<7} {isil}")  # noqa: T201
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="thuvien mqtt", description="Mosquitto configuration for the devices.")
    parser.add_argument("--config", type=Path, help="server settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--database", help="database URL (overrides the settings)")
    sub = parser.add_subparsers(dest="action", required=True)
    conf = sub.add_parser("config", help="write passwd, acl and mosquitto.conf into a directory")
    conf.add_argument("--out", type=Path, required=True, help="directory for the files (on the broker host)")
    conf.add_argument("--server-user", help="the server's MQTT username (default: mqtt.username)")
    conf.add_argument("--server-password", help="its password (default: mqtt.password)")
    conf.add_argument("--port", type=int, default=1883, help="plain listener port (0: none)")
    conf.add_argument("--bind", default="127.0.0.1", help="plain listener address (default loopback only)")
    conf.add_argument("--tls-port", type=int, help="TLS listener port, e.g. 8883")
    conf.add_argument("--cafile", type=Path)
    conf.add_argument("--certfile", type=Path)
    conf.add_argument("--keyfile", type=Path)
    conf.add_argument("--require-certificate", action="store_true",
                      help="TLS clients must present a certificate signed by --cafile (and still log in)")
    conf.add_argument("--use-identity-as-username", action="store_true",
                      help="TLS clients log in by certificate: its CN is the username (implies --require-certificate)")
    conf.add_argument("--persistence-dir", type=Path, help="broker persistence directory (writable by mosquitto)")
    _account_parser(sub)
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {"database": {"url": args.database}} if args.database else {}
    try:
        settings = load_settings(ServerSettings, args.config, **overrides)
    except SettingsError as exc:
        return _fail(str(exc))
    if args.action == "account":
        db = Database(settings.database.url)
        try:
            return _account(args, db)
        except (AccountError, DatabaseError) as exc:
            return _fail(str(exc))
        finally:
            db.dispose()
    server_user = args.server_user or settings.mqtt.username
    server_password = args.server_password or (
        settings.mqtt.password.get_secret_value() if settings.mqtt.password else None
    )
    if not server_user or not server_password:
        return _fail("the server account needs a username and password (--server-user/--server-password "
                     "or mqtt.username/mqtt.password in the settings)")
    tls = None
    if args.tls_port is not None:
        if not (args.cafile and args.certfile and args.keyfile):
            return _fail("--tls-port needs --cafile, --certfile and --keyfile")
        tls = TlsFiles(args.cafile.resolve(), args.certfile.resolve(), args.keyfile.resolve(),
                       require_certificate=args.require_certificate,
                       use_identity_as_username=args.use_identity_as_username)
    elif args.require_certificate or args.use_identity_as_username:
        return _fail("client certificates need a TLS listener (--tls-port)")
    layout = BrokerLayout(
        directory=args.out.resolve(),
        plain_port=args.port or None,
        plain_bind=args.bind,
        tls_port=args.tls_port,
        tls=tls,
        persistence_dir=args.persistence_dir.resolve() if args.persistence_dir else None,
    )
    db = Database(settings.database.url)
    try:
        with db.session() as session:
            devices = broker_credentials(session)
            library_accounts = accounts.account_credentials(session)
            grants = accounts.acl_grants(session)
        device_names = {name for name, _h in devices}
        if server_user in device_names | {name for name, _h in library_accounts}:
            return _fail(f"server user {server_user!r} collides with a device id or a library account")
        if clash := sorted(device_names & {name for name, _h in library_accounts}):
            return _fail(f"library account(s) {', '.join(clash)} have the name of a device; remove them")
        files = {
            "passwd": passwd_file([(server_user, mosquitto_hash(server_password)), *devices, *library_accounts]),
            "acl": acl_file(settings.mqtt.topic_prefix, server_user, grants),
            "mosquitto.conf": mosquitto_conf(layout),
        }
        for path in write_files(layout, files):
            print(f"wrote {path}")  # noqa: T201
    except (DatabaseError, BrokerConfigError) as exc:
        return _fail(str(exc))
    finally:
        db.dispose()
    summary = f"{len(devices)} device(s), {len(library_accounts)} library account(s)"
    print(f"{summary}; reload Mosquitto with `kill -HUP <pid>` to apply")  # noqa: T201
    return 0
