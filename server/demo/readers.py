"""The demo's simulated kiosk pad: a FEIG reader speaking its real wire protocol on a TCP port, holding every
demo item's tag (ISO 28560-3, the item's barcode and ISIL), three of them lying on the pad.

It runs in every demo, headless too, so that scripts can read it (``thuvien tag read --reader URL``) and move
books on and off it (``thuvien sim control ADDRESS place '{"uid": "..."}'``). ``describe()`` lists it, with
the gate's reader, under ``readers``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from edge.readers.sim import ReaderSimulator, VirtualTag
from edge.tags import LibraryTag
from server.demo import data
from server.demo.parts import DemoConfig

log = logging.getLogger(__name__)

IN_STOCK_AFI = 0x07
ON_LOAN_AFI = 0xC2
ON_THE_PAD = {data.barcode(1), data.barcode(2), data.barcode(3)}


def pad_tags() -> list[VirtualTag]:
    """Every highlighted demo item's tags as programmed at the library (one per part of a set)."""
    tags = []
    for spec in data.HIGHLIGHTS:
        parts = len(spec.tag_uids)
        secured = spec.barcode != data.LOAN_OF_PATRON_2
        for part, uid in enumerate(spec.tag_uids, start=1):
            item = LibraryTag(
                primary_item_id=spec.barcode,
                owner_isil=spec.library,
                type_of_usage=1,
                parts_in_set=parts if parts > 1 else None,
                part_number=part if parts > 1 else None,
            )
            tag = VirtualTag.with_item(
                uid, item, "iso28560-3", afi=IN_STOCK_AFI if secured else ON_LOAN_AFI, eas=secured, label=spec.title
            )
            tag.present = spec.barcode in ON_THE_PAD
            tags.append(tag)
    return tags


class PadReaderDemoPart:
    name = "kiosk pad reader"

    def __init__(self) -> None:
        self.simulator: ReaderSimulator | None = None

    def describe(self, config: DemoConfig) -> dict[str, Any]:
        pad: dict[str, Any] = {
            "name": "kiosk-pad",
            "protocol": "feig",
            "role": "kiosk pad",
            "tags": [tag.uid.hex for tag in pad_tags()],
            "on_the_pad": sorted(ON_THE_PAD),
        }
        if self.simulator is not None:
            pad["url"] = self.simulator.url
            pad["control"] = self.simulator.control_address
        gate = {"name": "gate-1", "protocol": "feig", "role": "security gate", "note": "in the gate-1 agent"}
        return {"readers": [pad, gate]}

    async def start(self, config: DemoConfig) -> None:
        simulator = ReaderSimulator("feig", link="tcp:0", tags=pad_tags(), timing=True, control="tcp:0")
        await asyncio.to_thread(simulator.start)
        self.simulator = simulator
        log.info("simulated kiosk pad on %s (control %s)", simulator.url, simulator.control_address)

    async def stop(self) -> None:
        if self.simulator is not None:
            await asyncio.to_thread(self.simulator.stop)
            self.simulator = None
