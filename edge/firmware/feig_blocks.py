"""A profile as FEIG configuration blocks (14 data bytes each, written with [0x81], saved with [0x82]).

This project's block map (FEIG's own CFG layouts differ between reader families; the simulator accepts and
stores whatever is written, and ``thuvien firmware apply`` reads each block back to verify it):

=====  =======================================================================================
block  bytes
=====  =======================================================================================
0      0 bus address, 1 baud code (05 4800 … 08 38400, 09 57600, 0A 115200), 2 parity (0 N, 1 E, 2 O),
       3 data bits, 4 stop bits
1      0 inventory mode (0 ISO host, 1 buffered read), 1 only-new-tags, 2 AFI filter on, 3 AFI filter,
       4-5 interval (ms, big-endian)
3      0-1 RF power (mW, big-endian), 2 antenna bit mask, 3 modulation (%), 4 data rate (0 high, 1 low)
4      0 security mode (1 AFI, 2 EAS, 3 both), 1 in-stock AFI, 2 on-loan AFI, 3 write retries, 4 verify
5      0 role (1 kiosk, 2 gate, 3 station), 1 alarm threshold, 2 alarm output, 3 alarm duration (100 ms),
       4 direction detection, 5 beam input bit mask
6      outputs: 0 LED ok, 1 LED error, 2 buzzer, 3 relay (0 = unused)
=====  =======================================================================================
"""

from __future__ import annotations

from .profile import Profile

__all__ = ["BAUD_CODES", "feig_blocks"]

BAUD_CODES = {4800: 0x05, 9600: 0x06, 19200: 0x07, 38400: 0x08, 57600: 0x09, 115200: 0x0A}
_PARITY = {"N": 0, "E": 1, "O": 2}
_SECURITY = {"afi": 1, "eas": 2, "both": 3}
_ROLE = {"kiosk": 1, "gate": 2, "station": 3}


def _block(*values: int) -> bytes:
    raw = bytes(values)
    return raw + bytes(14 - len(raw))


def _mask(numbers: tuple[int, ...]) -> int:
    mask = 0
    for n in numbers:
        mask |= 1 << (n - 1)
    return mask


def feig_blocks(p: Profile) -> dict[int, bytes]:
    """Block number → 14 bytes, for a validated profile of a FEIG reader."""
    baud = BAUD_CODES.get(p.baud or 38400, 0x08)
    interval = p.interval_ms.to_bytes(2, "big")
    power = (p.power_mw or 0).to_bytes(2, "big")
    return {
        0: _block(p.bus_address, baud, _PARITY.get(p.parity, 1), p.data_bits, p.stop_bits),
        1: _block(
            1 if p.inventory_mode == "buffered-read" else 0,
            int(p.only_new_tags),
            int(p.afi_filter is not None),
            p.afi_filter or 0,
            *interval,
        ),
        3: _block(*power, _mask(p.antennas), p.modulation_percent, 0 if p.data_rate == "high" else 1),
        4: _block(_SECURITY[p.security_mode], p.afi_in_stock, p.afi_on_loan, p.write_retries, int(p.verify)),
        5: _block(
            _ROLE[p.role],
            p.alarm_threshold,
            p.alarm_output or 0,
            p.alarm_duration_ms // 100,
            int(p.direction_detection),
            _mask(p.beam_inputs),
        ),
        6: _block(*(p.outputs.get(k, 0) for k in ("led_ok", "led_error", "buzzer", "relay"))),
    }
