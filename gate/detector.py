"""The gate's detection loop: continuous inventory, the alarm decision, debouncing and the item's identity.

One :meth:`Detector.step` is one cycle:

1. ask the reader for secured tags: an inventory filtered on the in-stock AFI (mode ``afi``), the NXP EAS
   ALARM command (mode ``eas``), or both; with ``fast_mode="buffered"`` the reader's own buffered read mode
   (FEIG BRM, configured by the firmware profile to collect in-stock tags) replaces the inventory;
2. a secured tag that is not already part of a pass raises the alarm outputs *at once*, before anything else
   is sent to the reader;
3. then, at most ``identity_reads_per_cycle`` addressed reads decode the identity of tags that alarmed, so a
   cart of 50 books never holds up the next inventory for long;
4. passes whose tag has not been seen for ``hold_s`` end; an alarm whose tag could not be read is reported
   with the UID alone after ``identity_attempts`` tries or when its pass ends.

All timing uses the injected monotonic clock, so wall-clock jumps (NTP, a flat CMOS battery) change nothing
but the timestamps in reports. Reader errors never leave :meth:`step`: they become the reported reader state
(``connected``, ``silent``, ``unplugged``) and a back-off the caller sleeps.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar, cast, runtime_checkable

from edge.iso15693 import Uid
from edge.readers import (
    Capability,
    ReaderConnectionError,
    ReaderError,
    ReaderState,
    ReaderTimeoutError,
    TagReader,
    read_library_tag,
)
from edge.tags import LibraryTag, TagFormatError
from edge.tags import decode as decode_tag

from .outputs import AlarmOutput

__all__ = [
    "DetectionMode",
    "FastMode",
    "DetectorConfig",
    "Alarm",
    "Detector",
    "BufferedReader",
    "utcnow",
]

log = logging.getLogger(__name__)

EAS_KEY = "eas"
_T = TypeVar("_T")


class DetectionMode(StrEnum):
    AFI = "afi"
    EAS = "eas"
    BOTH = "both"


class FastMode(StrEnum):
    OFF = "off"
    BUFFERED = "buffered"


@runtime_checkable
class BufferedReader(Protocol):
    """A reader with a buffered read mode (FEIG BRM): records collected by the reader itself."""

    def read_buffer(self, max_records: int = 255) -> list[object]: ...

    def clear_buffer(self) -> None: ...


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class DetectorConfig:
    """What the detector does; the gate's settings and firmware profile fill it in."""

    gate_id: str = "gate"
    mode: DetectionMode = DetectionMode.AFI
    afi_in_stock: int = 0x07
    hold_s: float = 1.5
    """A pass ends when its tag has not been seen for this long (one alarm per pass, not per read)."""
    alarm_s: float = 3.0
    """Outputs stay on this long after an alarm (and while an alarming tag is still in the field)."""
    alarm_threshold: int = 1
    """Reads of a tag within one pass before it alarms (2 guards against stray reads, at some latency)."""
    identity_attempts: int = 3
    identity_reads_per_cycle: int = 1
    identity_budget_s: float = 0.05
    """After the first identity read of a cycle, keep reading others while the cycle has spent less than this."""
    fast_mode: FastMode = FastMode.OFF
    silent_after_errors: int = 3
    """Consecutive failed cycles after which a reader that still has its port open counts as silent."""
    backoff_s: float = 0.05
    max_backoff_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.afi_in_stock <= 0xFF:
            raise ValueError(f"afi_in_stock must be a byte, got {self.afi_in_stock!r}")
        if self.hold_s <= 0:
            raise ValueError(f"hold_s must be positive, got {self.hold_s!r}")
        if self.alarm_s < 0:
            raise ValueError(f"alarm_s must not be negative, got {self.alarm_s!r}")
        if self.alarm_threshold < 1:
            raise ValueError(f"alarm_threshold must be >= 1, got {self.alarm_threshold!r}")
        if self.identity_attempts < 1:
            raise ValueError(f"identity_attempts must be >= 1, got {self.identity_attempts!r}")
        if self.identity_reads_per_cycle < 0:
            raise ValueError(f"identity_reads_per_cycle must be >= 0, got {self.identity_reads_per_cycle!r}")
        if self.silent_after_errors < 1:
            raise ValueError(f"silent_after_errors must be >= 1, got {self.silent_after_errors!r}")


