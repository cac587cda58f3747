"""``thuvien sim``: run simulated readers and cards, drive them, write demo tag files."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from .server import ReaderSimulator, SimControl
from .tagfile import TagFileError, demo_tags, load_tags, save_tags

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thuvien sim", description="simulated RFID readers and cards")
    sub = parser.add_subparsers(dest="command", required=True)

    reader = sub.add_parser("reader", help="run a simulated FEIG or 3M reader until interrupted")
    reader.add_argument("--protocol", choices=("feig", "3m"), default="feig")
    reader.add_argument("--link", default="pty", help="pty (default) or tcp:PORT (0 = any free port)")
    reader.add_argument("--tags", type=Path, help="tag file (JSON, see docs/rfid.md)")
    reader.add_argument("--demo", type=int, metavar="N", help="place N demo items instead of a tag file")
    reader.add_argument("--timing", choices=("on", "off"), default="on", help="ISO 15693 air time (default on)")
    reader.add_argument("--control", default="tcp:0", help="control socket tcp:PORT (default tcp:0)")
    reader.add_argument("--block-order", choices=("msb", "lsb"), default="msb", help="FEIG block byte order")
    reader.add_argument("--link-baud", type=int, help="also charge serial byte time at this baud rate")
    reader.add_argument("--info-file", type=Path, help="also write the URL and control address here (JSON)")

    card = sub.add_parser("card", help="run the virtual PC/SC card for pcscd + vsmartcard-vpcd")
    card.add_argument("--tags", type=Path, help="tag file: the tags in the PC/SC reader's field")
    card.add_argument("--patron", metavar="UID", help="act as a patron card with this UID (hex, in reader order)")
    card.add_argument("--vpcd", default="127.0.0.1:35963", help="vpcd address (default 127.0.0.1:35963)")

    control = sub.add_parser("control", help="send one control command to a running simulator")
    control.add_argument("address", help="HOST:PORT printed by `thuvien sim reader`")
    control.add_argument("cmd", help="list, place, remove, move, timing, fault, inputs, outputs, config, stats")
    control.add_argument("params", nargs="?", default="{}", help="JSON object of parameters")

    tags = sub.add_parser("demo-tags", help="write a demo tag file")
    tags.add_argument("output", type=Path)
    tags.add_argument("--count", type=int, default=10)
    tags.add_argument("--format", dest="fmt", default="iso28560-3", choices=("iso28560-3", "iso28560-2", "3m-rfid501"))
    tags.add_argument("--isil", default="VN-TQ0001")
    return parser


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "reader":
            return _reader(args)
        if args.command == "card":
            return _card(args)
        if args.command == "control":
            with SimControl(args.address) as ctl:
                reply = ctl.call(args.cmd, **json.loads(args.params))
            print(json.dumps(reply, ensure_ascii=False, indent=2))  # noqa: T201
            return 0 if reply.get("ok") else 1
        save_tags(args.output, demo_tags(args.count, owner_isil=args.isil, fmt=args.fmt))
        return 0
    except (TagFileError, ValueError, OSError) as exc:
        print(f"thuvien sim: {exc}", file=sys.stderr)  # noqa: T201
        return 2


def _reader(args: argparse.Namespace) -> int:
    tags = demo_tags(args.demo) if args.demo else load_tags(args.tags) if args.tags else []
    sim = ReaderSimulator(
        args.protocol,
        args.link,
        tags,
        timing=args.timing == "on",
        control=args.control,
        block_order=args.block_order,
        link_baud=args.link_baud,
    )
    sim.start()
    info = {"url": sim.url, "control": sim.control_address, "protocol": args.protocol, "tags": len(tags)}
    print(json.dumps(info), flush=True)  # noqa: T201
    if args.info_file:
        args.info_file.write_text(json.dumps(info) + "\n", encoding="utf-8")
    try:
        _wait_for_signal()
    finally:
        sim.stop()
    return 0


def _card(args: argparse.Namespace) -> int:
    from .field import TagField
    from .vpcd_card import VpcdCard

    host, _, port = args.vpcd.rpartition(":")
    field = TagField(load_tags(args.tags) if args.tags else [])
    patron = bytes.fromhex(args.patron) if args.patron else None
    card = VpcdCard(field, patron_uid=patron, host=host or "127.0.0.1", port=int(port))
    card.start()
    print(json.dumps({"vpcd": args.vpcd, "tags": len(field.all()), "patron": args.patron}), flush=True)  # noqa: T201
    try:
        _wait_for_signal()
    finally:
        card.stop()
    return 0
