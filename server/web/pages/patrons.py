"""Patron pages: search, view (audited), create, edit, cards, blocks, history, export and erase (PDPL)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from server.circulation.models import Fee
from server.libraries.models import Library
from server.patrons.models import CardKind, PatronCategory
from server.staff import patrons as admin
from server.staff.service import Level
from server.web.core import PREFIX, NotFoundPage, PostDep, Web, WebDep, redirect

log = logging.getLogger(__name__)
router = APIRouter()


def _choices(web: Web) -> dict[str, Any]:
    libraries = web.session.scalars(
        select(Library).where(Library.id.in_(web.principal.scope(Level.CIRCULATE))).order_by(Library.id)
    ).all()
    categories = web.session.scalars(select(PatronCategory).order_by(PatronCategory.code)).all()
    return {"libraries": libraries, "categories": categories}


def _form(full_name: str, email: str, phone: str, home_library_id: int, category_code: str, expires_on: str,
          keep_history: bool, language: str) -> admin.PatronForm:
    try:
        expires = dt.date.fromisoformat(expires_on)
    except ValueError as exc:
        raise admin.PatronAdminError(f"not a valid date: {expires_on!r}") from exc
    return admin.PatronForm(full_name, email, phone, home_library_id, category_code, expires, keep_history, language)


@router.get("/patrons", response_class=HTMLResponse)
def patron_search(web: WebDep, q: str = "") -> HTMLResponse:
    found = admin.search_patrons(web.session, web.principal, q[:100], ip=web.ip) if q.strip() else []
    return web.render("patrons.html", q=q, found=found)


@router.get("/patrons/new", response_class=HTMLResponse)
def patron_new(web: WebDep) -> HTMLResponse:
    web.principal.require_any(Level.CIRCULATE, "create_patron")
    default_expiry = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    return web.render("patron_form.html", patron=None, default_expiry=default_expiry, **_choices(web))


@router.post("/patrons/new")
def patron_create(
    web: PostDep,
    full_name: Annotated[str, Form(max_length=255)],
    home_library_id: Annotated[int, Form()],
    category_code: Annotated[str, Form(max_length=32)],
    expires_on: Annotated[str, Form(max_length=10)],
    email: Annotated[str, Form(max_length=255)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    card: Annotated[str, Form(max_length=64)] = "",
    keep_history: Annotated[bool, Form()] = False,
    language: Annotated[str, Form(max_length=8)] = "vi",
) -> Response:
    try:
        form = _form(full_name, email, phone, home_library_id, category_code, expires_on, keep_history, language)
        patron = admin.create_patron(web.session, web.principal, form, card, ip=web.ip)
    except admin.PatronAdminError as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/patrons/{patron.id}")


@router.get("/patrons/{patron_id}", response_class=HTMLResponse)
def patron_view(web: WebDep, patron_id: int) -> HTMLResponse:
    try:
        patron = admin.get_patron(web.session, web.principal, patron_id, ip=web.ip, purpose="profile")
    except admin.PatronMissing as exc:
        raise NotFoundPage(f"patron {patron_id}") from exc
    fees = web.session.scalars(select(Fee).where(Fee.patron_id == patron.id).order_by(Fee.created_at.desc())).all()
    loans = admin.history(web.session, patron)
    return web.render("patron.html", patron=patron, fees=fees, loans=loans, card_kinds=list(CardKind),
                      can_change=web.principal.allows(patron.home_library_id, Level.CIRCULATE),
                      can_erase=web.principal.allows(patron.home_library_id, Level.ADMINISTER), **_choices(web))


@router.post("/patrons/{patron_id}")
def patron_update(
    web: PostDep,
    patron_id: int,
    full_name: Annotated[str, Form(max_length=255)],
    home_library_id: Annotated[int, Form()],
    category_code: Annotated[str, Form(max_length=32)],
    expires_on: Annotated[str, Form(max_length=10)],
    email: Annotated[str, Form(max_length=255)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    keep_history: Annotated[bool, Form()] = False,
    language: Annotated[str, Form(max_length=8)] = "vi",
) -> Response:
    try:
        form = _form(full_name, email, phone, home_library_id, category_code, expires_on, keep_history, language)
        admin.update_patron(web.session, web.principal, patron_id, form, ip=web.ip)
    except admin.PatronMissing as exc:
        raise NotFoundPage(f"patron {patron_id}") from exc
    except admin.PatronAdminError as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/patrons/{patron_id}")


@router.post("/patrons/{patron_id}/block")
def patron_block(web: PostDep, patron_id: int, reason: Annotated[str, Form(max_length=500)]) -> Response:
    try:
        admin.add_block(web.session, web.principal, patron_id, reason, ip=web.ip)
    except admin.PatronAdminError as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/patrons/{patron_id}")


@router.post("/patrons/{patron_id}/unblock")
def patron_unblock(web: PostDep, patron_id: int, block_id: Annotated[int, Form()]) -> Response:
    admin.lift_block(web.session, web.principal, block_id, ip=web.ip)
    return redirect(f"{PREFIX}/patrons/{patron_id}")


@router.post("/patrons/{patron_id}/cards")
def patron_card(web: PostDep, patron_id: int, number: Annotated[str, Form(max_length=64)],
                kind: Annotated[str, Form()] = "barcode") -> Response:
    try:
        admin.add_card(web.session, web.principal, patron_id, number, CardKind(kind), ip=web.ip)
    except (admin.PatronAdminError, ValueError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not saved"), message=str(exc))
    return redirect(f"{PREFIX}/patrons/{patron_id}")


@router.post("/patrons/{patron_id}/export")
def patron_export(web: PostDep, patron_id: int) -> Response:
    try:
        document = admin.export_data(web.session, web.principal, patron_id, ip=web.ip)
    except admin.PatronMissing as exc:
        raise NotFoundPage(f"patron {patron_id}") from exc
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="patron-{patron_id}.json"', "Cache-Control": "no-store"})


@router.post("/patrons/{patron_id}/erase")
def patron_erase(web: PostDep, patron_id: int, confirm: Annotated[str, Form(max_length=16)] = "") -> Response:
    if confirm != "ERASE":
        return web.render("message.html", status_code=400, title=web._("Not erased"),
                          message=web._("Type ERASE to confirm."))
    try:
        admin.erase(web.session, web.principal, patron_id, ip=web.ip)
    except admin.OpenLoansRemain:
        return web.render("message.html", status_code=409, title=web._("Not erased"),
                          message=web._("The patron still has items on loan."))
    except admin.MoneyOwed:
        return web.render("message.html", status_code=409, title=web._("Not erased"),
                          message=web._("The patron still owes fees; settle or waive them first."))
    except admin.PatronMissing as exc:
        raise NotFoundPage(f"patron {patron_id}") from exc
    return web.render("message.html", title=web._("Erased"),
                      message=web._("The patron's personal data was erased; statistics are kept."))
