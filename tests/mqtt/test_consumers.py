"""Several server processes at once: shared subscriptions split the work; without them one consumer is elected
(a PostgreSQL advisory lock) and a standby takes over when it goes. Never double-processed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from edge.agent import Agent
from server.db import Database
from server.devices.models import DeviceEvent
from server.ingest.consumer import IngestConsumer
from server.settings import MqttSettings
from tests.mqtt.brokers import add_device, add_library, require_default_broker
from tests.support import wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]


def _count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DeviceEvent)) or 0)


def test_shared_subscription_splits_events_between_servers(
    pg_db: Database, prefix: str, make_consumer: Callable[..., IngestConsumer], make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-k21")
    first = make_consumer(pg_db, topic_prefix=prefix, batch_size=20)
    second = make_consumer(pg_db, topic_prefix=prefix, batch_size=20)
    agent = make_agent("hdu-k21", mqtt={"topic_prefix": prefix})
    ids = {agent.context.emit("checkin", {"item": str(i)}) for i in range(300)}
    assert wait_for(lambda: agent.outbox.depth() == 0, timeout=60)
    with pg_db.session() as session:
        assert set(session.scalars(select(DeviceEvent.event_id))) == ids
    assert _count(pg_db) == 300
    assert first.counters["applied"] > 0 and second.counters["applied"] > 0
    assert first.counters["applied"] + second.counters["applied"] == 300


def test_without_shared_subscriptions_one_consumer_is_elected(
    pg_db: Database, prefix: str, make_agent: Callable[..., Agent]
) -> None:
    require_default_broker()
    add_library(pg_db)
    add_device(pg_db, "hdu-k22")
    consumers = [
        IngestConsumer(MqttSettings(enabled=True, topic_prefix=prefix, share_group=None, client_id=f"elect-{i}"),
                       pg_db, command_interval=0.1)
        for i in range(2)
    ]
    for consumer in consumers:
        consumer.start_threads()
    try:
        assert wait_for(lambda: sum(c.leading.is_set() for c in consumers) == 1, timeout=10)
        leader = next(c for c in consumers if c.leading.is_set())
        standby = next(c for c in consumers if c is not leader)
        assert wait_for(leader.subscribed.is_set, timeout=10)
        agent = make_agent("hdu-k22", mqtt={"topic_prefix": prefix}, outbox={"resend_after_s": 2})
        for i in range(50):
            agent.context.emit("checkin", {"item": str(i)})
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=30)
        assert standby.counters["received"] == 0
        leader.stop_threads()
        assert wait_for(standby.leading.is_set, timeout=10), "the standby never took over"
        assert wait_for(standby.subscribed.is_set, timeout=10)
        for i in range(50):
            agent.context.emit("checkin", {"item": f"b{i}"})
        assert wait_for(lambda: agent.outbox.depth() == 0, timeout=30)
        assert _count(pg_db) == 100
    finally:
        for consumer in consumers:
            consumer.stop_threads()
