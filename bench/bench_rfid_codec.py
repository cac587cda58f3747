"""Tag data codecs: encode and decode time per tag for each format (target: decode ≤ 20 µs per tag).

Also the auto-detecting decoder (what kiosks and gates call), the same on block-reversed memory, and the
CRC-16 variants per 36-byte frame. Times are CPU time per call (best of many short rounds).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import table  # noqa: E402
from edge.iso15693 import crc16_ccitt_false, crc16_genibus, crc16_mcrf4xx, crc16_x25  # noqa: E402
from edge.tags import LibraryTag, decode, encode, iso28560_2, iso28560_3, reverse_blocks, rfid501  # noqa: E402

TARGET_US = 20.0
BASIC = LibraryTag(primary_item_id="TV2026000123", owner_isil="VN-TQ0001", type_of_usage=1)
FULL = BASIC.replace(title="Truyện Kiều", shelf_location="895.9221 NG-D")


def per_call_us(func: Callable[[], object], *, budget_s: float = 0.6, rounds: int = 40) -> float:
    """Best of many short rounds of CPU time (process time: time spent preempted by other processes on a
    shared machine does not count, so the figure is the codec's own cost)."""
    n = 1
    while True:
        start = time.process_time()
        for _ in range(n):
            func()
        elapsed = time.process_time() - start
        if elapsed > 0.02:
            break
        n *= 4
    times = []
    reps = max(1, int(n * (budget_s / rounds) / elapsed))
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(reps):
            func()
        times.append((time.process_time() - start) / reps)
    return min(times) * 1e6


def main() -> int:
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (figures grow with contention)")
    cases = [
        ("iso28560-3 basic block", "iso28560-3", BASIC, iso28560_3.decode),
        ("iso28560-3 + title/shelf ext.", "iso28560-3", FULL, iso28560_3.decode),
        ("iso28560-2 (ISIL, title)", "iso28560-2", FULL, iso28560_2.decode),
        ("iso28560-2 Annex D vector", "iso28560-2", None, iso28560_2.decode),
        ("3m-rfid501", "3m-rfid501", BASIC.replace(owner_isil=None, type_of_usage=None), rfid501.decode),
    ]
    rows = []
    worst = 0.0
    for label, fmt, tag, decoder in cases:
        if tag is None:
            memory = bytes.fromhex("9100051CBE991A140201D0140204B34607441CB6E2E335D6830207ACC09EBAA06F6B0000")
            enc_us = float("nan")
        else:
            memory = encode(tag, fmt)
            enc_us = per_call_us(lambda t=tag, f=fmt: encode(t, f))
        dec_us = per_call_us(lambda m=memory, d=decoder: d(m))
        auto_us = per_call_us(lambda m=memory: decode(m))
        reversed_memory = reverse_blocks(memory)
        rev_us = per_call_us(lambda m=reversed_memory: decode(m))
        worst = max(worst, auto_us)
        rows.append((label, len(memory), f"{enc_us:.1f}", f"{dec_us:.1f}", f"{auto_us:.1f}", f"{rev_us:.1f}"))
    blank = bytes(36)
    rows.append(("blank (all zero)", 36, "-", "-", f"{per_call_us(lambda: decode(blank)):.1f}", "-"))
    print(table(("format", "bytes", "encode µs", "decode µs", "auto-detect µs", "reversed µs"), rows))
    frame = bytes(range(36))
    crc_rows = [
        (name, f"{per_call_us(lambda f=func: f(frame)):.2f}")
        for name, func in (
            ("CRC-16/X-25 (ISO 15693)", crc16_x25),
            ("CRC-16/MCRF4XX (FEIG)", crc16_mcrf4xx),
            ("CRC-16/GENIBUS (3M)", crc16_genibus),
            ("CRC-16/CCITT-FALSE (28560-3)", crc16_ccitt_false),
        )
    ]
    print()
    print(table(("CRC over 36 bytes", "µs"), crc_rows))
    verdict = "meets" if worst <= TARGET_US else "MISSES"
    print(f"\nslowest auto-detecting decode: {worst:.1f} µs per tag — {verdict} the {TARGET_US:.0f} µs target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
