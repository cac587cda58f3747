from __future__ import annotations

from server.catalog.folding import fold, repair


def test_fold_vietnamese() -> None:
    assert fold("Đường đến Điện Biên Phủ – NGUYỄN Thuý Hoà") == "duong den dien bien phu – nguyen thuy hoa"
    assert fold("hòa") == fold("hoà") == "hoa"


def test_repair_mark_order() -> None:
    misordered = "Che\u0301\u0302"  # e + acute + circumflex: NFC alone leaves "é̂"
    assert repair(misordered) == "Chế"
    assert fold(misordered) == "che"
