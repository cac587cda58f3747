"""The kiosk as it runs: runtime threads (pad scanner, controller, SIP2 pool) on the FEIG simulator and the
scripted SIP2 peer, in real time."""

from __future__ import annotations

from pathlib import Path

from edge.readers import open_reader
from edge.readers.sim import ReaderSimulator, VirtualTag
from edge.tags import LibraryTag
from kiosk.controller import ItemState, Screen, UiAction
from kiosk.runtime import KioskRuntime
from kiosk.settings import KioskSettings
from tests.kiosk.fakes import MiniLibrary, ScriptedPeer
from tests.support import wait_for


def test_runtime_lends_a_stack_in_real_time(peer: ScriptedPeer, library: MiniLibrary, tmp_path: Path) -> None:
    sim = ReaderSimulator("feig", "pty", timing=True).start()
    settings = KioskSettings(
        kiosk={"id": "kiosk-rt", "accepted_owners": ["VN-HDU"], "data_dir": tmp_path, "settle_seconds": 0.5},
        sip2={
            "port": peer.port,
            "login": "kiosk1",
            "password": "kiosk1-pass",
            "institution": "VN-HDU",
            "connections": 3,
            "timeout_seconds": 2.0,
        },
        security={"mode": "afi+eas"},
        reader={"interval_seconds": 0.02},
        receipts={"mode": "print"},
        events={"sink": "outbox"},
    )
    runtime = KioskRuntime(settings, reader=open_reader(sim.url))
    controller = runtime.controller
    runtime.start()
    try:
        controller.post(UiAction("card", "0001000001"))
        assert wait_for(lambda: controller.view.screen is Screen.MENU, timeout=10)
        controller.post(UiAction("borrow"))
        assert wait_for(lambda: controller.view.screen is Screen.BORROW, timeout=10)
        tags = [
            VirtualTag.with_item(
                f"E00401{n:010X}",
                LibraryTag(primary_item_id=f"3000{n:06d}", owner_isil="VN-HDU", type_of_usage=1),
                afi=0x07,
                eas=True,
            )
            for n in range(100, 106)
        ]
        for tag in tags:
            sim.place(tag)

        def done() -> bool:
            return sum(1 for i in controller.view.items if i.state is ItemState.DONE) == len(tags)

        assert wait_for(done, timeout=20), controller.view.items
        assert all(t.afi == 0xC2 and not t.eas for t in tags)
        assert len(library.checkouts) == len(tags)
        controller.post(UiAction("finish"))
        assert wait_for(lambda: controller.view.screen is Screen.GOODBYE, timeout=10)
        assert (tmp_path / "receipts" / "receipts.bin").exists()
        assert runtime.sink.outbox.depth() == len(tags)  # type: ignore[attr-defined]
    finally:
        runtime.stop()
        sim.stop()
