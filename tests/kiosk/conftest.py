"""Fixtures of the kiosk suite: a scripted SIP2 peer with a small library, a fake pad, a SIP2 client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.ils import Sip2Client, Sip2Config
from tests.kiosk.fakes import FakePadReader, LibItem, LibPatron, MiniLibrary, ScriptedPeer


def make_library() -> MiniLibrary:
    lib = MiniLibrary()
    lib.patrons["0001000001"] = LibPatron("Nguyễn Văn An", "1234", email="an.nguyen@example.vn")
    lib.patrons["0001000002"] = LibPatron("Trần Thị Bích Ngọc", "2345")
    lib.patrons["0001000004"] = LibPatron("Phạm Thu Hà", "4567", blocked=True)
    titles = [
        "Truyện Kiều",
        "Số đỏ",
        "Tắt đèn",
        "Dế Mèn phiêu lưu ký",
        "Nỗi buồn chiến tranh",
        "Học tiếng Anh giao tiếp (kèm đĩa CD)",
        "Lịch sử Hải Dương",
        "Đất rừng phương Nam",
    ]
    for n, title in enumerate(titles, start=1):
        lib.items[f"3000{n:06d}"] = LibItem(title)
    for n in range(100, 120):
        lib.items[f"3000{n:06d}"] = LibItem(f"Sách số {n}")
    lib.items["3000000005"].on_loan_to = "0001000002"
    lib.items["3000000008"].hold_for = "0001000002"
    return lib


@pytest.fixture
def library() -> MiniLibrary:
    return make_library()


@pytest.fixture
def peer(library: MiniLibrary) -> Iterator[ScriptedPeer]:
    server = ScriptedPeer(library)
    yield server
    server.close()


@pytest.fixture
def sip_config(peer: ScriptedPeer) -> Sip2Config:
    return Sip2Config(
        host="127.0.0.1",
        port=peer.port,
        login="kiosk1",
        password="kiosk1-pass",
        location="Sảnh tầng 1",
        institution="VN-HDU",
        timeout=0.5,
        connect_timeout=0.5,
        retries=2,
    )


@pytest.fixture
def client(sip_config: Sip2Config) -> Iterator[Sip2Client]:
    c = Sip2Client(sip_config)
    yield c
    c.close()


@pytest.fixture
def pad() -> FakePadReader:
    return FakePadReader()
