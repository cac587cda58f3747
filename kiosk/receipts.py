"""Receipts: ESC/POS printers through python-escpos, e-mail through the server, or none.

Vietnamese on paper: most receipt printers lack a code page for it (CP1258 cannot hold "ợ"), so by default
the receipt is rendered to a 1-bit image with a Vietnamese-capable TrueType font and sent as a raster
(``mode="image"``). ``mode="text"`` lets python-escpos pick a code page (TCVN-3 on printers that have it).
The :class:`FilePrinter` is a dummy printer that writes the ESC/POS bytes (and a PNG of the image) to files,
for the demo and the tests; it can be told it is out of paper.

Errors::

    ReceiptError
    └── PaperOutError     the printer reports no paper (or cannot be reached)
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .events import EventSink

log = logging.getLogger(__name__)

__all__ = [
    "Receipt",
    "ReceiptLine",
    "ReceiptError",
    "PaperOutError",
    "ReceiptPrinter",
    "EscposPrinter",
    "FilePrinter",
    "EmailReceipts",
    "render_lines",
    "render_image",
    "find_font",
]

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


class ReceiptError(Exception):
    """A receipt could not be produced."""


class PaperOutError(ReceiptError):
    """The printer is out of paper or does not answer."""


@dataclass(frozen=True)
class ReceiptLine:
    action: str  # "checkout" | "checkin" | "renew"
    item_id: str
    title: str
    due: str = ""
    ok: bool = True
    note: str = ""


@dataclass(frozen=True)
class Receipt:
    library: str
    patron_name: str
    patron_id: str
    lines: tuple[ReceiptLine, ...]
    lang: str = "vi"
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())
    kiosk: str = ""


_WORDS = {
    "vi": {
        "checkout": "MƯỢN",
        "checkin": "TRẢ",
        "renew": "GIA HẠN",
        "due": "Hạn trả",
        "patron": "Bạn đọc",
        "card": "Số thẻ",
        "failed": "KHÔNG THÀNH CÔNG",
        "thanks": "Cảm ơn bạn đã sử dụng thư viện!",
        "count": "Số tài liệu",
    },
    "en": {
        "checkout": "BORROWED",
        "checkin": "RETURNED",
        "renew": "RENEWED",
        "due": "Due",
        "patron": "Patron",
        "card": "Card",
        "failed": "NOT DONE",
        "thanks": "Thank you for using the library!",
        "count": "Items",
    },
}


def _mask(card: str) -> str:
    return "*" * max(0, len(card) - 4) + card[-4:]


def render_lines(receipt: Receipt, width: int = 32) -> list[str]:
    """The receipt as text lines (the same content whatever the output)."""
    words = _WORDS.get(receipt.lang, _WORDS["vi"])
    out = [receipt.library, receipt.at.strftime("%d/%m/%Y %H:%M") + (f"  {receipt.kiosk}" if receipt.kiosk else "")]
    out.append("-" * width)
    if receipt.patron_name:
        out.append(f"{words['patron']}: {receipt.patron_name}")
    if receipt.patron_id:
        out.append(f"{words['card']}: {_mask(receipt.patron_id)}")
    out.append("-" * width)
    for line in receipt.lines:
        head = words.get(line.action, line.action.upper()) if line.ok else words["failed"]
        out.append(f"{head}: {line.title or line.item_id}"[: width * 3])
        out.append(f"  {line.item_id}")
        if line.ok and line.due:
            out.append(f"  {words['due']}: {line.due}")
        if line.note:
            out.append(f"  {line.note}")
    out.append("-" * width)
    out.append(f"{words['count']}: {sum(1 for line in receipt.lines if line.ok)}")
    out.append(words["thanks"])
    return out


def find_font() -> Path | None:
    """A TrueType font that has Vietnamese: DejaVu Sans from the system or from Kivy's data."""
    for candidate in FONT_CANDIDATES:
        if candidate.exists():
            return candidate
    spec = importlib.util.find_spec("kivy")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "data" / "fonts" / "DejaVuSans.ttf"
        if bundled.exists():
            return bundled
    return None


