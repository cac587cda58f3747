"""A simulated gate: people walking through the aisles with or without secured items, and a reader that sees them.

:class:`GateWorld` is the physical scene. A :class:`Walker` walks at ``speed_m_s`` (1.4 m/s by default)
along an aisle; the read zone is ``zone_m`` deep (0.9 m), so a carried tag is in the field for about
0.64 s. Each tag answers any one command with its ``read_probability`` (a tag at a bad angle answers only
some of the time), and a tag may answer inventories but fail every read (``readable=False``). Each aisle
has two IR beams; a person's body (``body_m`` deep) blocks a beam while passing it, outer beam first when
walking in, inner beam first when walking out.

:class:`WorldReader` is a :class:`~edge.readers.TagReader` over that scene. Each command costs the time it
would on a FEIG reader at high data rate (ISO 15693 air time from :data:`edge.iso15693.timing.HIGH_RATE`,
host link at 38400 8E1, a little firmware time); the clock advances by that much, so the same code runs in
real time (the demo) or in simulated time (tests, benchmarks) depending on the :class:`SimClock`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.iso15693 import SystemInfo, Uid
from edge.iso15693.timing import HIGH_RATE
from edge.readers import (
    Capability,
    InventoryResult,
    NoTagError,
    ReaderConnectionError,
    ReaderTimeoutError,
    TagResponseError,
    UnsupportedOperationError,
)
from edge.tags import LibraryTag, encode

__all__ = [
    "SimClock",
    "SimTag",
    "Walker",
    "GateWorld",
    "WorldReader",
    "WorldListener",
    "Traffic",
    "SimulatorBridge",
    "BYTE_S",
    "FIRMWARE_S",
]

log = logging.getLogger(__name__)

BYTE_S = 11 / 38400  # FEIG host link, 38400 baud 8E1: 11 bits a byte
FIRMWARE_S = 0.001  # reader turnaround per command
AFI_ON_LOAN = 0xC2
AFI_IN_STOCK = 0x07


class SimClock:
    """Monotonic time for a simulation: real (``realtime=True``, waits really pass) or simulated.

    In simulated time, :meth:`wait` advances the clock instantly; with ``count_cpu=True`` the real time the
    code spends between waits is added too, so benchmarks include the gate's own processing time.
    """

    def __init__(self, *, realtime: bool = False, count_cpu: bool = False, start: float = 1000.0) -> None:
        self.realtime = realtime
        self.count_cpu = count_cpu
        self._offset = start
        self._origin = time.perf_counter()

    def now(self) -> float:
        if self.realtime:
            return time.monotonic()
        if self.count_cpu:
            return self._offset + (time.perf_counter() - self._origin)
        return self._offset

    __call__ = now

    def wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.realtime:
            time.sleep(seconds)
        else:
            self._offset += seconds


@dataclass(eq=False)
class SimTag:
    """A tagged item as the gate sees it."""

    uid: Uid
    memory: bytes = b""
    afi: int = AFI_IN_STOCK
    eas: bool = True
    read_probability: float = 1.0
    readable: bool = True
    block_size: int = 4
    block_count: int = 28
    label: str = ""

    @classmethod
    def item(
        cls,
        uid: Uid | str,
        barcode: str,
        *,
        secured: bool = True,
        owner_isil: str = "VN-HDU",
        title: str | None = None,
        fmt: str = "iso28560-3",
        afi_in_stock: int = AFI_IN_STOCK,
        afi_on_loan: int = AFI_ON_LOAN,
        **kwargs: object,
    ) -> SimTag:
        """A library item's tag; ``secured`` sets the in-stock AFI and the EAS bit, otherwise the on-loan AFI."""
        real_uid = uid if isinstance(uid, Uid) else Uid.from_hex(uid)
        data = encode(LibraryTag(primary_item_id=barcode, owner_isil=owner_isil, type_of_usage=1, title=title), fmt)
        memory = data + bytes(28 * 4 - len(data)) if len(data) < 28 * 4 else data
        tag = cls(real_uid, memory, afi_in_stock if secured else afi_on_loan, secured, label=title or barcode)
        for key, value in kwargs.items():
            setattr(tag, key, value)
        return tag


