"""REST routes for circulation under ``/api/v1/circulation`` (thin: parse, call the service, map errors).

Staff authentication is a bearer token: ``settings.api_token``; in demo mode without a configured token
the documented demo token :data:`DEMO_API_TOKEN` is accepted (see docs/circulation.md). The staff web
replaces this with its own login. Domain errors become HTTP status codes in :func:`http_error` only.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field

from server.api.deps import DatabaseDep, SettingsDep
from server.circulation import errors
from server.circulation.results import (
    CheckinResult,
    CheckoutResult,
    HoldResult,
    ItemInformation,
    ItemPropertiesChange,
    LoanChange,
    PaymentResult,
    RenewAllResult,
    RenewResult,
)
from server.circulation.service import CirculationService
from server.libraries.repository import get_by_isil

DEMO_API_TOKEN = "demo-staff-token"  # noqa: S105 - accepted only in demo mode without a configured token

STATUS_OF: tuple[tuple[type[errors.CirculationError], int], ...] = (
    (errors.NotFound, 404),
    (errors.InvalidPin, 401),
    (errors.OperationNotPermitted, 403),
    (errors.PatronBlocked, 409),
    (errors.CirculationError, 409),
)


def http_error(error: errors.CirculationError) -> HTTPException:
    """The one place where a domain error becomes an HTTP status and body."""
    status = next(code for kind, code in STATUS_OF if isinstance(error, kind))
    detail: dict[str, object] = {"code": error.code, "message": error.message}
    if isinstance(error, errors.PatronBlocked):
        detail["reasons"] = [{"code": code, "reason": reason} for code, reason in error.reasons]
    return HTTPException(status, detail=detail)


def require_staff(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """Accept ``Authorization: Bearer <token>``; returns an actor label for the audit log."""
    expected = settings.api_token.get_secret_value() if settings.api_token is not None else None
    if expected is None and settings.demo:
        expected = DEMO_API_TOKEN
    given = (authorization or "").removeprefix("Bearer ").strip()
    if expected is None or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            401,
            detail={"code": "unauthorised", "message": "a valid bearer token is required"},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return "api-token"


StaffDep = Annotated[str, Depends(require_staff)]


def get_service(db: DatabaseDep, settings: SettingsDep) -> CirculationService:
    return CirculationService(db, settings)


ServiceDep = Annotated[CirculationService, Depends(get_service)]
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)]

router = APIRouter(prefix="/circulation", tags=["circulation"], dependencies=[Depends(require_staff)])


def library_id(db: DatabaseDep, isil: str | None) -> int | None:
    if isil is None:
        return None
    with db.session() as session:
        library = get_by_isil(session, isil)
        if library is None:
            raise HTTPException(404, detail={"code": "library_not_found", "message": f"no library {isil!r}"})
        return library.id


def _key(key: str | None) -> str | None:
    return f"api:{key}" if key else None


class CheckoutIn(BaseModel):
    patron_card: str = Field(min_length=1, max_length=64)
    item_barcode: str = Field(min_length=1, max_length=64)
    library_isil: str | None = None
    pin: str | None = None
    no_block: bool = False
    transaction_at: dt.datetime | None = None
    due_at: dt.datetime | None = None


class CheckinIn(BaseModel):
    item_barcode: str = Field(min_length=1, max_length=64)
    library_isil: str | None = None
    no_block: bool = False
    returned_at: dt.datetime | None = None


class RenewIn(BaseModel):
    patron_card: str = Field(min_length=1, max_length=64)
    item_barcode: str = Field(min_length=1, max_length=64)


class PatronIn(BaseModel):
    patron_card: str = Field(min_length=1, max_length=64)


class ItemIn(BaseModel):
    item_barcode: str = Field(min_length=1, max_length=64)


class HoldIn(BaseModel):
    patron_card: str = Field(min_length=1, max_length=64)
    item_barcode: str | None = None
    record_id: int | None = None
    pickup_library_isil: str | None = None
    specific_item: bool = False
    expires_at: dt.datetime | None = None


class HoldChangeIn(BaseModel):
    """Only what is given changes; ``specific_item`` true needs ``item_barcode``, a copy of the hold's title."""

    patron_card: str = Field(min_length=1, max_length=64)
    pickup_library_isil: str | None = None
    expires_at: dt.datetime | None = None
    specific_item: bool | None = None
    item_barcode: str | None = Field(default=None, max_length=64)


class ItemPropertiesIn(BaseModel):
    properties: str = Field(max_length=255)