def _wrap(text: str, font: Any, width: int, draw: Any) -> list[str]:
    words = text.split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}" if current else word
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = "  " + word
    lines.append(current)
    return lines


def render_image(lines: Sequence[str], width_px: int = 384, font_size: int = 22) -> Any:
    """A 1-bit Pillow image of ``lines`` (384 dots = 58 mm paper, 576 = 80 mm)."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = find_font()
    font: Any = ImageFont.truetype(str(font_path), font_size) if font_path else ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("1", (width_px, 10), 1))
    wrapped: list[str] = []
    for line in lines:
        wrapped.extend(_wrap(line, font, width_px - 8, probe))
    line_height = font_size + 6
    image = Image.new("1", (width_px, line_height * len(wrapped) + 16), 1)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(wrapped):
        draw.text((4, 8 + index * line_height), line, font=font, fill=0)
    return image


class ReceiptPrinter(Protocol):
    def print_receipt(self, receipt: Receipt) -> None:
        """Print, or raise :class:`PaperOutError` / :class:`ReceiptError`."""
        ...


class EscposPrinter:
    """Any python-escpos printer object (``Usb``, ``Serial``, ``Network``, ``File``, ``Dummy``)."""

    def __init__(
        self, device: Any, *, mode: str = "image", width_px: int = 384, columns: int = 32, check_paper: bool = False
    ) -> None:
        if mode not in ("image", "text"):
            raise ValueError(f"receipt mode must be 'image' or 'text', got {mode!r}")
        self.device = device
        self.mode = mode
        self.width_px = width_px
        self.columns = columns
        self.check_paper = check_paper
        self._lock = threading.Lock()

    def print_receipt(self, receipt: Receipt) -> None:
        lines = render_lines(receipt, self.columns)
        with self._lock:
            if self.check_paper:
                try:
                    status = self.device.paper_status()
                except Exception as exc:
                    raise PaperOutError(f"the printer does not answer: {exc}") from exc
                if status == 0:
                    raise PaperOutError("the printer is out of paper")
            try:
                if self.mode == "image":
                    self.device.image(render_image(lines, self.width_px), center=False)
                else:
                    self.device.text("\n".join(lines) + "\n")
                self.device.cut()
            except OSError as exc:
                raise PaperOutError(f"the printer failed: {exc}") from exc
            except Exception as exc:
                raise ReceiptError(f"the receipt could not be printed: {exc}") from exc


class FilePrinter:
    """A dummy ESC/POS printer: appends each receipt's bytes to ``path`` and saves a PNG preview next to it."""

    def __init__(self, path: Path, *, mode: str = "image", width_px: int = 384) -> None:
        self.path = path
        self.mode = mode
        self.width_px = width_px
        self.out_of_paper = False
        self.printed = 0
        path.parent.mkdir(parents=True, exist_ok=True)

    def print_receipt(self, receipt: Receipt) -> None:
        if self.out_of_paper:
            raise PaperOutError("the printer is out of paper")
        from escpos.printer import Dummy

        dummy = Dummy()
        lines = render_lines(receipt)
        if self.mode == "image":
            image = render_image(lines, self.width_px)
            dummy.image(image, center=False)
            image.save(self.path.with_name(f"{self.path.stem}-{self.printed + 1:03d}.png"))
        else:
            dummy.text("\n".join(lines) + "\n")
        dummy.cut()
        with self.path.open("ab") as fh:
            fh.write(dummy.output)
        with self.path.with_suffix(".txt").open("a", encoding="utf-8") as text_file:
            text_file.write("\n".join(lines) + "\n\n")
        self.printed += 1
        log.info("receipt %d written to %s", self.printed, self.path)


class EmailReceipts:
    """Asks the server to e-mail the receipt to the patron's address on file (an event through the outbox)."""

    def __init__(self, sink: EventSink) -> None:
        self.sink = sink

    def send(self, receipt: Receipt, email: str) -> None:
        self.sink.emit(
            "receipt_email",
            {
                "patron_id": receipt.patron_id,
                "email": email,
                "lang": receipt.lang,
                "lines": render_lines(receipt),
                "items": [line.__dict__ for line in receipt.lines],
            },
        )
