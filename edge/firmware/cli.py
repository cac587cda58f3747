"""``thuvien firmware``: validate reader profiles and apply them to a reader."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .feig_blocks import feig_blocks
from .profile import ProfileError, load_profile

__all__ = ["main", "PROFILES_DIR"]

PROFILES_DIR = Path(__file__).resolve().parents[2] / "firmware-config" / "profiles"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thuvien firmware", description="reader configuration profiles")
    sub = parser.add_subparsers(dest="command", required=True)
    val = sub.add_parser("validate", help="check profiles against the schema and the reader model")
    val.add_argument("files", nargs="+", type=Path)
    show = sub.add_parser("show", help="print the FEIG configuration blocks a profile becomes")
    show.add_argument("file", type=Path)
    apply = sub.add_parser("apply", help="write a profile's configuration blocks to a reader and verify them")
    apply.add_argument("file", type=Path)
    apply.add_argument("--reader", required=True, help="reader URL, e.g. serial:///dev/serial/by-id/...?driver=feig")
    apply.add_argument("--no-save", action="store_true", help="write RAM only, do not save to EEPROM")
    sub.add_parser("list", help="list the profiles shipped in firmware-config/profiles")
    return parser


def _print(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))  # noqa: T201


def _err(message: str) -> None:
    print(f"thuvien firmware: {message}", file=sys.stderr)  # noqa: T201


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        status = 0
        for path in args.files:
            try:
                profile = load_profile(path)
            except ProfileError as exc:
                status = 1
                for problem in exc.problems:
                    _err(f"{path}: {problem}")
                continue
            print(f"{path}: ok ({profile.role}, {profile.reader_model})")  # noqa: T201
        return status
    if args.command == "list":
        for path in sorted(PROFILES_DIR.glob("*.toml")):
            print(path.name)  # noqa: T201
        return 0
    try:
        profile = load_profile(args.file)
    except ProfileError as exc:
        for problem in exc.problems:
            _err(f"{args.file}: {problem}")
        return 1
    if profile.driver != "feig":
        _err(f"{profile.reader_model} keeps no configuration blocks; its settings are applied by the edge agent")
        return 2 if args.command == "apply" else 0
    blocks = feig_blocks(profile)
    if args.command == "show":
        _print({str(n): b.hex().upper() for n, b in blocks.items()})
        return 0
    return _apply(args.reader, blocks, save=not args.no_save)


def _apply(url: str, blocks: dict[int, bytes], *, save: bool) -> int:
    from edge.readers import ReaderError, open_reader
    from edge.readers.feig import FeigReader

    try:
        reader = open_reader(url)
    except ReaderError as exc:
        _err(str(exc))
        return 2
    try:
        if not isinstance(reader, FeigReader):
            _err(f"{url}: configuration blocks can only be written to FEIG readers")
            return 2
        for number, data in blocks.items():
            reader.write_config(number, data)
            if reader.read_config(number) != data:
                _err(f"block {number} did not read back as written")
                return 1
        if save:
            reader.save_config()
        _print({"applied": sorted(blocks), "saved": save, "reader": url})
        return 0
    except ReaderError as exc:
        _err(str(exc))
        return 1
    finally:
        reader.close()
