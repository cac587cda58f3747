"""A small library world for circulation and SIP2 tests: two libraries, patrons with PINs, items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from server.catalog.models import BibRecord, Holding, Item, ItemStatus, ItemType
from server.circulation.models import Fee, FeeKind, LoanPolicy
from server.db import Database
from server.libraries.models import Library, LibraryKind, Location, OpeningDay
from server.patrons.models import Patron, PatronBlock, PatronCard, PatronCategory
from server.security import hash_secret
from server.sip2.models import Sip2Account

# One argon2 hash reused for every PIN "1234" so that building the world stays fast.
_PIN_HASHES: dict[str, str] = {}


def pin_hash(pin: str) -> str:
    if pin not in _PIN_HASHES:
        _PIN_HASHES[pin] = hash_secret(pin)
    return _PIN_HASHES[pin]


class Clock:
    """A settable clock for the service (aware UTC)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


@dataclass
class World:
    main: int = 0
    branch: int = 0
    records: dict[str, int] = field(default_factory=dict)


TITLES = {
    "39000001": "Truyện Kiều",
    "39000002": "Số đỏ",
    "39000003": "Tắt đèn",
    "39000004": "Dế Mèn phiêu lưu ký",
    "39000005": "Nỗi buồn chiến tranh",
    "39000006": "Lịch sử Hải Dương",
    "39000007": "Đất rừng phương Nam",
    "39000008": "Đất rừng phương Nam",
}


def add_readers(db: Database, world: World, cards: list[str], *, pin: str | None = None) -> None:
    """Plain adult patrons of the main library, one per card number (for tests and benchmarks with many)."""
    with db.write() as s:
        for n, card in enumerate(cards):
            s.add(
                Patron(
                    full_name=f"Bạn đọc {n}",
                    home_library_id=world.main,
                    category_code="adult",
                    expires_on=dt.date(2030, 1, 1),
                    pin_hash=pin_hash(pin) if pin is not None else None,
                    cards=[PatronCard(number=card)],
                )
            )


def build_world(db: Database, *, extra_items: int = 0, open_all_week: bool = True) -> World:
    world = World()
    with db.write() as s:
        main = Library(isil="VN-TEST", name="Thư viện tỉnh Thử", kind=LibraryKind.PROVINCE)
        branch = Library(isil="VN-TEST-B", name="Thư viện huyện Nhánh", kind=LibraryKind.DISTRICT, parent=main)
        s.add_all([main, branch])
        s.flush()
        world.main, world.branch = main.id, branch.id
        s.add(Location(library_id=main.id, code="MUON", name="Kho mượn"))
        for lib in (main, branch):
            for weekday in range(7 if open_all_week else 6):
                s.add(OpeningDay(library_id=lib.id, weekday=weekday, opens=dt.time(7, 30), closes=dt.time(17)))
        s.add_all(
            [
                ItemType(code="book", name="Sách"),
                ItemType(code="reference", name="Tra cứu", circulates=False),
                PatronCategory(code="adult", name="Người lớn"),
                PatronCategory(code="child", name="Thiếu nhi"),
            ]
        )
        s.flush()
        s.add_all(
            [
                LoanPolicy(loan_days=14, renewals_allowed=2, max_items=5, fine_per_day_vnd=1000, hold_shelf_days=7),
                LoanPolicy(patron_category="child", loan_days=7, renewals_allowed=1, max_items=2, fine_per_day_vnd=500),
            ]
        )
        today = dt.date(2026, 11, 26)
        specs = [
            ("0001", "Nguyễn Văn An", "adult", 365, None, 0),
            ("0002", "Trần Thị Bích Ngọc", "adult", 365, None, 0),
            ("0003", "Lê Minh Đức", "child", 365, None, 0),
            ("0004", "Phạm Thu Hà", "adult", 365, "Thẻ đã báo mất / Card reported lost", 0),
            ("0005", "Hoàng Quốc Việt", "adult", -10, None, 0),
            ("0006", "Vũ Thị Lan", "adult", 365, None, 60000),
        ]
        for card, name, cat, days, block, fee in specs:
            p = Patron(
                full_name=name,
                home_library_id=main.id,
                category_code=cat,
                expires_on=today + dt.timedelta(days=days),
                pin_hash=pin_hash("1234"),
                email=f"{card}@example.vn",
                cards=[PatronCard(number=card)],
            )
            if block:
                p.blocks.append(PatronBlock(kind="staff", reason=block))
            s.add(p)
            s.flush()
            if fee:
                s.add(Fee(patron_id=p.id, library_id=main.id, kind=FeeKind.OVERDUE, amount_vnd=fee, description="Phạt"))
        barcodes = dict(TITLES)
        holdings: dict[str, int] = {}
        for n in range(extra_items):
            barcodes[f"4{n:07d}"] = f"Sách số {n}"
        for barcode, title in barcodes.items():
            if title not in world.records:
                rec = BibRecord(marc=b"", title=title)
                s.add(rec)
                s.flush()
                world.records[title] = rec.id
                holding = Holding(record_id=rec.id, library_id=main.id, call_number="895.922")
                s.add(holding)
                s.flush()
                holdings[title] = holding.id
            library_id = branch.id if barcode == "39000008" else main.id
            s.add(
                Item(
                    barcode=barcode,
                    record_id=world.records[title],
                    holding_id=holdings[title],
                    library_id=library_id,
                    item_type="reference" if barcode == "39000006" else "book",
                    status=ItemStatus.AVAILABLE,
                    owner_isil="VN-TEST",
                    price_vnd=80000,
                )
            )
        s.add(
            Sip2Account(
                login="kiosk1",
                password_hash=pin_hash("kiosk1-pass"),
                institution_id="VN-TEST",
                library_id=main.id,
                terminal_location="Sảnh tầng 1",
                sort_bins={"hold_here": "1", "hold_other_branch": "2", "transit": "3", "shelf": "0"},
            )
        )
    return world


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    """A UTC instant at ``hour`` o'clock Vietnam time."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC) - dt.timedelta(hours=7)


Factory = Callable[..., World]
