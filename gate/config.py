"""The gate's own settings: the ``[options]`` table of an edge agent settings file with ``role = "gate"``.

Values come from three places, later ones winning: built-in defaults, the reader's firmware-config profile
(``options.profile``: security mode, AFI values, buffered read mode, alarm threshold and duration, alarm
output, beam inputs), and the keys written in ``[options.*]``. Example::

    role = "gate"
    device_id = "gate-1"
    library = "VN-HDU"
    [[readers]]
    name = "gate"
    url = "serial:///dev/serial/by-id/usb-FEIG_ELECTRONIC_ID_ISC.LR2500-if00?driver=feig"
    [options]
    profile = "firmware-config/profiles/feig-lr2500-gate.toml"
    [options.detection]
    hold_s = 1.5
    [options.outputs]
    kind = "reader"            # or "command" (with command = "relay-tool {state}") or "none"
    [options.counting]
    aisles = [{ aisle = 1, outer = 1, inner = 2 }]
    period_s = 900
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.config import SettingsError
from edge.firmware.profile import Profile, ProfileError, load_profile
from edge.readers import TagReader

from .agent import CountingConfig
from .counter import AisleBeams, LineCounter
from .detector import DetectionMode, DetectorConfig, FastMode
from .outputs import AlarmOutput, CommandOutput, NullOutput, ReaderOutputs

__all__ = [
    "GateOptions",
    "DetectionOptions",
    "OutputOptions",
    "CountingOptions",
    "SimulationOptions",
    "parse_options",
    "line_counter_factory",
]

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetectionOptions(_Strict):
    mode: DetectionMode | None = None
    afi_in_stock: int | None = Field(default=None, ge=0, le=0xFF)
    fast_mode: FastMode | None = None
    hold_s: float = Field(default=1.5, gt=0)
    alarm_s: float | None = Field(default=None, ge=0)
    alarm_threshold: int | None = Field(default=None, ge=1)
    identity_attempts: int = Field(default=3, ge=1)
    identity_budget_s: float = Field(default=0.05, ge=0)
    idle_s: float | None = Field(default=None, ge=0)


class OutputOptions(_Strict):
    kind: Literal["reader", "command", "none"] = "reader"
    numbers: list[int] | None = None
    command: str | None = None


class AisleOption(_Strict):
    aisle: int = Field(ge=1)
    outer: int = Field(ge=1)
    inner: int = Field(ge=1)
    blocked_level: bool = True


class CountingOptions(_Strict):
    enabled: bool = True
    source: Literal["reader-inputs", "line-counter"] = "reader-inputs"
    counter_url: str | None = None
    """``line-counter``: where the people counter's lines arrive (``serial:///dev/serial/by-id/...?baud=9600&parity=N``,
    ``socket://host:port``); opened by ``edge.readers.transport``."""
    aisles: list[AisleOption] | None = None
    poll_s: float = Field(default=0.05, gt=0)
    period_s: float = Field(default=900.0, gt=0)
    blocked_limit_s: float = Field(default=30.0, gt=0)


class SimulationOptions(_Strict):
    """Run on a simulated gate instead of hardware (demo, trying the software out)."""

    enabled: bool = False
    backend: Literal["feig", "world"] = "feig"
    interval_s: float = Field(default=4.0, gt=0)
    aisles: int = Field(default=1, ge=1, le=4)
    secured: list[tuple[str, str]] = Field(default_factory=lambda: [("E004010000000004", "3000000004")])
    borrowed: list[tuple[str, str]] = Field(default_factory=lambda: [("E004010000000005", "3000000005")])
    owner_isil: str = "VN-HDU"


