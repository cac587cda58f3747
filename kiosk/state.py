"""What the kiosk controller exchanges with its screen: screens, item states, actions, settings and views.

Pure data (no Kivy, no hardware); :mod:`kiosk.controller` re-exports every name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from .messages import Lang

log = logging.getLogger(__name__)

__all__ = [
    "Screen",
    "ItemState",
    "SESSION_SCREENS",
    "UiAction",
    "Tick",
    "ControllerSettings",
    "ItemView",
    "View",
]


class Screen(StrEnum):
    ATTRACT = "attract"
    PIN = "pin"
    MENU = "menu"
    BORROW = "borrow"
    CONFIRM_COUNT = "confirm_count"
    RETURN = "return"
    RENEW = "renew"
    ACCOUNT = "account"
    RECEIPT = "receipt"
    GOODBYE = "goodbye"
    NOTICE = "notice"


class ItemState(StrEnum):
    IDENTIFIED = "identified"  # read, waiting to be lent / returned
    WAITING_SET = "waiting_set"  # part of a set, other parts not seen yet
    WORKING = "working"
    DONE = "done"
    SECURITY_PENDING = "security_pending"  # lent, the tag left before its security was written
    SECURITY_FAILED = "security_failed"  # lent, the security write did not verify
    REFUSED = "refused"
    REMOVED = "removed"  # left the pad before it was lent


SESSION_SCREENS = {Screen.MENU, Screen.BORROW, Screen.CONFIRM_COUNT, Screen.RENEW, Screen.ACCOUNT, Screen.PIN}


@dataclass(frozen=True)
class UiAction:
    """Something the patron did on the screen. ``name`` is one of the controller's actions."""

    name: str
    value: str = ""


@dataclass(frozen=True)
class Tick:
    """Wakes the controller for timers (posted by its own loop)."""


@dataclass(frozen=True)
class ControllerSettings:
    library_name: str = "Thư viện"
    kiosk_id: str = "kiosk"
    accepted_owners: tuple[str, ...] = ()  # ISIL prefixes; empty accepts every owner
    pin_required: bool = False
    confirm_count: bool = False
    settle_s: float = 1.5
    session_timeout_s: float = 60.0
    warning_s: float = 15.0
    goodbye_s: float = 4.0
    notice_s: float = 12.0
    toast_s: float = 4.0
    ping_s: float = 10.0
    receipt_mode: str = "ask"  # ask | print | email | none
    default_lang: Lang = "vi"
    store_and_forward: bool = False
    parallel_checkouts: int = 1  # > 1 needs an Ils that takes concurrent calls (a pool of SIP2 connections)


@dataclass(frozen=True)
class ItemView:
    key: str
    item_id: str
    title: str
    state: ItemState
    code: str
    text: str
    parts: str
    due: str
    failure: bool


@dataclass(frozen=True)
class View:
    """Everything a screen shows, already in the patron's language."""

    screen: Screen
    lang: Lang
    headline_code: str = ""
    headline: str = ""
    patron_name: str = ""
    items: tuple[ItemView, ...] = ()
    notice_code: str = ""
    notice: str = ""
    toast_code: str = ""
    toast: str = ""
    offline: bool = False
    offline_text: str = ""
    warning_seconds: int | None = None
    warning_text: str = ""
    loans: tuple[str, ...] = ()
    titles: tuple[tuple[str, str], ...] = ()  # item id -> title, for the loans and holds listed
    holds: tuple[str, ...] = ()
    overdue: tuple[str, ...] = ()
    fee_vnd: int = 0
    account_text: str = ""
    count_to_confirm: int = 0
    receipt_options: tuple[str, ...] = ()
    busy: bool = False
    cue: str = ""
    cue_serial: int = 0
    serial: int = 0
