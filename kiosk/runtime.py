"""Builds a running kiosk from its settings: reader + pad scanner, SIP2 client with the offline journal,
security writer from the site's firmware profile, receipt printer, event sink, and the controller thread.

The Kivy screen (``kiosk.ui``) only subscribes to the controller's views and posts actions.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from edge.readers import CardReader, TagReader, open_reader

from .controller import ControllerSettings, KioskController
from .events import EventSink, JsonlSink, MemorySink, OutboxSink
from .ils import Journal, OfflinePolicy, OutboxJournal, ResilientIls, Sip2Config, Sip2Pool
from .ils.offline import JournalEntry
from .pad import PadScanner
from .receipts import EmailReceipts, EscposPrinter, FilePrinter, ReceiptPrinter
from .security import SecurityMode, SecurityProfile, SecurityWriter
from .settings import KioskSettings

log = logging.getLogger(__name__)

__all__ = ["KioskRuntime", "security_profile", "find_firmware_profile"]

REPO_PROFILES = Path(__file__).resolve().parents[1] / "firmware-config" / "profiles"


def open_card_reader(spec: str) -> CardReader:
    """A patron-card reader from settings: ``pcsc`` or ``pcsc:<reader name>``."""
    kind, _, name = spec.partition(":")
    if kind == "pcsc":
        from edge.readers.pcsc import PcscCardReader

        return PcscCardReader(name or None)
    raise ValueError(f"unknown card reader {spec!r}; use 'pcsc' or 'pcsc:<reader name>'")


def find_firmware_profile(name: str) -> Path:
    """A profile given as a path, or by name from ``firmware-config/profiles``."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return path
    return REPO_PROFILES / f"{name}.toml"


def security_profile(settings: KioskSettings) -> SecurityProfile:
    """The site's security profile (firmware-config), with any overrides from the kiosk settings."""
    values: dict[str, Any] = {}
    if settings.reader.profile:
        from edge.firmware import load_profile

        profile = load_profile(find_firmware_profile(settings.reader.profile))
        values = {
            "mode": profile.security_mode,
            "afi_in_stock": profile.afi_in_stock,
            "afi_on_loan": profile.afi_on_loan,
            "attempts": max(1, profile.write_retries),
        }
    sec = settings.security
    for key in ("mode", "afi_in_stock", "afi_on_loan", "attempts"):
        value = getattr(sec, key)
        if value is not None:
            values[key] = value
    mode = str(values.pop("mode", "afi"))
    return SecurityProfile(mode=SecurityMode.AFI_EAS if mode == "both" else SecurityMode(mode), **values)


def _printer(settings: KioskSettings) -> ReceiptPrinter | None:
    cfg = settings.receipts
    if cfg.printer == "none" or cfg.mode == "none":
        return None
    if cfg.printer == "file":
        path = Path(cfg.device) if cfg.device else settings.kiosk.data_dir / "receipts" / "receipts.bin"
        return FilePrinter(path, mode=cfg.render, width_px=cfg.width_px)
    from escpos import printer as escpos

    device: Any
    if cfg.printer == "usb":
        vendor, _, product = cfg.device.partition(":")
        device = escpos.Usb(int(vendor, 16), int(product, 16))
    elif cfg.printer == "serial":
        device = escpos.Serial(devfile=cfg.device, baudrate=115200)
    else:
        host, _, port = cfg.device.partition(":")
        device = escpos.Network(host, port=int(port or 9100))
    return EscposPrinter(device, mode=cfg.render, width_px=cfg.width_px, check_paper=True)


def _sink(settings: KioskSettings) -> EventSink:
    cfg = settings.events
    data_dir = settings.kiosk.data_dir
    if cfg.sink == "memory":
        return MemorySink()
    if cfg.sink == "outbox":
        return OutboxSink(
            cfg.path or data_dir / f"{settings.kiosk.id}-outbox.db",
            device_id=settings.kiosk.id,
            library=settings.kiosk.library,
            prefix=cfg.topic_prefix,
        )
    return JsonlSink(cfg.path or data_dir / "events.jsonl")


