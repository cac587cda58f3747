"""REST routes for patrons under ``/api/v1/patrons``: status (blocks, loans, holds, fees), PIN, blocks."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from server.circulation import errors
from server.circulation.api import ServiceDep, http_error, require_staff
from server.circulation.results import PatronStatus

router = APIRouter(prefix="/patrons", tags=["patrons"], dependencies=[Depends(require_staff)])


class PinIn(BaseModel):
    pin: str = Field(min_length=1, max_length=32)


class PinOut(BaseModel):
    ok: bool


class BlockIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class Lifted(BaseModel):
    lifted: int


class KeepHistory(BaseModel):
    keep: bool


@router.get("/{card}", response_model=PatronStatus)
def patron_status(card: str, service: ServiceDep) -> PatronStatus:
    try:
        return service.patron_status(card)
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/{card}/verify-pin", response_model=PinOut)
def verify_pin(card: str, body: PinIn, service: ServiceDep) -> PinOut:
    try:
        return PinOut(ok=service.verify_pin(card, body.pin))
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.post("/{card}/blocks", status_code=204)
def block(card: str, body: BlockIn, service: ServiceDep) -> None:
    try:
        service.block_patron(card, body.reason, channel="api")
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.delete("/{card}/blocks", response_model=Lifted)
def lift_blocks(card: str, service: ServiceDep, kind: str = "staff") -> Lifted:
    try:
        return Lifted(lifted=service.lift_blocks(card, kind=kind))
    except errors.CirculationError as exc:
        raise http_error(exc) from exc


@router.put("/{card}/keep-history", response_model=KeepHistory)
def keep_history(card: str, body: KeepHistory, service: ServiceDep) -> KeepHistory:
    """The patron opts in to (or out of) keeping their loan history beyond the privacy period."""
    try:
        return KeepHistory(keep=service.set_keep_history(card, body.keep))
    except errors.CirculationError as exc:
        raise http_error(exc) from exc