@dataclass
class Walker:
    """A person walking through one aisle, carrying tags (none for a plain visitor)."""

    start: float
    direction: str = "out"  # "out" leaves the library (the usual theft direction), "in" enters
    tags: list[SimTag] = field(default_factory=list)
    aisle: int = 1
    speed_m_s: float = 1.4

    def __post_init__(self) -> None:
        if self.direction not in ("in", "out"):
            raise ValueError(f"walker direction must be 'in' or 'out', got {self.direction!r}")
        if self.speed_m_s <= 0:
            raise ValueError(f"walking speed must be positive, got {self.speed_m_s!r}")


class WorldListener(Protocol):
    """Told about every change of the scene (to mirror it into another simulator)."""

    def entered(self, tag: SimTag) -> None: ...

    def left(self, tag: SimTag) -> None: ...

    def beams(self, levels: dict[int, bool]) -> None: ...


@dataclass(order=True)
class _Action:
    at: float
    seq: int
    apply: Callable[[], None] = field(compare=False)


class GateWorld:
    """The scene at a gate: which tags are in the read field, which beams are blocked, and when that changes."""

    def __init__(
        self,
        clock: SimClock,
        *,
        zone_m: float = 0.9,
        body_m: float = 0.30,
        beam_first_m: float = 0.40,
        beam_second_m: float = 0.55,
        aisles: Iterable[int] = (1,),
        seed: int | None = 7,
    ) -> None:
        if zone_m <= 0:
            raise ValueError(f"zone depth must be positive, got {zone_m!r}")
        self.clock = clock
        self.zone_m = zone_m
        self.body_m = body_m
        self.beam_first_m = beam_first_m
        self.beam_second_m = beam_second_m
        self.rng = random.Random(seed)
        self._lock = threading.RLock()
        self._queue: list[_Action] = []
        self._seq = itertools.count()
        self.in_field: dict[Uid, SimTag] = {}
        self.entered_at: dict[Uid, list[float]] = {}
        self.left_at: dict[Uid, list[float]] = {}
        # beam input numbers: aisle n uses inputs 2n-1 (outer) and 2n (inner)
        self._blocked: dict[int, int] = {}
        for aisle in aisles:
            self._blocked[2 * aisle - 1] = 0
            self._blocked[2 * aisle] = 0
        self.outputs: list[tuple[float, dict[int, bool]]] = []
        self.unplugged = False
        self.silent = False
        self.listeners: list[WorldListener] = []

    # -- scripting ----------------------------------------------------------------------------------------

    def at(self, when: float, action: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._queue, _Action(when, next(self._seq), action))

    def walk(self, walker: Walker) -> float:
        """Schedule a walk; returns when the walker has left the zone and both beams."""
        v = walker.speed_m_s
        t0 = walker.start
        outer, inner = 2 * walker.aisle - 1, 2 * walker.aisle
        if outer not in self._blocked:
            self._blocked[outer] = 0
            self._blocked[inner] = 0
        first, second = (outer, inner) if walker.direction == "in" else (inner, outer)
        for beam, pos in ((first, self.beam_first_m), (second, self.beam_second_m)):
            self.at(t0 + pos / v, functools.partial(self._beam, beam, +1))
            self.at(t0 + (pos + self.body_m) / v, functools.partial(self._beam, beam, -1))
        # tags are carried in front of the body: in the zone from position 0 to zone_m
        for tag in walker.tags:
            self.at(t0, functools.partial(self._enter, tag, t0))
            self.at(t0 + self.zone_m / v, functools.partial(self._leave, tag, t0 + self.zone_m / v))
        return t0 + max(self.zone_m, self.beam_second_m + self.body_m) / v

    def place(self, tag: SimTag) -> None:
        """Put a tag in the field now (until :meth:`remove`)."""
        with self._lock:
            self._enter(tag)

    def remove(self, tag: SimTag) -> None:
        with self._lock:
            self._leave(tag)

    def _enter(self, tag: SimTag, at: float | None = None) -> None:
        self.in_field[tag.uid] = tag
        self.entered_at.setdefault(tag.uid, []).append(self.clock.now() if at is None else at)
        for listener in self.listeners:
            listener.entered(tag)

    def _leave(self, tag: SimTag, at: float | None = None) -> None:
        if self.in_field.pop(tag.uid, None) is not None:
            self.left_at.setdefault(tag.uid, []).append(self.clock.now() if at is None else at)
            for listener in self.listeners:
                listener.left(tag)

    def _beam(self, number: int, delta: int) -> None:
        self._blocked[number] = max(0, self._blocked.get(number, 0) + delta)
        levels = {n: count > 0 for n, count in self._blocked.items()}
        for listener in self.listeners:
            listener.beams(levels)

    def block_beam(self, number: int, blocked: bool = True) -> None:
        """Block (or free) a beam by hand: a parked trolley, a misaligned reflector."""
        with self._lock:
            self._blocked[number] = 0
            self._beam(number, 1 if blocked else 0)

    def advance(self) -> None:
        """Apply every scheduled change that is due by now."""
        now = self.clock.now()
        with self._lock:
            while self._queue and self._queue[0].at <= now:
                heapq.heappop(self._queue).apply()

    def next_change(self) -> float | None:
        with self._lock:
            return self._queue[0].at if self._queue else None

    # -- what the reader sees -----------------------------------------------------------------------------

    def answers(self, tag: SimTag) -> bool:
        return tag.read_probability >= 1.0 or self.rng.random() < tag.read_probability

    def inputs(self) -> dict[int, bool]:
        with self._lock:
            return {n: count > 0 for n, count in self._blocked.items()}


