"""The edge agent without a broker: commands (expiry, run once, results), readers (states, backoff),
settings, roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.agent import (
    ROLES,
    Agent,
    BaseRole,
    CommandFailed,
    EdgeSettings,
    ReaderSettings,
    ReaderSlot,
    RoleNotFound,
    make_role,
    register_role,
)
from edge.config import SettingsError, load_settings
from edge.contract import Command


def _command(name: str, args: dict[str, Any] | None = None, *, ttl: float = 60, command_id: str = "c1") -> Command:
    now = dt.datetime.now(dt.UTC)
    return Command(command_id=command_id, name=name, args=args or {}, issued_at=now,
                   expires_at=now + dt.timedelta(seconds=ttl))


class Counting(BaseRole):
    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.silenced = 0

    def commands(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {"silence-alarm": self.silence}

    def silence(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("fail"):
            raise CommandFailed("no alarm is sounding")
        self.silenced += 1
        return {"silenced": True}

    def telemetry(self) -> dict[str, int]:
        return {"silenced": self.silenced}


def test_commands_run_once_and_never_after_expiry(make_agent: Callable[..., Agent]) -> None:
    role = Counting()
    agent = make_agent("hdu-g01", role="gate", start=False, role_object=role)
    role.start(agent.context)
    first = agent.execute(_command("silence-alarm"))
    again = agent.execute(_command("silence-alarm"))  # QoS 1 redelivery of the same id
    assert first.ok and again == first and role.silenced == 1
    expired = agent.execute(_command("silence-alarm", ttl=-1, command_id="c2"))
    assert (expired.ok, expired.error, role.silenced) == (False, "expired", 1)
    failed = agent.execute(_command("silence-alarm", {"fail": True}, command_id="c3"))
    assert (failed.ok, failed.error) == (False, "no alarm is sounding")
    assert agent.execute(_command("ping", command_id="c4")).result["pong"] is True
    unknown = agent.execute(_command("dance", command_id="c5"))
    assert unknown.error == "unknown command 'dance'"
    mode = agent.execute(_command("set-mode", {"mode": "maintenance"}, command_id="c6"))
    assert mode.ok and agent.mode == "maintenance" and agent.birth().mode == "maintenance"
    assert agent.telemetry().counters["silenced"] == 1


def test_reload_config_applies_what_it_can(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(f'role = "kiosk"\ndevice_id = "hdu-k01"\nlibrary = "VN-HDU"\ndata_dir = "{tmp_path}"\n')
    agent = Agent(load_settings(EdgeSettings, config), config_path=config)
    try:
        config.write_text(config.read_text() + 'mode = "out-of-service"\ntelemetry_interval_s = 5\n'
                          '[mqtt]\nport = 1999\n')
        result = agent.execute(_command("reload-config"))
        assert result.ok, result.error
        assert result.result["restart_required"] == ["mqtt"]
        assert agent.mode == "out-of-service" and agent.settings.telemetry_interval_s == 5
        assert agent.settings.mqtt.port == 1883  # the connection changes only on restart
        config.write_text("role = 'robot'\n")
        broken = agent.execute(_command("reload-config", command_id="c2"))
        assert not broken.ok and "role" in (broken.error or "")
    finally:
        agent.stop()


def test_settings_errors_are_one_sentence(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('role = "kiosk"\ndevice_id = "HDU K01"\nlibrary = "VN-HDU"\n')
    with pytest.raises(SettingsError, match="device_id"):
        load_settings(EdgeSettings, config)


class Flaky:
    """A reader that fails the way drivers do."""

    def __init__(self, failures: list[Exception | None]) -> None:
        self.failures = failures

    def inventory(self, afi: int | None = None) -> list[Any]:
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        return []

    def close(self) -> None:
        return None


def test_reader_states_are_tracked_and_reported() -> None:
    from edge.readers import ReaderConnectionError, ReaderTimeoutError

    changes: list[tuple[str, str]] = []
    opened: list[int] = []
    reader = Flaky([ReaderTimeoutError("no answer"), None, ReaderConnectionError("unplugged")])

    def opener(_url: str, _name: str) -> Any:
        opened.append(1)
        if len(opened) == 2:
            raise OSError("no such device")
        return reader

    slot = ReaderSlot(ReaderSettings(name="pad", url="standin://"), lambda _n, a, b, _d: changes.append((a, b)),
                      opener)
    assert slot.use(lambda r: r.inventory()) is None  # silent
    assert slot.use(lambda r: r.inventory()) == []  # answering again
    assert slot.use(lambda r: r.inventory()) is None  # unplugged: closed, reopened after a backoff
    assert slot.state == "unplugged"
    slot._next_open = 0  # skip the backoff
    assert slot.reader is None  # the reopen fails
    assert (slot.reads, slot.errors) == (1, 2)
    assert changes == [("closed", "connected"), ("connected", "silent"), ("silent", "connected"),
                       ("connected", "unplugged")]
    health = slot.health()
    assert health.state == "unplugged" and health.reads_per_minute is not None


def test_roles_are_found_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_role("station").name == "station"
    monkeypatch.setitem(ROLES, "kiosk", "thuvien_missing_package.agent:make_role")
    assert make_role("kiosk").name == "kiosk"  # idle until its package is installed
    register_role("counting", Counting)
    assert isinstance(make_role("counting"), Counting)
    with pytest.raises(RoleNotFound, match="no role named"):
        make_role("robot")
