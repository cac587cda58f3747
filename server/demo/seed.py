"""Writing the demo data set into an empty database, once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from pymarc import Field, Indicators, MARCReader, Record, Subfield
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.catalog.models import BibRecord, Holding, Item, ItemStatus, ItemTag, ItemType, SecurityState
from server.catalog.service import add_record
from server.circulation.models import Fee, FeeKind, Hold, HoldState, Loan, LoanPolicy
from server.db import Database, utcnow
from server.demo import data
from server.libraries.models import (
    Closure,
    Library,
    LibraryCode,
    LibraryKind,
    LibraryParentPeriod,
    Location,
    OpeningDay,
)
from server.patrons.models import CardKind, Patron, PatronBlock, PatronCard, PatronCategory
from server.security import hash_secret
from server.sip2.models import Sip2Account
from server.staff.models import Role, StaffRole, StaffUser

log = logging.getLogger(__name__)

SINCE = dt.date(2020, 1, 1)


def is_seeded(session: Session) -> bool:
    return session.scalar(select(Library.id).where(Library.isil == data.PROVINCE_ISIL)) is not None


def seed(db: Database) -> bool:
    """Write the demo data unless it is there already; True when it wrote."""
    with db.write() as session:
        if is_seeded(session):
            return False
        libraries = _libraries(session)
        _reference_data(session)
        items = _catalog(session, libraries)
        patrons = _patrons(session, libraries)
        _staff(session, libraries)
        _sip2(session, libraries)
        _circulation(session, libraries, items, patrons)
    log.info("demo data written")
    return True


def _libraries(session: Session) -> dict[str, Library]:
    by_isil: dict[str, Library] = {}
    for spec in data.LIBRARIES:
        library = Library(
            isil=spec.isil,
            name=spec.name,
            kind=LibraryKind(spec.kind),
            parent=by_isil[spec.parent] if spec.parent else None,
            address=spec.address,
        )
        session.add(library)
        by_isil[spec.isil] = library
    session.flush()
    for spec in data.LIBRARIES:
        library = by_isil[spec.isil]
        session.add(LibraryCode(library_id=library.id, code=spec.isil, name=spec.name, valid_from=SINCE))
        session.add(LibraryParentPeriod(library_id=library.id, parent_id=library.parent_id, valid_from=SINCE))
        session.add_all(
            [
                Location(library_id=library.id, code="MUON", name="Kho mượn (lending stacks)"),
                Location(library_id=library.id, code="DOC", name="Phòng đọc (reading room)"),
                Location(library_id=library.id, code="THIEUNHI", name="Góc thiếu nhi (children)"),
            ]
        )
        # Open Monday to Saturday, 7:30–17:00; closed on Sundays and public holidays.
        for weekday in range(6):
            session.add(OpeningDay(library_id=library.id, weekday=weekday, opens=dt.time(7, 30), closes=dt.time(17)))
        for day, reason in data.CLOSURES:
            session.add(Closure(library_id=library.id, day=day, reason=reason))
    return by_isil


def _reference_data(session: Session) -> None:
    session.add_all(
        [
            ItemType(code="book", name="Sách (book)"),
            ItemType(code="periodical", name="Báo, tạp chí (periodical)"),
            ItemType(code="av", name="Tài liệu nghe nhìn (audiovisual)"),
            ItemType(code="reference", name="Tài liệu tra cứu (reference, not for loan)", circulates=False),
            PatronCategory(code="adult", name="Người lớn (adult)"),
            PatronCategory(code="student", name="Học sinh, sinh viên (student)"),
            PatronCategory(code="child", name="Thiếu nhi (child)"),
            PatronCategory(code="staff", name="Cán bộ (staff)"),
        ]
    )
    session.flush()
    session.add_all(
        [
            LoanPolicy(loan_days=14, renewals_allowed=2, max_items=5, fine_per_day_vnd=1000, hold_shelf_days=7),
            LoanPolicy(patron_category="student", loan_days=21, renewals_allowed=2, max_items=8),
            LoanPolicy(patron_category="child", loan_days=14, renewals_allowed=1, max_items=3, fine_per_day_vnd=500),
            LoanPolicy(item_type="av", loan_days=7, renewals_allowed=1, max_items=2, fine_per_day_vnd=2000),
        ]
    )


def _extra_record(title: str, author: str, year: int, subject: str, serial: int) -> Record:
    record = Record(leader="00000nam a22000007a 4500")
    record.add_field(Field(tag="001", data=f"HDU{serial:06d}"))
    record.add_field(Field(tag="008", data=f"260101s{year}    vm            000 0 vie d"))
    record.add_field(Field(tag="100", indicators=Indicators("1", " "), subfields=[Subfield("a", author)]))
    record.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", title)]))
    record.add_field(
        Field(
            tag="264",
            indicators=Indicators(" ", "1"),
            subfields=[Subfield("a", "Hà Nội :"), Subfield("b", "Nxb. Văn học,"), Subfield("c", str(year))],
        )
    )
    record.add_field(Field(tag="650", indicators=Indicators(" ", "7"), subfields=[Subfield("a", subject)]))
    return record


def _marc_records() -> Iterator[Record]:
    with data.VIETNAMESE_MARC.open("rb") as fh:
        for record in MARCReader(fh, to_unicode=True):
            if record is not None:
                yield record


def _make_item(session: Session, record: BibRecord, library: Library, spec: data.DemoItem) -> Item:
    holding = session.scalar(select(Holding).where(Holding.record_id == record.id, Holding.library_id == library.id))
    if holding is None:
        holding = Holding(record_id=record.id, library_id=library.id, call_number="")
        session.add(holding)
        session.flush()
    item = Item(
        barcode=spec.barcode,
        record_id=record.id,
        holding_id=holding.id,
        library_id=library.id,
        item_type=spec.item_type,
        status=ItemStatus.AVAILABLE,
        owner_isil=library.isil,
        set_parts_total=len(spec.tag_uids),
        security_state=SecurityState.SECURED,
        security_written_at=utcnow(),
        tags=[
            ItemTag(uid=uid, part_number=part, tag_format="iso28560-3", programmed_at=utcnow())
            for part, uid in enumerate(spec.tag_uids, start=1)
        ],
    )
    session.add(item)
    return item


def generated_items() -> list[data.DemoItem]:
    """One item per Library of Congress record, spread over the libraries (deterministic)."""
    items = []
    isils = [lib.isil for lib in data.LIBRARIES]
    for index, record in enumerate(_marc_records()):
        serial = data.FIRST_GENERATED_SERIAL + index
        title = record.title or "?"
        items.append(
            data.DemoItem(data.barcode(serial), title, isils[index % len(isils)], "book", (data.tag_uid(serial),))
        )
    return items


def _catalog(session: Session, libraries: dict[str, Library]) -> dict[str, Item]:
    province = libraries[data.PROVINCE_ISIL]
    records: dict[str, BibRecord] = {}
    for serial, (title, author, year, subject) in enumerate(data.EXTRA_TITLES, start=1):
        record = add_record(session, _extra_record(title, author, year, subject, serial), source_library_id=province.id)
        record.local_history = title == data.LOCAL_HISTORY_TITLE
        record.digitised = record.local_history
        records[title] = record
    session.flush()
    items: dict[str, Item] = {}
    for spec in data.HIGHLIGHTS:
        items[spec.barcode] = _make_item(session, records[spec.title], libraries[spec.library], spec)
    generated = generated_items()
    for marc, spec in zip(_marc_records(), generated, strict=True):
        record = add_record(session, marc, source_library_id=province.id)
        session.flush()
        items[spec.barcode] = _make_item(session, record, libraries[spec.library], spec)
    session.flush()
    return items


def _patrons(session: Session, libraries: dict[str, Library]) -> dict[str, Patron]:
    today = dt.date.today()
    patrons: dict[str, Patron] = {}
    for spec in data.PATRONS:
        patron = Patron(
            full_name=spec.name,
            email=spec.email,
            home_library_id=libraries[spec.library].id,
            category_code=spec.category,
            expires_on=today + dt.timedelta(days=spec.expires_in_days),
            pin_hash=hash_secret(spec.pin),
            cards=[PatronCard(number=spec.card, kind=CardKind.BARCODE)],
        )
        if spec.blocked_reason:
            patron.blocks.append(PatronBlock(kind="staff", reason=spec.blocked_reason))
        session.add(patron)
        patrons[spec.card] = patron
    session.flush()
    for spec in data.PATRONS:
        if spec.fee_vnd:
            session.add(
                Fee(
                    patron_id=patrons[spec.card].id,
                    library_id=libraries[spec.library].id,
                    kind=FeeKind.OVERDUE,
                    amount_vnd=spec.fee_vnd,
                    description="Phạt quá hạn (overdue fine)",
                )
            )
    return patrons


def _staff(session: Session, libraries: dict[str, Library]) -> None:
    for spec in data.STAFF:
        session.add(
            StaffUser(
                username=spec.username,
                full_name=spec.name,
                password_hash=hash_secret(spec.password),
                roles=[StaffRole(library_id=libraries[spec.library].id, role=Role(spec.role))],
            )
        )


def _sip2(session: Session, libraries: dict[str, Library]) -> None:
    for spec in data.SIP2_ACCOUNTS:
        session.add(
            Sip2Account(
                login=spec.login,
                password_hash=hash_secret(spec.password),
                institution_id=spec.institution,
                library_id=libraries[spec.library].id,
                terminal_location=spec.location,
            )
        )


def _circulation(
    session: Session, libraries: dict[str, Library], items: dict[str, Item], patrons: dict[str, Patron]
) -> None:
    now = utcnow()
    borrower = patrons[data.PATRONS[1].card]
    on_loan = items[data.LOAN_OF_PATRON_2]
    on_loan.status = ItemStatus.ON_LOAN
    on_loan.security_state = SecurityState.UNSECURED
    session.add(
        Loan(
            item_id=on_loan.id,
            patron_id=borrower.id,
            patron_category=borrower.category_code,
            patron_home_library_id=borrower.home_library_id,
            library_id=on_loan.library_id,
            checked_out_at=now - dt.timedelta(days=3),
            due_at=now + dt.timedelta(days=18),
            channel="desk",
        )
    )
    wanted = items[data.HOLD_FOR_PATRON_1]
    session.add(
        Hold(
            record_id=wanted.record_id,
            patron_id=patrons[data.PATRONS[0].card].id,
            pickup_library_id=libraries[data.PROVINCE_ISIL].id,
            state=HoldState.WAITING,
        )
    )