class KioskRuntime:
    """Everything behind the screen. ``start()`` runs the pad scanner and the controller in threads."""

    def __init__(self, settings: KioskSettings, *, reader: TagReader | None = None) -> None:
        self.settings = settings
        k = settings.kiosk
        k.data_dir.mkdir(parents=True, exist_ok=True)
        self.reader = reader if reader is not None else open_reader(settings.reader.url)
        self.sink = _sink(settings)
        s = settings.sip2
        self.sip2 = Sip2Pool(
            Sip2Config(
                host=s.host,
                port=s.port,
                login=s.login,
                password=s.password,
                location=s.location,
                institution=s.institution,
                terminal_password=s.terminal_password,
                encoding=s.encoding,
                error_detection=s.error_detection,
                timeout=s.timeout_seconds,
                retries=s.retries,
            ),
            s.connections,
        )
        policy = OfflinePolicy(settings.offline.policy)
        self.journal: Journal | OutboxJournal
        if settings.offline.store == "outbox":
            self.journal = OutboxJournal(settings.offline.journal or k.data_dir / "offline-outbox.db", device_id=k.id)
        else:
            self.journal = Journal(settings.offline.journal or k.data_dir / "journal.db")
        self.ils = ResilientIls(
            self.sip2,
            self.journal,
            policy=policy,
            loan_days=settings.offline.loan_days,
            on_conflict=self._conflict,
        )
        self.security = SecurityWriter(self.reader, security_profile(settings))
        printer = _printer(settings)
        email = EmailReceipts(self.sink) if settings.receipts.email else None
        self.controller = KioskController(
            self.ils,
            self.security,
            settings=ControllerSettings(
                library_name=k.library_name,
                kiosk_id=k.id,
                accepted_owners=tuple(k.accepted_owners),
                pin_required=k.pin_required,
                confirm_count=k.confirm_count,
                settle_s=k.settle_seconds,
                session_timeout_s=k.session_timeout_seconds,
                warning_s=k.warning_seconds,
                goodbye_s=k.goodbye_seconds,
                receipt_mode=settings.receipts.mode,
                default_lang=k.language,
                store_and_forward=policy is OfflinePolicy.STORE_AND_FORWARD,
                parallel_checkouts=s.connections,
            ),
            printer=printer,
            email=email,
            sink=self.sink,
        )
        self.scanner = PadScanner(
            self.reader,
            self.controller.post,
            interval=settings.reader.interval_seconds,
            misses=settings.reader.misses,
            busy=self.controller.has_work,
        )
        self.controller.forget_tag = self.scanner.forget
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.card_readers: list[CardReader] = [open_card_reader(spec) for spec in settings.cards.readers]
        self._card_threads: list[threading.Thread] = []

    def _conflict(self, entry: JournalEntry, note: str) -> None:
        self.sink.emit(
            "offline_conflict",
            {"op": entry.op, "item_id": entry.item_id, "patron_id": entry.patron_id, "at": entry.at, "note": note},
        )

    @property
    def simulator(self) -> Any:
        """The in-process reader simulator behind a ``sim://`` reader (None for real hardware)."""
        return getattr(self.reader, "simulator", None)

    def start(self) -> None:
        self._stop.clear()
        self.scanner.start()
        self._thread = threading.Thread(target=self.controller.run, args=(self._stop,), name="kiosk", daemon=True)
        self._thread.start()
        for card_reader in self.card_readers:
            thread = threading.Thread(target=self._cards, args=(card_reader,), name="kiosk-cards", daemon=True)
            thread.start()
            self._card_threads.append(thread)
        log.info(
            "kiosk %s started (SIP2 %s:%d)", self.settings.kiosk.id, self.settings.sip2.host, self.settings.sip2.port
        )

    def _cards(self, card_reader: CardReader) -> None:
        while not self._stop.is_set():
            try:
                card = card_reader.wait_for_card(timeout=0.5)
            except Exception:
                log.exception("card reader %s failed", card_reader.name)
                self._stop.wait(2.0)
                continue
            if card is not None:
                self.controller.post(card)

    def stop(self) -> None:
        self._stop.set()
        for card_reader in self.card_readers:
            try:
                card_reader.close()
            except Exception:
                log.exception("closing card reader %s failed", card_reader.name)
        self.scanner.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.ils.close()
        try:
            self.reader.close()
        except Exception:
            log.exception("closing the pad reader failed")
        close = getattr(self.sink, "close", None)
        if callable(close):
            close()
