"""The ``thuvien`` command: a thin dispatcher that imports only the package a subcommand belongs to.

Every subcommand is a ``main(argv: list[str]) -> int`` function in its own package, named here by
import path so that ``thuvien gate`` on a gate PC never imports the server's dependencies.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Subcommand:
    name: str
    target: str  # "package.module:function"
    summary: str


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("demo", "server.demo.cli:main", "run the whole system on embedded defaults (try this first)"),
    Subcommand("server", "server.cli:server_main", "run the central server (web, REST API, SIP2, MQTT ingest)"),
    Subcommand("db", "server.cli:db_main", "database schema: upgrade, downgrade, current"),
    Subcommand("sip2", "server.sip2.cli:main", "SIP2 accounts for self-check machines: add, list, remove"),
    Subcommand("device", "server.devices.cli:main", "kiosks, gates and stations: add, list, remove, rotate"),
    Subcommand("mqtt", "server.ingest.cli:main", "generate the Mosquitto password, ACL and TLS configuration"),
    Subcommand("marc", "server.catalog.cli:main", "import and export MARC21 records (ISO 2709, MARCXML)"),
    Subcommand("union", "server.union.cli:main", "union catalog: harvest other libraries, match duplicates"),
    Subcommand("tag", "edge.tags.cli:main", "decode, encode and read library RFID tags"),
    Subcommand("sim", "edge.readers.sim.cli:main", "run a simulated RFID reader on a pseudo-terminal or TCP port"),
    Subcommand("firmware", "edge.firmware.cli:main", "validate and apply reader configuration profiles"),
    Subcommand("edge", "edge.agent:main", "run an edge agent (role kiosk, gate or station) from its config"),
    Subcommand("station", "edge.agent:station_main", "run a staff station (tag programming reader)"),
    Subcommand("kiosk", "kiosk.cli:main", "run the self-checkout kiosk screen"),
    Subcommand("gate", "gate.cli:main", "run a security gate agent"),
)


def version() -> str:
    try:
        return metadata.version("thuvien-rfid")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def usage() -> str:
    width = max(len(s.name) for s in SUBCOMMANDS)
    lines = [
        "thuvien — RFID self-service for public libraries (thư viện)",
        "",
        "usage: thuvien COMMAND [options]     (thuvien COMMAND --help for details)",
        "",
        "commands:",
    ]
    lines += [f"  {s.name.ljust(width)}  {s.summary}" for s in SUBCOMMANDS]
    lines += [
        "",
        "options:",
        "  --help      show this help",
        "  --version   show the version",
        "",
        "New here? `make demo` starts everything; `thuvien demo --describe` lists the demo accounts.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(usage())  # noqa: T201
        return 0
    if args[0] in {"-V", "--version"}:
        print(f"thuvien-rfid {version()}")  # noqa: T201
        return 0
    by_name = {s.name: s for s in SUBCOMMANDS}
    command = by_name.get(args[0])
    if command is None:
        print(f"thuvien: unknown command {args[0]!r}; `thuvien --help` lists the commands", file=sys.stderr)  # noqa: T201
        return 2
    module_name, _, func_name = command.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        print(  # noqa: T201
            f"thuvien {command.name}: this installation lacks {exc.name!r}; "
            f"install the matching extra (for example `pip install 'thuvien-rfid[server]'`)",
            file=sys.stderr,
        )
        return 2
    entry = getattr(module, func_name)
    result: int = entry(args[1:])
    return result


if __name__ == "__main__":
    sys.exit(main())
