"""ISO 15693 UIDs as one value type that knows its byte order.

On the air and in PC/SC transparent exchange the UID travels LSB first (``78 56 34 12 00 01 04 E0``);
FEIG ISO-host mode, the 3M protocol and humans write it MSB first (``E0 04 01 00 12 34 56 78``).
:class:`Uid` stores the MSB-first form and converts at the boundary, so no caller ever reverses bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UidError

__all__ = ["Uid", "MANUFACTURERS"]

MANUFACTURERS: dict[int, str] = {
    0x02: "STMicroelectronics",
    0x04: "NXP",
    0x05: "Infineon",
    0x07: "Texas Instruments",
    0x16: "EM Microelectronic",
    0x17: "Fujitsu",
    0x1F: "Melexis",
}


@dataclass(frozen=True, order=True, slots=True)
class Uid:
    """An 8-byte ISO 15693 unique identifier (stored MSB first, ``E0`` first for real tags)."""

    msb: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.msb, bytes) or len(self.msb) != 8:
            raise UidError(f"a UID is 8 bytes, got {self.msb!r}", data=bytes(self.msb))

    @classmethod
    def from_msb(cls, data: bytes | bytearray) -> Uid:
        """From the MSB-first form (FEIG, 3M, printed labels)."""
        return cls(bytes(data))

    @classmethod
    def from_lsb(cls, data: bytes | bytearray) -> Uid:
        """From the LSB-first form (ISO 15693 air frames, PC/SC)."""
        if len(data) != 8:
            raise UidError(f"a UID is 8 bytes, got {bytes(data).hex()}", data=bytes(data))
        return cls(bytes(data)[::-1])

    @classmethod
    def from_hex(cls, text: str) -> Uid:
        """From MSB-first hex (``"E004010012345678"``; spaces and colons allowed)."""
        cleaned = text.replace(" ", "").replace(":", "").replace("-", "")
        try:
            raw = bytes.fromhex(cleaned)
        except ValueError as exc:
            raise UidError(f"not a hex UID: {text!r}", data=text.encode(errors="replace")) from exc
        return cls.from_msb(raw)

    @classmethod
    def from_int(cls, value: int) -> Uid:
        if not 0 <= value < 1 << 64:
            raise UidError(f"UID out of range: {value!r}")
        return cls(value.to_bytes(8, "big"))

    @property
    def lsb(self) -> bytes:
        """LSB-first bytes, as sent on the air."""
        return self.msb[::-1]

    @property
    def hex(self) -> str:
        """MSB-first upper-case hex."""
        return self.msb.hex().upper()

    def __int__(self) -> int:
        return int.from_bytes(self.msb, "big")

    @property
    def manufacturer_code(self) -> int:
        return self.msb[1]

    @property
    def manufacturer(self) -> str:
        return MANUFACTURERS.get(self.msb[1], f"unknown (0x{self.msb[1]:02X})")

    @property
    def is_iso15693(self) -> bool:
        return self.msb[0] == 0xE0

    def __str__(self) -> str:
        return self.hex

    def __repr__(self) -> str:
        return f"Uid('{self.hex}')"
