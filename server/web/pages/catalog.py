"""Collection pages: search (diacritic-insensitive), a record (readable and MARC), its items per library."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, Response

from server.catalog.errors import SearchError
from server.catalog.models import BibRecord, Item, ItemStatus
from server.catalog.search import search
from server.staff.cataloguing import (
    STAFF_SETTABLE,
    CataloguingError,
    call_numbers,
    holdings_by_library,
    parse_marc,
    set_item_status,
    update_record,
)
from server.staff.service import Level
from server.web.core import PREFIX, NotFoundPage, PostDep, WebDep, redirect

router = APIRouter()
PAGE = 20


@router.get("/catalog", response_class=HTMLResponse)
def catalog(web: WebDep, q: Annotated[str, Query(max_length=500)] = "", offset: int = 0) -> HTMLResponse:
    offset = max(offset, 0)
    total, records, error = 0, [], ""
    if q.strip():
        try:
            results = search(web.session, q, limit=PAGE, offset=offset)
        except SearchError as exc:  # an unbalanced quote and the like: said on the page
            error = str(exc)
        else:
            total, records = results.total, results.records
    return web.render("catalog.html", q=q, total=total, records=records, offset=offset, page=PAGE, error=error)


@router.get("/catalog/records/{record_id}", response_class=HTMLResponse)
def record_view(web: WebDep, record_id: int, saved: int = 0) -> HTMLResponse:
    record = web.session.get(BibRecord, record_id)
    if record is None:
        raise NotFoundPage(f"record {record_id}")
    marc = parse_marc(record)
    fields = []
    if marc is not None:
        fields.append(("LDR", "", str(marc.leader)))
        for fld in marc.fields:
            if fld.is_control_field():
                fields.append((fld.tag, "", fld.data or ""))
            else:
                indicators = "".join(str(i) if i else " " for i in (fld.indicators or ()))
                fields.append((fld.tag, indicators, " ".join(f"${sf.code} {sf.value}" for sf in fld.subfields)))
    holdings = holdings_by_library(web.session, record_id)
    can_edit = (record.source_library_id is None and web.principal.is_system_admin) or (
        record.source_library_id is not None and web.principal.allows(record.source_library_id, Level.CIRCULATE)
    )
    return web.render(
        "record.html", record=record, fields=fields, holdings=holdings, can_edit=can_edit, saved=saved,
        call_numbers=call_numbers(web.session, record_id), statuses=STAFF_SETTABLE,
        may_change=lambda lib: web.principal.allows(lib, Level.CIRCULATE),
    )


@router.post("/catalog/records/{record_id}")
def record_edit(
    web: PostDep,
    record_id: int,
    title: Annotated[str, Form(max_length=1000)] = "",
    local_history: Annotated[bool, Form()] = False,
    digitised: Annotated[bool, Form()] = False,
) -> Response:
    try:
        update_record(web.session, web.principal, record_id, title=title, local_history=local_history,
                      digitised=digitised, ip=web.ip)
    except CataloguingError as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/catalog/records/{record_id}?saved=1")


@router.post("/catalog/items/{item_id}/status")
def item_status(
    web: PostDep, item_id: int, status: Annotated[str, Form()], note: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    item = web.session.get(Item, item_id)
    if item is None:
        raise NotFoundPage(f"item {item_id}")
    try:
        set_item_status(web.session, web.principal, item_id, ItemStatus(status), note=note, ip=web.ip)
    except (CataloguingError, ValueError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/catalog/records/{item.record_id}?saved=1")
