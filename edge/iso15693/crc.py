"""The four CRC-16 variants of library RFID, table driven.

=================  ========  ==========  =========  ==============  ======================
name               poly      reflected   final XOR  wire order      used by
=================  ========  ==========  =========  ==============  ======================
CRC-16/X-25        0x1021    yes         0xFFFF     LSB first       ISO 15693 air frames
CRC-16/MCRF4XX     0x1021    yes         none       LSB first       FEIG ISC host protocol
CRC-16/GENIBUS     0x1021    no          0xFFFF     MSB first       3M / Bibliotheca 210/810
CRC-16/CCITT-FALSE 0x1021    no          none       LSB first (!)   ISO 28560-3 basic block
=================  ========  ==========  =========  ==============  ======================

All start from 0xFFFF. The reflected variants use 0x8408 (0x1021 bit-reversed).
"""

from __future__ import annotations

import binascii

__all__ = [
    "crc16_x25",
    "crc16_mcrf4xx",
    "crc16_genibus",
    "crc16_ccitt_false",
    "append_crc_x25",
    "check_crc_x25",
    "X25_RESIDUE",
]

X25_RESIDUE = 0xF0B8
"""CRC-16/X-25 register value (before the final XOR) after running over data plus its own CRC."""


def _reflected_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _normal_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_REFLECTED = _reflected_table()
_NORMAL = _normal_table()


_BIT_REVERSE = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def _reflected(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    """Reflected CRC via the C-speed normal one: reverse each input byte, then the 16-bit result."""
    if not isinstance(data, (bytes, bytearray)):
        data = bytes(data)
    value = binascii.crc_hqx(data.translate(_BIT_REVERSE), _reverse16(crc))
    return _reverse16(value)


def _reverse16(value: int) -> int:
    return _BIT_REVERSE[value & 0xFF] << 8 | _BIT_REVERSE[value >> 8]


def _reflected_py(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    table = _REFLECTED
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def _normal(data: bytes | bytearray | memoryview, crc: int = 0xFFFF) -> int:
    table = _NORMAL
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ b) & 0xFF]
    return crc


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """ISO/IEC 13239 CRC of an ISO 15693 air frame (append it LSB first)."""
    return _reflected(data) ^ 0xFFFF


def crc16_mcrf4xx(data: bytes | bytearray | memoryview) -> int:
    """FEIG ISC host-protocol CRC (append it LSB first)."""
    return _reflected(data)


def crc16_genibus(data: bytes | bytearray | memoryview) -> int:
    """3M/Bibliotheca reader BCC (append it MSB first; the 0xD6 start byte is excluded)."""
    return binascii.crc_hqx(data, 0xFFFF) ^ 0xFFFF


def crc16_ccitt_false(data: bytes | bytearray | memoryview) -> int:
    """ISO 28560-3 basic-block CRC (stored LSB first at byte 19)."""
    # binascii.crc_hqx is exactly the non-reflected 0x1021 CRC with a caller-chosen preset, in C
    return binascii.crc_hqx(data, 0xFFFF)


def crc16_x25_py(data: bytes | bytearray | memoryview) -> int:
    """Table-driven pure-Python version of :func:`crc16_x25` (cross-check in the tests)."""
    return _reflected_py(data) ^ 0xFFFF


def crc16_ccitt_false_py(data: bytes | bytearray | memoryview) -> int:
    """Table-driven pure-Python version of :func:`crc16_ccitt_false` (cross-check in the tests)."""
    return _normal(data)


def append_crc_x25(frame: bytes) -> bytes:
    """Return ``frame`` followed by its ISO 15693 CRC, LSB first."""
    return frame + crc16_x25(frame).to_bytes(2, "little")


def check_crc_x25(frame: bytes | bytearray) -> bool:
    """True if the last two bytes of ``frame`` are the ISO 15693 CRC of the rest."""
    return len(frame) >= 3 and _reflected(frame) == X25_RESIDUE
