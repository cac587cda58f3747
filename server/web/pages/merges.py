"""Union-catalog merge review: the merges with their match key and confidence, both records side by side,
confirm or split (the member's original is never destroyed, so a split restores it as its own record).

Cataloguers only: staff at librarian level or above (the level that edits records, as in
:mod:`server.staff.cataloguing`) in the member's library or in the library that contributed the shared
record; a system administrator for every merge.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pymarc import Record
from sqlalchemy import select

from server.audit.service import record as audit
from server.libraries.models import Library
from server.staff.service import AccessDenied, Level
from server.union import review
from server.web.core import PREFIX, NotFoundPage, PostDep, Web, WebDep, redirect

log = logging.getLogger(__name__)
router = APIRouter()

Line = tuple[str, str, str]  # tag, indicators, content


def _scope(web: Web) -> set[int] | None:
    """The libraries whose merges this person may review (None: all of them)."""
    if web.principal.is_system_admin:
        return None
    libraries = web.principal.scope(Level.CIRCULATE)
    if not libraries:
        raise AccessDenied("review_merges")
    return libraries


def _row(web: Web, merge_id: int) -> review.MergeRow:
    try:
        row = review.merge_row(web.session, merge_id)
    except review.MergeError as exc:
        raise NotFoundPage(f"merge {merge_id}") from exc
    scope = _scope(web)
    if scope is not None and not row.libraries & scope:
        raise AccessDenied("review_merge", row.source_library_id)
    return row


def _lines(record: Record | None) -> list[Line]:
    if record is None:
        return []
    lines: list[Line] = [("LDR", "", str(record.leader))]
    for fld in record.fields:
        if fld.is_control_field():
            lines.append((fld.tag, "", fld.data or ""))
        else:
            indicators = (fld.indicator1 or " ") + (fld.indicator2 or " ")
            lines.append((fld.tag, indicators, " ".join(f"${sf.code} {sf.value}" for sf in fld.subfields)))
    return lines


def _side_by_side(kept: list[Line], original: list[Line]) -> list[tuple[Line | None, Line | None, bool]]:
    """Rows of (kept line, original line, differ), paired by tag in order; LDR/001/005 never count as a difference."""
    tags = sorted({line[0] for line in kept} | {line[0] for line in original}, key=lambda t: (t != "LDR", t))
    rows: list[tuple[Line | None, Line | None, bool]] = []
    for tag in tags:
        left = [line for line in kept if line[0] == tag]
        right = [line for line in original if line[0] == tag]
        for index in range(max(len(left), len(right))):
            a = left[index] if index < len(left) else None
            b = right[index] if index < len(right) else None
            differ = tag not in ("LDR", "001", "003", "005") and (a is None or b is None or a[1:] != b[1:])
            rows.append((a, b, differ))
    return rows


@router.get("/union/merges", response_class=HTMLResponse)
def merge_list(web: WebDep, reviewed: Annotated[int, Query()] = 0, done: str = "") -> HTMLResponse:
    rows = review.merges(web.session, _scope(web), include_reviewed=bool(reviewed))
    names = {lid: isil for lid, isil in web.session.execute(select(Library.id, Library.isil))}
    return web.render("merges.html", rows=rows, reviewed=reviewed, done=done, isil=names)


@router.get("/union/merges/{merge_id}", response_class=HTMLResponse)
def merge_view(web: WebDep, merge_id: int) -> HTMLResponse:
    _row(web, merge_id)
    found = review.detail(web.session, merge_id)
    rows = _side_by_side(_lines(found.kept), _lines(found.original))
    return web.render("merge.html", merge=found.row, rows=rows)


@router.post("/union/merges/{merge_id}/confirm")
def merge_confirm(web: PostDep, merge_id: int) -> Response:
    row = _row(web, merge_id)
    try:
        review.confirm(web.session, merge_id, web.principal.user_id)
    except review.MergeError as exc:
        return web.render("message.html", status_code=409, title=web._("Not saved"), message=str(exc))
    audit(web.session, **web.actor(), action="union.merge_confirmed", target_type="merge", target_id=merge_id,
          library_id=row.source_library_id, details={"kept_record_id": row.kept_record_id, "key": row.match_key})
    return redirect(f"{PREFIX}/union/merges?done=confirmed")


@router.post("/union/merges/{merge_id}/split")
def merge_split(web: PostDep, merge_id: int) -> Response:
    row = _row(web, merge_id)
    try:
        new_id = review.split(web.session, merge_id, web.principal.user_id)
    except review.MergeError as exc:
        return web.render("message.html", status_code=409, title=web._("Not saved"), message=str(exc))
    audit(web.session, **web.actor(), action="union.merge_split", target_type="merge", target_id=merge_id,
          library_id=row.source_library_id, details={"kept_record_id": row.kept_record_id, "new_record_id": new_id})
    log.info("merge %d split by staff %d: new record %d", merge_id, web.principal.user_id, new_id)
    return redirect(f"{PREFIX}/union/merges?done=split")
