"""Drives a KioskController synchronously: pad polls, queued events, a manual clock."""

from __future__ import annotations

from pathlib import Path

from edge.readers import PatronCardPresented, TagReader
from kiosk.controller import ControllerSettings, KioskController, Tick, UiAction, View
from kiosk.events import MemorySink
from kiosk.ils import Ils
from kiosk.pad import PadScanner
from kiosk.receipts import EmailReceipts, FilePrinter
from kiosk.security import SecurityMode, SecurityProfile, SecurityWriter


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Harness:
    def __init__(self, ils: Ils, pad: TagReader, tmp: Path, **settings: object) -> None:
        self.clock = ManualClock()
        self.sink = MemorySink()
        self.printer = FilePrinter(tmp / "receipts" / "receipts.bin")
        base: dict[str, object] = {
            "library_name": "Thư viện tỉnh Hải Dương",
            "kiosk_id": "kiosk-test",
            "accepted_owners": ("VN-HDU",),
            "settle_s": 1.0,
        }
        base.update(settings)
        self.profile = SecurityProfile(SecurityMode.AFI, attempts=3, retry_delay=0.0)
        self.controller = KioskController(
            ils,
            SecurityWriter(pad, self.profile),
            settings=ControllerSettings(**base),  # type: ignore[arg-type]
            printer=self.printer,
            email=EmailReceipts(self.sink),
            sink=self.sink,
            clock=self.clock,
        )
        self.scanner = PadScanner(pad, self.controller.post, misses=1)
        self.controller.forget_tag = self.scanner.forget

    @property
    def view(self) -> View:
        return self.controller.view

    def step(self, seconds: float = 0.0) -> View:
        self.clock.advance(seconds)
        self.scanner.poll_once()
        self.controller.process_pending()
        self.controller.drain()
        self.controller.process_pending()
        self.controller.handle(Tick())
        return self.view

    def act(self, name: str, value: str = "") -> View:
        self.controller.post(UiAction(name, value))
        return self.step()

    def card(self, card: str) -> View:
        self.controller.post(PatronCardPresented(card, "wedge"))
        return self.step()

    def item(self, item_id: str) -> tuple[str, str]:
        for item in self.view.items:
            if item.item_id == item_id or item.key == item_id:
                return item.state.value, item.code
        raise KeyError(item_id)
