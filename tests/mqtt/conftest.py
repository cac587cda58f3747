"""Fixtures of the MQTT suites: a unique topic prefix per session, consumers and agents that always stop."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent, BaseRole, EdgeSettings
from server.db import Database
from server.ingest.consumer import IngestConsumer
from server.settings import MqttSettings


@pytest.fixture(scope="session")
def prefix() -> str:
    """A topic prefix no other test run uses, so parallel runs on the shared broker never collide."""
    return "t" + secrets.token_hex(4)


@pytest.fixture
def make_consumer() -> Iterator[Callable[..., IngestConsumer]]:
    made: list[IngestConsumer] = []

    def make(db: Database, **mqtt: Any) -> IngestConsumer:
        mqtt.setdefault("client_id", "ingest-" + secrets.token_hex(4))
        consumer = IngestConsumer(MqttSettings(enabled=True, **mqtt), db, command_interval=0.1)
        consumer.start_threads()
        made.append(consumer)
        assert consumer.subscribed.wait(10), "the ingest consumer never subscribed"
        return consumer

    yield make
    for consumer in made:
        consumer.stop_threads()


@pytest.fixture
def make_agent(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    made: list[Agent] = []

    def make(device_id: str, *, role: str = "kiosk", library: str = "VN-HDU", start: bool = True,
             role_object: Any = None, **settings: Any) -> Agent:
        settings.setdefault("data_dir", tmp_path / "edge")
        # Other areas' roles (kiosk, gate) need their hardware; these suites test the agent with the idle role.
        if role_object is None and role != "station":
            role_object = BaseRole()
        agent = Agent(EdgeSettings(role=role, device_id=device_id, library=library, **settings), role=role_object)
        if start:
            agent.start()
        made.append(agent)
        return agent

    yield make
    for agent in made:
        try:
            agent.stop()
        except Exception:  # already stopped by the test
            pass
