"""E-mailed kiosk receipts: the ``receipt_email`` event queues a mail; the sender delivers it as a file or by SMTP."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from edge.contract import DeviceTopics, Event, encode, new_event_id
from server.db import Database, utcnow
from server.devices.models import Device, DeviceEvent, DeviceKind, EventStatus
from server.ingest.processor import Incoming, Processor
from server.libraries.models import Library, LibraryKind
from server.mail.models import OutgoingMail
from server.mail.service import MailSender, queue_receipt
from server.patrons.models import Patron, PatronCard, PatronCategory
from server.runtime import background_services
from server.settings import MailSettings, ServerSettings, Sip2Settings
from tests.support import free_port

TOPICS = DeviceTopics("thuvien", "VN-HDU", "kiosk", "kiosk-1")
LINES = [
    "Thư viện tỉnh Hải Dương",
    "Bạn đọc: Nguyễn Thị Ánh",
    "MƯỢN 3000000002 Số đỏ",
    "Hạn trả: 10/12/2026",
    "Cảm ơn bạn đã sử dụng thư viện!",
]


@pytest.fixture(params=["sqlite_db", pytest.param("pg_db", marks=pytest.mark.postgres)])
def library(request: pytest.FixtureRequest) -> Database:
    """A library with a kiosk and three patrons (with an address, without one, erased), on both back ends."""
    db: Database = request.getfixturevalue(request.param)
    with db.session() as s:
        lib = Library(isil="VN-HDU", name="Thư viện tỉnh Hải Dương", kind=LibraryKind.PROVINCE)
        s.add_all([lib, PatronCategory(code="adult", name="Người lớn")])
        s.flush()
        s.add(Device(device_id="kiosk-1", kind=DeviceKind.KIOSK, library_id=lib.id))
        expires = dt.date(2030, 1, 1)
        for number, name, address, erased in [
            ("0001000001", "Nguyễn Thị Ánh", "anh@thuvien.example", None),
            ("0001000002", "Trần Văn Bình", None, None),
            ("0001000003", "", None, utcnow()),
        ]:
            s.add(
                Patron(
                    full_name=name,
                    email=address,
                    home_library_id=lib.id,
                    category_code="adult",
                    expires_on=expires,
                    erased_at=erased,
                    cards=[PatronCard(number=number)],
                )
            )
    return db


def receipt_event(patron_id: str, email_address: str = "ils@thuvien.example", lang: str = "vi") -> Event:
    data: dict[str, Any] = {
        "patron_id": patron_id,
        "email": email_address,
        "lang": lang,
        "lines": LINES,
        "items": [{"action": "checkout", "item_id": "3000000002", "title": "Số đỏ"}],
    }
    return Event(event_id=new_event_id(), device_id="kiosk-1", kind="receipt_email", occurred_at=utcnow(), data=data)


def ingest(db: Database, *events: Event) -> dict[str, int]:
    outcome = Processor(db).process([Incoming(TOPICS.event(e.kind), encode(e), utcnow()) for e in events])
    return {k: v for k, v in outcome.counters.items() if k != "received"}


def mails(db: Database) -> list[OutgoingMail]:
    with db.session() as s:
        return list(s.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def quarantine_reason(db: Database) -> str:
    with db.session() as s:
        stored = s.scalars(select(DeviceEvent)).one()
    assert stored.status is EventStatus.QUARANTINED
    assert stored.reason is not None
    return stored.reason


def test_event_queues_one_mail_to_the_address_on_file(library: Database) -> None:
    event = receipt_event("0001000001")
    assert ingest(library, event) == {"applied": 1}
    [mail] = mails(library)
    assert mail.to_address == "anh@thuvien.example"  # the address on file wins over the event's
    assert mail.event_id == event.event_id
    assert mail.subject == "Biên lai mượn trả sách"
    assert "MƯỢN 3000000002 Số đỏ" in mail.body
    assert mail.sent_at is None and mail.attempts == 0
    assert ingest(library, event) == {"duplicate": 1}  # a replay queues nothing more
    assert len(mails(library)) == 1


def test_event_address_used_when_none_on_file(library: Database) -> None:
    assert ingest(library, receipt_event("0001000002", "binh@example.vn", lang="en")) == {"applied": 1}
    [mail] = mails(library)
    assert (mail.to_address, mail.subject, mail.language) == ("binh@example.vn", "Your library receipt", "en")


def test_no_address_is_quarantined_with_a_reason(library: Database) -> None:
    assert ingest(library, receipt_event("0001000002", "")).get("applied", 0) == 0
    assert "no e-mail address" in quarantine_reason(library)
    assert mails(library) == []


def test_unknown_card_is_quarantined_with_a_reason(library: Database) -> None:
    assert ingest(library, receipt_event("9999999999")).get("applied", 0) == 0
    assert "9999999999" in quarantine_reason(library)
    assert mails(library) == []


def test_erased_patron_is_quarantined(library: Database) -> None:
    assert ingest(library, receipt_event("0001000003")).get("applied", 0) == 0
    assert "erased" in quarantine_reason(library)
    assert mails(library) == []


def test_file_delivery_writes_a_utf8_eml(library: Database, tmp_path: Path) -> None:
    ingest(library, receipt_event("0001000001"))
    sender = MailSender(library, MailSettings(mode="file", folder=tmp_path / "mail", from_address="tv@hd.example"))
    report = sender.deliver_pending()
    assert (report.sent, report.failed) == (1, 0)
    [path] = (tmp_path / "mail").glob("*.eml")
    raw = path.read_bytes()
    raw.decode("ascii")  # transport-safe: RFC 2047 subject, quoted-printable body
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "Biên lai mượn trả sách"
    assert (msg["To"], msg["From"]) == ("anh@thuvien.example", "tv@hd.example")
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    for line in LINES:
        assert line in body
    [mail] = mails(library)
    assert mail.sent_at is not None and mail.attempts == 1
    assert sender.deliver_pending().sent == 0  # sent mail is not sent again
    assert len(list((tmp_path / "mail").glob("*"))) == 1


class TinySmtp:
    """Just enough of an SMTP server on 127.0.0.1 (a free port) to receive messages in a test."""

    def __init__(self, *, reject_rcpt: bool = False) -> None:
        self.reject_rcpt = reject_rcpt
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")

        def reply(text: str) -> None:
            conn.sendall(text.encode("ascii") + b"\r\n")

        reply("220 tiny ESMTP")
        sender, recipients = "", list[str]()
        while line := stream.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                reply("250 tiny")
            elif verb == "MAIL":
                sender, recipients = command.partition(":")[2].strip(), []
                reply("250 OK")
            elif verb == "RCPT":
                if self.reject_rcpt:
                    reply("550 no such mailbox")
                else:
                    recipients.append(command.partition(":")[2].strip())
                    reply("250 OK")
            elif verb == "DATA":
                reply("354 end with .")
                data = b""
                while (chunk := stream.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.messages.append((sender, recipients, data))
                reply("250 queued")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:  # RSET, NOOP
                reply("250 OK")

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def smtp_server() -> Iterator[TinySmtp]:
    server = TinySmtp()
    yield server
    server.close()


def smtp_settings(port: int) -> MailSettings:
    return MailSettings(
        mode="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, from_address="thuvien@hd.example"
    )


def test_smtp_delivery_oldest_first(library: Database, smtp_server: TinySmtp) -> None:
    with library.session() as s:
        queue_receipt(s, to_address="first@example.vn", lines=LINES, language="vi")
        queue_receipt(s, to_address="second@example.vn", lines=["Your receipt"], language="en")
    report = MailSender(library, smtp_settings(smtp_server.port)).deliver_pending()
    assert (report.sent, report.failed) == (2, 0)
    assert [rcpts for _, rcpts, _ in smtp_server.messages] == [["<first@example.vn>"], ["<second@example.vn>"]]
    assert smtp_server.messages[0][0] == "<thuvien@hd.example>"
    msg = email.message_from_bytes(smtp_server.messages[0][2], policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "Biên lai mượn trả sách"
    assert "Cảm ơn bạn đã sử dụng thư viện!" in msg.get_content()
    assert all(m.sent_at is not None for m in mails(library))


@pytest.mark.parametrize("refused", ["connection", "recipient"])
def test_smtp_failure_keeps_the_mail_pending(library: Database, refused: str) -> None:
    server = TinySmtp(reject_rcpt=True) if refused == "recipient" else None
    port = server.port if server is not None else free_port()  # nothing listens on a fresh free port
    try:
        with library.session() as s:
            queue_receipt(s, to_address="anh@thuvien.example", lines=LINES, event_id="ev-1")
        sender = MailSender(library, smtp_settings(port))
        now = utcnow()
        report = sender.deliver_pending(now=now)
        assert (report.sent, report.failed) == (0, 1)
        [mail] = mails(library)
        assert mail.sent_at is None
        assert mail.attempts == 1
        assert mail.last_error
        if server is not None:
            assert "550" in mail.last_error
        assert mail.next_attempt_at > now  # retried later, with backoff
        assert sender.deliver_pending(now=now).failed == 0
        later = sender.deliver_pending(now=mail.next_attempt_at)
        assert later.failed == 1
        assert mails(library)[0].attempts == 2
    finally:
        if server is not None:
            server.close()


def test_sender_runs_as_background_service_only_when_enabled(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        base = ServerSettings(demo=True, sip2=Sip2Settings(enabled=False))
        assert "mail-sender" not in [s.name for s in background_services(base, db)]
        enabled = base.model_copy(update={"mail": MailSettings(mode="file", folder=tmp_path)})
        assert "mail-sender" in [s.name for s in background_services(enabled, db)]
    finally:
        db.dispose()
