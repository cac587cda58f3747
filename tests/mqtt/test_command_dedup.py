"""A command id runs once on a device, also across agent restarts (the record is in the outbox's SQLite file):
a retained or republished command gets the recorded result again; an expired one is refused."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import Agent, BaseRole, CommandHandler
from edge.commandlog import INTERRUPTED, CommandLog
from edge.contract import Command, CommandResult, DeviceTopics, decode, encode
from edge.outbox import Outbox
from tests.mqtt.brokers import Listener, require_default_broker
from tests.support import wait_for


def _command(name: str = "silence-alarm", *, ttl: float = 300, command_id: str | None = None) -> Command:
    now = dt.datetime.now(dt.UTC)
    return Command(command_id=command_id or secrets.token_hex(8), name=name, issued_at=now,
                   expires_at=now + dt.timedelta(seconds=ttl))


class Siren(BaseRole):
    """A gate role whose ``silence-alarm`` records every run in a list shared by its incarnations."""

    name = "siren"

    def __init__(self, runs: list[str]) -> None:
        super().__init__()
        self.runs = runs

    def commands(self) -> Mapping[str, CommandHandler]:
        return {"silence-alarm": self.silence}

    def silence(self, _args: dict[str, Any]) -> dict[str, Any]:
        self.runs.append("silenced")
        return {"silenced": True, "run": len(self.runs)}


@pytest.mark.mosquitto
def test_a_command_runs_once_across_a_restart(make_agent: Callable[..., Agent], prefix: str) -> None:
    require_default_broker()
    topics = DeviceTopics(prefix, "VN-HDU", "gate", "hdu-g01")
    results = Listener(1883, [f"{topics.base}/res/+"])
    server = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    server.connect("127.0.0.1", 1883)
    server.loop_start()
    runs: list[str] = []
    link = {"port": 1883, "topic_prefix": prefix}
    command = _command()

    def received() -> list[CommandResult]:
        with results.lock:
            return [decode(CommandResult, bytes(m.payload)) for m in results.messages]

    try:
        assert results.subscribed.wait(10)
        # Retained: the broker hands it to the agent now, and again to the restarted agent when it subscribes.
        server.publish(topics.command(command.name), encode(command), qos=1, retain=True).wait_for_publish(5)
        first = make_agent("hdu-g01", role="gate", role_object=Siren(runs), mqtt=link)
        assert wait_for(lambda: len(received()) == 1, timeout=15), "the command was never answered"
        first.stop()

        make_agent("hdu-g01", role="gate", role_object=Siren(runs), mqtt=link)  # same data_dir: a restart
        assert wait_for(lambda: len(received()) == 2, timeout=15), "the retained command was not redelivered"
        server.publish(topics.command(command.name), encode(command), qos=1).wait_for_publish(5)  # republished
        assert wait_for(lambda: len(received()) == 3, timeout=15)
        answers = received()
        assert runs == ["silenced"]
        assert answers[0].ok and answers[0].result == {"silenced": True, "run": 1}
        assert answers[1] == answers[0] and answers[2] == answers[0]  # the recorded result, `at` included

        expired = _command(ttl=-60)
        server.publish(topics.command(expired.name), encode(expired), qos=1).wait_for_publish(5)
        assert wait_for(lambda: len(received()) == 4, timeout=15)
        refusal = received()[3]
        assert (refusal.command_id, refusal.ok, refusal.error) == (expired.command_id, False, "expired")
        assert runs == ["silenced"]
    finally:
        server.publish(topics.command(command.name), b"", qos=1, retain=True).wait_for_publish(5)
        server.disconnect()
        server.loop_stop()
        results.close()


def test_an_interrupted_command_is_not_run_again(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    command = _command()
    outbox = Outbox(path)
    assert CommandLog(outbox).begin(command, "hdu-g01") is None  # started, then the agent dies
    outbox.close()

    outbox = Outbox(path)
    log = CommandLog(outbox)
    answer = log.begin(command, "hdu-g01")
    assert answer is not None and (answer.ok, answer.error) == (False, INTERRUPTED)
    assert log.begin(command, "hdu-g01") == answer
    outbox.close()


def test_records_are_kept_until_well_past_expiry(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    log = CommandLog(outbox, keep_after_expiry=dt.timedelta(days=1))
    old, recent = _command(ttl=-2 * 86_400), _command(ttl=-3_600)
    for command in (recent, old):
        assert log.begin(command, "hdu-g01") is None
        log.finish(CommandResult(command_id=command.command_id, device_id="hdu-g01", ok=False,
                                 at=dt.datetime.now(dt.UTC), error="expired"))
    assert log.prune() == 1
    assert log.begin(recent, "hdu-g01") is not None  # still known
    assert log.begin(old, "hdu-g01") is None  # forgotten: refused by its expiry, never run twice
    outbox.close()