class GateOptions(_Strict):
    profile: Path | None = None
    reader: str | None = None
    """Name of the reader in ``[[readers]]`` (default: the first)."""
    max_silence_s: float = Field(default=3600.0, gt=0)
    detection: DetectionOptions = DetectionOptions()
    outputs: OutputOptions = OutputOptions()
    counting: CountingOptions = CountingOptions()
    simulation: SimulationOptions = SimulationOptions()

    def load_profile(self) -> Profile | None:
        if self.profile is None:
            return None
        try:
            profile = load_profile(self.profile)
        except ProfileError as exc:
            raise SettingsError(f"gate profile: {exc}") from None
        if profile.role != "gate":
            raise SettingsError(f"gate profile {str(self.profile)!r} is for role {profile.role!r}, not 'gate'")
        return profile

    def detector_config(self, gate_id: str, profile: Profile | None = None) -> DetectorConfig:
        d = self.detection
        mode = d.mode
        if mode is None:
            mode = DetectionMode(profile.security_mode) if profile is not None else DetectionMode.AFI
        fast = d.fast_mode
        if fast is None:
            buffered = profile is not None and profile.inventory_mode == "buffered-read"
            fast = FastMode.BUFFERED if buffered else FastMode.OFF
        afi = d.afi_in_stock
        if afi is None:
            afi = profile.afi_in_stock if profile is not None else 0x07
        alarm_s = d.alarm_s if d.alarm_s is not None else (profile.alarm_duration_ms / 1000 if profile else 3.0)
        threshold = d.alarm_threshold if d.alarm_threshold is not None else (profile.alarm_threshold if profile else 1)
        try:
            return DetectorConfig(
                gate_id=gate_id,
                mode=mode,
                afi_in_stock=afi,
                hold_s=d.hold_s,
                alarm_s=alarm_s,
                alarm_threshold=threshold,
                identity_attempts=d.identity_attempts,
                identity_budget_s=d.identity_budget_s,
                fast_mode=fast,
            )
        except ValueError as exc:
            raise SettingsError(f"gate detection settings: {exc}") from None

    def idle_s(self, profile: Profile | None = None) -> float:
        """Pause between cycles: none for host inventories; the profile's interval in buffered read mode."""
        if self.detection.idle_s is not None:
            return self.detection.idle_s
        if profile is not None and profile.inventory_mode == "buffered-read":
            return profile.interval_ms / 1000
        return 0.0

    def counting_config(self, profile: Profile | None = None) -> CountingConfig:
        c = self.counting
        aisles: list[AisleBeams] = []
        if c.enabled and c.source == "line-counter":
            if not c.counter_url:
                raise SettingsError("gate counting: source 'line-counter' needs options.counting.counter_url")
            numbers = sorted({a.aisle for a in c.aisles}) if c.aisles else [1]
            # the counter decides direction itself: the aisles need no inputs of ours
            aisles = [AisleBeams(n, -2 * n, -2 * n - 1) for n in numbers]
        elif c.enabled:
            if c.aisles is not None:
                aisles = [AisleBeams(a.aisle, a.outer, a.inner, a.blocked_level) for a in c.aisles]
            elif profile is not None and profile.beam_inputs:
                pairs = profile.beam_inputs
                if len(pairs) % 2:
                    raise SettingsError(f"gate profile: beam_inputs must come in pairs (outer, inner), got {pairs}")
                aisles = [AisleBeams(i // 2 + 1, pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
        try:
            return CountingConfig(tuple(aisles), c.poll_s, c.period_s, c.blocked_limit_s)
        except ValueError as exc:
            raise SettingsError(f"gate counting settings: {exc}") from None

    def output_factory(self, profile: Profile | None = None) -> Callable[[TagReader], AlarmOutput]:
        o = self.outputs
        if o.kind == "none":
            return lambda _reader: NullOutput()
        if o.kind == "command":
            if not o.command:
                raise SettingsError("gate outputs: kind 'command' needs options.outputs.command")
            output = CommandOutput(o.command)
            return lambda _reader: output
        numbers = o.numbers
        if numbers is None:
            numbers = []
            if profile is not None:
                if profile.alarm_output is not None:
                    numbers.append(profile.alarm_output)
                buzzer = profile.outputs.get("buzzer")
                if buzzer is not None and buzzer not in numbers:
                    numbers.append(buzzer)
            numbers = numbers or [1]
        chosen = tuple(numbers)
        return lambda reader: ReaderOutputs(reader, chosen)


def parse_options(options: dict[str, Any]) -> GateOptions:
    """The gate's options from an edge settings ``options`` table, with one-sentence errors."""
    try:
        return GateOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "options"
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise SettingsError(f"setting 'options.{where}': {first.get('msg')}{more}") from None


def line_counter_factory(options: GateOptions) -> Callable[[], LineCounter] | None:
    """How to open the external people counter, when the settings name one."""
    url = options.counting.counter_url
    if not options.counting.enabled or options.counting.source != "line-counter" or not url:
        return None
    counter_url: str = url

    def open_counter() -> LineCounter:
        from edge.readers.transport import open_port, parse_url

        return LineCounter(open_port(parse_url(counter_url)))

    return open_counter
