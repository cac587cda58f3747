"""What circulation operations return: frozen dataclasses, plus their JSON form for idempotent replay."""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from server.circulation.policies import Block

T = TypeVar("T")


@dataclass(frozen=True)
class ItemSummary:
    barcode: str
    title: str
    item_type: str
    status: str
    library_isil: str
    location: str
    call_number: str
    properties: str | None = None  # free text a self-check set (SIP2 19 CH), e.g. "with a CD"


@dataclass(frozen=True)
class CheckoutResult:
    loan_id: int
    item: ItemSummary
    patron_id: int
    patron_name: str
    due_at: dt.datetime
    renewal: bool = False
    offline: bool = False
    flagged: str | None = None


@dataclass(frozen=True)
class HoldTrap:
    """The returned item is wanted: shelve it for this patron (here) or send it to the pickup library."""

    hold_id: int
    patron_id: int | None
    patron_card: str
    patron_name: str
    pickup_library_isil: str
    pickup_library_name: str
    here: bool
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class CheckinResult:
    item: ItemSummary
    was_on_loan: bool
    loan_id: int | None
    patron_id: int | None
    route: str
    fine_vnd: int = 0
    hold: HoldTrap | None = None
    destination_isil: str | None = None
    destination_name: str | None = None
    offline: bool = False
    flagged: str | None = None


@dataclass(frozen=True)
class RenewResult:
    loan_id: int
    item: ItemSummary
    patron_id: int
    due_at: dt.datetime
    renewals: int


@dataclass(frozen=True)
class RenewFailure:
    barcode: str
    code: str
    reason: str


@dataclass(frozen=True)
class RenewAllResult:
    renewed: tuple[RenewResult, ...]
    unrenewed: tuple[RenewFailure, ...]


@dataclass(frozen=True)
class LoanInfo:
    loan_id: int
    item: ItemSummary
    checked_out_at: dt.datetime
    due_at: dt.datetime
    overdue: bool
    renewals: int
    state: str


@dataclass(frozen=True)
class HoldInfo:
    hold_id: int
    title: str
    state: str
    pickup_library_isil: str
    placed_at: dt.datetime
    item_barcode: str | None
    expires_at: dt.datetime | None
    queue_position: int


@dataclass(frozen=True)
class FeeInfo:
    fee_id: int
    kind: str
    amount_vnd: int
    owing_vnd: int
    description: str
    created_at: dt.datetime


@dataclass(frozen=True)
class PatronStatus:
    patron_id: int
    card: str
    name: str
    category: str
    home_library_isil: str
    expires_on: dt.date
    email: str | None
    phone: str | None
    language: str
    blocks: tuple[Block, ...]
    can_borrow: bool
    can_renew: bool
    loans: tuple[LoanInfo, ...]
    holds: tuple[HoldInfo, ...]
    fees: tuple[FeeInfo, ...]
    fees_owed_vnd: int
    fee_limit_vnd: int
    max_items: int
    pin_ok: bool | None = None

    @property
    def holds_ready(self) -> tuple[HoldInfo, ...]:
        return tuple(h for h in self.holds if h.state == "ready")

    @property
    def overdue_loans(self) -> tuple[LoanInfo, ...]:
        return tuple(loan for loan in self.loans if loan.overdue)


@dataclass(frozen=True)
class PaymentResult:
    accepted: bool
    amount_vnd: int
    payment_ids: tuple[int, ...]
    remaining_owed_vnd: int
    reference: str | None


@dataclass(frozen=True)
class HoldResult:
    hold_id: int
    title: str
    state: str
    queue_position: int
    available: bool
    pickup_library_isil: str
    item_barcode: str | None
    expires_at: dt.datetime | None


@dataclass(frozen=True)
class ItemInformation:
    item: ItemSummary
    owner_isil: str | None
    security_state: str
    due_at: dt.datetime | None
    hold_queue_length: int
    hold_pickup_until: dt.datetime | None
    hold_patron_card: str | None


@dataclass(frozen=True)
class ItemPropertiesChange:
    """Result of storing an item's properties (SIP2 19 "item status update"): ``item.properties`` is new."""

    item: ItemSummary
    previous: str | None


@dataclass(frozen=True)
class LoanChange:
    """Result of a staff transition (lost, claims returned)."""

    loan_id: int
    item: ItemSummary
    state: str
    fee_vnd: int = 0


# JSON form, for ClientTransaction.response ----------------------------------------------------------


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    return value


def from_json(cls: type[T], data: Any) -> T:
    return typing.cast(T, _decode(cls, data))


def _decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(options[0], data)
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        return tuple(_decode(inner, v) for v in data)
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if tp is dt.date:
        return dt.date.fromisoformat(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(tp) if f.name in data})
    return data
