"""Reader configuration profiles (TOML): schema, loading and validation.

A profile describes one reader model in one site role (kiosk pad, gate, staff station)::

    [profile]   name, role (kiosk | gate | station), reader_model, description
    [serial]    baud, parity (N/E/O), data_bits, stop_bits, bus_address          (serial readers)
    [rf]        power_mw, antennas (list of numbers), modulation_percent (10 | 100), data_rate (high | low)
    [security]  mode (afi | eas | both), afi_in_stock, afi_on_loan, write_retries, verify
    [inventory] mode (iso-host | buffered-read), only_new_tags, afi_filter, interval_ms
    [gate]      alarm_threshold, alarm_output, alarm_duration_ms, direction_detection, beam_inputs  (gates)
    [outputs]   led_ok, led_error, buzzer, relay (output numbers)

Every problem is reported with its key path (``rf.power_mw: ...``); :func:`validate` collects them all.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ReaderModel",
    "MODELS",
    "ROLES",
    "Profile",
    "ProfileError",
    "load_profile",
    "parse_profile",
    "validate",
]

ROLES = ("kiosk", "gate", "station")


@dataclass(frozen=True)
class ReaderModel:
    """Limits used to validate a profile (check them against your reader revision's data sheet)."""

    name: str
    driver: str  # feig | 3m | pcsc
    max_power_mw: int | None  # None: power is not configurable
    antennas: int
    bauds: tuple[int, ...] = ()
    buffered_read: bool = False


MODELS: dict[str, ReaderModel] = {
    m.name: m
    for m in (
        ReaderModel("feig-isc-mr101", "feig", 1200, 1, (9600, 19200, 38400, 57600, 115200), True),
        ReaderModel("feig-isc-mr102", "feig", 2000, 2, (9600, 19200, 38400, 57600, 115200), True),
        ReaderModel("feig-isc-lr2500", "feig", 8000, 4, (9600, 19200, 38400, 57600, 115200), True),
        ReaderModel("feig-cpr", "feig", 250, 1, (9600, 19200, 38400, 57600, 115200), False),
        ReaderModel("3m-810", "3m", None, 1, (19200,)),
        ReaderModel("acs-acr1552u", "pcsc", None, 1),
    )
}


class ProfileError(ValueError):
    """A profile that cannot be used; ``problems`` lists every ``key.path: reason``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class Profile:
    name: str
    role: str
    reader_model: str
    description: str = ""
    baud: int | None = None
    parity: str = "E"
    data_bits: int = 8
    stop_bits: int = 1
    bus_address: int = 0
    power_mw: int | None = None
    antennas: tuple[int, ...] = (1,)
    modulation_percent: int = 10
    data_rate: str = "high"
    security_mode: str = "afi"
    afi_in_stock: int = 0x07
    afi_on_loan: int = 0xC2
    write_retries: int = 3
    verify: bool = True
    inventory_mode: str = "iso-host"
    only_new_tags: bool = False
    afi_filter: int | None = None
    interval_ms: int = 200
    alarm_threshold: int = 1
    alarm_output: int | None = None
    alarm_duration_ms: int = 3000
    direction_detection: bool = False
    beam_inputs: tuple[int, ...] = ()
    outputs: dict[str, int] = field(default_factory=dict)

    @property
    def model(self) -> ReaderModel:
        return MODELS[self.reader_model]

    @property
    def driver(self) -> str:
        return self.model.driver


_SECTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "profile": {"name": str, "role": str, "reader_model": str, "description": str},
    "serial": {"baud": int, "parity": str, "data_bits": int, "stop_bits": int, "bus_address": int},
    "rf": {"power_mw": int, "antennas": list, "modulation_percent": int, "data_rate": str},
    "security": {"mode": str, "afi_in_stock": int, "afi_on_loan": int, "write_retries": int, "verify": bool},
    "inventory": {"mode": str, "only_new_tags": bool, "afi_filter": int, "interval_ms": int},
    "gate": {
        "alarm_threshold": int,
        "alarm_output": int,
        "alarm_duration_ms": int,
        "direction_detection": bool,
        "beam_inputs": list,
    },
    "outputs": {"led_ok": int, "led_error": int, "buzzer": int, "relay": int},
}
_RENAMES = {("security", "mode"): "security_mode", ("inventory", "mode"): "inventory_mode"}


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), [f"cannot read: {exc}"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(str(path), [f"not valid TOML: {exc}"]) from exc
    return parse_profile(data, source=str(path))


def parse_profile(data: dict[str, Any], *, source: str = "<profile>") -> Profile:
    """Check types and values of parsed TOML; raise ProfileError listing every problem."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for section, content in data.items():
        spec = _SECTIONS.get(section)
        if spec is None:
            problems.append(f"{section}: unknown section (one of {', '.join(_SECTIONS)})")
            continue
        if not isinstance(content, dict):
            problems.append(f"{section}: must be a table")
            continue
        for key, value in content.items():
            expected = spec.get(key)
            if expected is None:
                problems.append(f"{section}.{key}: unknown key (one of {', '.join(spec)})")
                continue
            if isinstance(value, bool) and expected is int or not isinstance(value, expected):
                problems.append(f"{section}.{key}: expected {getattr(expected, '__name__', expected)}, got {value!r}")
                continue
            if section == "outputs":
                values.setdefault("outputs", {})[key] = value
                continue
            name: str = _RENAMES.get((section, str(key)), str(key))
            values[name] = tuple(value) if isinstance(value, list) else value
    for key in ("name", "role", "reader_model"):
        if key not in values:
            problems.append(f"profile.{key}: missing")
    if problems:
        raise ProfileError(source, problems)
    profile = Profile(**values)
    problems = validate(profile)
    if problems:
        raise ProfileError(source, problems)
    return profile


def _byte(problems: list[str], key: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= 0xFF:
        problems.append(f"{key}: must be a byte 0..255 (0x00..0xFF), got {value!r}")


def validate(p: Profile) -> list[str]:  # noqa: C901 - one check per rule
    """Cross-field checks against the role and the reader model; an empty list means valid."""
    problems: list[str] = []
    if p.role not in ROLES:
        problems.append(f"profile.role: {p.role!r} is not one of {', '.join(ROLES)}")
    model = MODELS.get(p.reader_model)
    if model is None:
        problems.append(f"profile.reader_model: unknown model {p.reader_model!r} (one of {', '.join(MODELS)})")
        return problems
    if model.driver in ("feig", "3m"):
        if p.baud is None:
            problems.append("serial.baud: missing (serial readers need it)")
        elif model.bauds and p.baud not in model.bauds:
            problems.append(f"serial.baud: {p.baud} not supported by {model.name} ({model.bauds})")
        if p.parity not in ("N", "E", "O"):
            problems.append(f"serial.parity: {p.parity!r} is not N, E or O")
        if p.data_bits not in (7, 8):
            problems.append(f"serial.data_bits: {p.data_bits} is not 7 or 8")
        if p.stop_bits not in (1, 2):
            problems.append(f"serial.stop_bits: {p.stop_bits} is not 1 or 2")
        if not 0 <= p.bus_address <= 254:
            problems.append(f"serial.bus_address: {p.bus_address} outside 0..254 (255 is broadcast)")
    if p.power_mw is not None:
        if model.max_power_mw is None:
            problems.append(f"rf.power_mw: {model.name} has no configurable RF power")
        elif not 100 <= p.power_mw <= model.max_power_mw:
            problems.append(f"rf.power_mw: {p.power_mw} outside 100..{model.max_power_mw} for {model.name}")
    if not p.antennas or len(set(p.antennas)) != len(p.antennas):
        problems.append("rf.antennas: give each active antenna number once")
    for antenna in p.antennas:
        if not isinstance(antenna, int) or not 1 <= antenna <= model.antennas:
            problems.append(f"rf.antennas: {antenna!r} outside 1..{model.antennas} for {model.name}")
    if p.modulation_percent not in (10, 100):
        problems.append(f"rf.modulation_percent: {p.modulation_percent} is not 10 or 100")
    if p.data_rate not in ("high", "low"):
        problems.append(f"rf.data_rate: {p.data_rate!r} is not high or low")
    if p.security_mode not in ("afi", "eas", "both"):
        problems.append(f"security.mode: {p.security_mode!r} is not afi, eas or both")
    _byte(problems, "security.afi_in_stock", p.afi_in_stock)
    _byte(problems, "security.afi_on_loan", p.afi_on_loan)
    _byte(problems, "inventory.afi_filter", p.afi_filter)
    if p.security_mode in ("afi", "both") and p.afi_in_stock == p.afi_on_loan:
        problems.append("security.afi_on_loan: must differ from afi_in_stock when AFI carries security")
    if not 0 <= p.write_retries <= 100:
        problems.append(f"security.write_retries: {p.write_retries} outside 0..100")
    if p.inventory_mode not in ("iso-host", "buffered-read"):
        problems.append(f"inventory.mode: {p.inventory_mode!r} is not iso-host or buffered-read")
    elif p.inventory_mode == "buffered-read" and not model.buffered_read:
        problems.append(f"inventory.mode: {model.name} has no buffered read mode")
    if not 20 <= p.interval_ms <= 60_000:
        problems.append(f"inventory.interval_ms: {p.interval_ms} outside 20..60000")
    if p.role == "gate":
        if p.alarm_output is None:
            problems.append("gate.alarm_output: a gate needs the output that drives its alarm")
        if p.security_mode in ("afi", "both") and p.afi_filter not in (None, p.afi_in_stock):
            problems.append("inventory.afi_filter: a gate filters on the in-stock AFI (security.afi_in_stock)")
    if not 1 <= p.alarm_threshold <= 20:
        problems.append(f"gate.alarm_threshold: {p.alarm_threshold} outside 1..20 reads")
    if not 100 <= p.alarm_duration_ms <= 25_500:
        problems.append(f"gate.alarm_duration_ms: {p.alarm_duration_ms} outside 100..25500")
    if p.alarm_output is not None and not 1 <= p.alarm_output <= 8:
        problems.append(f"gate.alarm_output: {p.alarm_output} outside 1..8")
    for beam in p.beam_inputs:
        if not isinstance(beam, int) or not 1 <= beam <= 8:
            problems.append(f"gate.beam_inputs: {beam!r} outside 1..8")
    for name, number in p.outputs.items():
        if not 1 <= number <= 8:
            problems.append(f"outputs.{name}: {number} outside 1..8")
    if p.role != "gate" and (p.direction_detection or p.beam_inputs):
        problems.append("gate: direction detection and beams only make sense for role = gate")
    return problems
