"""The demo's security gate: one gate agent on a simulated FEIG reader, people walking through it.

Every few seconds someone walks through; now and then one carries the secured demo item 3000000004
("Dế Mèn phiêu lưu ký", tag E004010000000004), which alarms and is named in the server as a theft attempt,
or the borrowed item 3000000005, which stays silent. Visitors are counted on the simulated beams.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.demo.parts import DemoConfig

__all__ = ["GateDemoPart", "DEMO_GATE_ID"]

log = logging.getLogger(__name__)

DEMO_GATE_ID = "gate-1"
DEMO_GATE_LIBRARY = "VN-HDU"
SECURED = ("E004010000000004", "3000000004", "Dế Mèn phiêu lưu ký")
BORROWED = ("E004010000000005", "3000000005", "Nỗi buồn chiến tranh")


class GateDemoPart:
    """Registers the demo gate, then runs it as an edge agent with the gate role and simulated traffic."""

    name = "gate"

    def __init__(self, *, interval_s: float = 4.0, backend: str = "feig") -> None:
        self.interval_s = interval_s
        self.backend = backend
        self._agent: Any = None

    def describe(self, config: DemoConfig) -> dict[str, Any]:
        return {
            "gates": [
                {
                    "device_id": DEMO_GATE_ID,
                    "library": DEMO_GATE_LIBRARY,
                    "reader": f"simulated {self.backend.upper()} reader with people walking through",
                    "walker_interval_s": self.interval_s,
                    "secured_item": {"barcode": SECURED[1], "tag_uid": SECURED[0], "title": SECURED[2]},
                    "borrowed_item": {"barcode": BORROWED[1], "tag_uid": BORROWED[0], "title": BORROWED[2]},
                    "mqtt": f"mqtt://{config.host}:{config.mqtt_port}",
                    "alarms_api": config.base_url + "/api/v1/alarms",
                }
            ]
        }

    def _credentials(self, config: DemoConfig) -> str:
        from server.db import Database
        from server.devices import service as devices
        from server.devices.errors import DeviceExists

        db = Database(config.database_url)
        try:
            with db.write() as session:
                try:
                    return devices.add_device(
                        session, DEMO_GATE_ID, "gate", DEMO_GATE_LIBRARY, name="Cổng an ninh sảnh chính"
                    ).password
                except DeviceExists:
                    pass
            with db.write() as session:
                return devices.rotate_credentials(session, DEMO_GATE_ID).password
        finally:
            db.dispose()

    def _start(self, config: DemoConfig) -> None:
        from edge.agent import Agent, EdgeSettings
        from edge.uplink import MqttLinkSettings
        from gate.role import GateRole

        password = self._credentials(config)
        settings = EdgeSettings(
            role="gate",
            device_id=DEMO_GATE_ID,
            library=DEMO_GATE_LIBRARY,
            data_dir=config.data_dir / "gate",
            telemetry_interval_s=30.0,
            mqtt=MqttLinkSettings(
                host=config.host, port=config.mqtt_port, username=DEMO_GATE_ID, password=password, protocol="3.1.1"
            ),
            options={
                "counting": {"aisles": [{"aisle": 1, "outer": 1, "inner": 2}], "period_s": 60.0},
                "simulation": {
                    "enabled": True,
                    "backend": self.backend,
                    "interval_s": self.interval_s,
                    "secured": [list(SECURED[:2])],
                    "borrowed": [list(BORROWED[:2])],
                },
            },
        )
        agent = Agent(settings, role=GateRole())
        agent.start()
        self._agent = agent
        log.info("demo gate %s running on a simulated reader", DEMO_GATE_ID)

    async def start(self, config: DemoConfig) -> None:
        await asyncio.to_thread(self._start, config)

    async def stop(self) -> None:
        agent, self._agent = self._agent, None
        if agent is not None:
            await asyncio.to_thread(agent.stop)
