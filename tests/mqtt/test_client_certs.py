"""Client certificates on the generated TLS listener (``thuvien mqtt config --require-certificate`` and
``--use-identity-as-username``) with a throwaway CA, against a private Mosquitto; and the settings that name
the certificate files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from edge.agent import Agent, EdgeSettings
from edge.config import SettingsError, load_settings
from server.db import Database
from server.devices.models import DeviceEvent
from server.ingest import cli as mqtt_cli
from server.ingest.consumer import IngestConsumer
from server.settings import MqttSettings
from tests.mqtt.brokers import Broker, Pki, add_device, add_library
from tests.support import free_port, wait_for

SERVER_USER, SERVER_PASSWORD = "thuvien-server", "server-secret-for-tests"


@pytest.fixture
def password(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    """hdu-k01's broker password."""
    monkeypatch.setenv("THUVIEN_SECRET_KEY", "a-long-random-secret-for-tests")
    add_library(sqlite_db)
    return add_device(sqlite_db, "hdu-k01")


def _tls_broker(db: Database, tmp_path: Path, prefix: str, pki: Pki, flag: str) -> Broker:
    port = free_port()
    out = tmp_path / "conf"
    code = mqtt_cli.main(["--database", db.url, "config", "--out", str(out), "--server-user", SERVER_USER,
                          "--server-password", SERVER_PASSWORD, "--port", "0", "--tls-port", str(port),
                          "--cafile", str(pki.ca), "--certfile", str(pki.server_cert), "--keyfile",
                          str(pki.server_key), flag])
    assert code == 0
    conf = (out / "mosquitto.conf").read_text()
    assert "require_certificate true" in conf
    return Broker(tmp_path / "broker", extra=conf, port=port).start()


def _stored(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(DeviceEvent.event_id)))


@pytest.mark.mosquitto
def test_a_device_without_a_client_certificate_is_refused(
    sqlite_db: Database, password: str, tmp_path: Path, prefix: str, monkeypatch: pytest.MonkeyPatch,
    make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    monkeypatch.setenv("THUVIEN_MQTT__TOPIC_PREFIX", prefix)
    pki = Pki(tmp_path / "pki")
    rogue = Pki(tmp_path / "rogue", "another CA")
    broker = _tls_broker(sqlite_db, tmp_path, prefix, pki, "--require-certificate")
    try:
        server_cert, server_key = pki.client(SERVER_USER)
        make_consumer(sqlite_db, port=broker.port, topic_prefix=prefix, username=SERVER_USER,
                      password=SERVER_PASSWORD, tls_ca=pki.ca, tls_cert=server_cert, tls_key=server_key)
        link = {"port": broker.port, "topic_prefix": prefix, "tls_ca": pki.ca, "password": password}
        for name, extra in (("none", {}), ("rogue", dict(zip(("tls_cert", "tls_key"), rogue.client("hdu-k01"),
                                                             strict=True)))):
            refused = make_agent("hdu-k01", data_dir=tmp_path / name, mqtt={**link, **extra})
            refused.context.emit("checkout", {"item": "1"})
            assert not refused.uplink.connected.wait(3), f"a device with {name} certificate was let in"
            refused.stop()
        cert, key = pki.client("hdu-k01")
        agent = make_agent("hdu-k01", data_dir=tmp_path / "good",
                           mqtt={**link, "tls_cert": cert, "tls_key": key})
        event_id = agent.context.emit("checkout", {"item": "2"})
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=20)
        assert _stored(sqlite_db) == [event_id]
    finally:
        broker.kill()


@pytest.mark.mosquitto
def test_the_certificate_can_be_the_identity(
    sqlite_db: Database, password: str, tmp_path: Path, prefix: str, monkeypatch: pytest.MonkeyPatch,
    make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    monkeypatch.setenv("THUVIEN_MQTT__TOPIC_PREFIX", prefix)
    pki = Pki(tmp_path / "pki")
    broker = _tls_broker(sqlite_db, tmp_path, prefix, pki, "--use-identity-as-username")
    try:
        server_cert, server_key = pki.client(SERVER_USER)
        make_consumer(sqlite_db, port=broker.port, topic_prefix=prefix, tls_ca=pki.ca, tls_cert=server_cert,
                      tls_key=server_key)
        cert, key = pki.client("hdu-k01")
        link = {"port": broker.port, "topic_prefix": prefix, "tls_ca": pki.ca, "tls_cert": cert, "tls_key": key}
        agent = make_agent("hdu-k01", data_dir=tmp_path / "k01", mqtt=link)  # no password
        event_id = agent.context.emit("checkout", {"item": "1"})
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=20)
        # hdu-k01's certificate is hdu-k01 for the ACL, whatever device the agent claims to be.
        impostor = make_agent("hdu-k02", data_dir=tmp_path / "k02", mqtt=link)
        impostor.context.emit("checkout", {"item": "2"})
        assert wait_for(lambda: impostor.uplink.counters["publish_refused"] > 0, timeout=20)
        assert impostor.outbox.depth() == 1
        assert _stored(sqlite_db) == [event_id]
    finally:
        broker.kill()


def test_certificate_settings_are_checked_at_load(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    cert, key = pki.client("hdu-k01")
    other_cert, _other_key = pki.client("hdu-k02")
    config = tmp_path / "edge.toml"

    def load(mqtt: str) -> EdgeSettings:
        config.write_text(f'role = "kiosk"\ndevice_id = "hdu-k01"\nlibrary = "VN-HDU"\n[mqtt]\n{mqtt}\n')
        return load_settings(EdgeSettings, config)

    good = load(f'tls_ca = "{pki.ca}"\ntls_cert = "{cert}"\ntls_key = "{key}"')
    assert (good.mqtt.tls_cert, good.mqtt.tls_key) == (cert, key)
    with pytest.raises(SettingsError, match=r"setting 'mqtt.tls_cert' .*THUVIEN_MQTT__TLS_CERT.*does not exist"):
        load(f'tls_cert = "{tmp_path / "missing.crt"}"\ntls_key = "{key}"')
    with pytest.raises(SettingsError, match="tls_cert and tls_key go together"):
        load(f'tls_cert = "{cert}"')
    with pytest.raises(SettingsError, match="not a PEM certificate and its matching"):
        load(f'tls_cert = "{other_cert}"\ntls_key = "{key}"')
    with pytest.raises(ValueError, match="does not exist"):
        MqttSettings(tls_cert=tmp_path / "nowhere.crt", tls_key=key)
