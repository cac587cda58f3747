"""The ILS port the kiosk controller talks to, and the typed answers it gets back (no SIP2 details)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

__all__ = [
    "PatronInfo",
    "LoanResult",
    "ReturnResult",
    "RenewAllResult",
    "ItemInfo",
    "Ils",
]


@dataclass(frozen=True)
class PatronInfo:
    """A patron's account as the ILS reports it (SIP2 63/64)."""

    patron_id: str
    name: str = ""
    valid: bool = False
    pin_ok: bool | None = None
    charge_denied: bool = False
    renewal_denied: bool = False
    card_lost: bool = False
    too_many_items: bool = False
    fee_vnd: int = 0
    currency: str = ""
    email: str = ""
    loans: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()
    holds_ready: tuple[str, ...] = ()
    screen_messages: tuple[str, ...] = ()
    offline: bool = False

    @property
    def blocked(self) -> bool:
        """True when the ILS says this patron may not borrow."""
        return not self.valid or self.charge_denied or self.card_lost


@dataclass(frozen=True)
class LoanResult:
    """Answer to a checkout or a renewal (SIP2 12/30)."""

    ok: bool
    item_id: str
    title: str = ""
    due: dt.datetime | None = None
    due_text: str = ""
    renewal: bool = False
    desensitize: bool | None = None
    security_inhibit: bool = False
    screen_messages: tuple[str, ...] = ()
    media_type: str = ""
    offline: bool = False


@dataclass(frozen=True)
class ReturnResult:
    """Answer to a checkin (SIP2 10)."""

    ok: bool
    item_id: str
    title: str = ""
    resensitize: bool | None = None
    alert: bool = False
    alert_type: str = ""
    sort_bin: str = ""
    permanent_location: str = ""
    screen_messages: tuple[str, ...] = ()
    offline: bool = False


@dataclass(frozen=True)
class RenewAllResult:
    ok: bool
    renewed: tuple[str, ...] = ()
    unrenewed: tuple[str, ...] = ()
    screen_messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemInfo:
    """Answer to an item information request (SIP2 18)."""

    item_id: str
    known: bool
    title: str = ""
    circulation_status: str = ""
    due_text: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class Ils(Protocol):
    """A library system, whichever protocol reaches it. Every method may raise ``IlsUnavailable``."""

    def patron_info(self, patron_id: str, pin: str = "") -> PatronInfo: ...

    def checkout(
        self,
        patron_id: str,
        item_id: str,
        pin: str = "",
        *,
        no_block: bool = False,
        when: dt.datetime | None = None,
        due: dt.datetime | None = None,
    ) -> LoanResult: ...

    def checkin(self, item_id: str, *, no_block: bool = False, when: dt.datetime | None = None) -> ReturnResult: ...

    def renew(self, patron_id: str, item_id: str, pin: str = "") -> LoanResult: ...

    def renew_all(self, patron_id: str, pin: str = "") -> RenewAllResult: ...

    def item_info(self, item_id: str) -> ItemInfo: ...

    def end_session(self, patron_id: str, pin: str = "") -> None: ...

    def ping(self) -> bool:
        """True when the library system answers now."""
        ...

    def close(self) -> None: ...
