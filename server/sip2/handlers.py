"""SIP2 requests → circulation service calls → SIP2 responses. No business rule lives here.

Every domain error is turned into response fields in one place, :func:`screen_message` and the
``_failed_*`` builders; this module only translates between the wire vocabulary and the service's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from server.circulation import policies
from server.circulation.errors import (
    CirculationError,
    HoldRefused,
    ItemNotFound,
    OperationNotPermitted,
    PatronBlocked,
    PatronNotFound,
    PaymentRefused,
)
from server.circulation.results import CheckoutResult, PatronStatus, RenewResult
from server.circulation.service import CirculationService
from server.circulation.transitions import ROUTE_HOLD_HERE, ROUTE_HOLD_OTHER_BRANCH, ROUTE_SHELF, ROUTE_TRANSIT
from server.sip2.accounts import AccountConfig, Sip2AccountService
from server.sip2.codec import Request, format_date, parse_date

log = logging.getLogger(__name__)

Field = tuple[str, str | None]

CURRENCY = "VND"
LANGUAGE_UNKNOWN = "000"
MEDIA_BOOK = "001"
PROTOCOL_VERSION = "2.00"
TIMEOUT_PERIOD = "050"  # tenths of a second the SC should wait for us
RETRIES_ALLOWED = "003"

# BX "supported messages", in the spec's order, and the account operation each position needs.
SUPPORTED_MESSAGES = (
    "patron_status",  # 23
    "checkout",  # 11
    "checkin",  # 09
    "block_patron",  # 01
    None,  # 99/98, always
    None,  # 97/96, always
    None,  # 93, always
    "patron_status",  # 63 patron information
    "end_session",  # 35
    "fee_paid",  # 37
    "item_information",  # 17
    "item_status_update",  # 19
    "patron_enable",  # 25
    "hold",  # 15
    "renew",  # 29
    "renew_all",  # 65
)

OPERATION_OF = {
    "23": "patron_status",
    "63": "patron_status",
    "11": "checkout",
    "09": "checkin",
    "01": "block_patron",
    "35": "end_session",
    "37": "fee_paid",
    "17": "item_information",
    "19": "item_status_update",
    "25": "patron_enable",
    "15": "hold",
    "29": "renew",
    "65": "renew_all",
}

CIRCULATION_STATUS = {
    "available": "03",
    "on_loan": "04",
    "on_hold_shelf": "08",
    "in_transit": "10",
    "claims_returned": "11",
    "lost": "12",
    "missing": "13",
    "in_processing": "06",
    "withdrawn": "01",
}

ALERT_TYPE = {ROUTE_HOLD_HERE: "01", ROUTE_HOLD_OTHER_BRANCH: "02", ROUTE_TRANSIT: "04"}


@dataclass(frozen=True)
class Reply:
    code: str
    fixed: str
    fields: list[Field]


@dataclass
class Connection:
    """Per-connection state the handler reads (the server owns the socket side)."""

    peer: str = ""
    account: AccountConfig | None = None
    login_failures: int = 0
    closing: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def screen_message(error: CirculationError) -> str:
    """The AF text for a domain error: the patron's sentence and the stable code for staff."""
    return f"{error.message} [{error.code}]"


def patron_status_field(status: PatronStatus | None) -> str:
    """The 14-character patron status (Y = condition true)."""
    if status is None:
        return "YYYY" + " " * 10
    codes = {b.code for b in status.blocks}
    flags = [" "] * 14
    if not status.can_borrow:
        flags[0] = "Y"
    if not status.can_renew:
        flags[1] = flags[2] = flags[3] = "Y"
    if policies.BLOCK_TOO_MANY_ITEMS in codes:
        flags[5] = "Y"
    if status.overdue_loans and not status.can_borrow:
        flags[6] = "Y"
    if policies.BLOCK_FEES in codes:
        flags[10] = "Y"
    return "".join(flags)


def amount(vnd: int) -> str:
    return str(vnd)


def parse_amount(text: str) -> int | None:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return int(value.to_integral_value())


