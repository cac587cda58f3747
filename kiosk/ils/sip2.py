"""A SIP2 client (self-check side, "SC") that follows the 3M SIP 2.00 protocol, not one server's habits.

* One TCP connection, logged in with 93 when an account is configured; 99 SC Status as ping.
* Sequence numbers 0–9 with wrap, checksums over the encoded bytes, a per-account encoding
  (``utf-8``, ``cp850``, ``ascii-fold``...).
* A lost or garbled reply never causes a second, different request: the *same frame* (same AY and AZ) is
  retransmitted, which SIP2 servers recognise as a retransmission and answer with their previous reply;
  a reply with a bad checksum is answered with 97 (Request ACS Resend); a 96 from the ACS makes us resend.
* A dropped connection is re-opened, logged in again and the same frame sent again; after ``retries``
  attempts :class:`IlsUnavailable` says the library system is offline.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from dataclasses import dataclass

from .codec import REQUEST_ACS_RESEND, Frame, build_frame, parse_frame, parse_sip_date, sip_date
from .errors import IlsLoginRefused, IlsUnavailable, Sip2ChecksumError, Sip2FrameError, Sip2ProtocolError
from .port import ItemInfo, LoanResult, PatronInfo, RenewAllResult, ReturnResult

log = logging.getLogger(__name__)

__all__ = ["Sip2Config", "Sip2Client", "parse_patron_info", "parse_loan", "parse_return"]

BLANK_DATE = " " * 18
MAX_FRAME = 65536


@dataclass(frozen=True)
class Sip2Config:
    host: str
    port: int
    login: str = ""
    password: str = ""
    location: str = ""
    institution: str = ""
    terminal_password: str = ""
    encoding: str = "utf-8"
    error_detection: bool = True
    timeout: float = 5.0
    connect_timeout: float = 3.0
    retries: int = 3
    language: str = "000"


def _yn(value: str) -> bool | None:
    if value == "Y":
        return True
    if value == "N":
        return False
    return None


def _money(text: str) -> int:
    try:
        return round(float(text.replace(",", "").strip() or "0"))
    except ValueError:
        return 0


def _due(text: str) -> dt.datetime | None:
    parsed = parse_sip_date(text)
    if parsed is not None:
        return parsed
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).astimezone()
        except ValueError:
            continue
    return None


def parse_patron_info(frame: Frame) -> PatronInfo:
    status = frame.fixed[:14].ljust(14)
    return PatronInfo(
        patron_id=frame.get("AA"),
        name=frame.get("AE"),
        valid=frame.get("BL", "Y" if frame.has("AE") else "N") == "Y",
        pin_ok=_yn(frame.get("CQ")),
        charge_denied=status[0] == "Y",
        renewal_denied=status[1] == "Y",
        card_lost=status[4] == "Y",
        too_many_items=status[5] == "Y",
        fee_vnd=_money(frame.get("BV")),
        currency=frame.get("BH"),
        email=frame.get("BE"),
        loans=tuple(frame.all("AU")),
        overdue=tuple(frame.all("AT")),
        holds_ready=tuple(frame.all("AS")),
        screen_messages=tuple(m for m in frame.all("AF") if m),
    )


def parse_loan(frame: Frame) -> LoanResult:
    due_text = frame.get("AH")
    return LoanResult(
        ok=frame.fixed[0:1] == "1",
        item_id=frame.get("AB"),
        title=frame.get("AJ"),
        due=_due(due_text) if due_text else None,
        due_text=due_text,
        renewal=frame.fixed[1:2] == "Y",
        desensitize=_yn(frame.fixed[3:4]),
        security_inhibit=frame.get("CI") == "Y",
        screen_messages=tuple(m for m in frame.all("AF") if m),
        media_type=frame.get("CK"),
    )


def parse_return(frame: Frame) -> ReturnResult:
    return ReturnResult(
        ok=frame.fixed[0:1] == "1",
        item_id=frame.get("AB"),
        title=frame.get("AJ"),
        resensitize=_yn(frame.fixed[1:2]),
        alert=frame.fixed[3:4] == "Y",
        alert_type=frame.get("CV"),
        sort_bin=frame.get("CL"),
        permanent_location=frame.get("AQ"),
        screen_messages=tuple(m for m in frame.all("AF") if m),
    )


class Sip2Client:
    """Implements :class:`kiosk.ils.port.Ils` over SIP2. Thread-safe (one request at a time)."""

    def __init__(self, config: Sip2Config) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._sequence = -1
        self._logged_in = False
        self.resent_on_new_connection = False

    # -- connection ------------------------------------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = (self._sequence + 1) % 10
        return self._sequence

    def _connect(self) -> None:
        cfg = self.config
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.connect_timeout)
        except OSError as exc:
            raise IlsUnavailable(f"cannot reach the SIP2 server at {cfg.host}:{cfg.port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(cfg.timeout)
        self._sock = sock
        self._buffer = b""
        self._logged_in = False
        log.info("connected to SIP2 server %s:%d", cfg.host, cfg.port)
        if cfg.login:
            try:
                self._login()
            except BaseException:
                self._disconnect()  # never keep a connection that is not logged in
                raise

    def _disconnect(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._buffer = b""
        self._logged_in = False

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    def _read_frame(self) -> bytes:
        assert self._sock is not None
        while b"\r" not in self._buffer:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise ConnectionResetError("SIP2 server closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_FRAME:
                raise Sip2FrameError("SIP2 reply longer than 64 KiB without a CR")
        frame, _, self._buffer = self._buffer.partition(b"\r")
        if self._buffer.startswith(b"\n"):
            self._buffer = self._buffer[1:]
        frame = frame.lstrip(b"\n")
        log.log(5, "SIP2 <- %r", frame)
        return frame

    def _send(self, data: bytes) -> None:
        assert self._sock is not None
        log.log(5, "SIP2 -> %r", data)
        self._sock.sendall(data)

    def _await_reply(self, frame: bytes, expect: str, sequence: int | None) -> Frame:
        """Read until the reply to ``frame`` arrives; handles 96, bad checksums and stale replies."""
        resends = 0
        while True:
            raw = self._read_frame()
            try:
                reply = parse_frame(raw, encoding=self.config.encoding, check=self.config.error_detection)
            except Sip2ChecksumError:
                resends += 1
                if resends > self.config.retries:
                    raise
                log.warning("SIP2 reply with a bad checksum; asking the ACS to resend")
                self._send(REQUEST_ACS_RESEND)
                continue
            if reply.code == "96":
                resends += 1
                if resends > self.config.retries:
                    raise Sip2ProtocolError("the SIP2 server keeps asking for a resend (96)")
                log.warning("SIP2 server asked for a resend; sending the same frame again")
                self._send(frame)
                continue
            if reply.code != expect or (sequence is not None and reply.sequence not in (None, sequence)):
                log.warning("discarding unexpected SIP2 reply %r while waiting for %s", raw[:40], expect)
                continue
            return reply

    def _exchange(self, code: str, fixed: str, fields: list[tuple[str, str]], expect: str) -> Frame:
        with self._lock:
            cfg = self.config
            attempt = 0
            while self._sock is None:
                attempt += 1
                try:
                    self._connect()
                except (OSError, Sip2ProtocolError) as exc:  # the login got no (or a garbled) answer
                    self._disconnect()
                    if attempt > cfg.retries:
                        raise IlsUnavailable(f"the SIP2 server cannot be reached: {exc}") from exc
                    log.warning("SIP2 login not answered (attempt %d): %s", attempt, exc)
            sequence = self._next_sequence() if cfg.error_detection else None
            frame = build_frame(
                code, fixed, fields, sequence=sequence, encoding=cfg.encoding, error_detection=cfg.error_detection
            )
            return self._exchange_frame(frame, expect, sequence)

    def _exchange_frame(self, frame: bytes, expect: str, sequence: int | None) -> Frame:
        attempts = 0
        self.resent_on_new_connection = False
        while True:
            attempts += 1
            try:
                if self._sock is None:
                    self._connect()
                    self.resent_on_new_connection = attempts > 1
                self._send(frame)
                return self._await_reply(frame, expect, sequence)
            except TimeoutError as exc:
                # Keep the connection: the same frame again is a retransmission the ACS replays.
                log.warning("no SIP2 reply within %.1f s (attempt %d)", self.config.timeout, attempts)
                if attempts > self.config.retries:
                    self._disconnect()
                    raise IlsUnavailable("the SIP2 server does not answer") from exc
            except (OSError, Sip2ProtocolError) as exc:
                log.warning("SIP2 connection problem (attempt %d): %s", attempts, exc)
                self._disconnect()
                if attempts > self.config.retries or isinstance(exc, IlsUnavailable):
                    raise IlsUnavailable(f"the SIP2 server cannot be reached: {exc}") from exc

    def _login(self) -> None:
        cfg = self.config
        sequence = self._next_sequence() if cfg.error_detection else None
        fields = [("CN", cfg.login), ("CO", cfg.password)]
        if cfg.location:
            fields.append(("CP", cfg.location))
        frame = build_frame(
            "93", "00", fields, sequence=sequence, encoding=cfg.encoding, error_detection=cfg.error_detection
        )
        self._send(frame)
        reply = self._await_reply(frame, "94", sequence)
        if reply.fixed != "1":
            self._disconnect()
            raise IlsLoginRefused(f"SIP2 login {cfg.login!r} refused by {cfg.host}:{cfg.port}")
        self._logged_in = True

    # -- messages --------------------------------------------------------------------------------------

    def _now(self, when: dt.datetime | None = None) -> str:
        return sip_date(when or dt.datetime.now().astimezone())

    def _base(self, patron_id: str | None = None) -> list[tuple[str, str]]:
        fields = [("AO", self.config.institution)]
        if patron_id is not None:
            fields.append(("AA", patron_id))
        return fields

    def ping(self) -> bool:
        try:
            reply = self._exchange("99", "0" + "080" + "2.00", [], "98")
        except IlsUnavailable:
            return False
        return reply.fixed[:1] == "Y"

    def patron_info(self, patron_id: str, pin: str = "") -> PatronInfo:
        def request(summary: str) -> Frame:
            fields = self._base(patron_id) + [("AC", self.config.terminal_password)]
            if pin:
                fields.append(("AD", pin))
            return self._exchange("63", self.config.language + self._now() + summary.ljust(10), fields, "64")

        first = request("  Y")  # charged items in detail
        info = parse_patron_info(first)
        counts = first.fixed[35:59]
        holds = counts[0:4].strip()
        if info.valid and holds.isdigit() and int(holds) > 0:
            holds_frame = request("Y")
            info = PatronInfo(**{**info.__dict__, "holds_ready": tuple(holds_frame.all("AS"))})
        overdue = counts[4:8].strip()
        if info.valid and overdue.isdigit() and int(overdue) > 0:
            overdue_frame = request(" Y")
            info = PatronInfo(**{**info.__dict__, "overdue": tuple(overdue_frame.all("AT"))})
        return info

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
        fixed = "N" + ("Y" if no_block else "N") + self._now(when) + (sip_date(due) if due else BLANK_DATE)
        fields = self._base(patron_id) + [("AB", item_id), ("AC", self.config.terminal_password)]
        if pin:
            fields.append(("AD", pin))
        with self._lock:
            loan = parse_loan(self._exchange("11", fixed, fields, "12"))
            if loan.ok or not self.resent_on_new_connection:
                return loan
            # The first checkout may have been executed before the connection broke, and a server that only
            # replays retransmissions per connection now refuses the repeat ("already on loan"). The patron's
            # charged items tell: the loan exists, so this is a yes (and the tag must be unsecured).
            log.warning("checkout of %s refused after a reconnect; checking the patron's loans", item_id)
            if item_id in self.patron_info(patron_id, pin).loans:
                return LoanResult(ok=True, item_id=item_id, title=loan.title, desensitize=True)
            return loan

    def checkin(self, item_id: str, *, no_block: bool = False, when: dt.datetime | None = None) -> ReturnResult:
        stamp = self._now(when)
        fixed = ("Y" if no_block else "N") + stamp + stamp
        fields = [("AP", self.config.location), ("AO", self.config.institution), ("AB", item_id)]
        fields.append(("AC", self.config.terminal_password))
        return parse_return(self._exchange("09", fixed, fields, "10"))

    def renew(self, patron_id: str, item_id: str, pin: str = "") -> LoanResult:
        fixed = "NN" + self._now() + BLANK_DATE
        fields = self._base(patron_id)
        if pin:
            fields.append(("AD", pin))
        fields += [("AB", item_id), ("AC", self.config.terminal_password)]
        return parse_loan(self._exchange("29", fixed, fields, "30"))

    def renew_all(self, patron_id: str, pin: str = "") -> RenewAllResult:
        fields = self._base(patron_id)
        if pin:
            fields.append(("AD", pin))
        fields.append(("AC", self.config.terminal_password))
        reply = self._exchange("65", self._now(), fields, "66")
        return RenewAllResult(
            ok=reply.fixed[:1] == "1",
            renewed=tuple(reply.all("BM")),
            unrenewed=tuple(reply.all("BN")),
            screen_messages=tuple(m for m in reply.all("AF") if m),
        )

    def item_info(self, item_id: str) -> ItemInfo:
        fields = self._base() + [("AB", item_id), ("AC", self.config.terminal_password)]
        reply = self._exchange("17", self._now(), fields, "18")
        status = reply.fixed[:2]
        title = reply.get("AJ")
        return ItemInfo(
            item_id=reply.get("AB", item_id),
            known=bool(title),
            title=title,
            circulation_status=status,
            due_text=reply.get("AH"),
            extra={k: v for k, v in reply.fields if k not in ("AB", "AJ", "AH")},
        )

    def end_session(self, patron_id: str, pin: str = "") -> None:
        fields = self._base(patron_id) + [("AC", self.config.terminal_password)]
        if pin:
            fields.append(("AD", pin))
        self._exchange("35", self._now(), fields, "36")
