from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import SettingsError, load_settings
from server.settings import DEMO_SECRET, ServerSettings

GOOD_SECRET = "a-long-random-production-secret-0123456789"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(text, "utf-8")
    return path


def test_file_then_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, f'secret_key = "{GOOD_SECRET}"\n[http]\nport = 9000\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("THUVIEN_HTTP__PORT", "9100")
    settings = load_settings(ServerSettings, path)
    assert settings.http.port == 9100
    assert settings.http.host == "0.0.0.0"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, f'secret_key = "{GOOD_SECRET}"\n[http]\nprot = 9000\n')
    with pytest.raises(SettingsError, match=r"unknown setting 'http\.prot'"):
        load_settings(ServerSettings, path)


def test_bad_value_names_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, f'secret_key = "{GOOD_SECRET}"\n[sip2]\nport = "many"\n')
    with pytest.raises(SettingsError, match=r"'sip2\.port'.*THUVIEN_SIP2__PORT"):
        load_settings(ServerSettings, path)


def test_malformed_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[http\nport = 1\n")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_settings(ServerSettings, path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(ServerSettings, tmp_path / "nope.toml")


def test_demo_secret_refused_outside_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THUVIEN_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="demo secret"):
        load_settings(ServerSettings)
    assert load_settings(ServerSettings, demo=True).secret_key.get_secret_value() == DEMO_SECRET


def test_database_url_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THUVIEN_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("THUVIEN_DATABASE__URL", "mysql://x")
    with pytest.raises(SettingsError, match="unsupported database URL"):
        load_settings(ServerSettings)
    monkeypatch.setenv("THUVIEN_DATABASE__URL", "postgresql://u@h/db")
    assert load_settings(ServerSettings).database.url == "postgresql+psycopg://u@h/db"


def test_timezone_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THUVIEN_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("THUVIEN_TIMEZONE", "Asia/Hanoi-not")
    with pytest.raises(SettingsError, match="unknown time zone"):
        load_settings(ServerSettings)
