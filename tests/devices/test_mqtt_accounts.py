"""Library-scoped MQTT accounts: ``thuvien mqtt account add|list|remove|rotate`` and what ``thuvien mqtt config``
writes for them (the broker's behaviour is in tests/mqtt/test_library_accounts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.db import Database
from server.devices.passwords import verify_mosquitto_hash
from server.ingest import accounts
from server.ingest import cli as mqtt_cli
from server.ingest.errors import AccountError
from server.ingest.models import AccountAccess
from tests.mqtt.brokers import add_device, add_library


@pytest.fixture
def libraries(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("THUVIEN_SECRET_KEY", "a-long-random-secret-for-tests")
    add_library(db, "VN-HDU")
    add_library(db, "VN-HNI")
    add_device(db, "hdu-k01")
    add_device(db, "hdu-g01", kind="gate")
    add_device(db, "hni-k01", isil="VN-HNI")
    return db


def _mqtt(db: Database, *args: str) -> int:
    return mqtt_cli.main(["--database", db.url, *args])


def test_accounts_are_created_rotated_and_retired(libraries: Database, capsys: pytest.CaptureFixture[str]) -> None:
    db = libraries
    assert _mqtt(db, "account", "add", "monitor-hdu", "--library", "VN-HDU") == 0
    password = capsys.readouterr().out.split("mqtt password: ")[1].split()[0]
    with db.session() as session:
        [(account, isil)] = accounts.list_accounts(session)
        assert (account.username, account.access, isil) == ("monitor-hdu", AccountAccess.READ, "VN-HDU")
        assert verify_mosquitto_hash(account.credential_hash, password)
        grants = accounts.acl_grants(session)
    assert grants == [accounts.AccountGrant("monitor-hdu", AccountAccess.READ, "vn-hdu",
                                            ("vn-hdu/gate/hdu-g01", "vn-hdu/kiosk/hdu-k01"))]
    assert _mqtt(db, "account", "rotate", "monitor-hdu") == 0
    fresh = capsys.readouterr().out.split(": ")[1].split()[0]
    with db.session() as session:
        [(name, hashed)] = accounts.account_credentials(session)
        assert verify_mosquitto_hash(hashed, fresh) and not verify_mosquitto_hash(hashed, password)
    assert _mqtt(db, "account", "add", "bridge-hni", "--library", "VN-HNI", "--access", "bridge") == 0
    assert _mqtt(db, "account", "remove", "monitor-hdu") == 0
    capsys.readouterr()
    assert _mqtt(db, "account", "list") == 0
    assert capsys.readouterr().out.split() == ["bridge-hni", "bridge", "VN-HNI"]


@pytest.mark.parametrize(
    ("username", "library", "access", "error"),
    [
        ("hdu-k01", "VN-HDU", "read", "is a device id"),
        ("Monitor", "VN-HDU", "read", "account name"),
        ("monitor-x", "VN-XXX", "read", "no library with ISIL"),
        ("monitor-x", "VN-HDU", "write", "access 'write' is not one of read, bridge"),
    ],
)
def test_bad_accounts_are_refused(libraries: Database, username: str, library: str, access: str,
                                  error: str) -> None:
    with libraries.write() as session, pytest.raises(AccountError, match=error):
        accounts.add_account(session, username, library, access)


def test_names_are_never_reused(libraries: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert _mqtt(libraries, "account", "add", "monitor-hdu", "--library", "VN-HDU") == 0
    assert _mqtt(libraries, "account", "remove", "monitor-hdu") == 0
    assert _mqtt(libraries, "account", "add", "monitor-hdu", "--library", "VN-HDU") == 2
    assert "names are never reused" in capsys.readouterr().err
    assert _mqtt(libraries, "account", "rotate", "monitor-hdu") == 2


def test_config_writes_account_lines(libraries: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = libraries
    with db.write() as session:
        accounts.add_account(session, "monitor-hdu", "VN-HDU", "read")
        accounts.add_account(session, "bridge-hni", "VN-HNI", "bridge")
        accounts.add_account(session, "late-k09", "VN-HNI", "read")
    config = ["config", "--out", str(tmp_path), "--server-user", "srv", "--server-password", "pw"]
    assert _mqtt(db, *config) == 0
    acl = (tmp_path / "acl").read_text()
    assert "user monitor-hdu\ntopic read thuvien/vn-hdu/gate/hdu-g01/#\ntopic read thuvien/vn-hdu/kiosk/hdu-k01/#\n" \
        in acl
    assert "user bridge-hni\ntopic readwrite thuvien/vn-hni/kiosk/hni-k01/#\ntopic write bridges/vn-hni/#\n" in acl
    assert {line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()} == {
        "srv", "hdu-k01", "hdu-g01", "hni-k01", "monitor-hdu", "bridge-hni", "late-k09"}
    add_device(db, "late-k09", isil="VN-HNI")  # the device registry does not know the accounts' names
    capsys.readouterr()
    assert _mqtt(db, *config) == 2
    assert "late-k09 have the name of a device" in capsys.readouterr().err
