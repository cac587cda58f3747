"""Visitor counting with two infrared beams per aisle: direction from which beam breaks first.

Per aisle, beam ``outer`` faces the street and ``inner`` the library. A person walking in breaks outer,
then inner, and clears both; walking out is the mirror. Someone who breaks only one beam and turns back is
not counted. A beam blocked for longer than ``blocked_limit_s`` (a parked trolley, a misaligned reflector)
is reported as a fault once, and cleared when it is free again; a blocked beam counts nobody meanwhile.

Beam states come from an :class:`InputSource`: the reader's digital inputs (:class:`ReaderInputs`) or any
other source that returns ``{input number: level}``. A people counter that decides direction itself and
reports each crossing as a text line (on a serial line or TCP, opened by ``edge``) is read by
:class:`LineCounter` and fed with :meth:`VisitorCounter.record`. All timing is monotonic.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from edge.readers import TagReader

__all__ = [
    "AisleBeams",
    "AisleCounter",
    "BeamFault",
    "InputSource",
    "ReaderInputs",
    "VisitorCounter",
    "VisitorPeriod",
    "LineCounter",
    "parse_counter_line",
]

log = logging.getLogger(__name__)


class InputSource(Protocol):
    """Something that returns the current levels of numbered digital inputs."""

    def read_inputs(self) -> dict[int, bool]: ...


class ReaderInputs:
    """The reader's own digital inputs (FEIG [0x74] get input)."""

    def __init__(self, reader: TagReader) -> None:
        self.reader = reader

    def read_inputs(self) -> dict[int, bool]:
        return self.reader.read_inputs()


@dataclass(frozen=True)
class AisleBeams:
    """Which inputs carry one aisle's beams, and which level means "beam interrupted"."""

    aisle: int
    outer: int
    inner: int
    blocked_level: bool = True

    def __post_init__(self) -> None:
        if self.outer == self.inner:
            raise ValueError(f"aisle {self.aisle}: outer and inner beam must be different inputs, got {self.outer}")


@dataclass(frozen=True)
class BeamFault:
    """A beam blocked longer than the limit (``blocked`` True), or free again (``blocked`` False)."""

    aisle: int
    beam: str  # "outer" or "inner"
    input: int
    blocked: bool
    blocked_s: float


class AisleCounter:
    """The direction state machine of one aisle."""

    def __init__(self, beams: AisleBeams, *, blocked_limit_s: float = 30.0) -> None:
        if blocked_limit_s <= 0:
            raise ValueError(f"blocked_limit_s must be positive, got {blocked_limit_s!r}")
        self.beams = beams
        self.blocked_limit_s = blocked_limit_s
        self.count_in = 0
        self.count_out = 0
        self._first: str | None = None
        self._both = False
        self._since: dict[str, float | None] = {"outer": None, "inner": None}
        self._faulted: dict[str, bool] = {"outer": False, "inner": False}

    def update(self, now: float, outer: bool, inner: bool) -> tuple[str | None, list[BeamFault]]:
        """Feed the beams' blocked states; returns ("in" | "out" | None, faults raised or cleared)."""
        faults: list[BeamFault] = []
        for name, blocked in (("outer", outer), ("inner", inner)):
            since = self._since[name]
            if blocked and since is None:
                self._since[name] = now
            elif not blocked and since is not None:
                self._since[name] = None
                if self._faulted[name]:
                    self._faulted[name] = False
                    faults.append(self._fault(name, False, now - since))
            since = self._since[name]
            if blocked and since is not None and not self._faulted[name] and now - since > self.blocked_limit_s:
                self._faulted[name] = True
                faults.append(self._fault(name, True, now - since))
        if any(self._faulted.values()):
            # A stuck beam makes direction meaningless: forget any half-seen crossing.
            self._first, self._both = None, False
            return None, faults
        direction: str | None = None
        if self._first is None and not (outer or inner):
            return None, faults
        if self._first is None:
            if outer and not inner:
                self._first = "outer"
            elif inner and not outer:
                self._first = "inner"
            elif outer and inner:
                self._first, self._both = "both", True  # broke together between two samples: no direction
        elif (self._first == "outer" and inner) or (self._first == "inner" and outer):
            # The second beam broke (possibly after the first cleared, if a sample missed the overlap).
            self._both = True
        if self._first is not None and not outer and not inner:
            if self._both and self._first == "outer":
                direction = "in"
                self.count_in += 1
            elif self._both and self._first == "inner":
                direction = "out"
                self.count_out += 1
            self._first, self._both = None, False
        return direction, faults

    def _fault(self, name: str, blocked: bool, seconds: float) -> BeamFault:
        number = self.beams.outer if name == "outer" else self.beams.inner
        if blocked:
            log.warning("aisle %d: %s beam (input %d) blocked for %.0f s", self.beams.aisle, name, number, seconds)
        else:
            log.info("aisle %d: %s beam (input %d) free again", self.beams.aisle, name, number)
        return BeamFault(self.beams.aisle, name, number, blocked, seconds)