class Sip2Handler:
    """Turns one parsed request into one reply, for the account of the connection."""

    def __init__(self, service: CirculationService, accounts: Sip2AccountService) -> None:
        self.service = service
        self.accounts = accounts
        self.zone: ZoneInfo = service.zone
        self._dispatch: dict[str, Callable[[Request, Connection, AccountConfig], Reply]] = {
            "23": self.patron_status,
            "63": self.patron_information,
            "11": self.checkout,
            "09": self.checkin,
            "17": self.item_information,
            "19": self.item_status_update,
            "29": self.renew,
            "65": self.renew_all,
            "35": self.end_session,
            "37": self.fee_paid,
            "15": self.hold,
            "25": self.patron_enable,
            "01": self.block_patron,
        }

    def now(self) -> str:
        return format_date(self.service.clock(), self.zone)

    def _date(self, moment: dt.datetime | None) -> str | None:
        return format_date(moment, self.zone) if moment is not None else None

    def handle(self, request: Request, conn: Connection) -> Reply | None:
        """The reply to ``request``; ``None`` when the connection should be closed without one."""
        if request.code == "93":
            return self.login(request, conn)
        if request.code == "99":
            return self.sc_status(request, conn)
        account = conn.account
        if account is None:
            log.warning("SIP2 %s from %s before login; closing", request.code, conn.peer)
            conn.closing = True
            return None
        handler = self._dispatch[request.code]
        return handler(request, conn, account)

    # -- 93 / 99 -----------------------------------------------------------------------------------------

    def login(self, request: Request, conn: Connection) -> Reply:
        uid_algorithm, pwd_algorithm = request.fixed[0], request.fixed[1]
        login, password = request.get("CN"), request.get("CO")
        account = None
        if uid_algorithm == "0" and pwd_algorithm == "0" and login:
            account = self.accounts.authenticate(login, password)
        if account is None:
            conn.login_failures += 1
            log.warning("SIP2 login of %r from %s refused (%d)", login, conn.peer, conn.login_failures)
            if conn.login_failures >= 3:
                conn.closing = True
            return Reply("94", "0", [])
        conn.account = account
        log.info("SIP2 account %s logged in from %s", account.login, conn.peer)
        return Reply("94", "1", [])

    def sc_status(self, request: Request, conn: Connection) -> Reply:
        account = conn.account
        allows: Callable[[str], bool] = account.allows if account else (lambda _op: False)
        bx = "".join("Y" if op is None or allows(op) else "N" for op in SUPPORTED_MESSAGES)
        online = account is not None
        fixed = (
            ("Y" if online else "N")
            + ("Y" if allows("checkin") else "N")
            + ("Y" if allows("checkout") else "N")
            + ("Y" if allows("renew") else "N")
            + ("Y" if allows("item_status_update") else "N")
            + ("Y" if account is not None and account.accept_offline else "N")
            + TIMEOUT_PERIOD
            + RETRIES_ALLOWED
            + self.now()
            + PROTOCOL_VERSION
        )
        return Reply(
            "98",
            fixed,
            [
                ("AO", account.institution_id if account else ""),
                ("AM", account.library_name if account else None),
                ("BX", bx),
                ("AN", account.terminal_location or None if account else None),
            ],
        )

    # -- helpers -----------------------------------------------------------------------------------------

    def _permit(self, request: Request, account: AccountConfig) -> None:
        if not account.allows(OPERATION_OF[request.code]):
            raise OperationNotPermitted(detail=f"SIP2 {request.code} for {account.login}")

    def _key(self, request: Request, account: AccountConfig) -> str:
        """A client transaction key from the request content (without AY/AZ): retries map to one key."""
        parts = [account.login, request.code, request.fixed]
        for field_id in sorted(request.fields):
            parts.append(field_id + "\x1f".join(request.fields[field_id]))
        digest = hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()[:48]
        return f"sip2:{digest}"

    def _pin(self, request: Request) -> str | None:
        pin = request.get("AD")
        return pin if pin else None

    def _status(self, card: str, pin: str | None, account: AccountConfig) -> PatronStatus | None:
        try:
            return self.service.patron_status(card, pin, fees_block=account.fees_block_checkout)
        except PatronNotFound:
            return None

    def _status_fields(
        self, status: PatronStatus | None, card: str, request: Request, account: AccountConfig
    ) -> list[Field]:
        fields: list[Field] = [("AO", account.institution_id), ("AA", card), ("AE", status.name if status else "")]
        fields.append(("BL", "Y" if status else "N"))
        if request.has("AD") and status is not None:
            fields.append(("CQ", "Y" if status.pin_ok else "N"))
        if status is not None:
            fields += [("BH", CURRENCY), ("BV", amount(status.fees_owed_vnd))]
            fields += [("AF", b.reason) for b in status.blocks]
        else:
            fields.append(("AF", screen_message(PatronNotFound())))
        return fields

    # -- 23 / 63 / 25 / 01 -------------------------------------------------------------------------------

    def patron_status(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        card = request.get("AA")
        try:
            self._permit(request, account)
        except CirculationError as exc:
            return Reply(
                "24",
                patron_status_field(None) + LANGUAGE_UNKNOWN + self.now(),
                [("AO", account.institution_id), ("AA", card), ("AE", ""), ("AF", screen_message(exc))],
            )
        status = self._status(card, self._pin(request), account)
        fixed = patron_status_field(status) + LANGUAGE_UNKNOWN + self.now()
        return Reply("24", fixed, self._status_fields(status, card, request, account))

    def patron_enable(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        card = request.get("AA")
        try:
            self._permit(request, account)
            self.service.lift_blocks(card, kind="sip2")
        except CirculationError as exc:
            log.info("SIP2 25 for %s: %s", card, exc.code)
        status = self._status(card, self._pin(request), account)
        fixed = patron_status_field(status) + LANGUAGE_UNKNOWN + self.now()
        fields = self._status_fields(status, card, request, account)
        return Reply("26", fixed, [f for f in fields if f[0] not in {"BH", "BV"}])

    def block_patron(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        card = request.get("AA")
        reason = request.get("AL") or "Khoá từ máy tự phục vụ / Blocked by a self-check"
        try:
            self._permit(request, account)
            retained = request.fixed[0] == "Y"
            self.service.block_patron(
                card, reason + (" (thẻ bị giữ lại / card retained)" if retained else ""), channel="sip2", kind="sip2"
            )
        except CirculationError as exc:
            log.info("SIP2 01 for %s: %s", card, exc.code)
        status = self._status(card, None, account)
        fixed = patron_status_field(status) + LANGUAGE_UNKNOWN + self.now()
        return Reply("24", fixed, self._status_fields(status, card, request, account))

    def patron_information(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        card = request.get("AA")
        summary = request.fixed_at(21, 10)
        try:
            self._permit(request, account)
            status = self._status(card, self._pin(request), account)
        except CirculationError as exc:
            status = None
            log.info("SIP2 63 refused: %s", exc.code)
        show_details = status is not None and (status.pin_ok is not False)
        if status is None or not show_details:
            counts = "0000" * 6
        else:
            ready = status.holds_ready
            unavailable = [h for h in status.holds if h.state != "ready"]
            counts = "".join(
                f"{min(n, 9999):04d}"
                for n in (
                    len(ready),
                    len(status.overdue_loans),
                    len(status.loans),
                    len(status.fees),
                    0,
                    len(unavailable),
                )
            )
        fixed = patron_status_field(status) + LANGUAGE_UNKNOWN + self.now() + counts
        fields = self._status_fields(status, card, request, account)
        if status is not None and show_details:
            fields[3:3] = [("CB", f"{status.max_items:04d}"), ("CC", amount(status.fee_limit_vnd))]
            start, end = self._range(request)
            lists: list[tuple[int, str, list[str]]] = [
                (0, "AS", [h.item_barcode or h.title for h in status.holds_ready]),
                (1, "AT", [loan.item.barcode for loan in status.overdue_loans]),
                (2, "AU", [loan.item.barcode for loan in status.loans]),
                (3, "AV", [f"{f.fee_id} {f.owing_vnd} {CURRENCY} {f.description}" for f in status.fees]),
                (5, "CD", [h.title for h in status.holds if h.state != "ready"]),
            ]
            detail: list[Field] = []
            for position, field_id, values in lists:
                if summary[position : position + 1] == "Y":
                    detail += [(field_id, v) for v in values[start - 1 : end]]
            if status.email:
                detail.append(("BE", status.email))
            if status.phone:
                detail.append(("BF", status.phone))
            af_at = next((i for i, f in enumerate(fields) if f[0] == "AF"), len(fields))
            fields[af_at:af_at] = detail
        return Reply("64", fixed, fields)

    def _range(self, request: Request) -> tuple[int, int]:
        def number(text: str, default: int) -> int:
            return int(text) if text.strip().isdigit() and int(text) > 0 else default

        start = number(request.get("BP"), 1)
        end = number(request.get("BQ"), 9999)
        return start, max(start, end)

    # -- 11 / 29 / 65 ------------------------------------------------------------------------------------

    def _offline(self, request: Request, account: AccountConfig, no_block_at: int) -> bool:
        return request.fixed_at(no_block_at, 1) == "Y" and account.accept_offline

    def _loan_reply(
        self, code: str, request: Request, account: AccountConfig, result: CheckoutResult | RenewResult, renewal: bool
    ) -> Reply:
        fixed = "1" + ("Y" if renewal else "N") + "N" + "Y" + self.now()
        return Reply(
            code,
            fixed,
            [
                ("AO", account.institution_id),
                ("AA", request.get("AA")),
                ("AB", result.item.barcode),
                ("AJ", result.item.title),
                ("AH", format_date(result.due_at, self.zone)),
                ("CK", MEDIA_BOOK),
                ("CH", result.item.properties),
                ("AF", "Hạn trả / Due " + result.due_at.astimezone(self.zone).strftime("%d/%m/%Y")),
            ],
        )

    def _failed_loan_reply(self, code: str, request: Request, account: AccountConfig, exc: CirculationError) -> Reply:
        fields: list[Field] = [
            ("AO", account.institution_id),
            ("AA", request.get("AA")),
            ("AB", request.get("AB")),
            ("AJ", self._title(request.get("AB"))),
            ("AH", ""),
        ]
        if isinstance(exc, PatronBlocked) and any(code == policies.BLOCK_FEES for code, _ in exc.reasons):
            status = self._status(request.get("AA"), None, account)
            if status is not None:
                fields += [("BH", CURRENCY), ("BV", amount(status.fees_owed_vnd))]
        fields.append(("AF", screen_message(exc)))
        if isinstance(exc, PatronBlocked):
            fields += [("AF", reason) for _code, reason in exc.reasons[1:]]
        return Reply(code, "0NUN" + self.now(), fields)

    def _title(self, barcode: str) -> str:
        if not barcode:
            return ""
        try:
            return self.service.item_information(barcode).item.title
        except CirculationError:
            return ""

    def checkout(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        offline = self._offline(request, account, 1)
        try:
            self._permit(request, account)
            result = self.service.checkout(
                request.get("AA"),
                request.get("AB"),
                channel="sip2",
                library_id=account.library_id,
                terminal=account.terminal_location or account.login,
                pin=self._pin(request),
                key=self._key(request, account),
                no_block=offline,
                transaction_at=parse_date(request.fixed_at(2, 18), self.zone),
                due_at=parse_date(request.fixed_at(20, 18), self.zone),
                fees_block=account.fees_block_checkout,
                renew_if_charged=request.fixed_at(0, 1) == "Y",
                actor=account.login,
            )
        except CirculationError as exc:
            log.info("SIP2 checkout of %s refused: %s", request.get("AB"), exc.code)
            return self._failed_loan_reply("12", request, account, exc)
        return self._loan_reply("12", request, account, result, result.renewal)

    def renew(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        offline = self._offline(request, account, 1)
        try:
            self._permit(request, account)
            if not request.get("AB"):
                raise ItemNotFound(detail="no item identifier")
            result = self.service.renew(
                request.get("AA"),
                request.get("AB"),
                channel="sip2",
                pin=self._pin(request),
                key=self._key(request, account),
                no_block=offline,
                transaction_at=parse_date(request.fixed_at(2, 18), self.zone),
                due_at=parse_date(request.fixed_at(20, 18), self.zone),
            )
        except CirculationError as exc:
            log.info("SIP2 renew of %s refused: %s", request.get("AB"), exc.code)
            return self._failed_loan_reply("30", request, account, exc)
        return self._loan_reply("30", request, account, result, True)

    def renew_all(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        try:
            self._permit(request, account)
            result = self.service.renew_all(request.get("AA"), channel="sip2", pin=self._pin(request))
        except CirculationError as exc:
            return Reply(
                "66", "0" + "0000" + "0000" + self.now(), [("AO", account.institution_id), ("AF", screen_message(exc))]
            )
        fields: list[Field] = [("AO", account.institution_id)]
        fields += [("BM", r.item.barcode) for r in result.renewed]
        fields += [("BN", f.barcode) for f in result.unrenewed]
        fields += [("AF", f"{f.barcode}: {f.reason}") for f in result.unrenewed]
        fixed = "1" + f"{min(len(result.renewed), 9999):04d}" + f"{min(len(result.unrenewed), 9999):04d}" + self.now()
        return Reply("66", fixed, fields)

    # -- 09 ----------------------------------------------------------------------------------------------

    def checkin(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        offline = self._offline(request, account, 0)
        barcode = request.get("AB")
        try:
            self._permit(request, account)
            result = self.service.checkin(
                barcode,
                channel="sip2",
                library_id=account.library_id,
                terminal=account.terminal_location or account.login,
                key=self._key(request, account),
                returned_at=parse_date(request.fixed_at(19, 18), self.zone)
                or parse_date(request.fixed_at(1, 18), self.zone),
                no_block=offline,
                actor=account.login,
            )
        except CirculationError as exc:
            log.info("SIP2 checkin of %s refused: %s", barcode, exc.code)
            fields: list[Field] = [("AO", account.institution_id), ("AB", barcode), ("AQ", "")]
            if account.hold_alerts:
                fields.append(("CV", "99"))
            fields.append(("AF", screen_message(exc)))
            return Reply("10", "0NU" + ("Y" if account.hold_alerts else "N") + self.now(), fields)
        alert = account.hold_alerts and result.route != ROUTE_SHELF
        fields = [
            ("AO", account.institution_id),
            ("AB", result.item.barcode),
            ("AQ", result.item.library_isil),
            ("AJ", result.item.title),
            ("CL", account.sort_bins.get(result.route)),
            ("CK", MEDIA_BOOK),
            ("CH", result.item.properties),
            ("CS", result.item.call_number or None),
        ]
        messages: list[str] = []
        if alert:
            fields.append(("CT", result.destination_isil))
            fields.append(("CV", ALERT_TYPE.get(result.route, "99")))
            if result.hold is not None:
                fields += [("CY", result.hold.patron_card), ("DA", result.hold.patron_name)]
        if result.route == ROUTE_HOLD_HERE:
            messages.append("Đặt lên giá giữ chỗ / Put on the hold shelf")
        elif result.route in (ROUTE_HOLD_OTHER_BRANCH, ROUTE_TRANSIT):
            messages.append(f"Chuyển về / Send to {result.destination_name or result.destination_isil}")
        if result.fine_vnd:
            messages.append(f"Phạt quá hạn / Overdue fine {result.fine_vnd} {CURRENCY}")
        if not result.was_on_loan:
            messages.append("Tài liệu không ở trạng thái mượn / Item was not on loan")
        fields += [("AF", m) for m in messages]
        fixed = "1Y" + "N" + ("Y" if alert else "N") + self.now()
        return Reply("10", fixed, fields)

    # -- 17 / 19 -----------------------------------------------------------------------------------------

    def item_information(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        barcode = request.get("AB")
        try:
            self._permit(request, account)
            info = self.service.item_information(barcode)
        except CirculationError as exc:
            return Reply(
                "18", "01" + "00" + "01" + self.now(), [("AB", barcode), ("AJ", ""), ("AF", screen_message(exc))]
            )
        fields: list[Field] = [
            ("CF", f"{min(info.hold_queue_length, 99999):d}" if info.hold_queue_length else None),
            ("AH", self._date(info.due_at)),
            ("CM", self._date(info.hold_pickup_until)),
            ("AB", info.item.barcode),
            ("AJ", info.item.title),
            ("BG", info.owner_isil),
            ("CK", MEDIA_BOOK),
            ("AQ", info.item.library_isil),
            ("AP", info.item.location or info.item.library_isil),
            ("CH", info.item.properties),
            ("CS", info.item.call_number or None),
        ]
        fixed = CIRCULATION_STATUS.get(info.item.status, "01") + "00" + "01" + self.now()
        return Reply("18", fixed, fields)

    def item_status_update(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        barcode = request.get("AB")
        try:
            self._permit(request, account)
            if not barcode:
                raise ItemNotFound(detail="no item identifier")
            change = self.service.set_item_properties(barcode, request.get("CH"), channel="sip2", actor=account.login)
        except CirculationError as exc:
            log.info("SIP2 item status update of %s refused: %s", barcode, exc.code)
            fields: list[Field] = [("AB", barcode), ("AJ", self._title(barcode) or None), ("AF", screen_message(exc))]
            return Reply("20", "0" + self.now(), fields)
        return Reply(
            "20",
            "1" + self.now(),
            [("AB", change.item.barcode), ("AJ", change.item.title), ("CH", change.item.properties)],
        )

    # -- 35 / 37 / 15 ------------------------------------------------------------------------------------

    def end_session(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        return Reply("36", "Y" + self.now(), [("AO", account.institution_id), ("AA", request.get("AA"))])

    def fee_paid(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        card = request.get("AA")
        currency = request.fixed_at(22, 3).strip()
        value = parse_amount(request.get("BV"))
        reference = request.get("BK") or None
        fee_id_text = request.get("CG").strip()
        try:
            self._permit(request, account)
            if currency and currency != CURRENCY:
                raise PaymentRefused(f"Chỉ nhận VND / Only VND is accepted, not {currency}")
            if value is None:
                raise PaymentRefused(f"Số tiền không hợp lệ / Not an amount: {request.get('BV')!r}")
            result = self.service.pay_fee(
                card,
                value,
                fee_id=int(fee_id_text) if fee_id_text.isdigit() else None,
                method={"00": "cash", "01": "visa", "02": "card"}.get(request.fixed_at(20, 2), "other"),
                reference=reference,
                channel="sip2",
                key=self._key(request, account),
            )
        except CirculationError as exc:
            log.info("SIP2 fee paid by %s refused: %s", card, exc.code)
            return Reply(
                "38",
                "N" + self.now(),
                [("AO", account.institution_id), ("AA", card), ("BK", reference), ("AF", screen_message(exc))],
            )
        message = f"Đã nhận {result.amount_vnd} {CURRENCY}; còn nợ {result.remaining_owed_vnd} {CURRENCY}"
        return Reply(
            "38",
            "Y" + self.now(),
            [
                ("AO", account.institution_id),
                ("AA", card),
                ("BK", reference or ",".join(str(p) for p in result.payment_ids)),
                ("AF", message),
            ],
        )

    def hold(self, request: Request, conn: Connection, account: AccountConfig) -> Reply:
        """``+`` place, ``-`` cancel, ``*`` change (in place: BS pickup ISIL, BW expiration, BY 3 = this copy)."""
        card, barcode = request.get("AA"), request.get("AB")
        mode = request.fixed_at(0, 1)
        pickup, hold_type = request.get("BS").strip(), request.get("BY").strip()
        try:
            self._permit(request, account)
            expires_at = parse_date(request.get("BW"), self.zone)
            if mode == "-":
                result = self.service.cancel_hold(card, item_barcode=barcode or None, channel="sip2")
            elif mode == "+":
                result = self.service.place_hold(
                    card,
                    item_barcode=barcode or None,
                    pickup_library_id=self.service.pickup_library_id(pickup) if pickup else account.library_id,
                    specific_item=hold_type == "3",
                    expires_at=expires_at,
                    channel="sip2",
                    key=self._key(request, account),
                )
            elif mode == "*":
                result = self.service.change_hold(
                    card,
                    item_barcode=barcode or None,
                    pickup_library_id=self.service.pickup_library_id(pickup) if pickup else None,
                    expires_at=expires_at,
                    specific_item=(hold_type == "3") if hold_type else None,
                    channel="sip2",
                    key=self._key(request, account),
                )
            else:
                raise HoldRefused(detail=f"hold mode {mode!r}")
        except CirculationError as exc:
            log.info("SIP2 hold %r for %s refused: %s", mode, card, exc.code)
            return Reply(
                "16",
                "0N" + self.now(),
                [("AO", account.institution_id), ("AA", card), ("AB", barcode or None), ("AF", screen_message(exc))],
            )
        fields: list[Field] = [
            ("BW", self._date(result.expires_at)),
            ("BR", str(result.queue_position) if result.queue_position else None),
            ("BS", result.pickup_library_isil),
            ("AO", account.institution_id),
            ("AA", card),
            ("AB", barcode or None),
            ("AJ", result.title),
        ]
        available = "Y" if result.available and mode != "-" else "N"
        return Reply("16", "1" + available + self.now(), fields)
