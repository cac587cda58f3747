"""Reader profiles: the shipped ones validate, bad ones name every problem, apply writes FEIG blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.firmware import ProfileError, feig_blocks, load_profile, parse_profile
from edge.firmware.cli import PROFILES_DIR, main
from edge.readers.sim import ReaderSimulator

SHIPPED = sorted(PROFILES_DIR.glob("*.toml"))


def test_profiles_are_shipped() -> None:
    roles = {load_profile(p).role for p in SHIPPED}
    assert roles == {"kiosk", "gate", "station"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_profile_validates(path: Path) -> None:
    profile = load_profile(path)
    if profile.driver == "feig":
        blocks = feig_blocks(profile)
        assert all(len(b) == 14 for b in blocks.values())


def test_every_problem_is_named() -> None:
    data = {
        "profile": {"name": "x", "role": "gate", "reader_model": "feig-isc-mr101"},
        "serial": {"baud": 1234, "parity": "X"},
        "rf": {"power_mw": 9000, "antennas": [1, 3]},
        "security": {"mode": "afi", "afi_in_stock": 0xC2, "afi_on_loan": 0xC2},
        "inventory": {"mode": "buffered-read", "afi_filter": 0x300},
    }
    with pytest.raises(ProfileError) as info:
        parse_profile(data)
    text = "\n".join(info.value.problems)
    for key in (
        "serial.baud",
        "serial.parity",
        "rf.power_mw",
        "rf.antennas",
        "security.afi_on_loan",
        "inventory.afi_filter",
        "gate.alarm_output",
    ):
        assert key in text, key


def test_type_errors_and_unknown_keys() -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile({"profile": {"name": 1, "role": "kiosk"}, "rf": {"power": 3}, "extra": {}})
    text = "\n".join(info.value.problems)
    assert "profile.name: expected str" in text
    assert "rf.power: unknown key" in text
    assert "extra: unknown section" in text
    assert "profile.reader_model: missing" in text


def test_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[profile\nname=", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(path)
    assert main(["validate", str(path)]) == 1


def test_apply_to_simulated_feig_reader(capsys: pytest.CaptureFixture[str]) -> None:
    path = PROFILES_DIR / "feig-lr2500-gate.toml"
    with ReaderSimulator("feig", "pty", timing=False, control="tcp:0") as sim:
        assert main(["apply", str(path), "--reader", sim.url]) == 0
        stored = sim.control({"cmd": "config"})
    expected = {str(n): b.hex().upper() for n, b in feig_blocks(load_profile(path)).items()}
    assert stored["ram"] == expected and stored["eeprom"] == expected
    assert json.loads(capsys.readouterr().out)["saved"] is True


def test_apply_refuses_readers_without_blocks() -> None:
    assert main(["apply", str(PROFILES_DIR / "3m-810-kiosk-pad.toml"), "--reader", "loop://?driver=3m"]) == 2


def test_show_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(PROFILES_DIR / "feig-mr101-kiosk-pad.toml")]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"0", "1", "3", "4", "5", "6"}
    assert main(["list"]) == 0
    assert "feig-lr2500-gate.toml" in capsys.readouterr().out
