"""The demo's MQTT side: an embedded broker (amqtt, for the demo only) and a staff-station edge agent.

amqtt speaks MQTT 3.1.1 only, gives no ACL guarantee (it sends retained messages matching *other* clients'
subscriptions) and keeps no queues for anonymous sessions: fine for a demo on one machine, never for
production, where Mosquitto runs with the files ``thuvien mqtt config`` generates (docs/mqtt.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from server.demo.parts import DemoConfig

log = logging.getLogger(__name__)

DEMO_STATION_ID = "station-1"
DEMO_LIBRARY = "VN-HDU"
TOPIC_PREFIX = "thuvien"


class MqttDemoPart:
    """Starts the embedded broker first (the gate and kiosk parts connect to it), then a staff station."""

    name = "mqtt"

    def __init__(self) -> None:
        self._broker: Any = None
        self._agent: Any = None

    def describe(self, config: DemoConfig) -> dict[str, Any]:
        return {
            "mqtt": {
                "url": f"mqtt://{config.host}:{config.mqtt_port}",
                "broker": "embedded amqtt (demo only: MQTT 3.1.1, anonymous, no ACL guarantee)",
                "topic_prefix": TOPIC_PREFIX,
                "devices_api": config.base_url + "/api/v1/devices",
            },
            "devices": [
                {
                    "device_id": DEMO_STATION_ID,
                    "kind": "station",
                    "library": DEMO_LIBRARY,
                    "reader": "stand-in (no tags)",
                    "status_topic": f"{TOPIC_PREFIX}/{DEMO_LIBRARY.lower()}/station/{DEMO_STATION_ID}/status",
                }
            ],
        }

    async def start(self, config: DemoConfig) -> None:
        from amqtt.broker import Broker

        for noisy in ("amqtt", "transitions", "passlib"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{config.host}:{config.mqtt_port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await self._broker.start()
        log.info("embedded MQTT broker (demo only) on mqtt://%s:%d", config.host, config.mqtt_port)
        await asyncio.to_thread(self._start_station, config)

    def _start_station(self, config: DemoConfig) -> None:
        from edge.agent import Agent, EdgeSettings, StationRole
        from server.db import Database
        from server.devices import service
        from server.devices.errors import DeviceExists

        db = Database(config.database_url)
        try:
            with db.write() as session:
                try:
                    service.add_device(session, DEMO_STATION_ID, "station", DEMO_LIBRARY, name="Bàn thủ thư")
                except DeviceExists:
                    pass
        finally:
            db.dispose()
        settings = EdgeSettings(
            role="station",
            device_id=DEMO_STATION_ID,
            library=DEMO_LIBRARY,
            data_dir=config.data_dir / "edge",
            telemetry_interval_s=10.0,
            mqtt={"host": config.host, "port": config.mqtt_port, "topic_prefix": TOPIC_PREFIX, "protocol": "3.1.1"},
            readers=[{"name": "desk", "url": "standin://"}],
        )
        self._agent = Agent(settings, role=StationRole())
        self._agent.start()

    async def stop(self) -> None:
        if self._agent is not None:
            await asyncio.to_thread(self._agent.stop)
            self._agent = None
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
