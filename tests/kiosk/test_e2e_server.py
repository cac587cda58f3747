"""End to end: the kiosk controller against the real ``thuvien`` server (demo data, SIP2) and the simulated
FEIG reader on a pseudo-terminal. Borrow a stack with an incomplete set, return, renew, a blocked patron, a
security write failure and offline replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.iso15693 import Uid
from edge.readers import TagReader, open_reader
from edge.readers.sim import ReaderSimulator
from kiosk.controller import Screen
from kiosk.ils import Journal, OfflinePolicy, ResilientIls, Sip2Client, Sip2Config
from tests.kiosk.e2e_support import CuttableProxy, demo_server, item_tags
from tests.kiosk.harness import Harness

ON_LOAN, IN_STOCK = 0xC2, 0x07


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, Any]]]:
    with demo_server(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture
def sim() -> Iterator[ReaderSimulator]:
    simulator = ReaderSimulator("feig", "pty", timing=False).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def reader(sim: ReaderSimulator) -> Iterator[TagReader]:
    r = open_reader(sim.url)
    yield r
    r.close()


def sip(port: int) -> Sip2Client:
    return Sip2Client(
        Sip2Config(
            host="127.0.0.1",
            port=port,
            login="kiosk1",
            password="kiosk1-pass",
            institution="VN-HDU",
            location="Sảnh tầng 1",
            timeout=2.0,
            retries=1,
            connect_timeout=1.0,
        )
    )


def kiosk(ils: Any, reader: TagReader, tmp_path: Path) -> Harness:
    return Harness(ils, reader, tmp_path)


def afi(sim: ReaderSimulator, uid: str) -> int:
    return sim.field.get(Uid.from_hex(uid)).afi


def place(sim: ReaderSimulator, doc: dict[str, Any], barcode: str, **kwargs: Any) -> list[str]:
    tags = item_tags(doc, barcode, **kwargs)
    for tag in tags:
        sim.place(tag)
    return [str(t.uid) for t in tags]


def test_borrow_stack_of_five_with_incomplete_set_then_return(
    server: tuple[int, dict[str, Any]], sim: ReaderSimulator, reader: TagReader, tmp_path: Path
) -> None:
    port, doc = server
    client = sip(port)
    h = kiosk(client, reader, tmp_path)
    assert h.card("0001000001").screen is Screen.MENU
    assert h.view.patron_name == "Nguyễn Văn An"
    h.act("borrow")
    singles = ["3000000001", "3000000002", "3000000003", "3000000100"]
    uids = {b: place(sim, doc, b) for b in singles}
    set_uid = place(sim, doc, "3000000006", parts=(1,))
    h.step()
    h.step()
    for barcode in singles:
        assert h.item(barcode) == ("done", "KIOSK-CHECKOUT-002"), (barcode, h.view.items)
        assert afi(sim, uids[barcode][0]) == ON_LOAN
    h.step(2.0)
    assert h.item("3000000006") == ("waiting_set", "KIOSK-CHECKOUT-004")
    assert afi(sim, set_uid[0]) == IN_STOCK
    titles = {i.item_id: i.title for i in h.view.items}
    assert titles["3000000001"] == "Truyện Kiều" and titles["3000000006"].startswith("Học tiếng Anh")
    h.act("finish")
    h.act("receipt", "print")
    assert h.view.screen is Screen.GOODBYE
    loans = client.patron_info("0001000001").loans
    assert set(singles) <= set(loans) and "3000000006" not in loans
    # return them all
    h.step(5)
    h.act("return")
    h.step()
    for barcode in singles:
        assert h.item(barcode) == ("done", "KIOSK-CHECKIN-001"), h.view.items
        assert afi(sim, uids[barcode][0]) == IN_STOCK
    assert not set(singles) & set(client.patron_info("0001000001").loans)
    client.close()


def test_renew_and_blocked_patron(server: tuple[int, dict[str, Any]], reader: TagReader, tmp_path: Path) -> None:
    port, _ = server
    client = sip(port)
    h = kiosk(client, reader, tmp_path)
    view = h.card("0001000004")
    assert view.screen is Screen.NOTICE and view.notice_code == "KIOSK-PATRON-002"
    assert "Thẻ đã báo mất" in view.notice
    h.act("language")
    assert "Card reported lost" in h.view.notice
    h.act("dismiss")
    h.card("0001000002")
    view = h.act("renew")
    assert "3000000005" in view.loans
    h.act("renew_item", "3000000005")
    assert h.item("3000000005") == ("done", "KIOSK-RENEW-001")
    client.close()


def test_security_write_failure_is_reported_and_the_loan_stands(
    server: tuple[int, dict[str, Any]], sim: ReaderSimulator, reader: TagReader, tmp_path: Path
) -> None:
    port, doc = server
    client = sip(port)
    h = kiosk(client, reader, tmp_path)
    h.card("0001000003")
    h.act("borrow")
    uid = place(sim, doc, "3000000104", afi_locked=True)[0]
    h.step()
    assert h.item("3000000104") == ("security_failed", "KIOSK-SECURITY-001"), h.view.items
    assert afi(sim, uid) == IN_STOCK
    events = [p for k, p in h.sink.events if k == "tag_write_failed"]
    assert events and events[0]["item_id"] == "3000000104" and events[0]["uids"] == [uid]
    assert "3000000104" in client.patron_info("0001000003").loans
    client.close()


def test_offline_mid_session_then_replay(
    server: tuple[int, dict[str, Any]], sim: ReaderSimulator, reader: TagReader, tmp_path: Path
) -> None:
    port, doc = server
    proxy = CuttableProxy(port)
    direct = sip(port)
    client = sip(proxy.port)
    journal = Journal(tmp_path / "journal.db")
    ils = ResilientIls(client, journal, policy=OfflinePolicy.FINISH_SESSION)
    h = kiosk(ils, reader, tmp_path)
    try:
        h.card("0001000001")
        h.act("borrow")
        place(sim, doc, "3000000108")
        h.step()
        assert h.item("3000000108")[0] == "done"
        proxy.cut()
        uid = place(sim, doc, "3000000112")[0]
        h.step()
        assert h.item("3000000112") == ("done", "KIOSK-CHECKOUT-007")
        assert afi(sim, uid) == ON_LOAN and h.view.offline
        assert "3000000112" not in direct.patron_info("0001000001").loans
        h.act("finish")
        h.act("receipt", "none")
        h.step(5)
        assert h.card("0001000002").notice_code == "KIOSK-OFFLINE-001"
        h.act("dismiss")
        proxy.restore()
        h.step(11)
        assert not h.view.offline and journal.pending_count() == 0
        assert {"3000000108", "3000000112"} <= set(direct.patron_info("0001000001").loans)
    finally:
        client.close()
        direct.close()
        proxy.close()
