"""REST routes for items (look-up by barcode or RFID tag UID)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from server.api.deps import SessionDep
from server.catalog import repository
from server.catalog.models import Item, ItemStatus, SecurityState

router = APIRouter(prefix="/items", tags=["items"])


class ItemPublic(BaseModel):
    barcode: str
    title: str
    library_isil: str | None
    item_type: str
    status: ItemStatus
    security_state: SecurityState
    set_parts_total: int
    tag_uids: list[str]


def _public(item: Item, isil: str | None) -> ItemPublic:
    return ItemPublic(
        barcode=item.barcode,
        title=item.record.title,
        library_isil=isil,
        item_type=item.item_type,
        status=item.status,
        security_state=item.security_state,
        set_parts_total=item.set_parts_total,
        tag_uids=[tag.uid for tag in sorted(item.tags, key=lambda t: t.part_number)],
    )


@router.get("/{barcode}", response_model=ItemPublic)
def get_item(barcode: str, session: SessionDep) -> ItemPublic:
    item = repository.item_by_barcode(session, barcode)
    if item is None:
        raise HTTPException(404, f"no item with barcode {barcode!r}")
    return _public(item, item.owner_isil)


@router.get("/by-tag/{uid}", response_model=ItemPublic)
def get_item_by_tag(uid: str, session: SessionDep) -> ItemPublic:
    item = repository.item_by_tag_uid(session, uid)
    if item is None:
        raise HTTPException(404, f"no item carries the tag {uid!r}")
    return _public(item, item.owner_isil)
