"""The one result type of every tag-data format: :class:`LibraryTag` (ISO 28560-1 data elements)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LibraryTag", "FORMATS", "TYPE_OF_USAGE", "MEDIA_FORMATS"]

FORMATS = ("iso28560-3", "iso28560-2", "3m-rfid501", "blank", "unknown")

TYPE_OF_USAGE: dict[int, str] = {
    0: "acquisition item",
    1: "item for circulation",
    2: "item not for circulation",
    3: "for local use",
    4: "for local use",
    5: "future use",
    6: "no information on tag",
    7: "discarded item",
    8: "patron card",
    9: "library equipment",
}

MEDIA_FORMATS: dict[int, str] = {
    0: "undefined",
    1: "book",
    2: "CD/DVD",
    3: "magnetic tape",
    4: "other",
    5: "other, careful handling",
    6: "very small item",
}


@dataclass(frozen=True)
class LibraryTag:
    """A library item (or patron card) as stored on its tag, whatever the encoding.

    ``type_of_usage`` is the ISO 28560-1 class (0-15); ISO 28560-2 adds a sub-qualifier nibble
    (``usage_qualifier``). ``media_format`` is the ISO 28560-3 one-byte code (see :data:`MEDIA_FORMATS`).
    ``extra`` keeps what a format carries beyond the common elements (for example 3M branch and library
    numbers, unknown ISO 28560-2 OIDs, unknown ISO 28560-3 extension blocks) as sorted name/value pairs.
    """

    primary_item_id: str | None = None
    owner_isil: str | None = None
    type_of_usage: int | None = None
    usage_qualifier: int | None = None
    parts_in_set: int | None = None
    part_number: int | None = None
    set_information: str | None = None
    shelf_location: str | None = None
    title: str | None = None
    media_format: int | None = None
    marc_media_format: str | None = None
    onix_media_format: str | None = None
    media_format_other: str | None = None
    supplier_id: str | None = None
    order_number: str | None = None
    supplier_invoice_number: str | None = None
    product_id_local: str | None = None
    gs1_product_id: str | None = None
    supply_chain_stage: str | None = None
    alternative_item_id: str | None = None
    alternative_unique_item_id: str | None = None
    alternative_owner_isil: str | None = None
    subsidiary_of_owner: str | None = None
    ill_borrowing_isil: str | None = None
    ill_transaction_number: str | None = None
    alternative_ill_borrowing_isil: str | None = None
    local_data_a: str | None = None
    local_data_b: str | None = None
    local_data_c: str | None = None
    version: int | None = None
    format: str = "unknown"
    block_reversed: bool = False
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown tag format {self.format!r}; one of {FORMATS}")
        if not isinstance(self.extra, tuple):
            object.__setattr__(self, "extra", tuple(sorted(dict(self.extra).items())))

    @classmethod
    def _trusted(cls, **fields: Any) -> LibraryTag:
        """Fast construction for decoders whose values are already checked (skips the frozen __init__)."""
        obj = object.__new__(cls)
        obj.__dict__.update(_DEFAULTS)
        obj.__dict__.update(fields)
        return obj

    @property
    def extras(self) -> Mapping[str, str]:
        return dict(self.extra)

    @property
    def is_blank(self) -> bool:
        return self.format == "blank"

    @property
    def set_complete_needs(self) -> int:
        """How many parts belong to this item's set (1 when the tag does not say)."""
        return self.parts_in_set or 1

    def replace(self, **changes: Any) -> LibraryTag:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the format first, every field (None included), ``extra`` as an object."""
        out: dict[str, Any] = {"format": self.format}
        for f in dataclasses.fields(self):
            if f.name in ("format", "extra"):
                continue
            out[f.name] = getattr(self, f.name)
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LibraryTag:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown LibraryTag fields: {sorted(unknown)}")
        kwargs = dict(data)
        if "extra" in kwargs:
            kwargs["extra"] = tuple(sorted(dict(kwargs["extra"]).items()))
        return cls(**kwargs)

    # fields that carry content (everything except bookkeeping)
    @classmethod
    def content_fields(cls) -> tuple[str, ...]:
        skip = {"format", "block_reversed", "extra", "version"}
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)

    def present(self) -> dict[str, object]:
        """Content fields that are set."""
        return {n: getattr(self, n) for n in self.content_fields() if getattr(self, n) is not None}


_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclasses.fields(LibraryTag) if f.default is not dataclasses.MISSING
}