@dataclass
class Alarm:
    """One alarm: one secured item (or one EAS detection) passing the gate."""

    alarm_id: str
    gate_id: str
    source: str  # "afi" or "eas"
    uid: Uid | None
    antenna: int | None
    detected_mono: float
    detected_at: dt.datetime
    output_mono: float | None = None
    silenced: bool = False
    tag: LibraryTag | None = None
    identity_error: str | None = None
    candidates: tuple[Uid, ...] = ()
    attempts: int = 0
    reads: int = 1
    reported: bool = False

    @property
    def item_barcode(self) -> str | None:
        return self.tag.primary_item_id if self.tag is not None else None


@dataclass
class _Pass:
    key: str
    last_seen: float
    alarm: Alarm | None
    reads: int = 1
    suppressed: bool = False


@dataclass
class CycleResult:
    """What one cycle did (for the run loop and tests)."""

    new_alarms: list[Alarm] = field(default_factory=list)
    reported: list[Alarm] = field(default_factory=list)
    errors: int = 0
    backoff_s: float = 0.0


class Detector:
    """Runs detection cycles on one reader; see the module docstring."""

    def __init__(
        self,
        reader: TagReader,
        outputs: AlarmOutput,
        config: DetectorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = utcnow,
        on_alarm: Callable[[Alarm], None] | None = None,
        on_state: Callable[[ReaderState, str], None] | None = None,
    ) -> None:
        self.reader = reader
        self.outputs = outputs
        self.config = config or DetectorConfig()
        self.clock = clock
        self.wall = wall
        self.on_alarm = on_alarm
        self.on_state = on_state
        self.state = ReaderState.CONNECTED
        self.state_detail = ""
        self._passes: dict[str, _Pass] = {}
        self._pending: deque[Alarm] = deque()
        self._outputs_on = False
        self._outputs_until = 0.0
        self._silenced_until = 0.0
        self._failed_cycles = 0
        self.cycles = 0
        self.alarms_total = 0
        self._buffered = self.config.fast_mode is FastMode.BUFFERED and isinstance(reader, BufferedReader)
        if self.config.fast_mode is FastMode.BUFFERED and not self._buffered:
            log.warning("%s: reader %s has no buffered read mode; using inventories", self.config.gate_id, reader)

    # -- public -------------------------------------------------------------------------------------------

    @property
    def outputs_on(self) -> bool:
        return self._outputs_on

    @property
    def active_passes(self) -> int:
        return len(self._passes)

    def silence(self, seconds: float) -> None:
        """Keep the outputs off for ``seconds`` (alarms are still detected and reported, marked silenced)."""
        if seconds < 0:
            raise ValueError(f"silence duration must not be negative, got {seconds!r}")
        self._silenced_until = self.clock() + seconds
        if self._outputs_on:
            self._switch(False)
        log.info("%s: alarm silenced for %.0f s", self.config.gate_id, seconds)

    @property
    def silenced(self) -> bool:
        return self.clock() < self._silenced_until

    def step(self) -> CycleResult:
        """One detection cycle; never raises reader errors."""
        self.cycles += 1
        result = CycleResult()
        ok = False
        mode = self.config.mode
        if mode in (DetectionMode.AFI, DetectionMode.BOTH):
            found = self._guard(result, self._afi_hits)
            if found is not None:
                ok = True
                # the outputs go up before anything else is sent to the reader (the EAS poll included)
                self._raise([(uid.hex, uid, antenna, "afi") for uid, antenna in found], result)
        if mode in (DetectionMode.EAS, DetectionMode.BOTH):
            eas = self._guard(result, self.reader.eas_alarm)
            if eas is not None:
                ok = True
                self._raise([(EAS_KEY, None, None, "eas")] if eas else [], result)
        now = self.clock()
        self._extend_outputs(now)
        result.reported += self._identify(result)
        result.reported += self._expire(self.clock())
        if self._outputs_on and self.clock() >= self._outputs_until:
            self._switch(False)
        self._health(ok, result)
        return result

    def _raise(self, hits: list[tuple[str, Uid | None, int | None, str]], result: CycleResult) -> None:
        now = self.clock()
        new = self._record_hits(hits, now)
        result.new_alarms += new
        if new and not self.silenced:
            self._outputs_until = max(self._outputs_until, now + self.config.alarm_s)
            if not self._outputs_on:
                self._switch(True)
            for alarm in new:
                alarm.output_mono = self.clock()

    def close(self) -> None:
        """Switch the outputs off and report alarms still waiting for their identity."""
        if self._outputs_on:
            self._switch(False)
        for alarm in list(self._pending):
            self._report(alarm)
        self._pending.clear()

    # -- detection ----------------------------------------------------------------------------------------

    def _afi_hits(self) -> list[tuple[Uid, int | None]]:
        if self._buffered:
            reader = cast(BufferedReader, self.reader)
            records = reader.read_buffer()
            if records:
                reader.clear_buffer()
            hits: list[tuple[Uid, int | None]] = []
            for record in records:
                uid = getattr(record, "uid", None)
                if isinstance(uid, Uid):
                    antenna = getattr(record, "antenna", None)
                    hits.append((uid, antenna if isinstance(antenna, int) else None))
            return hits
        return [(r.uid, r.antenna) for r in self.reader.inventory(afi=self.config.afi_in_stock)]

    def _record_hits(self, hits: list[tuple[str, Uid | None, int | None, str]], now: float) -> list[Alarm]:
        new: list[Alarm] = []
        afi_active = any(key != EAS_KEY for key, *_ in hits) or any(k != EAS_KEY for k in self._passes)
        for key, uid, antenna, source in hits:
            current = self._passes.get(key)
            if current is None:
                # Both modes: an EAS answer while an AFI-secured tag is in the field is that same item.
                current = _Pass(key, now, None, reads=0, suppressed=key == EAS_KEY and afi_active)
                self._passes[key] = current
            current.last_seen = now
            current.reads += 1
            if current.alarm is not None:
                current.alarm.reads = current.reads
                continue
            if current.suppressed or current.reads < self.config.alarm_threshold:
                continue
            alarm = Alarm(
                alarm_id=uuid.uuid4().hex,
                gate_id=self.config.gate_id,
                source=source,
                uid=uid,
                antenna=antenna,
                detected_mono=now,
                detected_at=self.wall(),
                silenced=self.silenced,
                reads=current.reads,
            )
            current.alarm = alarm
            self._pending.append(alarm)
            self.alarms_total += 1
            new.append(alarm)
            log.info("%s: ALARM %s tag %s", self.config.gate_id, source, uid.hex if uid else "(EAS)")
        return new

    def _extend_outputs(self, now: float) -> None:
        # Outputs stay on while an alarming tag is still being seen.
        if self._outputs_on and any(p.alarm is not None and p.last_seen >= now for p in self._passes.values()):
            self._outputs_until = max(self._outputs_until, now + min(self.config.alarm_s, self.config.hold_s))

    def _identify(self, result: CycleResult) -> list[Alarm]:
        reported: list[Alarm] = []
        budget = self.config.identity_reads_per_cycle
        started = self.clock()
        while self._pending and (budget > 0 or self.clock() - started < self.config.identity_budget_s):
            alarm = self._pending[0]
            budget -= 1
            alarm.attempts += 1
            done = self._read_identity(alarm, result)
            if done or alarm.attempts >= self.config.identity_attempts:
                self._pending.popleft()
                self._report(alarm)
                reported.append(alarm)
            else:
                self._pending.rotate(-1)  # the others get their turn
        return reported

    def _read_identity(self, alarm: Alarm, result: CycleResult) -> bool:
        uid = alarm.uid
        if uid is None:
            # EAS: find out which tags are in the field; name the item only when there is exactly one.
            found = self._guard(result, lambda: self.reader.inventory())
            if found is None:
                alarm.identity_error = "inventory failed"
                return False
            alarm.candidates = tuple(sorted(r.uid for r in found))
            if not alarm.candidates:
                alarm.identity_error = "no tag answered the inventory"
                return False
            if len(alarm.candidates) > 1:
                # Several tags: the server looks each one up; which one has EAS set is not known here.
                alarm.identity_error = f"{len(alarm.candidates)} tags in the field"
                return True
            uid = alarm.candidates[0]
            alarm.uid = uid
        try:
            tag = self._read_tag(uid)
        except ReaderConnectionError as exc:
            alarm.identity_error = f"reader unplugged: {exc}"
            self._set_state(ReaderState.UNPLUGGED, str(exc))
            result.errors += 1
            return False
        except (ReaderError, TagFormatError) as exc:
            # A tag that answers the AFI inventory but cannot be read (moved away, damaged, foreign data).
            alarm.identity_error = f"{type(exc).__name__}: {exc}"
            log.debug("%s: identity of %s not read: %s", self.config.gate_id, uid.hex, exc)
            return False
        alarm.tag = tag
        alarm.identity_error = None
        return True

    def _read_tag(self, uid: Uid) -> LibraryTag:
        # One addressed read of 9 blocks holds an ISO 28560-3 basic block and most ISO 28560-2 and 3M data;
        # only when that does not decode is the tag asked for its memory layout and read further.
        try:
            return decode_tag(self.reader.read_blocks(uid, 0, 9))
        except TagFormatError:
            return read_library_tag(self.reader, uid)[1]

    def _expire(self, now: float) -> list[Alarm]:
        reported: list[Alarm] = []
        for key, p in list(self._passes.items()):
            if now - p.last_seen <= self.config.hold_s:
                continue
            del self._passes[key]
            alarm = p.alarm
            if alarm is not None and not alarm.reported and alarm in self._pending:
                self._pending.remove(alarm)
                if alarm.identity_error is None and alarm.tag is None:
                    alarm.identity_error = "left the field before it could be read"
                self._report(alarm)
                reported.append(alarm)
        return reported

    def _report(self, alarm: Alarm) -> None:
        if alarm.reported:
            return
        alarm.reported = True
        if self.on_alarm is not None:
            try:
                self.on_alarm(alarm)
            except Exception:
                log.exception("%s: alarm handler failed for %s", self.config.gate_id, alarm.alarm_id)

    # -- outputs and health -------------------------------------------------------------------------------

    def _switch(self, on: bool) -> None:
        self._outputs_on = on
        try:
            if on:
                self.outputs.alarm_on()
            else:
                self.outputs.alarm_off()
        except Exception:
            log.exception("%s: alarm output failed", self.config.gate_id)

    def _guard(self, result: CycleResult, op: Callable[[], _T]) -> _T | None:
        try:
            return op()
        except ReaderConnectionError as exc:
            result.errors += 1
            self._set_state(ReaderState.UNPLUGGED, str(exc))
        except ReaderTimeoutError as exc:
            result.errors += 1
            self._set_state(ReaderState.SILENT, str(exc))
        except ReaderError as exc:
            result.errors += 1
            log.debug("%s: reader error: %s", self.config.gate_id, exc)
        except Exception:
            result.errors += 1
            log.exception("%s: unexpected error talking to the reader", self.config.gate_id)
        return None

    def _health(self, ok: bool, result: CycleResult) -> None:
        if ok:
            self._failed_cycles = 0
            self._set_state(ReaderState.CONNECTED, "")
            return
        self._failed_cycles += 1
        if self._failed_cycles >= self.config.silent_after_errors and self.state is ReaderState.CONNECTED:
            self._set_state(ReaderState.SILENT, f"{self._failed_cycles} failed cycles in a row")
        exponent = min(self._failed_cycles - 1, 16)
        result.backoff_s = min(self.config.max_backoff_s, self.config.backoff_s * (2**exponent))

    def _set_state(self, state: ReaderState, detail: str) -> None:
        if state is self.state:
            return
        previous, self.state, self.state_detail = self.state, state, detail
        log.warning("%s: reader %s -> %s %s", self.config.gate_id, previous, state, detail)
        if self.on_state is not None:
            try:
                self.on_state(state, detail)
            except Exception:
                log.exception("%s: reader-state handler failed", self.config.gate_id)

    def set_state(self, state: ReaderState, detail: str = "") -> None:
        """Report a state decided outside the loop (the agent reconnecting, closing)."""
        self._set_state(state, detail)

    def supports(self, capability: Capability) -> bool:
        return capability in getattr(self.reader, "capabilities", frozenset())
