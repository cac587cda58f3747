"""The self-checkout state machine: no Kivy, no hardware — domain events in, :class:`View` snapshots out.

::

    ATTRACT ──card──▶ (PIN) ──▶ MENU ──▶ BORROW ─┬─▶ (CONFIRM_COUNT) ─▶ BORROW
       │                          ├──▶ RENEW     │
       │                          └──▶ ACCOUNT   └──finish──▶ (RECEIPT) ──▶ GOODBYE ──▶ ATTRACT
       └──return──▶ RETURN ──finish──▶ (RECEIPT) ──▶ GOODBYE
    any screen ──problem──▶ NOTICE (code + text) ──dismiss──▶ where it came from

Inputs are posted to one queue from any thread (pad events from :class:`~kiosk.pad.PadScanner`, cards,
:class:`UiAction` from the screen) and handled one at a time on the controller's thread, which is the only
thread that talks to the ILS and writes tags. Rules the code keeps everywhere:

* nothing is lent without the ILS's yes (a ``LoanResult`` with ``ok``; offline, the journal's entry);
* a tag's security is only cleared after that yes, and written back on return only after the ILS's yes;
* every message a patron sees is a :mod:`kiosk.messages` code with Vietnamese and English text.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field, replace
from typing import Any

from edge.iso15693 import Uid
from edge.readers import PatronCardPresented, TagLeft, TagSeen
from edge.tags import LibraryTag

from .events import EventSink, MemorySink
from .ils import Ils, IlsError, IlsUnavailable, LoanResult, PatronInfo
from .messages import MESSAGES, Lang, text
from .receipts import EmailReceipts, PaperOutError, Receipt, ReceiptError, ReceiptLine, ReceiptPrinter
from .security import SecurityWriter, WriteOutcome
from .state import (
    SESSION_SCREENS,
    ControllerSettings,
    ItemState,
    ItemView,
    Screen,
    Tick,
    UiAction,
    View,
)

log = logging.getLogger(__name__)

__all__ = [
    "Screen",
    "ItemState",
    "UiAction",
    "Tick",
    "ControllerSettings",
    "ItemView",
    "View",
    "KioskController",
]


@dataclass
class _Item:
    key: str
    item_id: str
    title: str = ""
    parts_total: int = 1
    uids: dict[Uid, int] = field(default_factory=dict)  # uid -> part number
    present: set[Uid] = field(default_factory=set)
    state: ItemState = ItemState.IDENTIFIED
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    due_text: str = ""
    written: set[Uid] = field(default_factory=set)
    first_seen: float = 0.0


Event = TagSeen | TagLeft | PatronCardPresented | UiAction | Tick


def _format_due(loan: LoanResult) -> str:
    if loan.due is not None:
        return loan.due.strftime("%d/%m/%Y")
    return loan.due_text


class KioskController:
    """The kiosk's brain. Feed it with :meth:`post`; run :meth:`run` in a thread or call :meth:`handle`."""

    def __init__(
        self,
        ils: Ils,
        security: SecurityWriter | None,
        *,
        settings: ControllerSettings | None = None,
        printer: ReceiptPrinter | None = None,
        email: EmailReceipts | None = None,
        sink: EventSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_session_end: Callable[[], None] | None = None,
        forget_tag: Callable[[Uid], None] | None = None,
    ) -> None:
        self.ils = ils
        self.security = security
        self.settings = settings or ControllerSettings()
        self.printer = printer
        self.email = email
        self.sink: EventSink = sink or MemorySink()
        self.clock = clock
        self.on_session_end = on_session_end
        self.forget_tag = forget_tag  # so the pad reports a lifted tag again as soon as it is back
        self._queue: queue.Queue[Event] = queue.Queue()
        self._listeners: list[Callable[[View], None]] = []
        self.lang: Lang = self.settings.default_lang
        self.screen = Screen.ATTRACT
        self.pad: dict[Uid, TagSeen] = {}
        self.items: dict[str, _Item] = {}
        self.patron: PatronInfo | None = None
        self.patron_id = ""
        self.pin = ""
        self.transactions: list[ReceiptLine] = []
        self.offline = False
        self._offline_in_session = False
        self._notice: tuple[str, dict[str, Any], Screen] | None = None
        self._notice_at = 0.0
        self._toast: tuple[str, dict[str, Any]] | None = None
        self._toast_at = 0.0
        self._headline: tuple[str, dict[str, Any]] = ("KIOSK-WELCOME-001", {})
        self._last_activity = clock()
        self._last_pad_change = clock()
        self._goodbye_at = 0.0
        self._last_ping = clock()
        self._confirmed: set[str] = set()
        self._cue = ""
        self._cue_serial = 0
        self._serial = 0
        self._busy = False
        self._working = False
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[Future[LoanResult | IlsUnavailable], str] = {}
        self._titles: dict[str, str] = {}
        self._front: deque[Event] = deque()
        self.view = self._snapshot()

    # -- plumbing --------------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[View], None]) -> None:
        self._listeners.append(listener)
        listener(self.view)

    def post(self, event: Event) -> None:
        """Queue an event (any thread)."""
        self._queue.put(event)

    def _more_tags(self) -> list[TagSeen]:
        """Tags already waiting in the queue, so that a stack is lent as a batch (other events keep their turn)."""
        tags: list[TagSeen] = []
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return tags
            if isinstance(event, TagSeen):
                tags.append(event)
            else:
                self._front.append(event)
                return tags

    def _next(self, timeout: float | None) -> Event | None:
        if self._front:
            return self._front.popleft()
        try:
            if timeout is None:
                return self._queue.get_nowait()
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def process_pending(self) -> int:
        """Handle every queued event on this thread (tests); returns how many."""
        count = 0
        while True:
            event = self._next(None)
            if event is None:
                return count
            self.handle(event)
            count += 1

    def run(self, stop: threading.Event, *, poll: float = 0.1) -> None:
        self._check_online()  # at start: a journal left by an earlier run is replayed first
        self._publish()
        while not stop.is_set():
            event = self._next(poll)
            self.handle(event if event is not None else Tick())
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def handle(self, event: Event) -> None:
        try:
            self._collect()
            if isinstance(event, UiAction) and event.name not in ("language", "still_here", "key"):
                self._collect(wait=True)  # screens change only when every checkout in flight is answered
            if isinstance(event, TagSeen):
                self._on_tag_seen(event)
            elif isinstance(event, TagLeft):
                self._on_tag_left(event)
            elif isinstance(event, PatronCardPresented):
                self._touch()
                self._on_card(event.card_id)
            elif isinstance(event, UiAction):
                self._touch()
                self._on_action(event)
            self._on_tick()
        except Exception:
            log.exception("kiosk controller failed on %r", event)
            self._show_notice("KIOSK-SYSTEM-001", back_to=Screen.ATTRACT)
        self._publish()

    def _touch(self) -> None:
        self._last_activity = self.clock()

    def _publish(self) -> None:
        self.view = self._snapshot()
        for listener in list(self._listeners):
            try:
                listener(self.view)
            except Exception:
                log.exception("view listener failed")

    def _cue_sound(self, kind: str) -> None:
        self._cue = kind
        self._cue_serial += 1

    def _text(self, code: str, params: dict[str, Any] | None = None) -> str:
        values = dict(params or {})
        if isinstance(values.get("reason"), str):
            values["reason"] = self._localise(values["reason"])
        return text(code, self.lang, **values)

    def _localise(self, message: str) -> str:
        """Many ILSs send bilingual screen messages ("Vietnamese / English"): keep the patron's half."""
        parts = []
        for piece in message.split("; "):
            if " / " in piece:
                vi, _, en = piece.partition(" / ")
                piece = vi if self.lang == "vi" else en
            parts.append(piece)
        return "; ".join(parts)

    def _snapshot(self) -> View:
        self._serial += 1
        items = tuple(self._item_view(item) for item in self.items.values())
        notice_code, notice_text = "", ""
        if self._notice is not None:
            notice_code = self._notice[0]
            notice_text = self._text(self._notice[0], self._notice[1])
        toast_code, toast_text = "", ""
        if self._toast is not None:
            toast_code, toast_text = self._toast[0], self._text(self._toast[0], self._toast[1])
        offline_text = ""
        if self.offline:
            offline_text = self._text("KIOSK-OFFLINE-002" if self.settings.store_and_forward else "KIOSK-OFFLINE-001")
            if self._offline_in_session and self.screen in SESSION_SCREENS | {Screen.RETURN}:
                offline_text = self._text("KIOSK-OFFLINE-003")
        warning: int | None = None
        warning_text = ""
        if self._in_session():
            idle = self.clock() - self._last_activity
            left = self.settings.session_timeout_s - idle
            if left <= self.settings.warning_s:
                warning = max(0, int(left + 0.999))
                warning_text = self._text("KIOSK-SESSION-001", {"seconds": warning})
        patron = self.patron
        account_text = ""
        if patron is not None:
            account_text = self._text(
                "KIOSK-ACCOUNT-001",
                {
                    "loans": len(patron.loans),
                    "overdue": len(patron.overdue),
                    "holds": len(patron.holds_ready),
                    "fee": f"{patron.fee_vnd:,}".replace(",", "."),
                },
            )
        confirm = len(self._unconfirmed())
        return View(
            screen=self.screen,
            lang=self.lang,
            headline_code=self._headline[0],
            headline=self._text(*self._headline),
            patron_name=patron.name if patron else "",
            items=items,
            notice_code=notice_code,
            notice=notice_text,
            toast_code=toast_code,
            toast=toast_text,
            offline=self.offline,
            offline_text=offline_text,
            warning_seconds=warning,
            warning_text=warning_text,
            loans=patron.loans if patron else (),
            titles=tuple(sorted(self._titles.items())),
            holds=patron.holds_ready if patron else (),
            overdue=patron.overdue if patron else (),
            fee_vnd=patron.fee_vnd if patron else 0,
            account_text=account_text,
            count_to_confirm=confirm if self.screen is Screen.CONFIRM_COUNT else 0,
            receipt_options=self._receipt_options() if self.screen is Screen.RECEIPT else (),
            busy=self._busy,
            cue=self._cue,
            cue_serial=self._cue_serial,
            serial=self._serial,
        )

    def _item_view(self, item: _Item) -> ItemView:
        message = MESSAGES.get(item.code)
        parts = ""
        if item.parts_total > 1:
            parts = f"{len(item.present | item.written)}/{item.parts_total}"
        return ItemView(
            key=item.key,
            item_id=item.item_id,
            title=item.title or item.item_id,
            state=item.state,
            code=item.code,
            text=self._text(item.code, item.params) if item.code else "",
            parts=parts,
            due=item.due_text,
            failure=bool(message and message.failure),
        )

    # -- timers ----------------------------------------------------------------------------------------

    def _in_session(self) -> bool:
        return (
            self.screen in SESSION_SCREENS
            or self.screen in (Screen.RETURN, Screen.RECEIPT)
            or (self.screen is Screen.NOTICE and self._notice is not None and self._notice[2] in SESSION_SCREENS)
        )

    def _on_tick(self) -> None:
        now = self.clock()
        if self._toast is not None and now - self._toast_at > self.settings.toast_s:
            self._toast = None
        if self.screen is Screen.GOODBYE and now >= self._goodbye_at:
            self._go_attract()
            return
        if self.screen is Screen.NOTICE and now - self._notice_at > self.settings.notice_s:
            self._dismiss_notice()
        if self._in_session() and now - self._last_activity >= self.settings.session_timeout_s:
            log.info("session ended after %.0f s without activity", self.settings.session_timeout_s)
            self._finish(timed_out=True)
            return
        if self.screen in (Screen.BORROW, Screen.RETURN) and now - self._last_pad_change >= self.settings.settle_s:
            self._settled()
        if self.screen is Screen.ATTRACT and self.offline and now - self._last_ping >= self.settings.ping_s:
            self._check_online()
            if not self.offline:
                log.info("library system reachable again")

    def _check_online(self) -> None:
        self._last_ping = self.clock()
        try:
            self.offline = not self.ils.ping()
        except IlsError:
            self.offline = True

    # -- pad -------------------------------------------------------------------------------------------

    def _on_tag_seen(self, event: TagSeen) -> None:
        self.pad[event.uid] = event
        self._last_pad_change = self.clock()
        if self.screen in (Screen.BORROW, Screen.RETURN, Screen.CONFIRM_COUNT):
            self._touch()
            self._add_tag(event)
            for more in self._more_tags():
                self.pad[more.uid] = more
                self._add_tag(more)
            self._work()
        elif self.screen is Screen.RENEW and event.tag is not None and event.tag.primary_item_id:
            self._touch()
            self._renew(event.tag.primary_item_id)

    def _on_tag_left(self, event: TagLeft) -> None:
        self.pad.pop(event.uid, None)
        self._last_pad_change = self.clock()
        for item in list(self.items.values()):
            if event.uid not in item.uids:
                continue
            item.present.discard(event.uid)
            if item.state in (ItemState.IDENTIFIED, ItemState.WAITING_SET) and not item.present:
                if item.code == "KIOSK-CHECKOUT-004":
                    continue  # a refused incomplete set taken away: keep its message
                if self.screen is Screen.CONFIRM_COUNT or self.settings.confirm_count:
                    del self.items[item.key]
                else:
                    item.state, item.code = ItemState.REMOVED, "KIOSK-CHECKOUT-005"
                    self._cue_sound("failure")
            elif item.state in (ItemState.IDENTIFIED, ItemState.WAITING_SET):
                # a part of a set left: it waits for its parts again (and is asked about again when settled)
                parts = {part for uid, part in item.uids.items() if uid in item.present}
                if len(parts) < item.parts_total:
                    item.state, item.code, item.params = ItemState.WAITING_SET, "", {}
            elif item.state in (ItemState.REFUSED, ItemState.REMOVED) and not item.present and not item.code:
                del self.items[item.key]

    def _add_tag(self, event: TagSeen) -> None:
        tag = event.tag
        if tag is None:
            self._problem_item(f"uid:{event.uid}", "KIOSK-ITEM-001", {}, event.uid)
            return
        if tag.is_blank or not tag.primary_item_id or tag.type_of_usage in (8, 9):
            self._problem_item(f"uid:{event.uid}", "KIOSK-ITEM-004", {}, event.uid)
            return
        owner = tag.owner_isil or ""
        accepted = self.settings.accepted_owners
        if owner and accepted and not any(owner.upper().startswith(p.upper()) for p in accepted):
            self._problem_item(tag.primary_item_id, "KIOSK-ITEM-002", {"owner": owner}, event.uid, tag)
            return
        item = self.items.get(tag.primary_item_id)
        if item is None:
            item = _Item(
                key=tag.primary_item_id,
                item_id=tag.primary_item_id,
                title=tag.title or "",
                parts_total=max(1, tag.parts_in_set or 1),
                first_seen=self.clock(),
            )
            self.items[item.key] = item
        item.uids[event.uid] = tag.part_number or 1
        item.present.add(event.uid)
        if item.state is ItemState.REMOVED:
            item.state, item.code, item.params = ItemState.IDENTIFIED, "", {}
        if item.state in (ItemState.SECURITY_PENDING, ItemState.SECURITY_FAILED):
            reported = item.state is ItemState.SECURITY_FAILED
            if self._retry_security(item, event.uid) is ItemState.DONE and reported:
                self.sink.emit("tag_write_recovered", {"item_id": item.item_id, "kiosk": self.settings.kiosk_id})
            return
        if item.state in (ItemState.IDENTIFIED, ItemState.WAITING_SET):
            parts = {part for uid, part in item.uids.items() if uid in item.present}
            complete = len(parts) >= item.parts_total
            item.state = ItemState.IDENTIFIED if complete else ItemState.WAITING_SET
            item.code, item.params = "", {}

    def _unconfirmed(self) -> list[_Item]:
        return [i for i in self.items.values() if i.state is ItemState.IDENTIFIED and i.key not in self._confirmed]

    def _problem_item(
        self, key: str, code: str, params: dict[str, Any], uid: Uid, tag: LibraryTag | None = None
    ) -> None:
        item_id = (tag.primary_item_id or "") if tag else ""
        item = self.items.get(key) or _Item(key=key, item_id=item_id)
        item.title = (tag.title or item_id) if tag else f"RFID {uid}"
        item.uids[uid] = 1
        item.present.add(uid)
        item.state, item.code, item.params = ItemState.REFUSED, code, params
        self.items[key] = item
        self._cue_sound("failure")

    def _settled(self) -> None:
        """The pad has been still for a while: refuse incomplete sets, ask for the count if configured."""
        changed = False
        for item in self.items.values():
            if item.state is ItemState.WAITING_SET and item.code != "KIOSK-CHECKOUT-004":
                seen = len({part for uid, part in item.uids.items() if uid in item.present})
                item.code, item.params = "KIOSK-CHECKOUT-004", {"seen": seen, "total": item.parts_total}
                self._title_from_ils(item)
                self._cue_sound("failure")
                changed = True
        if changed:
            log.info("incomplete set(s) on the pad")
        if self.screen is Screen.BORROW and self.settings.confirm_count:
            pending = self._unconfirmed()
            if pending:
                for item in pending:
                    self._title_from_ils(item)  # the patron checks the list before saying yes
                self.screen = Screen.CONFIRM_COUNT
                self._headline = ("KIOSK-CHECKOUT-006", {"count": len(pending)})

    def _title_from_ils(self, item: _Item) -> None:
        if item.title or not item.item_id:
            return
        try:
            item.title = self.ils.item_info(item.item_id).title
        except IlsError:
            pass

    def has_work(self) -> bool:
        """True while events wait or items are being lent/returned (any thread may ask)."""
        return self._working or bool(self._inflight) or bool(self._front) or not self._queue.empty()

    def _work(self) -> None:
        """Lend or return every item that is ready (complete, identified, confirmed when required)."""
        if self.screen not in (Screen.BORROW, Screen.RETURN):
            return
        self._working = True
        try:
            self._work_items()
        finally:
            self._working = False

    def _work_items(self) -> None:
        ready = [i for i in self.items.values() if i.state is ItemState.IDENTIFIED]
        if self.screen is Screen.BORROW:
            if self.settings.confirm_count:
                ready = [i for i in ready if i.key in self._confirmed]
            for item in ready:
                if self.settings.parallel_checkouts > 1:
                    self._lend_async(item)
                else:
                    self._lend(item)
        else:
            for item in ready:
                self._return(item)

    # -- borrowing -------------------------------------------------------------------------------------

    def _checkout(self, item_id: str, patron_id: str, pin: str) -> LoanResult | IlsUnavailable:
        try:
            return self.ils.checkout(patron_id, item_id, pin)
        except IlsUnavailable as exc:
            return exc

    def _lend(self, item: _Item) -> None:
        item.state = ItemState.WORKING
        self._publish()
        self._lent(item, self._checkout(item.item_id, self.patron_id, self.pin))

    def _lend_async(self, item: _Item) -> None:
        """Send the checkout on a pool thread (one SIP2 connection each): the stack's checkouts are in flight
        together and each tag is written on this thread as soon as its own yes is collected."""
        item.state = ItemState.WORKING
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.settings.parallel_checkouts, thread_name_prefix="kiosk-sip2")
        future = self._pool.submit(self._checkout, item.item_id, self.patron_id, self.pin)
        future.add_done_callback(lambda _f: self._queue.put(Tick()))
        self._inflight[future] = item.key

    def _collect(self, *, wait: bool = False) -> None:
        """Apply the answers of checkouts in flight (all of them, waiting, when ``wait``)."""
        if not self._inflight:
            return
        futures = list(self._inflight)
        if wait:
            futures_wait(futures)
        for future in futures:
            if not future.done():
                continue
            key = self._inflight.pop(future)
            item = self.items.get(key)
            if item is not None and item.state is ItemState.WORKING:
                self._lent(item, future.result())
            else:
                log.warning("checkout answer for %s arrived after its item left the session", key)

    def drain(self) -> None:
        """Wait for every checkout in flight and apply it (tests, shutdown)."""
        self._collect(wait=True)
        self._publish()

    def _lent(self, item: _Item, loan: LoanResult | IlsUnavailable) -> None:
        if isinstance(loan, IlsUnavailable):
            self.offline = True
            item.state, item.code, item.params = ItemState.REFUSED, "KIOSK-OFFLINE-004", {}
            self._cue_sound("failure")
            return
        if not loan.ok:
            self._refused(item, "KIOSK-CHECKOUT-003", loan.screen_messages)
            return
        if loan.offline:
            self.offline = self._offline_in_session = True
        item.title = loan.title or item.title
        item.due_text = _format_due(loan)
        self.transactions.append(ReceiptLine("checkout", item.item_id, item.title, item.due_text))
        self.sink.emit(
            "checkout",
            {"item_id": item.item_id, "patron_id": self.patron_id, "due": item.due_text, "offline": loan.offline},
        )
        code = "KIOSK-CHECKOUT-007" if loan.offline else "KIOSK-CHECKOUT-002"
        if loan.security_inhibit:
            item.state, item.code, item.params = ItemState.DONE, code, {"due": item.due_text}
            self._cue_sound("success")
            return
        if loan.desensitize is False:
            # The library system lent the item but asks that its security stay set (staff unlock it at the desk).
            item.state, item.code, item.params = ItemState.DONE, "KIOSK-CHECKOUT-010", {"due": item.due_text}
            self._cue_sound("failure")
            return
        self._secure_item(item, on_loan=True, ok_code=code)

    def _secure_item(self, item: _Item, *, on_loan: bool, ok_code: str) -> None:
        failed = False
        for uid in sorted(item.uids):
            if uid in item.written:
                continue
            if uid not in item.present:
                continue
            outcome = WriteOutcome.VERIFIED
            if self.security is not None:
                outcome = self.security.set_on_loan(uid) if on_loan else self.security.set_in_stock(uid)
            if outcome is WriteOutcome.VERIFIED:
                item.written.add(uid)
            elif outcome is WriteOutcome.TAG_GONE:
                item.present.discard(uid)
                self.pad.pop(uid, None)
                if self.forget_tag is not None:
                    self.forget_tag(uid)
            else:
                failed = True
        missing = set(item.uids) - item.written
        if not missing:
            item.state, item.code, item.params = ItemState.DONE, ok_code, {"due": item.due_text}
            self._cue_sound("success")
        elif failed:
            item.state, item.code, item.params = ItemState.SECURITY_FAILED, "KIOSK-SECURITY-001", {}
            self._report_write_failed(item, missing, on_loan)
            self._cue_sound("failure")
        else:
            item.state, item.code, item.params = ItemState.SECURITY_PENDING, "KIOSK-CHECKOUT-005", {}
            self._cue_sound("failure")

    def _retry_security(self, item: _Item, uid: Uid) -> ItemState:
        on_loan = self.screen is not Screen.RETURN
        ok_code = "KIOSK-CHECKOUT-002" if on_loan else "KIOSK-CHECKIN-001"
        self._secure_item(item, on_loan=on_loan, ok_code=ok_code)
        return item.state

    def _report_write_failed(self, item: _Item, uids: set[Uid], on_loan: bool) -> None:
        self.sink.emit(
            "tag_write_failed",
            {
                "item_id": item.item_id,
                "uids": sorted(str(u) for u in uids),
                "wanted": "on_loan" if on_loan else "in_stock",
                "patron_id": self.patron_id,
                "kiosk": self.settings.kiosk_id,
            },
        )

    def _refused(self, item: _Item, code: str, reasons: tuple[str, ...]) -> None:
        known = True
        try:
            known = self.ils.item_info(item.item_id).known
        except IlsError:
            pass
        if not known:
            item.state, item.code, item.params = ItemState.REFUSED, "KIOSK-ITEM-003", {"item": item.item_id}
        else:
            reason = "; ".join(reasons) or ("—" if self.lang == "vi" else "—")
            item.state, item.code, item.params = ItemState.REFUSED, code, {"reason": reason}
        self._cue_sound("failure")

    # -- returning -------------------------------------------------------------------------------------

    def _return(self, item: _Item) -> None:
        item.state = ItemState.WORKING
        self._publish()
        try:
            back = self.ils.checkin(item.item_id)
        except IlsUnavailable:
            self.offline = True
            item.state, item.code, item.params = ItemState.REFUSED, "KIOSK-OFFLINE-004", {}
            self._cue_sound("failure")
            return
        if not back.ok:
            self._refused(item, "KIOSK-CHECKIN-002", back.screen_messages)
            return
        if back.offline:
            self.offline = self._offline_in_session = True
        item.title = back.title or item.title
        self.transactions.append(ReceiptLine("checkin", item.item_id, item.title))
        self.sink.emit("checkin", {"item_id": item.item_id, "offline": back.offline, "sort_bin": back.sort_bin})
        code = "KIOSK-CHECKIN-001"
        if back.offline:
            code = "KIOSK-CHECKIN-005"
        elif back.alert and back.alert_type in ("01", "02", "03"):
            code = "KIOSK-CHECKIN-003"
        self._secure_item(item, on_loan=False, ok_code=code)

    # -- renewing --------------------------------------------------------------------------------------

    def _renew(self, item_id: str) -> None:
        try:
            loan = self.ils.renew(self.patron_id, item_id, self.pin)
        except IlsUnavailable:
            self.offline = True
            self._set_toast("KIOSK-OFFLINE-004", {})
            self._cue_sound("failure")
            return
        if loan.ok:
            due = _format_due(loan)
            self.transactions.append(ReceiptLine("renew", item_id, loan.title or item_id, due))
            self.sink.emit("renew", {"item_id": item_id, "patron_id": self.patron_id, "due": due})
            self.items[item_id] = _Item(
                key=item_id,
                item_id=item_id,
                title=loan.title,
                state=ItemState.DONE,
                code="KIOSK-RENEW-001",
                params={"due": due},
                due_text=due,
            )
            self._cue_sound("success")
        else:
            reason = "; ".join(loan.screen_messages) or "—"
            self.items[item_id] = _Item(
                key=item_id,
                item_id=item_id,
                title=loan.title,
                state=ItemState.REFUSED,
                code="KIOSK-RENEW-002",
                params={"reason": reason},
            )
            self._cue_sound("failure")

    def _renew_all(self) -> None:
        try:
            result = self.ils.renew_all(self.patron_id, self.pin)
        except IlsUnavailable:
            self.offline = True
            self._set_toast("KIOSK-OFFLINE-004", {})
            self._cue_sound("failure")
            return
        for item_id in result.renewed:
            self.transactions.append(ReceiptLine("renew", item_id, item_id))
            self.sink.emit("renew", {"item_id": item_id, "patron_id": self.patron_id})
        self._headline = ("KIOSK-RENEW-004", {"renewed": len(result.renewed), "unrenewed": len(result.unrenewed)})
        self._cue_sound("success" if result.ok and not result.unrenewed else "failure")

    # -- patrons ---------------------------------------------------------------------------------------

    def _on_card(self, card: str) -> None:
        card = card.strip()
        if not card:
            return
        if self.screen in SESSION_SCREENS or self.screen is Screen.RETURN:
            if card == self.patron_id:
                self._set_toast("KIOSK-PATRON-005", {})
            else:
                self._set_toast("KIOSK-PATRON-008", {})
                self._cue_sound("failure")
            return
        if self.screen is Screen.NOTICE and self._notice is not None and self._notice[2] in SESSION_SCREENS:
            return
        if self.screen not in (Screen.ATTRACT, Screen.NOTICE, Screen.GOODBYE):
            return
        self._identify(card, "")

    def _identify(self, card: str, pin: str) -> None:
        self._busy = True
        self._publish()
        try:
            info = self.ils.patron_info(card, pin)
        except IlsUnavailable:
            self._busy = False
            self.offline = True
            self._show_notice("KIOSK-OFFLINE-001", back_to=Screen.ATTRACT)
            return
        finally:
            self._busy = False
        self.offline = info.offline
        if not info.valid and not info.name:
            self._show_notice("KIOSK-PATRON-001", {"card": card}, back_to=Screen.ATTRACT)
            return
        if self.settings.pin_required and not info.offline:
            if not pin:
                self.patron_id = card
                self.screen = Screen.PIN
                self._headline = ("KIOSK-PATRON-004", {})
                return
            if info.pin_ok is not True:
                self._show_notice("KIOSK-PATRON-003", back_to=Screen.PIN)
                return
        if info.blocked:
            reason = "; ".join(info.screen_messages)
            self._show_notice("KIOSK-PATRON-002", {"reason": reason}, back_to=Screen.ATTRACT)
            self.patron_id = ""
            return
        self.patron = info
        self.patron_id = card
        self.pin = pin
        self.screen = Screen.MENU
        self._headline = ("KIOSK-SESSION-003", {})
        if info.holds_ready:
            self._set_toast("KIOSK-PATRON-007", {"count": len(info.holds_ready)})
        elif info.fee_vnd:
            self._set_toast("KIOSK-PATRON-006", {"fee": f"{info.fee_vnd:,}".replace(",", ".")})
        self._cue_sound("success")
        log.info("session opened for patron card ending %s", card[-4:])

    # -- actions ---------------------------------------------------------------------------------------

    def _on_action(self, action: UiAction) -> None:  # noqa: C901 - one branch per action
        name = action.name
        if name == "language":
            self.lang = "en" if self.lang == "vi" else "vi"
        elif name == "still_here":
            pass
        elif name == "card" and self.screen in (Screen.ATTRACT, Screen.NOTICE):
            self._on_card(action.value)
        elif name == "pin" and self.screen is Screen.PIN:
            self._identify(self.patron_id, action.value)
        elif name == "dismiss" and self.screen is Screen.NOTICE:
            self._dismiss_notice()
        elif name == "borrow" and self.screen in (Screen.MENU, Screen.RENEW, Screen.ACCOUNT):
            self._enter_pad_screen(Screen.BORROW, "KIOSK-CHECKOUT-001")
        elif name == "return" and self.screen in (Screen.ATTRACT, Screen.MENU):
            if self.screen is Screen.ATTRACT:
                self.patron, self.patron_id, self.pin = None, "", ""
            self._enter_pad_screen(Screen.RETURN, "KIOSK-CHECKIN-004")
        elif name == "renew" and self.screen in (Screen.MENU, Screen.BORROW, Screen.ACCOUNT):
            self._refresh_patron()
            self.items = {}
            self.screen = Screen.RENEW
            self._headline = ("KIOSK-RENEW-003", {})
        elif name == "renew_item" and self.screen is Screen.RENEW:
            self._renew(action.value)
        elif name == "renew_all" and self.screen is Screen.RENEW:
            self._renew_all()
            self._refresh_patron()
        elif name == "account" and self.screen in (Screen.MENU, Screen.BORROW, Screen.RENEW):
            self._refresh_patron()
            self.screen = Screen.ACCOUNT
            self._headline = ("KIOSK-SESSION-003", {})
        elif name == "back" and self.screen in (Screen.BORROW, Screen.RENEW, Screen.ACCOUNT):
            self.screen = Screen.MENU
            self.items = {}
            self._headline = ("KIOSK-SESSION-003", {})
        elif name in ("confirm_yes", "confirm_no") and self.screen is Screen.CONFIRM_COUNT:
            self._confirm(name == "confirm_yes")
        elif name == "finish" and (self._in_session() and self.screen is not Screen.RECEIPT):
            self._finish(timed_out=False)
        elif name == "receipt" and self.screen is Screen.RECEIPT:
            self._receipt(action.value)
        else:
            log.debug("action %r ignored on screen %s", action, self.screen)

    def _enter_pad_screen(self, screen: Screen, headline: str) -> None:
        self.screen = screen
        self._headline = (headline, {})
        self.items = {}
        self._confirmed = set()
        self._last_pad_change = self.clock()
        for event in list(self.pad.values()):
            self._add_tag(event)
        self._work()

    def _confirm(self, yes: bool) -> None:
        pending = self._unconfirmed()
        self.screen = Screen.BORROW
        self._headline = ("KIOSK-CHECKOUT-001", {})
        if yes:
            self._confirmed.update(i.key for i in pending)
            self._work()
        else:
            # Keep what the pad sees; the patron spreads the books out and is asked again once it settles.
            self._last_pad_change = self.clock()
            self._show_notice("KIOSK-CHECKOUT-009", back_to=Screen.BORROW)

    def _refresh_patron(self) -> None:
        if not self.patron_id:
            return
        try:
            info = self.ils.patron_info(self.patron_id, self.pin)
        except IlsUnavailable:
            self.offline = True
            self._set_toast("KIOSK-OFFLINE-004", {})
            return
        if info.valid:
            self.patron = info
            self._look_up_titles(info.loans + info.holds_ready + info.overdue)

    def _look_up_titles(self, item_ids: tuple[str, ...], limit: int = 30) -> None:
        """Titles for the account and renew screens (SIP2 lists item identifiers)."""
        for item_id in item_ids[:limit]:
            if item_id in self._titles:
                continue
            try:
                info = self.ils.item_info(item_id)
            except IlsError:
                return
            self._titles[item_id] = info.title or item_id

    # -- ending ----------------------------------------------------------------------------------------

    def _receipt_options(self) -> tuple[str, ...]:
        options: list[str] = []
        if self.printer is not None:
            options.append("print")
        if self.email is not None and self.patron is not None and self.patron.email:
            options.append("email")
        options.append("none")
        return tuple(options)

    def _finish(self, *, timed_out: bool) -> None:
        self._collect(wait=True)
        for item in self.items.values():
            if item.state is ItemState.SECURITY_PENDING:
                item.state, item.code = ItemState.SECURITY_FAILED, "KIOSK-SECURITY-001"
                self._report_write_failed(item, set(item.uids) - item.written, self.screen is not Screen.RETURN)
        if self.patron_id and self.patron is not None:
            try:
                self.ils.end_session(self.patron_id, self.pin)
            except IlsError:
                log.info("end of session not acknowledged")
        mode = self.settings.receipt_mode
        if not self.transactions or mode == "none" or timed_out:
            self._goodbye()
        elif mode == "ask":
            self.screen = Screen.RECEIPT
            self._notice = None
            self._headline = ("KIOSK-RECEIPT-005", {})
        else:
            self.screen = Screen.RECEIPT
            self._receipt(mode)

    def _make_receipt(self) -> Receipt:
        return Receipt(
            library=self.settings.library_name,
            patron_name=self.patron.name if self.patron else "",
            patron_id=self.patron_id,
            lines=tuple(self.transactions),
            lang=self.lang,
            kiosk=self.settings.kiosk_id,
        )

    def _receipt(self, choice: str) -> None:
        if choice == "print" and self.printer is not None:
            try:
                self.printer.print_receipt(self._make_receipt())
            except PaperOutError:
                self.sink.emit("printer_problem", {"kiosk": self.settings.kiosk_id, "problem": "paper_out"})
                self._headline = ("KIOSK-RECEIPT-002", {})
                self._cue_sound("failure")
                self.printer = None  # offer the remaining choices
                self.screen = Screen.RECEIPT
                return
            except ReceiptError:
                log.exception("receipt printing failed")
                self._headline = ("KIOSK-RECEIPT-002", {})
                self._cue_sound("failure")
                self.printer = None
                return
            self._goodbye(("KIOSK-RECEIPT-001", {}))
        elif choice == "email" and self.email is not None:
            email = self.patron.email if self.patron else ""
            if not email:
                self._headline = ("KIOSK-RECEIPT-004", {})
                return
            self.email.send(self._make_receipt(), email)
            self._goodbye(("KIOSK-RECEIPT-003", {"email": email}))
        else:
            self._goodbye()

    def _goodbye(self, headline: tuple[str, dict[str, Any]] | None = None) -> None:
        self.screen = Screen.GOODBYE
        self._notice = None
        self._headline = headline or ("KIOSK-SESSION-002", {})
        self._goodbye_at = self.clock() + self.settings.goodbye_s
        self._clear_session()

    def _clear_session(self) -> None:
        self.patron, self.patron_id, self.pin = None, "", ""
        self._titles = {}
        self.transactions = []
        self._offline_in_session = False
        self._confirmed = set()
        if self.on_session_end is not None:
            self.on_session_end()

    def _go_attract(self) -> None:
        self.screen = Screen.ATTRACT
        self.items = {}
        self._headline = ("KIOSK-WELCOME-001", {})
        self.lang = self.settings.default_lang
        self._notice = None

    def _show_notice(self, code: str, params: dict[str, Any] | None = None, *, back_to: Screen) -> None:
        self._notice = (code, params or {}, back_to)
        self._notice_at = self.clock()
        self.screen = Screen.NOTICE
        self._cue_sound("failure" if MESSAGES[code].failure else "success")

    def _dismiss_notice(self) -> None:
        if self._notice is None:
            self._go_attract()
            return
        back = self._notice[2]
        self._notice = None
        if back is Screen.ATTRACT:
            self._clear_session()
            self._go_attract()
        else:
            self.screen = back

    def _set_toast(self, code: str, params: dict[str, Any]) -> None:
        self._toast = (code, params)
        self._toast_at = self.clock()

    def state_of(self, item_id: str) -> ItemState | None:
        item = self.items.get(item_id)
        return item.state if item else None

    def replace_settings(self, **changes: Any) -> None:
        self.settings = replace(self.settings, **changes)
