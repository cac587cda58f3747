"""ISO 15693 air-time model (high data rate, 1-out-of-4, single subcarrier) for the simulator and benches.

All figures in microseconds. A request costs SOF + 8 bits per byte + EOF at 37.76 µs per bit; a response
costs a 151.04 µs SOF, 37.76 µs per bit and a 151.04 µs EOF; the tag answers t1 = 320.9 µs after the
request's EOF and the reader waits t2 = 309.2 µs before the next request. A 16-slot inventory is simulated
slot by slot with the mask recursion a reader uses to split collisions, so its cost depends on the UIDs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import commands
from .uid import Uid

__all__ = ["AirTiming", "HIGH_RATE", "LOW_RATE"]


@dataclass(frozen=True, slots=True)
class AirTiming:
    """Timing constants of one ISO 15693 data-rate setting."""

    request_bit_us: float = 37.76
    response_bit_us: float = 37.76
    request_sof_us: float = 75.52
    request_eof_us: float = 37.76
    response_sof_us: float = 151.04
    response_eof_us: float = 151.04
    t1_us: float = 320.9
    t2_us: float = 309.2
    program_us: float = 0.0
    """EEPROM programming time added to writes (the standard allows replies up to 20 ms after the EOF)."""

    def request_us(self, nbytes: int) -> float:
        return self.request_sof_us + nbytes * 8 * self.request_bit_us + self.request_eof_us

    def response_us(self, nbytes: int) -> float:
        return self.response_sof_us + nbytes * 8 * self.response_bit_us + self.response_eof_us

    def exchange_us(self, request_len: int, response_len: int | None, *, write: bool = False) -> float:
        """One request and its answer (``response_len`` None: nobody answers, the reader times out)."""
        total = self.request_us(request_len) + self.t1_us + self.t2_us
        total += self.response_us(response_len) if response_len is not None else self.response_sof_us
        return total + (self.program_us if write else 0.0)

    @property
    def empty_slot_us(self) -> float:
        return self.request_eof_us + self.t1_us + self.response_sof_us

    @property
    def occupied_slot_us(self) -> float:
        return self.request_eof_us + self.t1_us + self.response_us(12) + self.t2_us

    def anticollision(self, uids: Iterable[Uid], afi: int | None = None) -> tuple[list[Uid], float]:
        """Simulate 16-slot inventory rounds with mask recursion; return the UIDs found and the air time."""
        pending = sorted(set(uids))
        found: list[Uid] = []
        total = 0.0
        queue: list[tuple[int, int]] = [(0, 0)]
        while queue:
            mask_len, mask = queue.pop(0)
            frame = commands.inventory(afi, one_slot=False, mask_len=mask_len, mask=mask)
            total += self.request_us(len(frame)) - self.request_eof_us
            slots: dict[int, list[Uid]] = {}
            low = (1 << mask_len) - 1
            for uid in pending:
                value = int(uid)
                if value & low == mask:
                    slots.setdefault((value >> mask_len) & 0xF, []).append(uid)
            for slot in range(16):
                here = slots.get(slot, [])
                total += self.occupied_slot_us if here else self.empty_slot_us
                if len(here) == 1 or (here and mask_len + 4 >= 64):
                    found.extend(here)
                elif here:
                    queue.append((mask_len + 4, mask | slot << mask_len))
        return found, total

    def inventory_1slot_us(self, answered: bool, afi: bool = False) -> float:
        return self.exchange_us(5 + (1 if afi else 0), 12 if answered else None)

    def read_blocks_us(self, nblocks: int, block_size: int = 4, *, addressed: bool = True) -> float:
        return self.exchange_us(6 + (8 if addressed else 0), 1 + nblocks * block_size + 2)

    def write_afi_us(self, *, addressed: bool = True) -> float:
        return self.exchange_us(5 + (8 if addressed else 0), 3, write=True)


HIGH_RATE = AirTiming()
LOW_RATE = AirTiming(
    request_bit_us=604.16,  # 1 out of 256: 8 bits per 4.833 ms
    response_bit_us=151.04,
    request_sof_us=75.52,
    request_eof_us=37.76,
    response_sof_us=604.16,
    response_eof_us=604.16,
)
