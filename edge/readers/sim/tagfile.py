"""The simulator's JSON tag file (documented in docs/rfid.md)::

    {"tags": [
      {"uid": "E004010012345678", "afi": "07", "dsfid": "00", "eas": true,
       "block_size": 4, "block_count": 28, "memory": "1101...", "locked_blocks": [0, 1],
       "afi_locked": false, "present": true, "antenna": 1, "label": "Truyện Kiều"},
      {"uid": "E004010012345679", "afi": "C2", "format": "iso28560-2",
       "item": {"primary_item_id": "TV000124", "owner_isil": "VN-HNI"}}
    ]}

``memory`` is user memory in memory order (hex); instead of it, ``item`` (LibraryTag fields) plus ``format``
has the simulator encode the data itself. Byte values may be integers or hex strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from edge.iso15693 import Uid
from edge.tags import LibraryTag

from .tag import VirtualTag

__all__ = ["TagFileError", "load_tags", "parse_tag", "dump_tags", "save_tags", "demo_tags"]


class TagFileError(ValueError):
    """A tag file entry that cannot be understood."""


def _byte(entry: Mapping[str, Any], key: str, default: int) -> int:
    value = entry.get(key, default)
    try:
        number = int(value, 16) if isinstance(value, str) else int(value)
    except (TypeError, ValueError) as exc:
        raise TagFileError(f"{key} must be a byte (int or hex string), got {value!r}") from exc
    if not 0 <= number <= 255:
        raise TagFileError(f"{key} must be 0..255, got {value!r}")
    return number


def parse_tag(entry: Mapping[str, Any]) -> VirtualTag:
    if "uid" not in entry:
        raise TagFileError(f"tag entry without uid: {dict(entry)!r}")
    try:
        uid = Uid.from_hex(str(entry["uid"]))
    except ValueError as exc:
        raise TagFileError(str(exc)) from exc
    block_size = int(entry.get("block_size", 4))
    block_count = int(entry.get("block_count", 28))
    common: dict[str, Any] = {
        "afi": _byte(entry, "afi", 0),
        "eas": bool(entry.get("eas", False)),
        "locked_blocks": {int(b) for b in entry.get("locked_blocks", [])},
        "afi_locked": bool(entry.get("afi_locked", False)),
        "present": bool(entry.get("present", True)),
        "antenna": int(entry.get("antenna", 1)),
        "label": str(entry.get("label", "")),
        "write_multiple": bool(entry.get("write_multiple", True)),
        "ic_reference": _byte(entry, "ic_reference", 1),
    }
    try:
        if "item" in entry:
            item = LibraryTag.from_dict(dict(entry["item"]))
            fmt = str(entry.get("format", "iso28560-3"))
            if "dsfid" in entry:
                common["dsfid"] = _byte(entry, "dsfid", 0)
            tag = VirtualTag.with_item(uid, item, fmt, block_count=block_count, block_size=block_size, **common)
            return tag
        memory = bytearray.fromhex(str(entry.get("memory", "")))
        if len(memory) < block_size * block_count:
            memory += bytes(block_size * block_count - len(memory))
        return VirtualTag(uid, memory, block_size, dsfid=_byte(entry, "dsfid", 0), **common)
    except (ValueError, TypeError) as exc:
        raise TagFileError(f"tag {uid}: {exc}") from exc


def load_tags(source: str | Path | Mapping[str, Any] | list[Any]) -> list[VirtualTag]:
    """Tags from a file path, or from already parsed JSON (``{"tags": [...]}`` or a list)."""
    data: Any = source
    if isinstance(source, (str, Path)):
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TagFileError(f"cannot read tag file {source}: {exc}") from exc
    entries = data.get("tags", []) if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise TagFileError("a tag file holds a list of tags (or {'tags': [...]})")
    return [parse_tag(e) for e in entries]


def dump_tags(tags: Iterable[VirtualTag]) -> dict[str, Any]:
    return {"tags": [t.to_json() for t in tags]}


def save_tags(path: str | Path, tags: Iterable[VirtualTag]) -> None:
    Path(path).write_text(json.dumps(dump_tags(tags), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


_DEMO_TITLES = (
    ("Truyện Kiều", "895.9221 NG-D"),
    ("Số đỏ", "895.9223 VU-P"),
    ("Dế Mèn phiêu lưu ký", "895.9223 TO-H"),
    ("Tắt đèn", "895.9223 NG-T"),
    ("Nhật ký trong tù", "895.9221 HO-C"),
    ("Đất rừng phương Nam", "895.9223 DO-G"),
    ("Lược sử thời gian", "523.1 HA-S"),
    ("Chí Phèo", "895.9223 NA-C"),
    ("Vợ nhặt", "895.9223 KI-L"),
    ("Tuổi thơ dữ dội", "895.9223 PH-T"),
)


def demo_tags(
    count: int = 10,
    *,
    owner_isil: str = "VN-TQ0001",
    afi: int = 0x07,
    fmt: str = "iso28560-3",
    first_uid: int = 0xE004_0150_0A00_0000,
) -> list[VirtualTag]:
    """Programmed demo items (Vietnamese titles, ISIL ``VN-...``), secured (in-stock AFI, EAS set)."""
    tags = []
    for i in range(count):
        title, shelf = _DEMO_TITLES[i % len(_DEMO_TITLES)]
        item = LibraryTag(
            primary_item_id=f"TV{2026_000_001 + i}",
            owner_isil=owner_isil,
            type_of_usage=1,
            title=title,
            shelf_location=shelf,
            media_format=1 if fmt == "iso28560-3" else None,
        )
        if fmt == "3m-rfid501":
            item = LibraryTag(primary_item_id=item.primary_item_id, media_format=1)
        uid = Uid.from_int(first_uid + i * 0x1_0003)
        tags.append(VirtualTag.with_item(uid, item, fmt, afi=afi, eas=True, label=title))
    return tags
