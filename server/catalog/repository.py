"""Queries over records and items: by barcode, by RFID tag UID, by identifier."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.models import BibIdentifier, BibRecord, Item, ItemTag


def item_by_barcode(session: Session, barcode: str) -> Item | None:
    return session.scalar(select(Item).where(Item.barcode == barcode))


def item_by_tag_uid(session: Session, uid: str) -> Item | None:
    """The item carrying the tag ``uid`` (16 hex digits, most significant byte first; any case)."""
    return session.scalar(select(Item).join(ItemTag).where(ItemTag.uid == uid.upper()))


def records_by_identifier(session: Session, scheme: str, value: str) -> list[BibRecord]:
    stmt = select(BibRecord).join(BibIdentifier).where(BibIdentifier.scheme == scheme, BibIdentifier.value == value)
    return list(session.scalars(stmt))
