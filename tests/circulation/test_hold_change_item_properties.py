"""Changing a waiting hold in place (service and REST): pickup, expiration, hold type; the queue is kept.
Item properties (SIP2 19) over REST."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.circulation import errors
from server.circulation.api import DEMO_API_TOKEN
from server.circulation.service import CirculationService
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings
from tests.circulation.builders import Clock, World, at

AUTH = {"Authorization": f"Bearer {DEMO_API_TOKEN}"}


def test_change_in_place(service: CirculationService, world: World, clock: Clock) -> None:
    service.checkout("0001", "39000002")
    first = service.place_hold("0002", item_barcode="39000002")
    service.place_hold("0003", item_barcode="39000002")
    until = at(2026, 12, 31)
    changed = service.change_hold(
        "0002", item_barcode="39000002", pickup_library_id=world.branch, expires_at=until, specific_item=True
    )
    assert changed.hold_id == first.hold_id and changed.queue_position == 1
    assert changed.pickup_library_isil == "VN-TEST-B" and changed.expires_at == until
    assert changed.item_barcode == "39000002"
    back = service.change_hold("0002", hold_id=first.hold_id, specific_item=False)
    assert back.item_barcode is None and back.expires_at == until and back.pickup_library_isil == "VN-TEST-B"
    with pytest.raises(errors.HoldRefused):  # a copy of another title
        service.change_hold("0002", hold_id=first.hold_id, item_barcode="39000003", specific_item=True)
    with pytest.raises(errors.HoldNotFound):
        service.change_hold("0002")
    with pytest.raises(errors.HoldRefused):
        service.change_hold("0002", hold_id=first.hold_id, expires_at=clock() - dt.timedelta(seconds=1))


def test_expired_waiting_hold_neither_traps_nor_blocks_renewal(service: CirculationService, clock: Clock) -> None:
    service.checkout("0001", "39000003")
    service.place_hold("0002", item_barcode="39000003", expires_at=at(2026, 11, 27))
    with pytest.raises(errors.RenewalRefused):
        service.renew("0001", "39000003")
    clock.advance(days=2)
    assert service.renew("0001", "39000003").renewals == 1
    assert service.checkin("39000003").hold is None


@pytest.fixture
def client(db: Database, world: World) -> Iterator[TestClient]:
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=db.url))
    with TestClient(create_app(settings, db)) as c:
        yield c


def test_rest_change_hold(client: TestClient) -> None:
    expires = (dt.date.today() + dt.timedelta(days=24)).isoformat()
    placed = client.post(
        "/api/v1/circulation/holds",
        json={"patron_card": "0002", "item_barcode": "39000002", "expires_at": f"{expires}T23:59:59+07:00"},
        headers=AUTH,
    )
    assert placed.status_code == 201 and placed.json()["expires_at"].startswith(f"{expires}T16:59:59")
    url = f"/api/v1/circulation/holds/{placed.json()['hold_id']}"
    changed = client.patch(url, json={"patron_card": "0002", "pickup_library_isil": "VN-TEST-B"}, headers=AUTH)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["pickup_library_isil"] == "VN-TEST-B" and body["expires_at"] == placed.json()["expires_at"]
    assert body["queue_position"] == 1 and body["hold_id"] == placed.json()["hold_id"]
    unknown = client.patch(url, json={"patron_card": "0002", "pickup_library_isil": "VN-NOPE"}, headers=AUTH)
    assert unknown.status_code == 404
    naive = client.patch(url, json={"patron_card": "0002", "expires_at": "2026-12-31T10:00:00"}, headers=AUTH)
    assert naive.status_code == 422
    other = client.patch(url, json={"patron_card": "0001", "specific_item": False}, headers=AUTH)
    assert other.status_code == 404 and other.json()["detail"]["code"] == "hold_not_found"


def test_rest_item_properties(client: TestClient) -> None:
    url = "/api/v1/circulation/items/39000001/properties"
    stored = client.put(url, json={"properties": "Kèm bản đồ / with a map"}, headers=AUTH)
    assert stored.status_code == 200, stored.text
    assert stored.json()["item"]["properties"] == "Kèm bản đồ / with a map" and stored.json()["previous"] is None
    info = client.get("/api/v1/circulation/items/39000001", headers=AUTH).json()
    assert info["item"]["properties"] == "Kèm bản đồ / with a map"
    cleared = client.put(url, json={"properties": ""}, headers=AUTH).json()
    assert cleared["item"]["properties"] is None and cleared["previous"] == "Kèm bản đồ / with a map"
    missing = client.put("/api/v1/circulation/items/nope/properties", json={"properties": "x"}, headers=AUTH)
    assert missing.status_code == 404
    assert client.put(url, json={"properties": "x" * 256}, headers=AUTH).status_code == 422
