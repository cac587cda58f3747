"""Staff administration of patron records under Vietnam's Personal Data Protection Law (91/2025/QH15):
only what circulation needs is kept, every staff view of personal data is audited, and a patron's data can be
exported and erased on request. Each function checks the staff member's library scope first.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.audit.models import AuditEntry
from server.audit.service import record
from server.catalog.folding import fold
from server.catalog.models import BibRecord, Item
from server.circulation.models import Fee, Hold, HoldState, Loan, Payment
from server.db import utcnow
from server.patrons.models import CardKind, Patron, PatronBlock, PatronCard, PatronCategory
from server.staff.service import AccessDenied, Level, Principal

log = logging.getLogger(__name__)


#: How many patrons the diacritic-insensitive name match scans at most (newest first); card numbers and names
#: typed with their marks are found by the database whatever the size.
FOLD_SCAN_LIMIT = 20_000


class PatronAdminError(ValueError):
    code = "patron_error"


class PatronMissing(PatronAdminError):
    code = "patron_not_found"


class CardTaken(PatronAdminError):
    code = "card_taken"


class OpenLoansRemain(PatronAdminError):
    code = "open_loans_remain"


class MoneyOwed(PatronAdminError):
    code = "money_owed"


@dataclass(frozen=True)
class PatronForm:
    full_name: str
    email: str | None
    phone: str | None
    home_library_id: int
    category_code: str
    expires_on: dt.date
    keep_history: bool = False
    language: str = "vi"

    def cleaned(self) -> PatronForm:
        name = " ".join(self.full_name.split())
        if not name or len(name) > 255:
            raise PatronAdminError(f"not a valid name: {self.full_name!r}")
        email = (self.email or "").strip() or None
        if email is not None and ("@" not in email or len(email) > 255):
            raise PatronAdminError(f"not a valid e-mail address: {email!r}")
        phone = (self.phone or "").strip() or None
        if phone is not None and (len(phone) > 32 or not all(c.isdigit() or c in "+ .-()" for c in phone)):
            raise PatronAdminError(f"not a valid phone number: {phone!r}")
        return PatronForm(name, email, phone, self.home_library_id, self.category_code, self.expires_on,
                          self.keep_history, self.language if self.language in ("vi", "en") else "vi")


def _actor(principal: Principal, ip: str | None) -> dict[str, Any]:
    return {"actor_kind": "staff", "actor_id": str(principal.user_id), "ip": ip}


def get_patron(session: Session, principal: Principal, patron_id: int, *, ip: str | None, purpose: str) -> Patron:
    """A patron of a library in scope; the view of their personal data is written to the audit log."""
    patron = session.get(Patron, patron_id)
    if patron is None:
        raise PatronMissing(str(patron_id))
    principal.require(patron.home_library_id, Level.READ, "view_patron")
    record(session, action="patron.viewed", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, details={"purpose": purpose}, **_actor(principal, ip))
    return patron


def search_patrons(session: Session, principal: Principal, query: str, *, ip: str | None, limit: int = 50
                   ) -> list[Patron]:
    """Patrons of libraries in scope whose card number or folded name matches; the search is audited."""
    scope = principal.scope(Level.READ)
    query = query.strip()
    if not query or not scope:
        return []
    folded = fold(query)
    by_card = select(PatronCard.patron_id).where(PatronCard.number == query)
    candidates = session.scalars(
        select(Patron).where(Patron.home_library_id.in_(scope), Patron.erased_at.is_(None),
                             or_(Patron.id.in_(by_card), func.lower(Patron.full_name).contains(query.lower())))
        .order_by(Patron.full_name).limit(limit)
    ).all()
    found = list(candidates)
    if len(found) < limit:
        # Diacritic-insensitive fallback over names (patron tables are small per library).
        seen = {p.id for p in found}
        for patron in session.scalars(
            select(Patron).where(Patron.home_library_id.in_(scope), Patron.erased_at.is_(None))
            .order_by(Patron.id.desc()).limit(FOLD_SCAN_LIMIT)
        ):
            if patron.id not in seen and folded in fold(patron.full_name):
                found.append(patron)
                if len(found) >= limit:
                    break
    record(session, action="patron.searched", details={"query": query[:64], "results": len(found)},
           **_actor(principal, ip))
    return found


def create_patron(session: Session, principal: Principal, form: PatronForm, card_number: str | None, *,
                  ip: str | None) -> Patron:
    form = form.cleaned()
    principal.require(form.home_library_id, Level.CIRCULATE, "create_patron")
    if session.get(PatronCategory, form.category_code) is None:
        raise PatronAdminError(f"unknown patron category {form.category_code!r}")
    number = (card_number or "").strip() or _new_card_number(session)
    if session.scalar(select(PatronCard.id).where(PatronCard.number == number)) is not None:
        raise CardTaken(number)
    patron = Patron(full_name=form.full_name, email=form.email, phone=form.phone,
                    home_library_id=form.home_library_id, category_code=form.category_code,
                    expires_on=form.expires_on, keep_history=form.keep_history, language=form.language,
                    cards=[PatronCard(number=number, kind=CardKind.BARCODE)])
    session.add(patron)
    session.flush()
    record(session, action="patron.created", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, details={"card": number}, **_actor(principal, ip))
    return patron


def _new_card_number(session: Session) -> str:
    for _ in range(20):
        number = "0009" + "".join(secrets.choice("0123456789") for _ in range(6))
        if session.scalar(select(PatronCard.id).where(PatronCard.number == number)) is None:
            return number
    raise PatronAdminError("could not find a free card number")


def update_patron(session: Session, principal: Principal, patron_id: int, form: PatronForm, *, ip: str | None
                  ) -> Patron:
    form = form.cleaned()
    patron = session.get(Patron, patron_id)
    if patron is None or patron.erased_at is not None:
        raise PatronMissing(str(patron_id))
    principal.require(patron.home_library_id, Level.CIRCULATE, "edit_patron")
    principal.require(form.home_library_id, Level.CIRCULATE, "move_patron")
    changed = []
    for name in ("full_name", "email", "phone", "home_library_id", "category_code", "expires_on",
                 "keep_history", "language"):
        new = getattr(form, name)
        if getattr(patron, name) != new:
            changed.append(name)
            setattr(patron, name, new)
    record(session, action="patron.updated", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, details={"fields": changed}, **_actor(principal, ip))
    return patron


def add_block(session: Session, principal: Principal, patron_id: int, reason: str, *, ip: str | None) -> None:
    patron = session.get(Patron, patron_id)
    if patron is None:
        raise PatronMissing(str(patron_id))
    principal.require(patron.home_library_id, Level.CIRCULATE, "block_patron")
    reason = reason.strip()[:500]
    if not reason:
        raise PatronAdminError("a block needs a reason")
    patron.blocks.append(PatronBlock(kind="staff", reason=reason, created_by=principal.user_id))
    record(session, action="patron.blocked", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, details={"reason": reason}, **_actor(principal, ip))


def lift_block(session: Session, principal: Principal, block_id: int, *, ip: str | None) -> None:
    block = session.get(PatronBlock, block_id)
    if block is None:
        raise PatronMissing(f"block {block_id}")
    patron = block.patron
    principal.require(patron.home_library_id, Level.CIRCULATE, "unblock_patron")
    if block.lifted_at is None:
        block.lifted_at = utcnow()
        record(session, action="patron.unblocked", target_type="patron", target_id=patron.id,
               library_id=patron.home_library_id, details={"block": block.id}, **_actor(principal, ip))


def add_card(session: Session, principal: Principal, patron_id: int, number: str, kind: CardKind, *,
             ip: str | None) -> None:
    patron = session.get(Patron, patron_id)
    if patron is None:
        raise PatronMissing(str(patron_id))
    principal.require(patron.home_library_id, Level.CIRCULATE, "issue_card")
    number = number.strip()
    if not number or len(number) > 64:
        raise PatronAdminError(f"not a valid card number: {number!r}")
    if session.scalar(select(PatronCard.id).where(PatronCard.number == number)) is not None:
        raise CardTaken(number)
    patron.cards.append(PatronCard(number=number, kind=kind))
    record(session, action="patron.card_issued", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, details={"card": number}, **_actor(principal, ip))


def history(session: Session, patron: Patron, limit: int = 100) -> list[tuple[Loan, str, str]]:
    """Loans still linked to the patron, with the item's barcode and title (returned loans are unlinked after
    the privacy period unless the patron asked to keep their history)."""
    rows = session.execute(
        select(Loan, Item.barcode, BibRecord.title)
        .join(Item, Item.id == Loan.item_id)
        .join(BibRecord, BibRecord.id == Item.record_id)
        .where(Loan.patron_id == patron.id)
        .order_by(Loan.checked_out_at.desc())
        .limit(limit)
    ).all()
    return [(loan, barcode, title) for loan, barcode, title in rows]


def hold_shelf(session: Session, library_id: int) -> list[tuple[Hold, str, str]]:
    """Holds waiting on this library's hold shelf: the hold, the item's barcode and the title."""
    rows = session.execute(
        select(Hold, Item.barcode, BibRecord.title)
        .join(BibRecord, BibRecord.id == Hold.record_id)
        .outerjoin(Item, Item.id == Hold.item_id)
        .where(Hold.pickup_library_id == library_id, Hold.state == HoldState.READY)
        .order_by(Hold.expires_at)
    ).all()
    return [(hold, barcode or "", title) for hold, barcode, title in rows]


def export_data(session: Session, principal: Principal, patron_id: int, *, ip: str | None) -> dict[str, Any]:
    """Everything stored about the patron, as one JSON document (the right of access / portability)."""
    patron = session.get(Patron, patron_id)
    if patron is None:
        raise PatronMissing(str(patron_id))
    principal.require(patron.home_library_id, Level.CIRCULATE, "export_patron")
    loans = session.scalars(select(Loan).where(Loan.patron_id == patron.id).order_by(Loan.id)).all()
    fees = session.scalars(select(Fee).where(Fee.patron_id == patron.id).order_by(Fee.id)).all()
    payments = session.scalars(select(Payment).where(Payment.patron_id == patron.id).order_by(Payment.id)).all()
    holds = session.scalars(select(Hold).where(Hold.patron_id == patron.id).order_by(Hold.id)).all()
    views = session.scalars(
        select(AuditEntry).where(AuditEntry.target_type == "patron", AuditEntry.target_id == str(patron.id))
        .order_by(AuditEntry.id)
    ).all()
    document: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "law": "91/2025/QH15",
        "patron": {
            "id": patron.id, "full_name": patron.full_name, "email": patron.email, "phone": patron.phone,
            "home_library_id": patron.home_library_id, "category": patron.category_code,
            "expires_on": patron.expires_on.isoformat(), "language": patron.language,
            "keep_history": patron.keep_history, "created_at": patron.created_at.isoformat(),
        },
        "cards": [{"number": c.number, "kind": str(c.kind), "active": c.active} for c in patron.cards],
        "blocks": [{"reason": b.reason, "created_at": b.created_at.isoformat(),
                    "lifted_at": b.lifted_at.isoformat() if b.lifted_at else None} for b in patron.blocks],
        "loans": [{"item_id": loan.item_id, "checked_out_at": loan.checked_out_at.isoformat(),
                   "due_at": loan.due_at.isoformat(),
                   "returned_at": loan.returned_at.isoformat() if loan.returned_at else None} for loan in loans],
        "holds": [{"record_id": h.record_id, "state": str(h.state), "placed_at": h.placed_at.isoformat()}
                  for h in holds],
        "fees": [{"kind": str(f.kind), "amount_vnd": f.amount_vnd, "paid_vnd": f.paid_vnd,
                  "description": f.description} for f in fees],
        "payments": [{"amount_vnd": p.amount_vnd, "paid_at": p.paid_at.isoformat()} for p in payments],
        "access_log": [{"at": v.at.isoformat(), "action": v.action, "staff": v.actor_id} for v in views],
    }
    record(session, action="patron.exported", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, **_actor(principal, ip))
    return document


def erase(session: Session, principal: Principal, patron_id: int, *, ip: str | None) -> Patron:
    """Erase the patron's personal data on request; refused while items are on loan or money is owed.

    Loans, fees and payments keep their statistics (category, library) but lose the link to the person; the
    patron row stays as an anonymous stub with ``erased_at`` so that reports do not change.
    """
    patron = session.get(Patron, patron_id)
    if patron is None or patron.erased_at is not None:
        raise PatronMissing(str(patron_id))
    principal.require(patron.home_library_id, Level.ADMINISTER, "erase_patron")
    open_loans = session.scalar(
        select(func.count(Loan.id)).where(Loan.patron_id == patron.id, Loan.returned_at.is_(None))
    )
    if open_loans:
        raise OpenLoansRemain(str(open_loans))
    owed = session.scalar(
        select(func.coalesce(func.sum(Fee.amount_vnd - Fee.paid_vnd), 0)).where(
            Fee.patron_id == patron.id, Fee.waived.is_(False)
        )
    )
    if owed and int(owed) > 0:
        raise MoneyOwed(str(owed))
    for loan in session.scalars(select(Loan).where(Loan.patron_id == patron.id)):
        loan.patron_id = None
        loan.anonymised_at = utcnow()
    for hold in session.scalars(select(Hold).where(Hold.patron_id == patron.id)):
        if hold.state in (HoldState.WAITING, HoldState.IN_TRANSIT, HoldState.READY):
            hold.state = HoldState.CANCELLED
            hold.closed_at = utcnow()
        hold.patron_id = None
    for fee in session.scalars(select(Fee).where(Fee.patron_id == patron.id)):
        fee.patron_id = None
    for payment in session.scalars(select(Payment).where(Payment.patron_id == patron.id)):
        payment.patron_id = None
    patron.full_name = "—"
    patron.email = None
    patron.phone = None
    patron.pin_hash = None
    patron.keep_history = False
    patron.erased_at = utcnow()
    patron.cards.clear()
    patron.blocks.clear()
    record(session, action="patron.erased", target_type="patron", target_id=patron.id,
           library_id=patron.home_library_id, **_actor(principal, ip))
    log.info("personal data of patron %s erased on request", patron.id)
    return patron


def deny_unless_scope(principal: Principal, library_id: int, what: str) -> None:
    if not principal.allows(library_id, Level.READ):
        raise AccessDenied(what, library_id)
