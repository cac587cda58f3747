"""The demo's gate: registered, running on the simulated FEIG reader, its alarms named by the server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from edge.iso15693 import Uid
from server import migrate
from server.alarms.demo import DEMO_GATE_ID, GateDemoPart
from server.app import create_app
from server.db import Database, utcnow
from server.demo.describe import describe
from server.demo.parts import DemoConfig, demo_parts
from server.demo.seed import seed
from server.devices.models import AlarmClass, GateAlarm
from server.ingest.processor import Incoming, Processor
from server.settings import DatabaseSettings, ServerSettings
from tests.support import wait_for


def test_the_demo_lists_the_gate() -> None:
    config = DemoConfig(data_dir=Path("/nonexistent"))
    assert any(isinstance(p, GateDemoPart) for p in demo_parts(config))
    (gate,) = describe(config)["gates"]
    assert gate["device_id"] == DEMO_GATE_ID
    assert gate["secured_item"] == {
        "barcode": "3000000004",
        "tag_uid": "E004010000000004",
        "title": "Dế Mèn phiêu lưu ký",
    }
    assert gate["borrowed_item"]["barcode"] == "3000000005"


def test_the_demo_gate_alarms_on_the_secured_item_and_the_server_names_it(tmp_path: Path) -> None:
    config = DemoConfig(data_dir=tmp_path)
    db = Database(config.database_url)
    migrate.upgrade(db)
    seed(db)
    part = GateDemoPart(interval_s=0.5)
    asyncio.run(part.start(config))
    try:
        agent = part._agent
        assert agent is not None

        def outbox(kind: str) -> list[tuple[str, bytes]]:
            rows = agent.outbox.due(1000, now=1e12)
            return [(r.topic, r.payload) for r in rows if r.topic.endswith(f"/evt/{kind}")]

        simulation = agent.role.simulation
        assert simulation is not None
        borrowed = Uid.from_hex("E004010000000005")
        assert wait_for(lambda: borrowed in simulation.world.left_at and len(outbox("alarm")) >= 1, 30)
        processor = Processor(db)
        outcome = processor.process([Incoming(t, p, utcnow()) for t, p in outbox("alarm")])
        assert outcome.counters["applied"] >= 1
    finally:
        asyncio.run(part.stop())
    with db.session() as s:
        alarms = s.scalars(select(GateAlarm)).all()
        assert {a.item_barcode for a in alarms} == {"3000000004"}  # the borrowed item never alarms
        assert {a.classification for a in alarms} == {AlarmClass.THEFT_ATTEMPT}
    settings = ServerSettings(demo=True, database=DatabaseSettings(url=db.url))
    with TestClient(create_app(settings, db)) as client:
        listed = client.get("/api/v1/alarms").json()
        assert listed and listed[0]["item_barcode"] == "3000000004"
        assert listed[0]["classification"] == "theft_attempt"
        ack = client.post(f"/api/v1/alarms/{listed[0]['id']}/acknowledge", json={"note": "trả lại quầy"})
        assert ack.status_code == 200 and ack.json()["acknowledged_at"]
        silenced = client.post(f"/api/v1/alarms/gates/{DEMO_GATE_ID}/silence", json={"seconds": 120})
        assert silenced.status_code == 202 and silenced.json()["seconds"] == 120
        assert client.post("/api/v1/alarms/gates/nope/silence", json={"seconds": 5}).status_code == 422
        assert client.post("/api/v1/alarms/999999/acknowledge", json={}).status_code == 404
        assert client.get("/api/v1/alarms/visitors").status_code == 200
    db.dispose()
