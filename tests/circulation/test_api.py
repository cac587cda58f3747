"""REST /api/v1 for circulation, patrons and SIP2 accounts (in process, SQLite)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.circulation.api import DEMO_API_TOKEN
from server.db import Database
from server.settings import DatabaseSettings, ServerSettings
from tests.circulation.builders import World

AUTH = {"Authorization": f"Bearer {DEMO_API_TOKEN}"}


@pytest.fixture
def client(db: Database, world: World) -> Iterator[TestClient]:
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=db.url))
    with TestClient(create_app(settings, db)) as c:
        yield c


def test_token_required(client: TestClient) -> None:
    assert client.post("/api/v1/circulation/checkout", json={}).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert client.get("/api/v1/patrons/0001", headers=bad).status_code == 401
    assert client.get("/api/v1/sip2/accounts").status_code == 401


def test_configured_token_replaces_demo_token(db: Database, world: World) -> None:
    settings = ServerSettings(demo=True, api_token="s3cret-token", database=DatabaseSettings(url=db.url))
    with TestClient(create_app(settings, db)) as c:
        assert c.get("/api/v1/patrons/0001", headers=AUTH).status_code == 401
        assert c.get("/api/v1/patrons/0001", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_circulation_round_trip(client: TestClient) -> None:
    out = client.post(
        "/api/v1/circulation/checkout",
        json={"patron_card": "0001", "item_barcode": "39000002"},
        headers={**AUTH, "Idempotency-Key": "desk-7"},
    )
    assert out.status_code == 200, out.text
    body = out.json()
    # Due at the end of the local day 14 days on (the test library opens every day), as a UTC instant.
    zone = ZoneInfo(ServerSettings.model_fields["timezone"].default)
    due = dt.datetime.combine(dt.datetime.now(zone).date() + dt.timedelta(days=14), dt.time(23, 59, 59), zone)
    assert body["item"]["title"] == "Số đỏ" and body["due_at"].startswith(due.astimezone(dt.UTC).isoformat()[:19])
    again = client.post(
        "/api/v1/circulation/checkout",
        json={"patron_card": "0001", "item_barcode": "39000002"},
        headers={**AUTH, "Idempotency-Key": "desk-7"},
    )
    assert again.json() == body
    renewed = client.post(
        "/api/v1/circulation/renew", json={"patron_card": "0001", "item_barcode": "39000002"}, headers=AUTH
    )
    assert renewed.status_code == 200 and renewed.json()["renewals"] == 1
    hold = client.post(
        "/api/v1/circulation/holds", json={"patron_card": "0002", "item_barcode": "39000002"}, headers=AUTH
    )
    assert hold.status_code == 201 and hold.json()["queue_position"] == 1
    info = client.get("/api/v1/circulation/items/39000002", headers=AUTH).json()
    assert info["item"]["status"] == "on_loan" and info["hold_queue_length"] == 1
    back = client.post(
        "/api/v1/circulation/checkin", json={"item_barcode": "39000002", "library_isil": "VN-TEST"}, headers=AUTH
    )
    assert back.status_code == 200 and back.json()["route"] == "hold_here"
    assert back.json()["hold"]["patron_card"] == "0002"
    patron = client.get("/api/v1/patrons/0002", headers=AUTH).json()
    assert patron["holds"][0]["state"] == "ready" and patron["can_borrow"] is True
    cancel = client.delete(
        f"/api/v1/circulation/holds/{hold.json()['hold_id']}", params={"patron_card": "0002"}, headers=AUTH
    )
    assert cancel.status_code == 200 and cancel.json()["state"] == "cancelled"
    all_ = client.post("/api/v1/circulation/renew-all", json={"patron_card": "0001"}, headers=AUTH)
    assert all_.status_code == 200 and all_.json() == {"renewed": [], "unrenewed": []}


def test_errors_map_to_status_codes(client: TestClient) -> None:
    blocked = client.post(
        "/api/v1/circulation/checkout", json={"patron_card": "0006", "item_barcode": "39000001"}, headers=AUTH
    )
    assert blocked.status_code == 409
    assert blocked.json()["detail"]["code"] == "patron_blocked"
    assert blocked.json()["detail"]["reasons"][0]["code"] == "fees_over_limit"
    missing = client.post("/api/v1/circulation/checkin", json={"item_barcode": "nope"}, headers=AUTH)
    assert missing.status_code == 404 and missing.json()["detail"]["code"] == "item_not_found"
    pin = client.post(
        "/api/v1/circulation/checkout",
        json={"patron_card": "0001", "item_barcode": "39000001", "pin": "0000"},
        headers=AUTH,
    )
    assert pin.status_code == 401 and pin.json()["detail"]["code"] == "invalid_pin"
    naive = client.post(
        "/api/v1/circulation/checkin",
        json={"item_barcode": "39000001", "no_block": True, "returned_at": "2026-11-26T10:00:00"},
        headers=AUTH,
    )
    assert naive.status_code == 422
    assert client.post("/api/v1/circulation/lost", json={"item_barcode": "39000001"}, headers=AUTH).status_code == 404


def test_payments_lost_and_patrons(client: TestClient) -> None:
    paid = client.post("/api/v1/circulation/payments", json={"patron_card": "0006", "amount_vnd": 60000}, headers=AUTH)
    assert paid.status_code == 201 and paid.json()["remaining_owed_vnd"] == 0
    client.post("/api/v1/circulation/checkout", json={"patron_card": "0001", "item_barcode": "39000001"}, headers=AUTH)
    lost = client.post("/api/v1/circulation/lost", json={"item_barcode": "39000001"}, headers=AUTH)
    assert lost.status_code == 200 and lost.json()["fee_vnd"] == 80000
    claimed = client.post("/api/v1/circulation/claims-returned", json={"item_barcode": "39000001"}, headers=AUTH)
    assert claimed.json()["state"] == "claims_returned"
    assert client.post("/api/v1/patrons/0001/verify-pin", json={"pin": "1234"}, headers=AUTH).json() == {"ok": True}
    assert client.post("/api/v1/patrons/0001/blocks", json={"reason": "Ở quầy"}, headers=AUTH).status_code == 204
    assert client.get("/api/v1/patrons/0001", headers=AUTH).json()["can_borrow"] is False
    assert client.delete("/api/v1/patrons/0001/blocks", headers=AUTH).json() == {"lifted": 1}
    assert client.get("/api/v1/patrons/9999", headers=AUTH).status_code == 404
    assert client.post("/api/v1/circulation/anonymise", headers=AUTH).json() == {"count": 0}
    kept = client.put("/api/v1/patrons/0001/keep-history", json={"keep": True}, headers=AUTH)
    assert kept.status_code == 200 and kept.json() == {"keep": True}


def test_sip2_accounts(client: TestClient) -> None:
    made = client.post(
        "/api/v1/sip2/accounts",
        json={"login": "kiosk9", "password": "pw-9", "library_isil": "VN-TEST-B", "encoding": "cp850"},
        headers=AUTH,
    )
    assert made.status_code == 201 and made.json()["institution_id"] == "VN-TEST-B"
    assert "password" not in made.json() and "password_hash" not in made.json()
    dup = client.post(
        "/api/v1/sip2/accounts", json={"login": "kiosk9", "password": "x", "library_isil": "VN-TEST"}, headers=AUTH
    )
    assert dup.status_code == 409
    bad = client.post(
        "/api/v1/sip2/accounts",
        json={"login": "k", "password": "x", "library_isil": "VN-TEST", "encoding": "latin9"},
        headers=AUTH,
    )
    assert bad.status_code == 422
    logins = [a["login"] for a in client.get("/api/v1/sip2/accounts", headers=AUTH).json()]
    assert logins == ["kiosk1", "kiosk9"]
    assert client.delete("/api/v1/sip2/accounts/kiosk9", headers=AUTH).status_code == 204
    assert client.delete("/api/v1/sip2/accounts/kiosk9", headers=AUTH).status_code == 404


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/circulation/checkout",
        "/api/v1/circulation/checkin",
        "/api/v1/patrons/{card}",
        "/api/v1/sip2/accounts",
    ):
        assert path in paths
