"""The kiosk's typed settings (``thuvien kiosk --config FILE``), loaded with :func:`edge.config.load_settings`.

Example::

    [kiosk]
    id = "kiosk-01"
    library = "VN-HDU"
    library_name = "Thư viện tỉnh Hải Dương"
    accepted_owners = ["VN-HDU"]

    [sip2]
    host = "10.0.0.5"
    port = 6001
    login = "kiosk1"
    password = "..."
    institution = "VN-HDU"

    [reader]
    url = "serial:///dev/serial/by-id/usb-FEIG...?driver=feig"
    profile = "feig-mr101-kiosk-pad"     # firmware-config profile: AFI values and EAS mode of this site
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.config import ProcessSettings

log = logging.getLogger(__name__)

__all__ = ["KioskSettings", "load_kiosk_settings"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KioskSection(_Section):
    id: str = "kiosk-01"
    library: str = "VN-HDU"
    library_name: str = "Thư viện"
    language: Literal["vi", "en"] = "vi"
    accepted_owners: list[str] = Field(default_factory=list)
    pin_required: bool = False
    confirm_count: bool = False
    settle_seconds: float = Field(default=1.5, ge=0)
    session_timeout_seconds: float = Field(default=60.0, gt=5)
    warning_seconds: float = Field(default=15.0, ge=0)
    goodbye_seconds: float = Field(default=4.0, ge=0)
    fullscreen: bool = True
    sound: bool = True
    demo_tray: bool = False
    data_dir: Path = Path("var/kiosk")


class Sip2Section(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=6001, ge=1, le=65535)
    login: str = ""
    password: str = ""
    institution: str = ""
    location: str = ""
    terminal_password: str = ""
    encoding: str = "utf-8"
    error_detection: bool = True
    timeout_seconds: float = Field(default=5.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    connections: int = Field(default=3, ge=1, le=8)  # checkouts of a stack in flight together

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        if value == "ascii-fold":
            return value
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; use utf-8, cp850, latin-1 or ascii-fold") from None
        return value


class ReaderSection(_Section):
    url: str = "sim://?driver=feig"
    profile: str = ""
    interval_seconds: float = Field(default=0.05, gt=0)
    misses: int = Field(default=2, ge=1)


class CardSection(_Section):
    # "pcsc" (any PC/SC reader) or "pcsc:<reader name>"; keyboard-wedge scanners type into the screen
    readers: list[str] = Field(default_factory=list)


class SecuritySection(_Section):
    mode: Literal["afi", "eas", "afi+eas", "both", "none"] | None = None
    afi_in_stock: int | None = Field(default=None, ge=0, le=255)
    afi_on_loan: int | None = Field(default=None, ge=0, le=255)
    attempts: int | None = Field(default=None, ge=1, le=100)


class OfflineSection(_Section):
    policy: Literal["finish-session", "store-and-forward"] = "finish-session"
    store: Literal["outbox", "sqlite"] = "outbox"  # an edge outbox file of its own, or a plain SQLite journal
    journal: Path | None = None
    loan_days: int = Field(default=14, ge=1)


class ReceiptSection(_Section):
    mode: Literal["ask", "print", "email", "none"] = "ask"
    printer: Literal["file", "usb", "serial", "network", "none"] = "file"
    device: str = ""
    render: Literal["image", "text"] = "image"
    width_px: int = Field(default=384, ge=128, le=1024)
    email: bool = True


class EventSection(_Section):
    sink: Literal["outbox", "jsonl", "memory"] = "jsonl"
    path: Path | None = None
    topic_prefix: str = "thuvien"


class KioskSettings(ProcessSettings):
    kiosk: KioskSection = Field(default_factory=KioskSection)
    sip2: Sip2Section = Field(default_factory=Sip2Section)
    reader: ReaderSection = Field(default_factory=ReaderSection)
    cards: CardSection = Field(default_factory=CardSection)
    security: SecuritySection = Field(default_factory=SecuritySection)
    offline: OfflineSection = Field(default_factory=OfflineSection)
    receipts: ReceiptSection = Field(default_factory=ReceiptSection)
    events: EventSection = Field(default_factory=EventSection)


def load_kiosk_settings(path: Path | str | None) -> KioskSettings:
    from edge.config import load_settings

    return load_settings(KioskSettings, path)
