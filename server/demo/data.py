"""Every identifier of the demo data set, in one place: the seed writes them, ``--describe`` prints them.

docs/demo.md documents the same values; tests find them through ``thuvien demo --describe``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
VIETNAMESE_MARC = DATA_DIR / "vie_loc.mrc"

PROVINCE_ISIL = "VN-HDU"


@dataclass(frozen=True)
class DemoLibrary:
    isil: str
    name: str
    kind: str
    parent: str | None
    address: str


LIBRARIES = (
    DemoLibrary(PROVINCE_ISIL, "Thư viện tỉnh Hải Dương", "province", None, "Số 1 Nguyễn Du, TP Hải Dương"),
    DemoLibrary("VN-HDU-GL", "Thư viện huyện Gia Lộc", "district", PROVINCE_ISIL, "Thị trấn Gia Lộc"),
    DemoLibrary("VN-HDU-KM", "Thư viện thị xã Kinh Môn", "district", PROVINCE_ISIL, "Phường An Lưu, Kinh Môn"),
    DemoLibrary("VN-HDU-GLGT", "Thư viện xã Gia Tân", "commune", "VN-HDU-GL", "Xã Gia Tân, Gia Lộc"),
)


@dataclass(frozen=True)
class DemoPatron:
    card: str
    pin: str
    name: str
    category: str
    library: str
    note: str
    email: str | None = None
    expires_in_days: int = 365
    blocked_reason: str | None = None
    fee_vnd: int = 0


PATRONS = (
    DemoPatron(
        "0001000001",
        "1234",
        "Nguyễn Văn An",
        "adult",
        PROVINCE_ISIL,
        "ordinary adult reader",
        email="an.nguyen@example.vn",
    ),
    DemoPatron(
        "0001000002",
        "2345",
        "Trần Thị Bích Ngọc",
        "student",
        PROVINCE_ISIL,
        "student; has a book on loan",
        email="ngoc.tran@example.vn",
    ),
    DemoPatron("0001000003", "3456", "Lê Minh Đức", "child", "VN-HDU-GL", "child reader at the Gia Lộc library"),
    DemoPatron(
        "0001000004",
        "4567",
        "Phạm Thu Hà",
        "adult",
        PROVINCE_ISIL,
        "blocked by staff (lost card reported)",
        blocked_reason="Thẻ đã báo mất — vui lòng đến quầy thủ thư / Card reported lost — please see staff",
    ),
    DemoPatron("0001000005", "5678", "Hoàng Quốc Việt", "adult", PROVINCE_ISIL, "card expired", expires_in_days=-10),
    DemoPatron(
        "0001000006",
        "6789",
        "Vũ Thị Lan",
        "adult",
        "VN-HDU-KM",
        "owes 60.000 đ in fines (over the limit)",
        fee_vnd=60000,
    ),
)


@dataclass(frozen=True)
class DemoStaff:
    username: str
    password: str
    name: str
    role: str
    library: str


STAFF = (
    DemoStaff("admin", "thuvien-admin", "Quản trị hệ thống", "system_admin", PROVINCE_ISIL),
    DemoStaff("thuthu.tinh", "thuthu-tinh", "Đỗ Thị Hằng", "librarian", PROVINCE_ISIL),
    DemoStaff("quantri.gialoc", "quantri-gialoc", "Bùi Văn Hùng", "library_admin", "VN-HDU-GL"),
    DemoStaff("thuthu.gialoc", "thuthu-gialoc", "Ngô Thị Mai", "librarian", "VN-HDU-GL"),
    DemoStaff("xem.kinhmon", "xem-kinhmon", "Đặng Văn Long", "read_only", "VN-HDU-KM"),
)


@dataclass(frozen=True)
class DemoSip2Account:
    login: str
    password: str
    institution: str
    library: str
    location: str


SIP2_ACCOUNTS = (
    DemoSip2Account("kiosk1", "kiosk1-pass", PROVINCE_ISIL, PROVINCE_ISIL, "Sảnh tầng 1"),
    DemoSip2Account("kiosk-gialoc", "kiosk-gialoc-pass", PROVINCE_ISIL, "VN-HDU-GL", "Gia Lộc"),
)

# Extra Vietnamese titles beyond the Library of Congress records, to make the demo shelves familiar.
EXTRA_TITLES = (
    ("Truyện Kiều", "Nguyễn Du", 2015, "Văn học Việt Nam -- Thơ"),
    ("Số đỏ", "Vũ Trọng Phụng", 2016, "Văn học Việt Nam -- Tiểu thuyết"),
    ("Tắt đèn", "Ngô Tất Tố", 2017, "Văn học Việt Nam -- Tiểu thuyết"),
    ("Dế Mèn phiêu lưu ký", "Tô Hoài", 2019, "Văn học thiếu nhi"),
    ("Nỗi buồn chiến tranh", "Bảo Ninh", 2018, "Văn học Việt Nam -- Tiểu thuyết"),
    ("Đất rừng phương Nam", "Đoàn Giỏi", 2020, "Văn học thiếu nhi"),
    ("Lịch sử Hải Dương", "Hội Khoa học Lịch sử Hải Dương", 2010, "Hải Dương (Việt Nam) -- Lịch sử"),
    ("Học tiếng Anh giao tiếp (kèm đĩa CD)", "Lê Thị Hương", 2021, "Tiếng Anh -- Giao tiếp"),
)
LOCAL_HISTORY_TITLE = "Lịch sử Hải Dương"
SET_TITLE = "Học tiếng Anh giao tiếp (kèm đĩa CD)"


@dataclass(frozen=True)
class DemoItem:
    barcode: str
    title: str
    library: str
    item_type: str
    tag_uids: tuple[str, ...]
    note: str = ""


def tag_uid(serial: int) -> str:
    """A demo ISO 15693 UID: NXP (E0 04), ICODE SLIX family (01), then a serial number; MSB first."""
    return f"E00401{serial:010X}"


def barcode(serial: int) -> str:
    return f"3000{serial:06d}"


# Highlighted items with fixed identities for the walkthrough (the rest are generated per record).
HIGHLIGHTS = (
    DemoItem(barcode(1), "Truyện Kiều", PROVINCE_ISIL, "book", (tag_uid(1),), "on the kiosk pad in the demo"),
    DemoItem(barcode(2), "Số đỏ", PROVINCE_ISIL, "book", (tag_uid(2),), "on the kiosk pad in the demo"),
    DemoItem(barcode(3), "Tắt đèn", PROVINCE_ISIL, "book", (tag_uid(3),), "on the kiosk pad in the demo"),
    DemoItem(
        barcode(4), "Dế Mèn phiêu lưu ký", PROVINCE_ISIL, "book", (tag_uid(4),), "secured; walks through the gate"
    ),
    DemoItem(barcode(5), "Nỗi buồn chiến tranh", PROVINCE_ISIL, "book", (tag_uid(5),), "on loan to 0001000002"),
    DemoItem(barcode(6), SET_TITLE, PROVINCE_ISIL, "book", (tag_uid(6), tag_uid(7)), "set of 2: book + CD"),
    DemoItem(barcode(7), "Lịch sử Hải Dương", PROVINCE_ISIL, "reference", (tag_uid(8),), "reference, not for loan"),
    DemoItem(barcode(8), "Đất rừng phương Nam", "VN-HDU-GL", "book", (tag_uid(9),), "at Gia Lộc; a hold waits"),
)
FIRST_GENERATED_SERIAL = 100
LOAN_OF_PATRON_2 = barcode(5)
HOLD_FOR_PATRON_1 = barcode(8)

CLOSURES = (
    (dt.date(2027, 1, 1), "Tết Dương lịch"),
    (dt.date(2027, 2, 5), "Tết Nguyên đán"),
    (dt.date(2027, 2, 6), "Tết Nguyên đán"),
    (dt.date(2027, 2, 7), "Tết Nguyên đán"),
    (dt.date(2027, 2, 8), "Tết Nguyên đán"),
    (dt.date(2027, 2, 9), "Tết Nguyên đán"),
    (dt.date(2027, 4, 30), "Ngày Giải phóng miền Nam"),
    (dt.date(2027, 5, 1), "Quốc tế Lao động"),
    (dt.date(2027, 9, 2), "Quốc khánh"),
)
