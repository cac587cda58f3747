"""What a kiosk's ``receipt_email`` event does on the server (imported through the ingest ``HANDLER_MODULES``).

The kiosk sends the receipt text and the address the library system gave; the mail goes to the patron's
address on file when there is one, else to the event's. It is queued in the ingest transaction, so a
redelivered event (same ``event_id``) never queues a second mail. Refused (quarantined with a reason):
an unknown card, a patron whose personal data was erased, no usable address, no receipt lines.
"""

from __future__ import annotations

from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import Event
from server.devices.models import Device
from server.ingest.errors import RejectEvent
from server.ingest.handlers import register_handler
from server.mail.service import LANGUAGES, queue_receipt
from server.patrons.models import PatronCard


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or any(c.isspace() for c in text):
        return None
    name, address = parseaddr(text)
    if name or address != text or address.count("@") != 1 or address.startswith("@") or address.endswith("@"):
        return None
    return address


def on_receipt_email(session: Session, device: Device, event: Event) -> None:
    card_number = str(event.data.get("patron_id") or "").strip()
    card = session.scalar(select(PatronCard).where(PatronCard.number == card_number)) if card_number else None
    if card is None:
        raise RejectEvent(f"receipt_email names no known patron card ({card_number!r}); no receipt sent")
    patron = card.patron
    if patron.erased_at is not None:
        raise RejectEvent("receipt_email for a patron whose personal data was erased; no receipt sent")
    address = _address(patron.email) or _address(event.data.get("email"))
    if address is None:
        raise RejectEvent("receipt_email: the patron has no e-mail address on file and the event gives none usable")
    lines = event.data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise RejectEvent("receipt_email carries no receipt lines; no receipt sent")
    lang = event.data.get("lang")
    language = lang if isinstance(lang, str) and lang in LANGUAGES else patron.language
    queue_receipt(
        session, to_address=address, lines=[str(line) for line in lines], language=language, event_id=event.event_id
    )


register_handler("receipt_email", on_receipt_email)
