"""The device registry: provisioning with Mosquitto-format credentials, rotation, retirement, the CLI and the
REST API (status, telemetry, events, quarantine, commands)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.contract import DeviceTopics, Status, Telemetry, encode
from server.app import create_app
from server.db import Database, utcnow
from server.devices import cli as device_cli
from server.devices import service
from server.devices.errors import DeviceExists, DeviceNotFound, InvalidDevice, UnknownCommand, UnknownLibrary
from server.devices.passwords import mosquitto_hash, verify_mosquitto_hash
from server.ingest.processor import Incoming, Processor
from server.settings import DatabaseSettings, ServerSettings
from tests.mqtt.brokers import add_device, add_library
from tests.support import require


def test_hashes_are_mosquitto_passwd_compatible(tmp_path: Path) -> None:
    hashed = mosquitto_hash("s3cret")
    assert hashed.startswith("$7$101$")
    assert verify_mosquitto_hash(hashed, "s3cret")
    assert not verify_mosquitto_hash(hashed, "S3cret")
    assert not verify_mosquitto_hash("$6$garbage", "s3cret")
    assert not verify_mosquitto_hash(None, "s3cret")
    tool = shutil.which("mosquitto_passwd")
    require(tool is not None, "mosquitto_passwd (Debian package mosquitto)")
    assert tool is not None
    passwd = tmp_path / "passwd"
    subprocess.run([tool, "-c", "-b", str(passwd), "dev1", "from-the-tool"], check=True)
    stored = passwd.read_text().strip().split(":", 1)[1]
    assert verify_mosquitto_hash(stored, "from-the-tool")


def test_provisioning_rules(db: Database) -> None:
    add_library(db)
    with db.write() as session:
        done = service.add_device(session, "hdu-k01", "kiosk", "VN-HDU", name="Quầy tự mượn 1")
        assert verify_mosquitto_hash(done.device.credential_hash, done.password)
        for bad_id in ("HDU-K01", "a/b", "k#1", ""):
            with pytest.raises(InvalidDevice):
                service.add_device(session, bad_id, "kiosk", "VN-HDU")
        with pytest.raises(InvalidDevice):
            service.add_device(session, "hdu-x1", "robot", "VN-HDU")
        with pytest.raises(UnknownLibrary):
            service.add_device(session, "hdu-x2", "gate", "VN-NOPE")
        with pytest.raises(DeviceExists):
            service.add_device(session, "hdu-k01", "kiosk", "VN-HDU")
    with db.write() as session:
        rotated = service.rotate_credentials(session, "hdu-k01")
        assert rotated.password != done.password
        assert verify_mosquitto_hash(rotated.device.credential_hash, rotated.password)
        assert service.broker_credentials(session) == [("hdu-k01", rotated.device.credential_hash)]
        service.retire_device(session, "hdu-k01")
        assert service.broker_credentials(session) == []
        with pytest.raises(DeviceNotFound):
            service.rotate_credentials(session, "hdu-k01")
        with pytest.raises(DeviceExists):  # ids are never reused
            service.add_device(session, "hdu-k01", "kiosk", "VN-HDU")
        with pytest.raises(DeviceNotFound):
            service.issue_command(session, "hdu-k01", "ping")


def test_commands_are_checked(db: Database) -> None:
    add_library(db)
    add_device(db, "hdu-g01", "gate")
    with db.write() as session:
        with pytest.raises(UnknownCommand):
            service.issue_command(session, "hdu-g01", "self-destruct")
        command = service.issue_command(session, "hdu-g01", "silence-alarm", {"seconds": 30})
        assert command.expires_at > command.issued_at


def test_device_cli(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("THUVIEN_SECRET_KEY", "a-long-random-secret-for-tests")
    add_library(sqlite_db)
    base = ["--database", sqlite_db.url]
    assert device_cli.main([*base, "add", "hdu-k01", "--kind", "kiosk", "--library", "VN-HDU"]) == 0
    out = capsys.readouterr().out
    password = out.split("mqtt password: ")[1].split()[0]
    assert len(password) >= 24
    assert device_cli.main([*base, "add", "hdu-k01", "--kind", "kiosk", "--library", "VN-HDU"]) == 2
    assert "taken" in capsys.readouterr().err
    assert device_cli.main([*base, "rotate", "hdu-k01"]) == 0
    assert password not in capsys.readouterr().out
    assert device_cli.main([*base, "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(d["device_id"], d["kind"], d["library"], d["state"]) for d in listing] == [
        ("hdu-k01", "kiosk", "VN-HDU", "unknown")
    ]
    assert device_cli.main([*base, "remove", "hdu-k01"]) == 0
    assert device_cli.main([*base, "list", "--json"]) == 0
    capsys.readouterr()
    assert device_cli.main([*base, "remove", "hdu-k01"]) == 2
    assert "no active device" in capsys.readouterr().err


@pytest.fixture
def client(sqlite_db: Database) -> Iterator[TestClient]:
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=sqlite_db.url))
    with TestClient(create_app(settings, sqlite_db)) as test_client:
        yield test_client


def test_api_shows_status_telemetry_events_and_takes_commands(sqlite_db: Database, client: TestClient) -> None:
    add_library(sqlite_db)
    add_device(sqlite_db, "hdu-k01")
    topics = DeviceTopics("thuvien", "VN-HDU", "kiosk", "hdu-k01")
    Processor(sqlite_db).process([
        Incoming(topics.status, encode(Status(device_id="hdu-k01", state="online", at=utcnow(),
                                              versions={"thuvien": "0.1.0"})), utcnow()),
        Incoming(topics.telemetry, encode(Telemetry(device_id="hdu-k01", at=utcnow(), outbox_depth=3)), utcnow()),
        Incoming(topics.event("checkout"), b"{broken", utcnow()),
    ])
    devices = client.get("/api/v1/devices").json()
    assert [(d["device_id"], d["state"], d["library"], d["outbox_depth"]) for d in devices] == [
        ("hdu-k01", "online", "VN-HDU", 3)
    ]
    assert client.get("/api/v1/devices/hdu-k01").json()["versions"] == {"thuvien": "0.1.0"}
    assert client.get("/api/v1/devices/nope").status_code == 404
    telemetry = client.get("/api/v1/devices/hdu-k01/telemetry").json()
    assert telemetry[0]["metrics"]["outbox_depth"] == 3
    assert client.get("/api/v1/devices/quarantine/summary").json() == {"malformed_json": 1}
    assert client.get("/api/v1/devices/hdu-k01/events", params={"status": "quarantined"}).json()[0]["kind"] == (
        "checkout"
    )
    response = client.post("/api/v1/devices/hdu-k01/commands", json={"name": "ping", "ttl_seconds": 60})
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert client.post("/api/v1/devices/hdu-k01/commands", json={"name": "fly"}).status_code == 422
    assert client.post("/api/v1/devices/nope/commands", json={"name": "ping"}).status_code == 404
    assert [c["name"] for c in client.get("/api/v1/devices/hdu-k01/commands").json()] == ["ping"]
