"""``thuvien gate`` settings and the gate role inside the edge agent (events in the durable outbox)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.agent import Agent, EdgeSettings
from edge.config import SettingsError, load_settings
from edge.contract import Command, Event
from gate.cli import main
from gate.config import line_counter_factory, parse_options
from gate.detector import DetectionMode, FastMode
from gate.role import GateRole
from tests.support import free_port, wait_for

PROFILES = Path(__file__).resolve().parents[2] / "firmware-config" / "profiles"


def write_settings(tmp_path: Path, options: str, readers: str = "") -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(
        f"""
role = "gate"
device_id = "gate-1"
library = "VN-HDU"
data_dir = "{tmp_path.as_posix()}/var"
[mqtt]
port = {free_port()}
{readers}
[options]
{options}
""",
        encoding="utf-8",
    )
    return path


def test_the_profile_sets_mode_afi_fast_mode_threshold_outputs_and_beams(tmp_path: Path) -> None:
    options = parse_options({"profile": str(PROFILES / "feig-lr2500-gate.toml")})
    profile = options.load_profile()
    config = options.detector_config("gate-1", profile)
    assert config.mode is DetectionMode.AFI and config.afi_in_stock == 0x07
    assert config.fast_mode is FastMode.BUFFERED and config.alarm_threshold == 2 and config.alarm_s == 3.0
    assert [(a.outer, a.inner) for a in options.counting_config(profile).aisles] == [(1, 2)]
    assert options.idle_s(profile) == 0.05
    eas = parse_options({"profile": str(PROFILES / "feig-lr2500-gate-eas.toml"), "detection": {"hold_s": 2}})
    eas_config = eas.detector_config("gate-1", eas.load_profile())
    assert eas_config.mode is DetectionMode.EAS and eas_config.fast_mode is FastMode.OFF and eas_config.hold_s == 2


def test_settings_written_in_the_file_win_over_the_profile() -> None:
    options = parse_options(
        {
            "profile": str(PROFILES / "feig-lr2500-gate.toml"),
            "detection": {"mode": "both", "alarm_threshold": 1, "fast_mode": "off"},
            "counting": {"aisles": [{"aisle": 1, "outer": 3, "inner": 4}]},
        }
    )
    profile = options.load_profile()
    config = options.detector_config("gate-1", profile)
    assert (config.mode, config.alarm_threshold, config.fast_mode) == (DetectionMode.BOTH, 1, FastMode.OFF)
    assert [(a.outer, a.inner) for a in options.counting_config(profile).aisles] == [(3, 4)]


def test_bad_options_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="options.detection.hold_s"):
        parse_options({"detection": {"hold_s": -1}})
    with pytest.raises(SettingsError, match="role 'station'"):
        parse_options({"profile": str(PROFILES / "feig-cpr-staff-station.toml")}).load_profile()
    bad = write_settings(tmp_path, 'colour = "red"')
    assert main(["--config", str(bad), "--check"]) == 2
    no_reader = write_settings(tmp_path, "")
    assert main(["--config", str(no_reader), "--check"]) == 2


def test_check_prints_what_the_gate_will_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_settings(
        tmp_path,
        f'profile = "{(PROFILES / "feig-lr2500-gate.toml").as_posix()}"',
        '[[readers]]\nname = "gate"\nurl = "serial:///dev/serial/by-id/usb-FEIG-if00?driver=feig"',
    )
    assert main(["--config", str(path), "--check"]) == 0
    out = capsys.readouterr().out
    assert "mode afi" in out and "0x07" in out and "buffered" in out


def test_the_gate_role_puts_alarms_and_visitors_in_the_agent_outbox(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path,
        '[options.simulation]\nenabled = true\nbackend = "world"\ninterval_s = 0.4\n'
        "[options.counting]\naisles = [{ aisle = 1, outer = 1, inner = 2 }]\nperiod_s = 1.0",
    )
    settings = load_settings(EdgeSettings, path)
    role = GateRole()
    agent = Agent(settings, role=role)
    agent.start()
    try:

        def events(kind: str) -> list[Event]:
            found = []
            for row in agent.outbox.due(1000, now=1e12):
                event = Event.model_validate(json.loads(row.payload))
                if event.kind == kind:
                    assert row.topic == f"thuvien/vn-hdu/gate/gate-1/evt/{kind}"
                    found.append(event)
            return found

        assert wait_for(lambda: len(events("alarm")) >= 1, 20)
        assert wait_for(lambda: any(e.data["count_in"] or e.data["count_out"] for e in events("visitors")), 20)
        alarm = events("alarm")[0]
        assert alarm.data["tag_uid"] == "E004010000000004"
        assert alarm.data["item"]["barcode"] == "3000000004"
        result = agent._run_command(
            Command(
                command_id="c1",
                name="silence-alarm",
                args={"seconds": 5},
                issued_at=alarm.occurred_at,
                expires_at=alarm.occurred_at.replace(year=alarm.occurred_at.year + 1),
            )
        )
        assert result.ok and result.result == {"silenced_s": 5.0}
        assert role.telemetry()["gate_alarms"] >= 1
    finally:
        agent.stop()


def test_a_line_counter_needs_its_url() -> None:
    with pytest.raises(SettingsError, match="counter_url"):
        parse_options({"counting": {"source": "line-counter"}}).counting_config()
    options = parse_options({"counting": {"source": "line-counter", "counter_url": "socket://127.0.0.1:9"}})
    assert [a.aisle for a in options.counting_config().aisles] == [1]
    assert line_counter_factory(options) is not None
    assert line_counter_factory(parse_options({})) is None
