"""REST routes for SIP2 accounts under ``/api/v1/sip2/accounts`` (password never returned)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from server.api.deps import DatabaseDep
from server.circulation.api import require_staff
from server.sip2.accounts import AccountConfig, AccountError, AccountExists, AccountNotFound, Sip2AccountService
from server.sip2.models import ALL_OPERATIONS

router = APIRouter(prefix="/sip2/accounts", tags=["sip2"], dependencies=[Depends(require_staff)])


class AccountIn(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)
    library_isil: str
    institution_id: str | None = None
    terminal_location: str = ""
    encoding: str = "utf-8"
    terminator: str = "\r"
    field_delimiter: str = "|"
    error_detection: bool = True
    allowed_operations: list[str] = Field(default_factory=lambda: list(ALL_OPERATIONS))
    fees_block_checkout: bool = True
    accept_offline: bool = True
    hold_alerts: bool = True
    sort_bins: dict[str, str] = Field(default_factory=dict)


class AccountOut(BaseModel):
    login: str
    institution_id: str
    library_isil: str
    terminal_location: str
    encoding: str
    terminator: str
    field_delimiter: str
    error_detection: bool
    allowed_operations: list[str]
    fees_block_checkout: bool
    accept_offline: bool
    hold_alerts: bool
    sort_bins: dict[str, str]
    enabled: bool


def _out(config: AccountConfig) -> AccountOut:
    return AccountOut(
        login=config.login,
        institution_id=config.institution_id,
        library_isil=config.library_isil,
        terminal_location=config.terminal_location,
        encoding=config.encoding,
        terminator=config.terminator,
        field_delimiter=config.field_delimiter,
        error_detection=config.error_detection,
        allowed_operations=sorted(config.allowed_operations),
        fees_block_checkout=config.fees_block_checkout,
        accept_offline=config.accept_offline,
        hold_alerts=config.hold_alerts,
        sort_bins=dict(config.sort_bins),
        enabled=config.enabled,
    )


def _http(exc: AccountError) -> HTTPException:
    status = 404 if isinstance(exc, AccountNotFound) else 409 if isinstance(exc, AccountExists) else 422
    return HTTPException(status, detail={"code": type(exc).__name__, "message": str(exc)})


@router.get("", response_model=list[AccountOut])
def list_accounts(db: DatabaseDep) -> list[AccountOut]:
    return [_out(a) for a in Sip2AccountService(db).list()]


@router.post("", response_model=AccountOut, status_code=201)
def add_account(body: AccountIn, db: DatabaseDep) -> AccountOut:
    options = body.model_dump(exclude={"login", "password", "library_isil", "institution_id"})
    try:
        return _out(
            Sip2AccountService(db).add(
                body.login, body.password, library_isil=body.library_isil, institution_id=body.institution_id, **options
            )
        )
    except AccountError as exc:
        raise _http(exc) from exc


@router.delete("/{login}", status_code=204)
def remove_account(login: str, db: DatabaseDep) -> None:
    try:
        Sip2AccountService(db).remove(login)
    except AccountError as exc:
        raise _http(exc) from exc
