"""Everything a patron can read on the kiosk, in Vietnamese and English, each message with a stable support code.

A support code (``KIOSK-CHECKOUT-003``) never changes meaning: staff and the help desk look it up in
docs/kiosk.md whatever language the patron used. Texts take ``str.format`` fields (``{title}``, ``{due}``...).
Button labels have no code (they are not messages).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

__all__ = ["Lang", "LANGS", "Message", "MESSAGES", "LABELS", "text", "label", "message"]

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")


@dataclass(frozen=True)
class Message:
    code: str
    vi: str
    en: str
    failure: bool = False

    def render(self, lang: Lang, **params: object) -> str:
        template = self.vi if lang == "vi" else self.en
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("message %s is missing a parameter in %r", self.code, params)
            return template


_ALL = (
    # attract / identify
    Message(
        "KIOSK-WELCOME-001",
        "Xin chào! Hãy đặt thẻ bạn đọc lên đầu đọc, hoặc nhập số thẻ.",
        "Welcome! Place your library card on the reader, or type your card number.",
    ),
    Message(
        "KIOSK-WELCOME-002",
        "Muốn trả sách? Bấm «Trả sách» rồi đặt sách lên bàn đọc.",
        "Returning books? Press “Return” and place them on the pad.",
    ),
    Message(
        "KIOSK-PATRON-001",
        "Không tìm thấy thẻ bạn đọc {card}. Vui lòng kiểm tra lại số thẻ hoặc hỏi thủ thư.",
        "Library card {card} was not found. Please check the number or ask the staff.",
        True,
    ),
    Message(
        "KIOSK-PATRON-002",
        "Tài khoản của bạn đang bị khoá mượn. Vui lòng đến quầy thủ thư. {reason}",
        "Your account may not borrow at the moment. Please see the staff at the desk. {reason}",
        True,
    ),
    Message("KIOSK-PATRON-003", "Mã PIN không đúng. Vui lòng thử lại.", "Wrong PIN. Please try again.", True),
    Message("KIOSK-PATRON-004", "Nhập mã PIN của bạn.", "Enter your PIN."),
    Message(
        "KIOSK-PATRON-005",
        "Thẻ đã được đọc rồi — bạn đang trong phiên của mình.",
        "Card already read — you are signed in.",
    ),
    Message("KIOSK-PATRON-006", "Bạn còn nợ phí {fee} đ.", "You owe {fee} VND in fees."),
    Message(
        "KIOSK-PATRON-007",
        "Có {count} tài liệu bạn đặt trước đang chờ bạn tại quầy.",
        "{count} item(s) you reserved are waiting for you at the desk.",
    ),
    Message(
        "KIOSK-PATRON-008",
        "Đang có một phiên khác. Hãy bấm «Kết thúc» trước khi dùng thẻ khác.",
        "Another session is open. Press “Finish” before using another card.",
        True,
    ),
    # borrowing
    Message(
        "KIOSK-CHECKOUT-001",
        "Đặt sách lên bàn đọc. Có thể đặt cả chồng.",
        "Place your books on the pad. A whole stack is fine.",
    ),
    Message("KIOSK-CHECKOUT-002", "Đã mượn — hạn trả {due}.", "Borrowed — due {due}."),
    Message("KIOSK-CHECKOUT-003", "Không mượn được: {reason}", "Cannot be borrowed: {reason}", True),
    Message(
        "KIOSK-CHECKOUT-004",
        "Bộ tài liệu chưa đủ ({seen}/{total} phần). Vui lòng mang cả bộ đến quầy thủ thư.",
        "Incomplete set ({seen} of {total} parts). Please take the whole set to the desk.",
        True,
    ),
    Message(
        "KIOSK-CHECKOUT-005",
        "Sách đã bị nhấc ra trước khi xong. Hãy đặt lại lên bàn đọc.",
        "This book left the pad before it was finished. Please put it back.",
        True,
    ),
    Message(
        "KIOSK-CHECKOUT-006",
        "Chúng tôi thấy {count} tài liệu trên bàn đọc. Đúng không?",
        "We see {count} item(s) on the pad. Is that right?",
    ),
    Message(
        "KIOSK-CHECKOUT-007",
        "Đã ghi nhận khi mất kết nối — sẽ gửi về thư viện khi có mạng. Hạn trả {due}.",
        "Recorded while offline — it will reach the library when the connection returns. Due {due}.",
    ),
    Message("KIOSK-CHECKOUT-008", "Đang xử lý…", "Working…"),
    Message(
        "KIOSK-CHECKOUT-009",
        "Số tài liệu không khớp. Hãy tách sách ra, đặt lại, hoặc hỏi thủ thư.",
        "The count does not match. Spread the books out, place them again, or ask the staff.",
        True,
    ),
    Message(
        "KIOSK-CHECKOUT-010",
        "Đã mượn — hạn trả {due}. Vui lòng đưa tài liệu này cho thủ thư mở khoá trước khi ra về.",
        "Borrowed — due {due}. Please have this item unlocked at the desk before you leave.",
        True,
    ),
    # items
    Message(
        "KIOSK-ITEM-001",
        "Không đọc được nhãn RFID của tài liệu này. Vui lòng đưa cho thủ thư.",
        "This item's RFID label cannot be read. Please hand it to the staff.",
        True,
    ),
    Message(
        "KIOSK-ITEM-002",
        "Tài liệu này thuộc thư viện khác ({owner}). Vui lòng đưa cho thủ thư.",
        "This item belongs to another library ({owner}). Please hand it to the staff.",
        True,
    ),
    Message(
        "KIOSK-ITEM-003",
        "Hệ thống thư viện không biết tài liệu {item}. Vui lòng đưa cho thủ thư.",
        "The library system does not know item {item}. Please hand it to the staff.",
        True,
    ),
    Message(
        "KIOSK-ITEM-004",
        "Đây không phải tài liệu của thư viện (thẻ hoặc nhãn trống).",
        "This is not a library item (a card or a blank label).",
        True,
    ),
    # security
    Message(
        "KIOSK-SECURITY-001",
        "Đã mượn, nhưng không ghi được nhãn an ninh. Cổng có thể báo động — thủ thư đã được báo.",
        "Borrowed, but the security label could not be set. The gate may alarm — the staff have been told.",
        True,
    ),
    Message("KIOSK-SECURITY-002", "Giữ sách trên bàn đọc…", "Keep the book on the pad…"),
    # returning
    Message("KIOSK-CHECKIN-001", "Đã trả. Cảm ơn bạn!", "Returned. Thank you!"),
    Message(
        "KIOSK-CHECKIN-002",
        "Không trả được: {reason}. Vui lòng đưa cho thủ thư.",
        "Cannot be returned: {reason}. Please hand it to the staff.",
        True,
    ),
    Message(
        "KIOSK-CHECKIN-003",
        "Đã trả. Tài liệu này có người đặt — hãy để vào ngăn «Đặt trước».",
        "Returned. Someone reserved this item — please put it in the “Holds” tray.",
    ),
    Message("KIOSK-CHECKIN-004", "Đặt sách cần trả lên bàn đọc.", "Place the books you are returning on the pad."),
    Message(
        "KIOSK-CHECKIN-005",
        "Đã trả khi mất kết nối — sẽ gửi về thư viện khi có mạng.",
        "Returned while offline — it will reach the library when the connection returns.",
    ),
    # renewing and account
    Message("KIOSK-RENEW-001", "Đã gia hạn — hạn trả mới {due}.", "Renewed — new due date {due}."),
    Message("KIOSK-RENEW-002", "Không gia hạn được: {reason}", "Cannot be renewed: {reason}", True),
    Message(
        "KIOSK-RENEW-003",
        "Chọn tài liệu cần gia hạn, hoặc «Gia hạn tất cả».",
        "Choose an item to renew, or “Renew all”.",
    ),
    Message(
        "KIOSK-RENEW-004",
        "Đã gia hạn {renewed}, không gia hạn được {unrenewed}.",
        "{renewed} renewed, {unrenewed} not renewed.",
    ),
    Message(
        "KIOSK-ACCOUNT-001",
        "Đang mượn {loans} · Quá hạn {overdue} · Chờ nhận {holds} · Phí {fee} đ",
        "On loan {loans} · Overdue {overdue} · Ready for pickup {holds} · Fees {fee} VND",
    ),
    # offline
    Message(
        "KIOSK-OFFLINE-001",
        "Máy đang mất kết nối với hệ thống thư viện. Tạm thời không mở phiên mới — vui lòng đến quầy thủ thư.",
        "The kiosk has lost its connection to the library system. New sessions are paused — please see the staff.",
        True,
    ),
    Message(
        "KIOSK-OFFLINE-002",
        "Đang hoạt động ngoại tuyến: giao dịch được lưu lại và gửi khi có mạng.",
        "Working offline: transactions are stored and sent when the connection returns.",
    ),
    Message(
        "KIOSK-OFFLINE-003",
        "Mất kết nối giữa phiên — phiên của bạn vẫn được hoàn tất và lưu lại.",
        "Connection lost during your session — it will be completed and stored.",
    ),
    Message(
        "KIOSK-OFFLINE-004",
        "Chức năng này cần kết nối với hệ thống thư viện.",
        "This needs the connection to the library system.",
        True,
    ),
    # receipts
    Message("KIOSK-RECEIPT-001", "Đã in phiếu. Vui lòng lấy phiếu.", "Receipt printed. Please take it."),
    Message(
        "KIOSK-RECEIPT-002",
        "Máy in hết giấy hoặc bị lỗi. Chọn nhận qua e-mail hoặc không cần phiếu.",
        "The printer is out of paper or not working. Choose e-mail or no receipt.",
        True,
    ),
    Message("KIOSK-RECEIPT-003", "Phiếu sẽ được gửi tới {email}.", "The receipt will be sent to {email}."),
    Message("KIOSK-RECEIPT-004", "Tài khoản chưa có địa chỉ e-mail.", "Your account has no e-mail address.", True),
    Message("KIOSK-RECEIPT-005", "Bạn muốn nhận phiếu thế nào?", "How would you like your receipt?"),
    # session
    Message(
        "KIOSK-SESSION-001",
        "Bạn còn đó không? Phiên sẽ kết thúc sau {seconds} giây.",
        "Are you still there? The session ends in {seconds} seconds.",
    ),
    Message("KIOSK-SESSION-002", "Cảm ơn bạn! Hẹn gặp lại.", "Thank you! See you soon."),
    Message("KIOSK-SESSION-003", "Bạn muốn làm gì?", "What would you like to do?"),
    Message(
        "KIOSK-SYSTEM-001",
        "Có lỗi không mong muốn. Vui lòng gọi thủ thư.",
        "Something went wrong. Please call the staff.",
        True,
    ),
)

MESSAGES: dict[str, Message] = {m.code: m for m in _ALL}

LABELS: dict[str, tuple[str, str]] = {
    "borrow": ("Mượn sách", "Borrow"),
    "return": ("Trả sách", "Return"),
    "renew": ("Gia hạn", "Renew"),
    "renew_all": ("Gia hạn tất cả", "Renew all"),
    "account": ("Tài khoản", "My account"),
    "finish": ("Kết thúc", "Finish"),
    "ok": ("Đồng ý", "OK"),
    "yes": ("Đúng", "Yes"),
    "no": ("Không đúng", "No"),
    "confirm_yes": ("Đúng", "Yes"),
    "confirm_no": ("Không đúng", "No"),
    "back": ("Quay lại", "Back"),
    "print": ("In phiếu", "Print"),
    "email": ("Gửi e-mail", "E-mail"),
    "none": ("Không cần phiếu", "No receipt"),
    "language": ("English", "Tiếng Việt"),
    "card_number": ("Số thẻ bạn đọc", "Library card number"),
    "pin": ("Mã PIN", "PIN"),
    "enter": ("Xác nhận", "Enter"),
    "clear": ("Xoá", "Clear"),
    "still_here": ("Tôi vẫn ở đây", "I'm still here"),
    "title": ("Thư viện tự phục vụ", "Self-service library"),
    "loans": ("Đang mượn", "On loan"),
    "holds": ("Chờ nhận", "Ready for pickup"),
    "overdue": ("Quá hạn", "Overdue"),
    "support": ("Mã hỗ trợ", "Support code"),
    "offline": ("NGOẠI TUYẾN", "OFFLINE"),
    "part": ("phần", "part"),
}


def message(code: str) -> Message:
    try:
        return MESSAGES[code]
    except KeyError:
        raise ValueError(f"unknown kiosk message code {code!r}") from None


def text(code: str, lang: Lang, **params: object) -> str:
    return message(code).render(lang, **params)


def label(key: str, lang: Lang) -> str:
    vi, en = LABELS[key]
    return vi if lang == "vi" else en
