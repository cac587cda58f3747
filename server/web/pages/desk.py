"""The circulation desk: a patron by card, checkout, checkin, renew, holds and fee payment.

Every rule is the circulation service's; this module only picks the desk's library (one the staff member may
circulate in), calls the service and shows its answer or its error's message.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from server.audit.service import record
from server.circulation.errors import CirculationError
from server.circulation.service import CirculationService
from server.libraries.models import Library
from server.staff.patrons import hold_shelf
from server.staff.service import AccessDenied, Level
from server.web.core import PostDep, Web, WebDep
from server.web.i18n import pick

log = logging.getLogger(__name__)
router = APIRouter()


def desk_library(web: Web, requested: int | None) -> int:
    """The library the desk works for: the one asked for if allowed, else the staff member's first."""
    allowed = web.principal.scope(Level.CIRCULATE)
    if requested is not None:
        if requested not in allowed:
            raise AccessDenied("desk", requested)
        return requested
    for home in web.principal.home_library_ids:
        if home in allowed:
            return home
    if not allowed:
        raise AccessDenied("desk")
    return min(allowed)


def _service(web: Web) -> CirculationService:
    return CirculationService(web.db, web.settings)


def _page(web: Web, library_id: int, card: str, *, outcome: dict[str, Any] | None = None, status_code: int = 200
          ) -> HTMLResponse:
    status = None
    error = None
    card = card.strip()
    if card:
        # A patron may borrow at any library of the network by presenting the card, so the desk opens any card
        # typed or scanned there (the view is audited); browsing patrons by id stays scoped (patrons pages).
        try:
            status = _service(web).patron_status(card)
        except CirculationError as exc:
            error = {"code": exc.code, "message": pick(exc.message, web.language)}
        else:
            # Written in its own transaction, as the service's were: the request's session only reads.
            with web.db.write() as session:
                record(session, action="patron.viewed", target_type="patron", target_id=status.patron_id,
                       details={"purpose": "desk"}, library_id=library_id, **web.actor())
    with web.db.session() as session:  # a fresh snapshot, after the service's changes
        libraries = session.scalars(
            select(Library).where(Library.id.in_(web.principal.scope(Level.CIRCULATE))).order_by(Library.id)
        ).all()
        ready = hold_shelf(session, library_id)
    return web.render("desk.html", status_code=status_code, card=card, status=status, error=error,
                      outcome=outcome, library_id=library_id, libraries=libraries, hold_shelf=ready)


@router.get("/desk", response_class=HTMLResponse)
def desk(web: WebDep, card: str = "", library: int | None = None) -> HTMLResponse:
    return _page(web, desk_library(web, library), card)


def _run(web: Web, library_id: int, card: str, action: str, call: Any) -> HTMLResponse:
    try:
        result = call()
    except CirculationError as exc:
        log.info("desk %s refused: %s", action, exc.code)
        outcome = {"ok": False, "action": action, "code": exc.code, "message": pick(exc.message, web.language)}
        return _page(web, library_id, card, outcome=outcome, status_code=409)
    return _page(web, library_id, card, outcome={"ok": True, "action": action, "result": result})


@router.post("/desk/checkout", response_class=HTMLResponse)
def checkout(web: PostDep, card: Annotated[str, Form(max_length=64)], barcode: Annotated[str, Form(max_length=64)],
             library: Annotated[int | None, Form()] = None) -> HTMLResponse:
    lib = desk_library(web, library)
    return _run(web, lib, card, "checkout", lambda: _service(web).checkout(
        card.strip(), barcode.strip(), channel="desk", library_id=lib, actor=str(web.principal.user_id)))


@router.post("/desk/checkin", response_class=HTMLResponse)
def checkin(web: PostDep, barcode: Annotated[str, Form(max_length=64)], card: Annotated[str, Form()] = "",
            library: Annotated[int | None, Form()] = None) -> HTMLResponse:
    lib = desk_library(web, library)
    return _run(web, lib, card, "checkin", lambda: _service(web).checkin(
        barcode.strip(), channel="desk", library_id=lib, actor=str(web.principal.user_id)))


@router.post("/desk/renew", response_class=HTMLResponse)
def renew(web: PostDep, card: Annotated[str, Form(max_length=64)], barcode: Annotated[str, Form(max_length=64)],
          library: Annotated[int | None, Form()] = None) -> HTMLResponse:
    lib = desk_library(web, library)
    return _run(web, lib, card, "renew", lambda: _service(web).renew(card.strip(), barcode.strip(), channel="desk"))


@router.post("/desk/pay", response_class=HTMLResponse)
def pay(web: PostDep, card: Annotated[str, Form(max_length=64)], amount: Annotated[int, Form(ge=1, le=100_000_000)],
        fee_id: Annotated[int | None, Form()] = None, library: Annotated[int | None, Form()] = None) -> HTMLResponse:
    lib = desk_library(web, library)
    return _run(web, lib, card, "pay", lambda: _service(web).pay_fee(card.strip(), amount, fee_id=fee_id,
                                                                      channel="desk"))


@router.post("/desk/hold", response_class=HTMLResponse)
def hold(web: PostDep, card: Annotated[str, Form(max_length=64)], barcode: Annotated[str, Form(max_length=64)],
         library: Annotated[int | None, Form()] = None) -> HTMLResponse:
    lib = desk_library(web, library)
    return _run(web, lib, card, "hold", lambda: _service(web).place_hold(
        card.strip(), item_barcode=barcode.strip(), pickup_library_id=lib, channel="desk"))


@router.post("/desk/cancel-hold", response_class=HTMLResponse)
def cancel_hold(web: PostDep, card: Annotated[str, Form(max_length=64)], hold_id: Annotated[int, Form()],
                library: Annotated[int | None, Form()] = None) -> HTMLResponse:
    lib = desk_library(web, library)
    return _run(web, lib, card, "cancel_hold", lambda: _service(web).cancel_hold(card.strip(), hold_id=hold_id,
                                                                                 channel="desk"))
