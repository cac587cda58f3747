"""The staff web in Chromium (Playwright) against a real ``thuvien server`` on PostgreSQL, with real edge agents
talking to it through Mosquitto: log in, search without diacritics, check out at the desk, watch a device go
offline when its agent stops, watch a gate alarm arrive, program a tag on a simulated staff station, export a
report, and be refused another library's patron."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from edge.agent import Agent, BaseRole, EdgeSettings
from server.catalog.models import Item, ItemTag, SecurityState
from server.devices import service as devices
from server.devices.models import DeviceCommand
from server.libraries.models import Library
from server.patrons.models import Patron
from tests.web.conftest import ARTIFACTS, PREFIX_TOPIC, LiveServer, browser_login, shot

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.mosquitto]

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _add_device(live: LiveServer, device_id: str, kind: str, isil: str = "VN-HDU") -> None:
    with live.db.write() as session:
        if devices.repository.get(session, device_id) is None:
            devices.add_device(session, device_id, kind, isil, name=f"{kind} {device_id}")


@pytest.fixture
def make_agent(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    made: list[Agent] = []

    def make(device_id: str, role: str, **settings: Any) -> Agent:
        agent = Agent(
            EdgeSettings(role=role, device_id=device_id, library="VN-HDU", data_dir=tmp_path / device_id,
                         mqtt={"host": "127.0.0.1", "port": 1883, "topic_prefix": PREFIX_TOPIC},
                         telemetry_interval_s=1.0, **settings),
            role=None if role == "station" else BaseRole(),
        )
        agent.start()
        made.append(agent)
        return agent

    yield make
    for agent in made:
        try:
            agent.stop()
        except Exception:  # stopped by the test already
            pass


def test_login_search_without_diacritics_and_checkout(page: Any, live_server: LiveServer) -> None:
    base = live_server.base
    browser_login(page, base, "admin", "thuvien-admin")
    assert page.locator("h1").first.inner_text() == "Tổng quan"
    shot(page, "01-dashboard")
    page.click("text=Kho tài liệu")
    page.fill("input[name=q]", "de men phieu luu")
    page.keyboard.press("Enter")
    page.click("text=Dế Mèn phiêu lưu ký")
    assert "Dế Mèn phiêu lưu ký" in page.locator("h1").inner_text()
    assert page.locator("table.marc").is_visible()
    shot(page, "02-record")
    page.click("nav >> text=Quầy lưu thông")
    page.fill("input[name=card]", "0001000001")
    page.click("text=Mở bạn đọc")
    page.fill("form[action$='/desk/checkout'] input[name=barcode]", "3000000003")
    page.click("form[action$='/desk/checkout'] button")
    outcome = page.locator("[data-outcome]")
    assert outcome.get_attribute("data-outcome") == "ok", outcome.inner_text()
    assert "Đã cho mượn" in outcome.inner_text() and "Tắt đèn" in outcome.inner_text()
    assert "Tắt đèn" in page.locator("section.patron").inner_text()
    shot(page, "03-desk-checkout")
    page.fill("form[action$='/desk/checkout'] input[name=barcode]", "3000000005")  # on loan to another patron
    page.click("form[action$='/desk/checkout'] button")
    refused = page.locator("[data-outcome]")
    assert refused.get_attribute("data-outcome") == "item_already_on_loan", refused.inner_text()


def test_device_goes_offline_when_its_agent_stops(page: Any, live_server: LiveServer,
                                                  make_agent: Callable[..., Agent]) -> None:
    _add_device(live_server, "hdu-kiosk-web", "kiosk")
    agent = make_agent("hdu-kiosk-web", "kiosk")
    browser_login(page, live_server.base, "admin", "thuvien-admin")
    page.goto(live_server.base + "/web/devices")
    state = page.locator("tr[data-device='hdu-kiosk-web'] [data-field=state]")
    page.wait_for_function(
        "el => el.classList.contains('st-online')", arg=state.element_handle(), timeout=20000)
    assert state.inner_text() == "trực tuyến"
    shot(page, "04-devices-online")
    agent.stop()
    page.wait_for_function(
        "el => el.classList.contains('st-offline')", arg=state.element_handle(), timeout=20000)
    assert state.inner_text() == "mất kết nối"
    seen = page.locator("tr[data-device='hdu-kiosk-web'] [data-field=last_seen]").inner_text()
    with live_server.db.session() as session:
        device = devices.repository.get(session, "hdu-kiosk-web")
        assert device is not None and device.last_seen_at is not None
        from zoneinfo import ZoneInfo

        assert seen == device.last_seen_at.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")
    shot(page, "05-devices-offline")


def test_gate_alarm_appears_live(page: Any, live_server: LiveServer, make_agent: Callable[..., Agent]) -> None:
    _add_device(live_server, "hdu-gate-web", "gate")
    agent = make_agent("hdu-gate-web", "gate")
    browser_login(page, live_server.base, "thuthu.tinh", "thuthu-tinh")
    page.goto(live_server.base + "/web/alarms")
    rows_before = page.locator("tr[data-alarm]").count()
    agent.context.emit("alarm", {"item": {"barcode": "3000000004", "owner_isil": "VN-HDU"}, "antenna": 1,
                                 "tag_uid": "E004010000000004"})
    page.wait_for_function(f"() => document.querySelectorAll('tr[data-alarm]').length > {rows_before}",
                           timeout=20000)
    newest = page.locator("tr[data-alarm]").first.inner_text()
    assert "3000000004" in newest and "Dế Mèn" in newest and "Nghi lấy cắp" in newest
    page.reload()
    row = page.locator("tr[data-alarm]").first
    assert "Nghi lấy cắp" in row.inner_text()
    shot(page, "06-alarms")
    with page.expect_navigation():  # the form posts, then the redirect loads the list again
        row.locator("button").click()
    assert "✓" in page.locator("tr[data-alarm]").first.inner_text()


def test_program_a_tag_on_a_simulated_station(page: Any, live_server: LiveServer, tmp_path: Path,
                                              make_agent: Callable[..., Agent]) -> None:
    blank_uid = "E0040150ABCDEF01"
    tags = tmp_path / "blank.json"
    tags.write_text(json.dumps({"tags": [{"uid": blank_uid, "block_count": 28}]}), "utf-8")
    _add_device(live_server, "hdu-station-web", "station")
    make_agent("hdu-station-web", "station",
               readers=[{"name": "pad", "url": f"sim://?driver=feig&tags={tags}&timing=off"}])
    with live_server.db.session() as session:
        barcode = session.scalars(select(Item.barcode).where(~Item.tags.any()).order_by(Item.id)).first()
        if barcode is None:
            barcode = "3000000002"
    with live_server.db.write() as session:
        item = session.scalar(select(Item).where(Item.barcode == barcode))
        assert item is not None
        for tag in list(item.tags):
            session.delete(tag)
    browser_login(page, live_server.base, "admin", "thuvien-admin")
    page.goto(live_server.base + f"/web/tags?barcode={barcode}")
    page.select_option("select[name=station]", "hdu-station-web")
    page.click("form[action$='/tags'] button[type=submit]")
    cell = page.locator(f"tr[data-tag='{barcode}:1'] [data-field=state]")
    page.wait_for_function("el => el.classList.contains('ok') || el.classList.contains('error')",
                           arg=cell.element_handle(), timeout=30000)
    assert cell.inner_text() == "Đã ghi", cell.inner_text()
    assert page.locator(f"tr[data-tag='{barcode}:1'] [data-field=uid]").inner_text() == blank_uid
    # The station read the data back and set the in-stock AFI and EAS before it answered.
    assert page.locator(f"tr[data-tag='{barcode}:1'] [data-field=verified]").inner_text() == "✓"
    shot(page, "07-tag-programmed")
    with live_server.db.session() as session:
        stored = session.scalar(select(ItemTag).where(ItemTag.uid == blank_uid))
        assert stored is not None and stored.item.barcode == barcode
        assert stored.item.security_state is SecurityState.SECURED
        command = session.scalars(select(DeviceCommand).where(DeviceCommand.name == "encode-tag")).all()[-1]
        assert command.result is not None
        assert command.result["verified"] is True and command.result["afi"] == 0x07


def test_export_a_report_and_the_self_evaluation(page: Any, live_server: LiveServer) -> None:
    browser_login(page, live_server.base, "admin", "thuvien-admin")
    page.click("nav >> text=Báo cáo")
    page.wait_for_load_state()  # count() does not wait for the new page
    assert page.locator("svg.chart").count() >= 2
    shot(page, "08-reports")
    with page.expect_download() as download_info:
        page.click("[data-export=csv]")
    path = download_info.value.path()
    text = Path(path).read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Theo thư viện"] and "Lượt mượn" in rows[1]
    assert any(row and row[0] == "VN-HDU" for row in rows)
    with page.expect_download() as download_info:
        page.click("[data-export=xlsx]")
    from openpyxl import load_workbook

    assert download_info.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert book.sheetnames[0] == "Theo thư viện"
    page.click("text=Tự đánh giá hằng năm")
    assert "Hệ số luân chuyển vốn tài liệu" in page.content()
    assert "Lượt mượn trên đầu người" in page.content()  # named among those it cannot compute
    shot(page, "09-self-evaluation")


def test_district_librarian_is_refused_another_district(page: Any, live_server: LiveServer) -> None:
    with live_server.db.session() as session:
        km = session.scalar(select(Library.id).where(Library.isil == "VN-HDU-KM"))
        patron = session.scalar(select(Patron.id).where(Patron.home_library_id == km))
    browser_login(page, live_server.base, "thuthu.gialoc", "thuthu-gialoc")
    page.goto(live_server.base + f"/web/patrons/{patron}")
    assert page.locator("h1").inner_text() == "Không có quyền truy cập"
    shot(page, "10-refused")
    page.click("text=English")
    page.goto(live_server.base + "/web/")
    assert page.locator("h1").first.inner_text() == "Dashboard"
    page.set_viewport_size({"width": 800, "height": 1100})
    page.goto(live_server.base + "/web/desk")
    shot(page, "11-desk-tablet-en")


def teardown_module() -> None:
    """Keep a few screenshots for the documentation (the rest stay in test-artifacts/)."""
    keep = ("01-dashboard", "03-desk-checkout", "05-devices-offline", "06-alarms", "07-tag-programmed",
            "08-reports", "11-desk-tablet-en")
    if not (ARTIFACTS / "08-reports.png").exists():
        return
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    for name in keep:
        source = ARTIFACTS / f"{name}.png"
        if source.exists() and not (DOCS_SHOTS / f"{name}.png").exists():
            shutil.copy(source, DOCS_SHOTS / f"{name}.png")

