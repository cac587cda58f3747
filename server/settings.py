"""Settings of the central server process (``thuvien server``), validated at start.

Read with :func:`edge.config.load_settings` from a TOML file and ``THUVIEN_...`` variables, for example
``THUVIEN_DATABASE__URL=postgresql+psycopg://thuvien@db/thuvien``. See docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from edge.config import ProcessSettings, ReadableFile, check_key_pair

DEMO_SECRET = "demo-secret-not-for-production"  # noqa: S105 - refused outside demo mode


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    url: str = "sqlite:///var/thuvien.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)
    auto_migrate: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError(
                f"unsupported database URL {value!r}; use sqlite:///path/to/file.db "
                "or postgresql+psycopg://user@host/dbname"
            )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None


class Sip2Settings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=6001, ge=0, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_frame_bytes: int = Field(default=8192, ge=256, le=1_048_576)
    idle_timeout_seconds: float = Field(default=300.0, gt=0)
    workers: int | None = Field(default=None, ge=1, le=64)  # listener processes; None: server.sip2.workers decides


class MqttSettings(Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=0, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    topic_prefix: str = "thuvien"
    tls_ca: Path | None = None
    tls_cert: ReadableFile | None = None  # client certificate (PEM) where the broker requires one, with tls_key
    tls_key: ReadableFile | None = None
    tls_insecure: bool = False  # skip host name checking (test certificates only)
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str | None = None  # default thuvien-ingest-<hostname>; unique per server process
    share_group: str | None = "thuvien-ingest"  # None: brokers without $share/ (one elected consumer)
    batch_size: int = Field(default=500, ge=1, le=10_000)
    max_clock_skew_s: float = Field(default=600.0, gt=0)  # events dated further ahead are quarantined
    max_event_age_days: float = Field(default=90.0, gt=0)  # events older than this are quarantined as replays
    telemetry_retention_days: float = Field(default=30.0, gt=0)

    @field_validator("topic_prefix")
    @classmethod
    def _topic_level(cls, value: str) -> str:
        if not value or value != value.lower() or any(c in value for c in "#+/ "):
            raise ValueError(f"topic prefix must be one lowercase topic level without #, + or /: {value!r}")
        return value

    @model_validator(mode="after")
    def _key_pair(self) -> MqttSettings:
        check_key_pair(self.tls_cert, self.tls_key)
        return self


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = False


class PrivacySettings(Section):
    anonymise_returned_loans_after_days: int = Field(default=30, ge=0)
    pin_max_attempts: int = Field(default=5, ge=1)
    pin_lock_minutes: int = Field(default=15, ge=1)


class MailSettings(Section):
    mode: Literal["off", "file", "smtp"] = "off"  # file: .eml files in ``folder`` (demo, tests)
    folder: Path = Path("var/mail")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    from_address: str = "thuvien@localhost"


class ServerSettings(ProcessSettings):
    """Everything ``thuvien server`` needs; one instance per process, injected into the app factory."""

    demo: bool = False
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    api_token: SecretStr | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    data_dir: Path = Path("var")
    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    sip2: Sip2Settings = Sip2Settings()
    mqtt: MqttSettings = MqttSettings()
    logging: LoggingSettings = LoggingSettings()
    privacy: PrivacySettings = PrivacySettings()
    mail: MailSettings = MailSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Ho_Chi_Minh") from None
        return value

    @model_validator(mode="after")
    def _no_demo_secrets(self) -> ServerSettings:
        if self.demo:
            return self
        if self.secret_key.get_secret_value() == DEMO_SECRET:
            raise ValueError(
                "secret_key is the built-in demo secret, which is refused outside demo mode; "
                "set THUVIEN_SECRET_KEY (or secret_key in the settings file) to a long random string"
            )
        if len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("secret_key is shorter than 16 characters; use a long random string")
        return self
