"""Queueing mail in the database and delivering it by SMTP or as ``.eml`` files.

:func:`queue_receipt` adds a mail inside the caller's transaction (the ingest transaction for kiosk events),
so a mail exists exactly when the event that asked for it was stored. :class:`MailSender` delivers pending
mails oldest first; each one is first *claimed* (its ``next_attempt_at`` pushed a lease ahead in its own
transaction), so two server processes never send the same mail at once. A failed try counts in
``attempts``, keeps its error in ``last_error`` and is retried after an exponential backoff; after
``max_attempts`` tries a mail stays unsent for staff to look at.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from server.db import Database, utcnow
from server.mail.models import OutgoingMail
from server.settings import MailSettings

log = logging.getLogger(__name__)

RECEIPT_SUBJECTS = {"vi": "Biên lai mượn trả sách", "en": "Your library receipt"}
LANGUAGES = tuple(RECEIPT_SUBJECTS)


def queue_receipt(
    session: Session,
    *,
    to_address: str,
    lines: Sequence[str],
    language: str = "vi",
    event_id: str | None = None,
) -> OutgoingMail:
    """Add a receipt mail to the queue in ``session``'s transaction; the sender delivers it later."""
    lang = language if language in RECEIPT_SUBJECTS else "vi"
    mail = OutgoingMail(
        event_id=event_id,
        to_address=to_address,
        subject=RECEIPT_SUBJECTS[lang],
        body="\n".join(lines) + "\n",
        language=lang,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(mail)
    session.flush()
    return mail


def pending(now: dt.datetime, max_attempts: int) -> ColumnElement[bool]:
    """Mails due for a delivery try at ``now``."""
    return and_(
        OutgoingMail.sent_at.is_(None),
        OutgoingMail.next_attempt_at <= now,
        OutgoingMail.attempts < max_attempts,
    )


def backoff(attempts: int, *, base: float = 60.0, cap: float = 3600.0) -> dt.timedelta:
    """Wait before try number ``attempts + 1``: 1, 2, 4... minutes, at most an hour."""
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


class MailSender:
    """Delivers pending mails as the settings say (``smtp`` or ``file``; ``off`` delivers nothing).

    Blocking: call :meth:`deliver_pending` from a thread (see :class:`server.mail.jobs.MailJob`).
    """

    def __init__(
        self,
        db: Database,
        settings: MailSettings,
        *,
        max_attempts: int = 12,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        smtp_timeout: float = 30.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.max_attempts = max_attempts
        self.lease = lease
        self.smtp_timeout = smtp_timeout

    def deliver_pending(self, *, now: dt.datetime | None = None, limit: int = 50) -> DeliveryReport:
        """Try every mail due at ``now`` (oldest first, at most ``limit``); never raises for a failed mail."""
        report = DeliveryReport()
        if self.settings.mode == "off":
            return report
        now = now or utcnow()
        with self.db.session() as session:
            ids = list(
                session.scalars(
                    select(OutgoingMail.id)
                    .where(pending(now, self.max_attempts))
                    .order_by(OutgoingMail.created_at, OutgoingMail.id)
                    .limit(limit)
                )
            )
        for mail_id in ids:
            mail = self._claim(mail_id, now)
            if mail is None:  # another process took it
                continue
            try:
                self.deliver(mail)
            except Exception as exc:  # noqa: BLE001 - any failure is kept on the mail and retried
                error = f"{type(exc).__name__}: {exc}".strip()[:2000]
                log.warning("mail %d to %s not delivered (try %d): %s", mail.id, mail.to_address, mail.attempts, error)
                self._finish(mail.id, next_attempt_at=now + backoff(mail.attempts), last_error=error)
                report.failed += 1
            else:
                self._finish(mail.id, sent_at=now)
                report.sent += 1
        return report

    def _claim(self, mail_id: int, now: dt.datetime) -> OutgoingMail | None:
        with self.db.write() as session:
            claimed = session.execute(
                update(OutgoingMail)
                .where(OutgoingMail.id == mail_id, pending(now, self.max_attempts))
                .values(next_attempt_at=now + self.lease, attempts=OutgoingMail.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return session.get(OutgoingMail, mail_id)

    def _finish(
        self,
        mail_id: int,
        *,
        sent_at: dt.datetime | None = None,
        next_attempt_at: dt.datetime | None = None,
        last_error: str | None = None,
    ) -> None:
        with self.db.write() as session:
            mail = session.get(OutgoingMail, mail_id)
            if mail is None:
                return
            if sent_at is not None:
                mail.sent_at = sent_at
            if next_attempt_at is not None:
                mail.next_attempt_at = next_attempt_at
            if last_error is not None:
                mail.last_error = last_error

    def message(self, mail: OutgoingMail) -> EmailMessage:
        """The mail as a UTF-8 MIME message (quoted-printable body, RFC 2047 subject)."""
        msg = EmailMessage()
        msg["From"] = self.settings.from_address
        msg["To"] = mail.to_address
        msg["Subject"] = mail.subject
        msg["Date"] = format_datetime(mail.created_at)
        domain = self.settings.from_address.rpartition("@")[2] or "localhost"
        msg["Message-ID"] = make_msgid(idstring=f"thuvien-{mail.id}", domain=domain)
        msg["Content-Language"] = mail.language
        msg.set_content(mail.body, charset="utf-8", cte="quoted-printable")
        return msg

    def deliver(self, mail: OutgoingMail) -> None:
        """Deliver one mail now; raises on failure."""
        msg = self.message(mail)
        if self.settings.mode == "file":
            self._write_file(mail, msg)
        elif self.settings.mode == "smtp":
            self._send_smtp(msg)
        else:
            raise RuntimeError(f"mail.mode is {self.settings.mode!r}; nothing is delivered")

    def _write_file(self, mail: OutgoingMail, msg: EmailMessage) -> Path:
        folder = self.settings.folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{mail.created_at:%Y%m%dT%H%M%S}-{mail.id:08d}.eml"
        partial = path.with_suffix(".eml.part")
        partial.write_bytes(msg.as_bytes())
        os.replace(partial, path)
        return path

    def _send_smtp(self, msg: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.smtp_timeout) as smtp:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_username:
                password = s.smtp_password.get_secret_value() if s.smtp_password is not None else ""
                smtp.login(s.smtp_username, password)
            smtp.send_message(msg)
