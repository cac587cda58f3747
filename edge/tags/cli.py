"""``thuvien tag``: decode, encode and read library RFID tags."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .detect import decode, encode
from .errors import EncodeError, TagFormatError, UnknownFormatError
from .model import LibraryTag

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thuvien tag", description="library RFID tag data (ISO 28560, 3M)")
    sub = parser.add_subparsers(dest="command", required=True)

    dec = sub.add_parser("decode", help="decode tag memory given as hex; prints JSON")
    dec.add_argument("hex", help="user memory in memory order (spaces allowed)")
    dec.add_argument("--block-size", type=int, default=4)
    dec.add_argument("--dsfid", type=lambda s: int(s, 0), help="DSFID from system info (hint)")

    enc = sub.add_parser("encode", help="encode an item; prints hex")
    enc.add_argument("--format", dest="fmt", default="iso28560-3", choices=("iso28560-3", "iso28560-2", "3m-rfid501"))
    enc.add_argument("--item-id", required=True, help="primary item identifier (barcode)")
    enc.add_argument("--isil", help="owner library ISIL, e.g. VN-TQ0001")
    enc.add_argument("--title")
    enc.add_argument("--shelf", help="shelf location / call number")
    enc.add_argument("--usage", type=int, help="type of usage class (1 = circulating item, 8 = patron card)")
    enc.add_argument("--parts", type=int, help="parts in set")
    enc.add_argument("--part", type=int, help="part number")
    enc.add_argument("--media-format", type=int, help="ISO 28560-3 media format code (1 = book)")
    enc.add_argument("--block-size", type=int, default=4)

    read = sub.add_parser("read", help="inventory a reader and decode every tag; prints JSON lines")
    read.add_argument("--reader", required=True, help="reader URL, e.g. serial:///dev/pts/3?driver=feig")
    read.add_argument("--afi", type=lambda s: int(s, 0), help="only tags with this AFI (e.g. 0x07)")
    return parser


def _out(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))  # noqa: T201


def _err(message: str) -> None:
    print(f"thuvien tag: {message}", file=sys.stderr)  # noqa: T201


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "decode":
        try:
            data = bytes.fromhex(args.hex.replace(" ", "").replace(":", ""))
        except ValueError:
            _err(f"not hex: {args.hex!r}")
            return 2
        try:
            _out(decode(data, block_size=args.block_size, dsfid=args.dsfid).to_dict())
        except UnknownFormatError as exc:
            _out({"format": "unknown", "error": str(exc), "memory": data.hex().upper()})
            return 1
        return 0
    if args.command == "encode":
        tag = LibraryTag(
            primary_item_id=args.item_id,
            owner_isil=args.isil,
            title=args.title,
            shelf_location=args.shelf,
            type_of_usage=args.usage,
            parts_in_set=args.parts,
            part_number=args.part,
            media_format=args.media_format,
        )
        try:
            print(encode(tag, args.fmt, block_size=args.block_size).hex().upper())  # noqa: T201
        except EncodeError as exc:
            _err(str(exc))
            return 2
        return 0
    return _read(args.reader, args.afi)


def _read(url: str, afi: int | None) -> int:
    from edge.readers import ReaderError, open_reader, read_library_tag

    try:
        reader = open_reader(url)
    except ReaderError as exc:
        _err(str(exc))
        return 2
    status = 0
    try:
        for result in reader.inventory(afi):
            record: dict[str, Any] = {"uid": result.uid.hex}
            try:
                info, tag = read_library_tag(reader, result.uid)
                record.update(afi=f"{info.afi or 0:02X}", dsfid=f"{info.dsfid or 0:02X}", **tag.to_dict())
            except TagFormatError as exc:
                record.update(format="unknown", error=str(exc))
            except ReaderError as exc:
                record.update(error=str(exc))
                status = 1
            _out(record)
    except ReaderError as exc:
        _err(str(exc))
        status = 2
    finally:
        reader.close()
    return status