@dataclass
class VisitorPeriod:
    """Counts of one reporting period (all aisles, and per aisle)."""

    period_start: dt.datetime
    period_end: dt.datetime
    count_in: int
    count_out: int
    aisles: dict[int, tuple[int, int]] = field(default_factory=dict)


class VisitorCounter:
    """All aisles of one gate, with per-period totals."""

    def __init__(
        self,
        aisles: list[AisleBeams],
        *,
        blocked_limit_s: float = 30.0,
        wall: Callable[[], dt.datetime] | None = None,
    ) -> None:
        inputs = [n for a in aisles for n in (a.outer, a.inner)]
        if len(set(inputs)) != len(inputs):
            raise ValueError(f"each beam needs its own input; inputs used: {inputs}")
        self.aisles = [AisleCounter(a, blocked_limit_s=blocked_limit_s) for a in aisles]
        self._wall = wall or (lambda: dt.datetime.now(dt.UTC))
        self.period_start = self._wall()
        self._base: dict[int, tuple[int, int]] = {a.beams.aisle: (0, 0) for a in self.aisles}
        self.faults: list[BeamFault] = []

    def update(self, now: float, levels: Mapping[int, bool]) -> tuple[list[tuple[int, str]], list[BeamFault]]:
        """Feed input levels; returns the crossings [(aisle, "in"|"out")] and beam faults of this sample."""
        crossings: list[tuple[int, str]] = []
        faults: list[BeamFault] = []
        for aisle in self.aisles:
            b = aisle.beams
            outer = levels.get(b.outer, not b.blocked_level) == b.blocked_level
            inner = levels.get(b.inner, not b.blocked_level) == b.blocked_level
            direction, raised = aisle.update(now, outer, inner)
            if direction is not None:
                crossings.append((b.aisle, direction))
            faults += raised
        self.faults += faults
        return crossings, faults

    def record(self, aisle: int, direction: str) -> None:
        """Count a crossing an external counter decided (``"in"`` or ``"out"``)."""
        counter = next((a for a in self.aisles if a.beams.aisle == aisle), None)
        if counter is None:
            raise ValueError(f"no aisle {aisle!r} at this gate (aisles {[a.beams.aisle for a in self.aisles]})")
        if direction == "in":
            counter.count_in += 1
        elif direction == "out":
            counter.count_out += 1
        else:
            raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")

    @property
    def total_in(self) -> int:
        return sum(a.count_in for a in self.aisles)

    @property
    def total_out(self) -> int:
        return sum(a.count_out for a in self.aisles)

    def close_period(self) -> VisitorPeriod:
        """The counts since the last call (or the start), and a new period begins now."""
        end = self._wall()
        per: dict[int, tuple[int, int]] = {}
        for aisle in self.aisles:
            key = aisle.beams.aisle
            base_in, base_out = self._base[key]
            per[key] = (aisle.count_in - base_in, aisle.count_out - base_out)
            self._base[key] = (aisle.count_in, aisle.count_out)
        period = VisitorPeriod(
            self.period_start,
            end,
            sum(i for i, _ in per.values()),
            sum(o for _, o in per.values()),
            per,
        )
        self.period_start = end
        return period


class _Stream(Protocol):
    def read(self, size: int = 1, /) -> bytes: ...

    @property
    def in_waiting(self) -> int: ...


def parse_counter_line(line: str) -> tuple[str, int] | None:
    """``IN``, ``OUT 2``, ``BLOCKED 1``, ``CLEAR 1`` (case-insensitive; aisle 1 when absent); None if not one."""
    words = line.strip().upper().split()
    if not words or words[0] not in ("IN", "OUT", "BLOCKED", "CLEAR"):
        return None
    aisle = 1
    if len(words) > 1:
        if not words[1].isdigit() or int(words[1]) < 1:
            return None
        aisle = int(words[1])
    return words[0].lower(), aisle


class LineCounter:
    """A people counter reporting one crossing (or beam fault) per text line on a byte stream."""

    def __init__(self, stream: _Stream, *, max_line: int = 256) -> None:
        self.stream = stream
        self.max_line = max_line
        self._buffer = b""
        self.bad_lines = 0

    def poll(self) -> list[tuple[str, int]]:
        """What arrived since the last poll: ("in" | "out" | "blocked" | "clear", aisle)."""
        waiting = self.stream.in_waiting
        if waiting:
            self._buffer += self.stream.read(waiting)
        events: list[tuple[str, int]] = []
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            text = raw.decode("ascii", errors="replace")
            parsed = parse_counter_line(text)
            if parsed is None:
                if text.strip():
                    self.bad_lines += 1
                    log.debug("people counter: ignored line %r", text)
                continue
            events.append(parsed)
        if len(self._buffer) > self.max_line:
            self.bad_lines += 1
            self._buffer = b""
        return events
