"""Alarm outputs (light, buzzer): the reader's own outputs, an external command, or nothing.

Raising an output must be quick: it is the first thing the detector does on a hit, before anything else
touches the reader. A failing output is logged and never stops the detection loop.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from edge.readers import ReaderError, TagReader

__all__ = ["AlarmOutput", "ReaderOutputs", "CommandOutput", "NullOutput", "RecordingOutput"]

log = logging.getLogger(__name__)


class AlarmOutput(Protocol):
    """Something that makes the gate visibly and audibly alarm."""

    def alarm_on(self) -> None: ...

    def alarm_off(self) -> None: ...


class ReaderOutputs:
    """The reader's digital outputs (FEIG [0x72] set output): ``numbers`` switched on together."""

    def __init__(self, reader: TagReader, numbers: Sequence[int] = (1, 2)) -> None:
        if not numbers:
            raise ValueError("ReaderOutputs needs at least one output number")
        self.reader = reader
        self.numbers = tuple(numbers)

    def _switch(self, on: bool) -> None:
        try:
            self.reader.set_outputs({n: on for n in self.numbers})
        except ReaderError as exc:
            log.warning("gate outputs %s could not be switched %s: %s", self.numbers, "on" if on else "off", exc)

    def alarm_on(self) -> None:
        self._switch(True)

    def alarm_off(self) -> None:
        self._switch(False)


class CommandOutput:
    """Runs a configured command to switch the alarm (for example a GPIO or relay-board tool).

    The command is started and not waited for, so a slow tool never delays detection; ``{state}`` in an
    argument is replaced by ``on`` or ``off``.
    """

    def __init__(self, command: str | Sequence[str]) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError(f"alarm command is empty: {command!r}")
        self.argv = argv
        self._running: list[subprocess.Popen[bytes]] = []

    def _run(self, state: str) -> None:
        self._running = [p for p in self._running if p.poll() is None]
        argv = [arg.replace("{state}", state) for arg in self.argv]
        try:
            self._running.append(
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        except OSError as exc:
            log.warning("alarm command %r failed to start: %s", argv, exc)

    def alarm_on(self) -> None:
        self._run("on")

    def alarm_off(self) -> None:
        self._run("off")

    def wait(self, timeout: float = 5.0) -> None:
        """Wait for started commands (tests and shutdown)."""
        for proc in self._running:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._running.clear()


class NullOutput:
    """No outputs (a gate that only reports)."""

    def alarm_on(self) -> None:
        return None

    def alarm_off(self) -> None:
        return None


class RecordingOutput:
    """Remembers every switch with the time it happened (tests, benchmarks, the demo)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.changes: list[tuple[float, bool]] = []
        self.on = False

    def alarm_on(self) -> None:
        self.changes.append((self._now(), True))
        self.on = True

    def alarm_off(self) -> None:
        self.changes.append((self._now(), False))
        self.on = False

    def _now(self) -> float:
        return self._clock()

    @property
    def activations(self) -> int:
        return sum(1 for _, on in self.changes if on)