class WorldReader:
    """A :class:`~edge.readers.TagReader` whose field is a :class:`GateWorld` (see the module docstring)."""

    capabilities = frozenset(
        {
            Capability.INVENTORY,
            Capability.INVENTORY_AFI,
            Capability.READ,
            Capability.EAS,
            Capability.SYSTEM_INFO,
            Capability.OUTPUTS,
            Capability.INPUTS,
        }
    )

    def __init__(self, world: GateWorld, *, name: str = "sim-gate", antenna: int = 1) -> None:
        self.world = world
        self.name = name
        self.antenna = antenna
        self.commands = 0

    def _begin(self) -> None:
        self.world.advance()
        if self.world.unplugged:
            raise ReaderConnectionError(f"{self.name}: port gone")
        if self.world.silent:
            self.world.clock.wait(0.2)
            raise ReaderTimeoutError(f"{self.name}: no answer")
        self.commands += 1

    def _spend(self, air_us: float, host_bytes: int) -> None:
        self.world.clock.wait(air_us / 1e6 + host_bytes * BYTE_S + FIRMWARE_S)
        self.world.advance()

    def _present(self) -> list[SimTag]:
        with self.world._lock:
            return list(self.world.in_field.values())

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        self._begin()
        tags = [t for t in self._present() if afi is None or afi == 0 or t.afi == afi]
        found, air_us = HIGH_RATE.anticollision([t.uid for t in tags], afi)
        answered = [t for t in tags if self.world.answers(t)]
        self._spend(air_us, 8 + 7 + 10 * len(answered))
        return [InventoryResult(t.uid, 0, self.antenna) for t in answered]

    def eas_alarm(self) -> bool:
        self._begin()
        secured = [t for t in self._present() if t.eas and self.world.answers(t)]
        self._spend(HIGH_RATE.exchange_us(5, 33 if secured else None), 8 + 6)
        return bool(secured)

    def _tag(self, uid: Uid) -> SimTag:
        tag = self.world.in_field.get(uid)
        if tag is None or not self.world.answers(tag):
            raise NoTagError(f"{self.name}: no answer from {uid.hex}", status=0x01)
        if not tag.readable:
            raise TagResponseError(f"{self.name}: {uid.hex} answered with an error", status=0x95, code=0x0F)
        return tag

    def system_info(self, uid: Uid) -> SystemInfo:
        self._begin()
        try:
            tag = self._tag(uid)
        finally:
            self._spend(HIGH_RATE.exchange_us(12, 15), 15 + 21)
        return SystemInfo(uid, dsfid=0, afi=tag.afi, block_size=tag.block_size, block_count=tag.block_count)

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        self._begin()
        try:
            tag = self._tag(uid)
        finally:
            self._spend(HIGH_RATE.read_blocks_us(count, 4), 17 + 8 + count * 5)
        start, end = first * tag.block_size, (first + count) * tag.block_size
        if end > len(tag.memory):
            raise TagResponseError(f"{self.name}: block {first + count - 1} not available", status=0x95, code=0x10)
        return bytes(tag.memory[start:end])

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        raise UnsupportedOperationError("the gate simulator does not write tags")

    def write_afi(self, uid: Uid, afi: int) -> None:
        raise UnsupportedOperationError("the gate simulator does not write tags")

    def set_eas(self, uid: Uid) -> None:
        raise UnsupportedOperationError("the gate simulator does not write tags")

    def reset_eas(self, uid: Uid) -> None:
        raise UnsupportedOperationError("the gate simulator does not write tags")

    def set_outputs(self, outputs: dict[int, bool]) -> None:
        self._begin()
        self.world.outputs.append((self.world.clock.now(), dict(outputs)))
        self._spend(0.0, 12 + 6)

    def read_inputs(self) -> dict[int, bool]:
        self._begin()
        self._spend(0.0, 5 + 7)
        return self.world.inputs()

    def close(self) -> None:
        return None


