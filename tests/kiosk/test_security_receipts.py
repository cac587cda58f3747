"""Security writes through the real FEIG driver on the reader simulator; receipts; the outbox event sink."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.readers import TagReader, open_reader
from edge.readers.sim import ReaderSimulator, VirtualTag
from edge.tags import LibraryTag
from kiosk.events import JsonlSink, OutboxSink
from kiosk.receipts import EscposPrinter, FilePrinter, PaperOutError, Receipt, ReceiptLine, render_lines
from kiosk.security import SecurityMode, SecurityProfile, SecurityWriter, WriteOutcome

UID = "E004010000000042"


@pytest.fixture
def sim() -> Iterator[ReaderSimulator]:
    tag = VirtualTag.with_item(UID, LibraryTag(primary_item_id="3000000042", owner_isil="VN-HDU"), afi=0x07, eas=True)
    simulator = ReaderSimulator("feig", "pty", [tag], timing=False).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def reader(sim: ReaderSimulator) -> Iterator[TagReader]:
    r = open_reader(sim.url)
    yield r
    r.close()


def writer(reader: TagReader, mode: SecurityMode) -> SecurityWriter:
    return SecurityWriter(reader, SecurityProfile(mode, attempts=3, retry_delay=0.0))


def test_afi_written_and_read_back(sim: ReaderSimulator, reader: TagReader) -> None:
    tag = sim.tags()[0]
    w = writer(reader, SecurityMode.AFI)
    assert w.set_on_loan(tag.uid) is WriteOutcome.VERIFIED
    assert tag.afi == 0xC2 and tag.eas  # AFI mode leaves the EAS bit alone
    assert w.is_on_loan(tag.uid) is True
    assert w.set_in_stock(tag.uid) is WriteOutcome.VERIFIED and tag.afi == 0x07


def test_eas_and_both(sim: ReaderSimulator, reader: TagReader) -> None:
    tag = sim.tags()[0]
    assert writer(reader, SecurityMode.EAS).set_on_loan(tag.uid) and not tag.eas and tag.afi == 0x07
    assert writer(reader, SecurityMode.AFI_EAS).set_in_stock(tag.uid) and tag.eas and tag.afi == 0x07
    assert writer(reader, SecurityMode.AFI_EAS).set_on_loan(tag.uid) and not tag.eas and tag.afi == 0xC2


def test_retries_through_a_corrupted_reply(sim: ReaderSimulator, reader: TagReader) -> None:
    sim.inject("corrupt")
    assert writer(reader, SecurityMode.AFI).set_on_loan(sim.tags()[0].uid) is WriteOutcome.VERIFIED


def test_tag_gone_and_tag_refusing(sim: ReaderSimulator, reader: TagReader) -> None:
    tag = sim.tags()[0]
    sim.remove(tag.uid)
    assert writer(reader, SecurityMode.AFI).set_on_loan(tag.uid) is WriteOutcome.TAG_GONE
    sim.place(tag)
    tag.afi_locked = True
    assert writer(reader, SecurityMode.AFI).set_on_loan(tag.uid) is WriteOutcome.FAILED
    assert tag.afi == 0x07


def test_profile_validation() -> None:
    with pytest.raises(ValueError, match="afi_on_loan"):
        SecurityProfile(afi_on_loan=0x1C2)
    with pytest.raises(ValueError, match="attempts"):
        SecurityProfile(attempts=0)


def _receipt(lang: str = "vi") -> Receipt:
    return Receipt(
        library="Thư viện tỉnh Hải Dương",
        patron_name="Nguyễn Thị Hường",
        patron_id="0001000001",
        lang=lang,
        lines=(
            ReceiptLine("checkout", "3000000001", "Truyện Kiều", "10/12/2026"),
            ReceiptLine("checkout", "3000000006", "Học tiếng Anh", ok=False, note="bộ chưa đủ"),
        ),
    )


def test_receipt_text_in_both_languages() -> None:
    vi = render_lines(_receipt("vi"))
    assert "MƯỢN: Truyện Kiều" in vi and "Hạn trả: 10/12/2026" in "\n".join(vi) and "Số thẻ: ******0001" in vi
    assert "KHÔNG THÀNH CÔNG: Học tiếng Anh" in vi and "Số tài liệu: 1" in vi
    en = render_lines(_receipt("en"))
    assert "BORROWED: Truyện Kiều" in en and "Items: 1" in en


def test_file_printer_image_and_text_modes(tmp_path: Path) -> None:
    image = FilePrinter(tmp_path / "img" / "r.bin")
    image.print_receipt(_receipt())
    data = (tmp_path / "img" / "r.bin").read_bytes()
    assert b"\x1dv0" in data and b"\x1dV" in data  # raster image, then cut
    assert (tmp_path / "img" / "r-001.png").exists()
    text = FilePrinter(tmp_path / "txt" / "r.bin", mode="text")
    text.print_receipt(_receipt())
    raw = (tmp_path / "txt" / "r.bin").read_bytes()
    assert b"\x1bt" in raw  # python-escpos switched code pages for the Vietnamese letters
    text.out_of_paper = True
    with pytest.raises(PaperOutError):
        text.print_receipt(_receipt())


def test_escpos_printer_reports_no_paper() -> None:
    from escpos.printer import Dummy

    class NoPaper(Dummy):  # type: ignore[misc]
        def paper_status(self) -> int:
            return 0

    with pytest.raises(PaperOutError):
        EscposPrinter(NoPaper(), check_paper=True).print_receipt(_receipt())
    ok = Dummy()
    EscposPrinter(ok, mode="text").print_receipt(_receipt("en"))
    assert b"BORROWED" in ok.output
    with pytest.raises(ValueError, match="receipt mode"):
        EscposPrinter(ok, mode="pdf")


def test_outbox_and_jsonl_sinks(tmp_path: Path) -> None:
    sink = OutboxSink(tmp_path / "outbox.db", device_id="kiosk-01", library="VN-HDU")
    sink.emit("tag_write_failed", {"item_id": "3000000001", "uids": ["E004010000000001"]})
    rows = sink.outbox.due()
    assert len(rows) == 1 and rows[0].topic == "thuvien/vn-hdu/kiosk/kiosk-01/evt/tag_write_failed"
    sink.close()
    jsonl = JsonlSink(tmp_path / "events.jsonl")
    jsonl.emit("checkout", {"item_id": "3000000001"})
    assert '"kind": "checkout"' in (tmp_path / "events.jsonl").read_text("utf-8")
