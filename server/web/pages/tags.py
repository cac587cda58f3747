"""Tag programming: choose a staff station and items (one, or a stack of new books), follow each tag's result."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from server.staff import tagging
from server.web.core import BodyTooLarge, PostDep, WebDep

log = logging.getLogger(__name__)
router = APIRouter()

MAX_LIST_BYTES = 64 * 1024
MAX_ITEMS = 200


@router.get("/tags", response_class=HTMLResponse)
def tag_form(web: WebDep, barcode: str = "") -> HTMLResponse:
    stations = tagging.stations_in_scope(web.session, web.principal)
    return web.render("tags.html", stations=stations, formats=tagging.WRITABLE_FORMATS, barcode=barcode,
                      jobs=None, station_format=tagging.station_format)


@router.post("/tags", response_class=HTMLResponse)
async def tag_start_upload(
    web: PostDep,
    station: Annotated[str, Form(max_length=64)],
    barcodes: Annotated[str, Form(max_length=MAX_LIST_BYTES)] = "",
    fmt: Annotated[str, Form(alias="format", max_length=16)] = "",
    listing: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Barcodes typed (one per line) and/or a text file of them (bulk mode for a stack of new books)."""
    lines = barcodes.splitlines()
    if listing is not None and listing.filename:
        content = await listing.read(MAX_LIST_BYTES + 1)
        if len(content) > MAX_LIST_BYTES:
            raise BodyTooLarge(web.request.url.path)
        lines += content.decode("utf-8", errors="replace").replace(",", "\n").splitlines()
    wanted = [line.strip() for line in lines if line.strip()][:MAX_ITEMS]
    jobs = tagging.start(web.session, web.principal, station, wanted, fmt or None, ip=web.ip)
    stations = tagging.stations_in_scope(web.session, web.principal)
    return web.render("tags.html", stations=stations, formats=tagging.WRITABLE_FORMATS, barcode="", jobs=jobs,
                      station_format=tagging.station_format)


@router.post("/live/tags.json")
def tag_progress(web: PostDep, ids: Annotated[str, Form(max_length=MAX_ITEMS * 4 * 40)] = "") -> JSONResponse:
    """Each command's state; a POST (CSRF token in the ``X-CSRF-Token`` header) since it records finished tags."""
    command_ids = [i for i in ids.split(",") if i][:MAX_ITEMS * 4]
    outcomes = tagging.refresh(web.session, web.principal, command_ids)
    return JSONResponse({"tags": [
        {"barcode": o.barcode, "part": o.part_number, "state": o.state, "uid": o.uid, "verified": o.verified,
         "error": o.error} for o in outcomes
    ]})