class Traffic:
    """People walking through the gate in real time, for the demo and ``thuvien gate`` with simulation on.

    Every ``interval_s`` someone walks in or out; every ``secured_every``-th walker carries one of the
    ``secured`` items out, every ``borrowed_every``-th one of the ``borrowed`` items (``auto=False``: nobody,
    the caller schedules walkers itself). A background thread
    applies the scene's scheduled changes, so simulators that do not ask the world (the FEIG simulator behind
    a :class:`SimulatorBridge`) see them on time.
    """

    def __init__(
        self,
        world: GateWorld,
        *,
        secured: Iterable[SimTag] = (),
        borrowed: Iterable[SimTag] = (),
        interval_s: float = 4.0,
        secured_every: int = 3,
        borrowed_every: int = 4,
        aisles: int = 1,
        seed: int | None = None,
        auto: bool = True,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s!r}")
        self.world = world
        self.secured = list(secured)
        self.borrowed = list(borrowed)
        self.interval_s = interval_s
        self.secured_every = max(1, secured_every)
        self.borrowed_every = max(1, borrowed_every)
        self.aisles = max(1, aisles)
        self.rng = random.Random(seed)
        self.auto = auto
        self.walkers = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def next_walker(self, start: float) -> Walker:
        self.walkers += 1
        n = self.walkers
        aisle = 1 + n % self.aisles
        if self.secured and n % self.secured_every == 0:
            return Walker(start, "out", [self.rng.choice(self.secured)], aisle)
        if self.borrowed and n % self.borrowed_every == 0:
            return Walker(start, "out", [self.rng.choice(self.borrowed)], aisle)
        return Walker(start, self.rng.choice(("in", "out")), [], aisle)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gate-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _run(self) -> None:
        next_walk = self.world.clock.now() + 1.0
        while not self._stop.wait(0.005):
            now = self.world.clock.now()
            if self.auto and now >= next_walk:
                in_field = {t.uid for t in self.world.in_field.values()}
                walker = self.next_walker(now)
                walker.tags = [t for t in walker.tags if t.uid not in in_field]
                self.world.walk(walker)
                next_walk = now + self.interval_s
            self.world.advance()


class SimulatorBridge:
    """Mirrors a :class:`GateWorld` into the protocol-exact reader simulator of ``edge.readers.sim``.

    Tags entering the scene are placed in the simulator's field as virtual tags with the same memory, AFI
    and EAS bit; beams become the simulated reader's digital inputs (input n is bit n-1).
    """

    def __init__(self, world: GateWorld, simulator: Any, *, antenna: int = 1) -> None:
        from edge.readers.sim import VirtualTag

        self._virtual = VirtualTag
        self.world = world
        self.simulator = simulator
        self.antenna = antenna
        world.listeners.append(self)

    def entered(self, tag: SimTag) -> None:
        virtual = self._virtual(
            tag.uid,
            bytearray(tag.memory),
            tag.block_size,
            afi=tag.afi,
            eas=tag.eas,
            antenna=self.antenna,
            label=tag.label,
        )
        self.simulator.place(virtual, antenna=self.antenna)

    def left(self, tag: SimTag) -> None:
        try:
            self.simulator.remove(tag.uid)
        except KeyError:
            log.debug("tag %s was not in the simulator's field", tag.uid.hex)

    def beams(self, levels: dict[int, bool]) -> None:
        bits = 0
        for number, blocked in levels.items():
            if blocked and 1 <= number <= 8:
                bits |= 1 << (number - 1)
        self.simulator.engine.inputs = bits
