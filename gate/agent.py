"""The gate agent: the detection loop, the visitor counter and the commands, on one reader, with events out.

:class:`GateAgent` owns the reader (opened and re-opened through an injected factory, with back-off), the
:class:`~gate.detector.Detector`, the optional :class:`~gate.counter.VisitorCounter`, and an
:class:`~gate.events.EventSink` (the durable edge outbox in production). :meth:`GateAgent.step` is one cycle
and never raises; :meth:`GateAgent.run` loops it until stopped; :meth:`GateAgent.start` runs it in a thread.
Commands: ``silence-alarm`` (``{"seconds": n}``, at most ``max_silence_s``) and ``ping``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.contract import Command
from edge.readers import ReaderError, ReaderState, TagReader

from .counter import AisleBeams, BeamFault, InputSource, LineCounter, ReaderInputs, VisitorCounter
from .detector import Alarm, Detector, DetectorConfig, utcnow
from .events import (
    EventSink,
    alarm_data,
    beam_fault_data,
    make_event,
    reader_state_data,
    visitors_data,
)
from .outputs import AlarmOutput, NullOutput

__all__ = ["GateAgent", "CountingConfig", "CommandRejected"]

log = logging.getLogger(__name__)


class CommandRejected(ValueError):
    """A command the gate does not run (unknown, expired, bad arguments)."""


@dataclass(frozen=True)
class CountingConfig:
    aisles: tuple[AisleBeams, ...] = ()
    poll_s: float = 0.05
    period_s: float = 900.0
    blocked_limit_s: float = 30.0

    def __post_init__(self) -> None:
        if self.poll_s <= 0 or self.period_s <= 0 or self.blocked_limit_s <= 0:
            raise ValueError(
                f"poll_s, period_s and blocked_limit_s must be positive: {self.poll_s}, {self.period_s}, "
                f"{self.blocked_limit_s}"
            )


class GateAgent:
    """One security gate (see the module docstring)."""

    def __init__(
        self,
        device_id: str,
        reader_factory: Callable[[], TagReader],
        sink: EventSink,
        *,
        detector: DetectorConfig | None = None,
        outputs: Callable[[TagReader], AlarmOutput] = lambda _reader: NullOutput(),
        counting: CountingConfig | None = None,
        inputs: Callable[[TagReader], InputSource] = ReaderInputs,
        line_counter: Callable[[], LineCounter] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], None] | None = None,
        wall: Callable[[], dt.datetime] = utcnow,
        idle_s: float = 0.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        max_silence_s: float = 3600.0,
    ) -> None:
        self.device_id = device_id
        self.reader_factory = reader_factory
        self.sink = sink
        self.outputs_factory = outputs
        self.inputs_factory = inputs
        self.line_counter_factory = line_counter
        self._line: LineCounter | None = None
        self.clock = clock
        self.wall = wall
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self.idle_s = idle_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.max_silence_s = max_silence_s
        self.config = detector or DetectorConfig(gate_id=device_id)
        self.counting = counting or CountingConfig()
        self.reader: TagReader | None = None
        self.detector: Detector | None = None
        self.counter = (
            VisitorCounter(list(self.counting.aisles), blocked_limit_s=self.counting.blocked_limit_s, wall=wall)
            if self.counting.aisles
            else None
        )
        self._inputs: InputSource | None = None
        self._next_open = 0.0
        self._open_failures = 0
        self._next_poll = 0.0
        self._period_end = self.clock() + self.counting.period_s
        self._state: ReaderState | None = None
        self._reader_name = "reader"
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self.alarms: list[Alarm] = []
        self.cycles = 0

    # -- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the gate agent is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=f"gate-{self.device_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.close()

    def run(self) -> None:
        """Run cycles until :meth:`stop`; nothing a reader does ends this loop."""
        log.info("gate %s running (mode %s)", self.device_id, self.config.mode)
        while not self._stop.is_set():
            pause = self.step()
            if pause > 0:
                self._wait(pause)

    def close(self) -> None:
        with self._lock:
            if self.counter is not None:
                self._close_period()
            if self.detector is not None:
                self.detector.close()
            self._close_reader()
            self._report_state(ReaderState.CLOSED, "gate stopped")

    # -- one cycle ----------------------------------------------------------------------------------------

    def step(self) -> float:
        """One cycle; returns how long to pause before the next (back-off after errors, else ``idle_s``)."""
        with self._lock:
            self.cycles += 1
            try:
                return self._step()
            except Exception:
                log.exception("gate %s: cycle failed; carrying on", self.device_id)
                return self.reconnect_min_s

    def _step(self) -> float:
        now = self.clock()
        if self.detector is None or self.reader is None:
            if now < self._next_open:
                return min(self._next_open - now, self.reconnect_max_s)
            if not self._open():
                return min(self._next_open - now, self.reconnect_max_s)
        detector = self.detector
        assert detector is not None  # set by _open()
        result = detector.step()
        pause = result.backoff_s or self.idle_s
        if detector.state is ReaderState.UNPLUGGED:
            self._close_reader()
            self._schedule_reopen()
            return 0.0
        if self.counter is not None and self.clock() >= self._next_poll:
            self._poll_beams()
        if self.counter is not None and self.clock() >= self._period_end:
            self._close_period()
        return pause

    def _open(self) -> bool:
        try:
            reader = self.reader_factory()
        except (ReaderError, OSError) as exc:
            self._report_state(ReaderState.UNPLUGGED, str(exc))
            self._schedule_reopen()
            return False
        self._open_failures = 0
        self.reader = reader
        outputs = self.outputs_factory(reader)
        if self.detector is None:
            self.detector = Detector(
                reader,
                outputs,
                self.config,
                clock=self.clock,
                wall=self.wall,
                on_alarm=self._on_alarm,
                on_state=self._report_state,
            )
        else:
            self.detector.reader = reader
            self.detector.outputs = outputs
            self.detector.set_state(ReaderState.CONNECTED, "reopened")
        uses_inputs = self.counter is not None and self.line_counter_factory is None
        self._inputs = self.inputs_factory(reader) if uses_inputs else None
        self._report_state(ReaderState.CONNECTED, f"opened {getattr(reader, 'name', reader)!s}")
        return True

    def _schedule_reopen(self) -> None:
        self._open_failures += 1
        delay = min(self.reconnect_max_s, self.reconnect_min_s * 2 ** min(self._open_failures - 1, 16))
        self._next_open = self.clock() + delay

    def _close_reader(self) -> None:
        reader, self.reader = self.reader, None
        self._inputs = None
        if reader is not None:
            try:
                reader.close()
            except Exception:
                log.debug("gate %s: closing the reader failed", self.device_id, exc_info=True)

    # -- counting -----------------------------------------------------------------------------------------

    def _poll_beams(self) -> None:
        assert self.counter is not None
        self._next_poll = self.clock() + self.counting.poll_s
        if self.line_counter_factory is not None:
            self._poll_line_counter()
            return
        if self._inputs is None or self.detector is None or self.detector.state is not ReaderState.CONNECTED:
            return
        try:
            levels = self._inputs.read_inputs()
        except ReaderError as exc:
            log.debug("gate %s: inputs not read: %s", self.device_id, exc)
            return
        _crossings, faults = self.counter.update(self.clock(), levels)
        for fault in faults:
            self._emit_fault(fault)

    def _poll_line_counter(self) -> None:
        assert self.counter is not None and self.line_counter_factory is not None
        try:
            if self._line is None:
                self._line = self.line_counter_factory()
            events = self._line.poll()
        except Exception as exc:  # the counter's port went away: reopen on a later poll
            log.warning("gate %s: people counter: %s", self.device_id, exc)
            self._line = None
            self._next_poll = self.clock() + max(self.counting.poll_s, self.reconnect_min_s)
            return
        for what, aisle in events:
            try:
                if what in ("in", "out"):
                    self.counter.record(aisle, what)
                else:
                    self._emit_fault(BeamFault(aisle, "counter", 0, what == "blocked", 0.0))
            except ValueError as exc:
                log.warning("gate %s: people counter: %s", self.device_id, exc)

    def _close_period(self) -> None:
        assert self.counter is not None
        self._period_end = self.clock() + self.counting.period_s
        period = self.counter.close_period()
        self._emit("visitors", visitors_data(self.device_id, period), period.period_end)

    def _emit_fault(self, fault: BeamFault) -> None:
        self._emit("beam_fault", beam_fault_data(self.device_id, fault), self.wall())

    # -- events and commands ------------------------------------------------------------------------------

    def _on_alarm(self, alarm: Alarm) -> None:
        self.alarms.append(alarm)
        self._emit("alarm", alarm_data(alarm), alarm.detected_at, event_id=alarm.alarm_id)

    def _report_state(self, state: ReaderState, detail: str) -> None:
        if state is self._state:
            return
        self._state = state
        if self.reader is not None:
            self._reader_name = str(getattr(self.reader, "name", "reader"))
        name = self._reader_name
        self._emit("reader_state", reader_state_data(name, str(state), detail), self.wall())

    def _emit(self, kind: str, data: dict[str, Any], when: dt.datetime, *, event_id: str = "") -> None:
        try:
            self.sink.emit(make_event(self.device_id, kind, data, occurred_at=when, event_id=event_id))
        except Exception:
            # The outbox is full or its disk failed: keep alarming locally, say so in the log.
            log.exception("gate %s: %s event could not be stored", self.device_id, kind)

    def handle_command(self, command: Command) -> dict[str, Any]:
        """Run a command from the server; returns its result, raises :class:`CommandRejected`."""
        if command.expires_at <= self.wall():
            raise CommandRejected(f"command {command.command_id} expired at {command.expires_at.isoformat()}")
        if command.name == "ping":
            return {"pong": True, "state": str(self._state) if self._state else None}
        if command.name == "silence-alarm":
            return self.silence(command.args.get("seconds", 60))
        raise CommandRejected(f"the gate does not run {command.name!r}")

    def silence(self, seconds: object) -> dict[str, Any]:
        """Keep the alarm outputs off for ``seconds`` (capped at ``max_silence_s``); alarms are still reported."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds:
            raise CommandRejected(f"silence-alarm: seconds must be a non-negative number, got {seconds!r}")
        duration = min(float(seconds), self.max_silence_s)
        with self._lock:
            if self.detector is None:
                raise CommandRejected("silence-alarm: the gate has no reader yet")
            self.detector.silence(duration)
        return {"silenced_s": duration}

    def telemetry(self) -> dict[str, int]:
        detector = self.detector
        return {
            "gate_cycles": self.cycles,
            "gate_alarms": detector.alarms_total if detector is not None else 0,
            "gate_passes_active": detector.active_passes if detector is not None else 0,
            "visitors_in": self.counter.total_in if self.counter is not None else 0,
            "visitors_out": self.counter.total_out if self.counter is not None else 0,
        }


def make_role() -> Any:
    """The edge agent's ``gate`` role (``edge.agent.ROLES`` names this factory)."""
    from .role import GateRole

    return GateRole()
