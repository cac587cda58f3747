"""Several SIP2 connections of one kiosk, so that the checkouts of a stack can be in flight together.

SIP2 is one request at a time per connection; a self-check machine may hold more than one connection (each
logs in with the kiosk's account). Every call borrows a free connection and returns it afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
from collections.abc import Callable
from typing import TypeVar

from .port import ItemInfo, LoanResult, PatronInfo, RenewAllResult, ReturnResult
from .sip2 import Sip2Client, Sip2Config

log = logging.getLogger(__name__)

__all__ = ["Sip2Pool"]

T = TypeVar("T")


class Sip2Pool:
    """Implements :class:`kiosk.ils.port.Ils` over ``size`` SIP2 connections (opened on first use)."""

    def __init__(self, config: Sip2Config, size: int = 2) -> None:
        if size < 1:
            raise ValueError(f"a SIP2 pool needs at least one connection, got {size!r}")
        self.clients = [Sip2Client(config) for _ in range(size)]
        self._free: queue.Queue[Sip2Client] = queue.Queue()
        for client in self.clients:
            self._free.put(client)

    def _with(self, call: Callable[[Sip2Client], T]) -> T:
        client = self._free.get()
        try:
            return call(client)
        finally:
            self._free.put(client)

    def patron_info(self, patron_id: str, pin: str = "") -> PatronInfo:
        return self._with(lambda c: c.patron_info(patron_id, pin))

    def checkout(
        self,
        patron_id: str,
        item_id: str,
        pin: str = "",
        *,
        no_block: bool = False,
        when: dt.datetime | None = None,
        due: dt.datetime | None = None,
    ) -> LoanResult:
        return self._with(lambda c: c.checkout(patron_id, item_id, pin, no_block=no_block, when=when, due=due))

    def checkin(self, item_id: str, *, no_block: bool = False, when: dt.datetime | None = None) -> ReturnResult:
        return self._with(lambda c: c.checkin(item_id, no_block=no_block, when=when))

    def renew(self, patron_id: str, item_id: str, pin: str = "") -> LoanResult:
        return self._with(lambda c: c.renew(patron_id, item_id, pin))

    def renew_all(self, patron_id: str, pin: str = "") -> RenewAllResult:
        return self._with(lambda c: c.renew_all(patron_id, pin))

    def item_info(self, item_id: str) -> ItemInfo:
        return self._with(lambda c: c.item_info(item_id))

    def end_session(self, patron_id: str, pin: str = "") -> None:
        self._with(lambda c: c.end_session(patron_id, pin))

    def ping(self) -> bool:
        return self._with(lambda c: c.ping())

    def close(self) -> None:
        for client in self.clients:
            client.close()
