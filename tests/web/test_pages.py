"""Every page answers in both languages; record and item edits, device provisioning and commands, staff accounts
and alarm acknowledgement, each scoped and audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.catalog.models import BibRecord, Item, ItemStatus
from server.db import utcnow
from server.devices.models import AlarmClass, Device, DeviceCommand, GateAlarm
from server.libraries.models import Library
from server.staff.cataloguing import parse_marc
from server.staff.models import StaffRole, StaffUser
from tests.web.conftest import Seeded, csrf_of, signed_in

PAGES = ("/web/", "/web/catalog?q=kieu", "/web/patrons?q=an", "/web/patrons/new", "/web/desk", "/web/devices",
         "/web/alarms", "/web/tags", "/web/reports", "/web/reports/self-evaluation", "/web/libraries",
         "/web/staff", "/web/audit", "/web/password")


def _library_id(seeded: Seeded, isil: str) -> int:
    with seeded.db.session() as session:
        library_id = session.scalar(select(Library.id).where(Library.isil == isil))
        assert library_id is not None
        return int(library_id)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_answers(as_admin: TestClient, lang: str) -> None:
    for path in PAGES:
        response = as_admin.get(path, params={"lang": lang})
        assert response.status_code == 200, (path, response.text[:500])
        assert f'<html lang="{lang}">' in response.text


def test_catalog_search_without_diacritics_and_a_query_that_does_not_parse(as_admin: TestClient) -> None:
    found = as_admin.get("/web/catalog", params={"q": "so do", "lang": "vi"})
    assert found.status_code == 200 and "Số đỏ" in found.text
    refused = as_admin.get("/web/catalog", params={"q": '"so do', "lang": "vi"})
    assert refused.status_code == 200
    assert "Không thực hiện được tìm kiếm" in refused.text and "unbalanced quote" in refused.text


def test_edit_a_record_and_an_item(as_admin: TestClient, seeded: Seeded) -> None:
    with seeded.db.session() as session:
        record = session.scalar(select(BibRecord).where(BibRecord.title == "Số đỏ"))
        assert record is not None
        item = session.scalar(select(Item).where(Item.record_id == record.id))
        assert item is not None
        record_id, item_id = record.id, item.id
    token = csrf_of(as_admin)
    response = as_admin.post(f"/web/catalog/records/{record_id}",
                             data={"csrf": token, "title": "Số đỏ (tái bản)", "local_history": "true"},
                             follow_redirects=True)
    assert response.status_code == 200 and "Đã lưu" in response.text
    with seeded.db.session() as session:
        record = session.get(BibRecord, record_id)
        assert record is not None and record.title.startswith("Số đỏ (tái bản)") and record.local_history
        marc = parse_marc(record)
        assert marc is not None and marc["245"]["a"] == "Số đỏ (tái bản)"
        assert "tai ban" in record.title_folded
    response = as_admin.post(f"/web/catalog/items/{item_id}/status",
                             data={"csrf": token, "status": "missing", "note": "không thấy trên giá"})
    assert response.status_code in (200, 303)
    refused = as_admin.post(f"/web/catalog/items/{item_id}/status", data={"csrf": token, "status": "on_loan"})
    assert refused.status_code == 400
    with seeded.db.write() as session:
        item = session.get(Item, item_id)
        assert item is not None and item.status == ItemStatus.MISSING
        item.status = ItemStatus.AVAILABLE


def test_provision_a_device_and_send_a_command(as_admin: TestClient, seeded: Seeded) -> None:
    token = csrf_of(as_admin)
    response = as_admin.post("/web/devices/new", data={"csrf": token, "device_id": "hdu-kiosk-page", "kind": "kiosk",
                                                       "library_id": _library_id(seeded, "VN-HDU"), "name": "Sảnh"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    password = re.search(r"<code data-secret>([^<]+)</code>", response.text)
    assert password
    page = as_admin.get("/web/devices/hdu-kiosk-page")
    assert page.status_code == 200 and password.group(1) not in page.text
    with seeded.db.session() as session:
        device = session.scalar(select(Device).where(Device.device_id == "hdu-kiosk-page"))
        assert device is not None and device.credential_hash and password.group(1) not in device.credential_hash
    sent = as_admin.post("/web/devices/hdu-kiosk-page/command", data={"csrf": token, "name": "ping"})
    assert sent.status_code in (200, 303)
    refused = as_admin.post("/web/devices/hdu-kiosk-page/command", data={"csrf": token, "name": "encode-tag"})
    assert refused.status_code == 400
    with seeded.db.session() as session:
        names = set(session.scalars(select(DeviceCommand.name).where(DeviceCommand.device_id == "hdu-kiosk-page")))
        assert names == {"ping"}


def test_staff_accounts_are_scoped(client: TestClient, seeded: Seeded) -> None:
    signed_in(client, "quantri.gialoc", "quantri-gialoc")
    token = csrf_of(client)
    gia_loc = _library_id(seeded, "VN-HDU-GL")
    created = client.post("/web/staff", data={"csrf": token, "username": "thuthu.giatan", "full_name": "Lý Thị Hoa",
                                              "password": "mot-mat-khau-dai", "library_id": gia_loc,
                                              "role": "librarian"})
    assert created.status_code in (200, 303), created.text
    too_high = client.post("/web/staff", data={"csrf": token, "username": "sep.moi", "full_name": "Sếp",
                                               "password": "mot-mat-khau-dai", "library_id": gia_loc,
                                               "role": "system_admin"})
    assert too_high.status_code == 403
    outside = client.post("/web/staff", data={"csrf": token, "username": "ngoai.pham.vi", "full_name": "Ngoài",
                                              "password": "mot-mat-khau-dai",
                                              "library_id": _library_id(seeded, "VN-HDU-KM"), "role": "librarian"})
    assert outside.status_code == 403
    with seeded.db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "thuthu.giatan"))
        assert user is not None
        roles = session.scalars(select(StaffRole).where(StaffRole.user_id == user.id)).all()
        assert [(r.library_id, r.role.value) for r in roles] == [(gia_loc, "librarian")]
        assert session.scalar(select(StaffUser).where(StaffUser.username == "sep.moi")) is None
    audit = client.get("/web/audit", params={"action": "staff."})
    assert audit.status_code == 200 and "staff.created" in audit.text


def test_alarm_acknowledgement_is_scoped(as_district: TestClient, seeded: Seeded) -> None:
    with seeded.db.write() as session:
        elsewhere = GateAlarm(event_id="web-km-1", device_id="gate-km", library_id=_library_id(seeded, "VN-HDU-KM"),
                              occurred_at=utcnow() - dt.timedelta(minutes=5), classification=AlarmClass.UNKNOWN_TAG)
        here = GateAlarm(event_id="web-gl-1", device_id="gate-gl", library_id=_library_id(seeded, "VN-HDU-GL"),
                         occurred_at=utcnow(), classification=AlarmClass.THEFT_ATTEMPT, item_barcode="3000000008")
        session.add_all([elsewhere, here])
        session.flush()
        ids = (elsewhere.id, here.id)
    token = csrf_of(as_district)
    assert as_district.post(f"/web/alarms/{ids[0]}/ack", data={"csrf": token}).status_code == 403
    assert as_district.post(f"/web/alarms/{ids[1]}/ack", data={"csrf": token, "note": "bạn đọc quên mượn"},
                            follow_redirects=False).status_code == 303
    listing = as_district.get("/web/live/alarms.json").json()
    assert {a["id"] for a in listing["alarms"]} >= {ids[1]} and ids[0] not in {a["id"] for a in listing["alarms"]}
    with seeded.db.session() as session:
        acknowledged = session.get(GateAlarm, ids[1])
        assert acknowledged is not None and acknowledged.acknowledged_at is not None
        assert acknowledged.note == "bạn đọc quên mượn"


def test_checkin_traps_a_hold_onto_the_hold_shelf(as_admin: TestClient, seeded: Seeded) -> None:
    province = _library_id(seeded, "VN-HDU")
    token = csrf_of(as_admin)
    response = as_admin.post("/web/desk/checkin", data={"csrf": token, "barcode": "3000000008", "library": province})
    assert response.status_code == 200, response.text
    assert 'data-outcome="ok"' in response.text and "giữ cho" in response.text
    shelf = as_admin.get("/web/desk", params={"library": province})
    assert "Đất rừng phương Nam" in shelf.text.split("Giá giữ sách", 1)[1]


def test_fee_payment_at_the_desk(as_admin: TestClient, seeded: Seeded) -> None:
    token = csrf_of(as_admin)
    response = as_admin.post("/web/desk/pay", data={"csrf": token, "card": "0001000006", "amount": 10000,
                                                    "library": _library_id(seeded, "VN-HDU-KM")})
    assert response.status_code == 200, response.text
    assert "Đã thu tiền" in response.text and "50.000 đ" in response.text
    too_much = as_admin.post("/web/desk/pay", data={"csrf": token, "card": "0001000006", "amount": 9_000_000,
                                                    "library": _library_id(seeded, "VN-HDU-KM")})
    assert too_much.status_code == 409 and 'data-outcome="' in too_much.text


def test_device_telemetry_chart(as_admin: TestClient, seeded: Seeded) -> None:
    from server.devices import service as devices
    from server.devices.models import TelemetrySample

    with seeded.db.write() as session:
        if devices.repository.get(session, "hdu-gate-chart") is None:
            devices.add_device(session, "hdu-gate-chart", "gate", "VN-HDU")
        now = utcnow()
        session.add_all([TelemetrySample(device_id="hdu-gate-chart", sampled_at=now - dt.timedelta(minutes=m),
                                         metrics={"outbox_depth": m % 3, "temperature_c": 40 + m, "mode": "normal"})
                         for m in range(10)])
    page = as_admin.get("/web/devices/hdu-gate-chart")
    assert page.status_code == 200
    assert "<polyline" in page.text and "temperature_c" in page.text