class PaymentIn(BaseModel):
    patron_card: str = Field(min_length=1, max_length=64)
    amount_vnd: int = Field(gt=0)
    fee_id: int | None = None
    method: str = Field(default="cash", max_length=16)
    reference: str | None = Field(default=None, max_length=64)


class Count(BaseModel):
    count: int


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise HTTPException(422, detail={"code": "naive_datetime", "message": "datetimes need a time zone offset"})
    return moment


@router.post("/checkout", response_model=CheckoutResult)
def checkout(
    body: CheckoutIn, service: ServiceDep, db: DatabaseDep, actor: StaffDep, key: KeyHeader = None
) -> CheckoutResult:
    try:
        return service.checkout(
            body.patron_card,
            body.item_barcode,
            channel="api",
            library_id=library_id(db, body.library_isil),
            pin=body.pin,
            key=_key(key),
            no_block=body.no_block,
            transaction_at=_aware(body.transaction_at),
            due_at=_aware(body.due_at),
            actor=actor,
        )
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/checkin", response_model=CheckinResult)
def checkin(
    body: CheckinIn, service: ServiceDep, db: DatabaseDep, actor: StaffDep, key: KeyHeader = None
) -> CheckinResult:
    try:
        return service.checkin(
            body.item_barcode,
            channel="api",
            library_id=library_id(db, body.library_isil),
            key=_key(key),
            no_block=body.no_block,
            returned_at=_aware(body.returned_at),
            actor=actor,
        )
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/renew", response_model=RenewResult)
def renew(body: RenewIn, service: ServiceDep, key: KeyHeader = None) -> RenewResult:
    try:
        return service.renew(body.patron_card, body.item_barcode, channel="api", key=_key(key))
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/renew-all", response_model=RenewAllResult)
def renew_all(body: PatronIn, service: ServiceDep) -> RenewAllResult:
    try:
        return service.renew_all(body.patron_card, channel="api")
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/lost", response_model=LoanChange)
def mark_lost(body: ItemIn, service: ServiceDep) -> LoanChange:
    try:
        return service.mark_lost(body.item_barcode, channel="api")
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/claims-returned", response_model=LoanChange)
def claims_returned(body: ItemIn, service: ServiceDep) -> LoanChange:
    try:
        return service.claims_returned(body.item_barcode, channel="api")
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/holds", response_model=HoldResult, status_code=201)
def place_hold(body: HoldIn, service: ServiceDep, db: DatabaseDep, key: KeyHeader = None) -> HoldResult:
    try:
        return service.place_hold(
            body.patron_card,
            item_barcode=body.item_barcode,
            record_id=body.record_id,
            pickup_library_id=library_id(db, body.pickup_library_isil),
            specific_item=body.specific_item,
            expires_at=_aware(body.expires_at),
            channel="api",
            key=_key(key),
        )
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.delete("/holds/{hold_id}", response_model=HoldResult)
def cancel_hold(hold_id: int, patron_card: str, service: ServiceDep) -> HoldResult:
    try:
        return service.cancel_hold(patron_card, hold_id=hold_id, channel="api")
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.patch("/holds/{hold_id}", response_model=HoldResult)
def change_hold(
    hold_id: int, body: HoldChangeIn, service: ServiceDep, db: DatabaseDep, key: KeyHeader = None
) -> HoldResult:
    try:
        return service.change_hold(
            body.patron_card,
            hold_id=hold_id,
            item_barcode=body.item_barcode,
            pickup_library_id=library_id(db, body.pickup_library_isil),
            expires_at=_aware(body.expires_at),
            specific_item=body.specific_item,
            channel="api",
            key=_key(key),
        )
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/payments", response_model=PaymentResult, status_code=201)
def pay_fee(body: PaymentIn, service: ServiceDep, key: KeyHeader = None) -> PaymentResult:
    try:
        return service.pay_fee(
            body.patron_card,
            body.amount_vnd,
            fee_id=body.fee_id,
            method=body.method,
            reference=body.reference,
            channel="api",
            key=_key(key),
        )
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.get("/items/{barcode}", response_model=ItemInformation)
def item_information(barcode: str, service: ServiceDep) -> ItemInformation:
    try:
        return service.item_information(barcode)
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.put("/items/{barcode}/properties", response_model=ItemPropertiesChange)
def set_item_properties(
    barcode: str, body: ItemPropertiesIn, service: ServiceDep, actor: StaffDep
) -> ItemPropertiesChange:
    try:
        return service.set_item_properties(barcode, body.properties, channel="api", actor=actor)
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/anonymise", response_model=Count)
def anonymise(service: ServiceDep) -> Count:
    """Drop the patron link of loans returned longer ago than the privacy period."""
    return Count(count=service.anonymise_returned_loans())
