"""Format auto-detection: which encoding a tag's memory holds, repairing per-block byte reversal.

Order (reference §1.7): blank and 3M-blank; ISO 28560-3 (its CRC is strong evidence); ISO 28560-2 (a chain
of data sets starting with OID 1); 3M RFID501 (block 0 = ``04 xx 00 xx``). Each candidate is tried on the
memory as read and with every block reversed (FEIG "MSB first" block order), and the first that decodes
wins. Nothing matching raises :class:`UnknownFormatError` carrying the bytes.
"""

from __future__ import annotations

import array
from collections.abc import Callable

from . import iso28560_2, iso28560_3, rfid501
from .errors import EncodeError, TagFormatError, UnknownFormatError
from .model import LibraryTag

__all__ = ["decode", "encode", "reverse_blocks", "is_blank", "ENCODERS"]


def reverse_blocks(data: bytes, block_size: int = 4) -> bytes:
    """Reverse the bytes inside each block (the last partial block too)."""
    if block_size == 4 and len(data) % 4 == 0:
        words = array.array("I", data)  # 4-byte items: byteswap() reverses every block in C
        words.byteswap()
        return words.tobytes()
    return b"".join(data[i : i + block_size][::-1] for i in range(0, len(data), block_size))


def is_blank(data: bytes) -> str | None:
    """``"zero"``, ``"3m"`` (0x55 x 24 then zeros) or ``"erased"`` (all 0xFF); None if not blank."""
    if not data.strip(b"\x00"):
        return "zero"
    if not data.strip(b"\xff"):
        return "erased"
    head = data[:24]
    if len(data) >= 24 and head == b"\x55" * 24 and not data[24:].strip(b"\x00"):
        return "3m"
    if len(data) < 24 and not data.strip(b"\x55"):
        return "3m"
    return None


_DECODERS: tuple[tuple[str, Callable[[bytes], bool], Callable[[bytes], LibraryTag]], ...] = (
    (iso28560_3.FORMAT, iso28560_3.looks_like, iso28560_3.decode),
    (iso28560_2.FORMAT, iso28560_2.looks_like, iso28560_2.decode),
    (rfid501.FORMAT, rfid501.looks_like, rfid501.decode),
)


def decode(data: bytes, *, block_size: int = 4, dsfid: int | None = None) -> LibraryTag:
    """Decode a tag's user memory whatever its format (``dsfid`` from system info is a hint only)."""
    data = bytes(data)
    blank = is_blank(data)
    if blank is not None:
        return LibraryTag._trusted(format="blank", extra=(("blank", blank),))
    p3, p2, m3 = _DECODERS
    # ISO 28560-3's CRC is strong evidence in either byte order; the weaker signatures are tried as read
    # before any of them is tried on reversed blocks
    order = [(p3, False), (p3, True), (p2, False), (m3, False), (p2, True), (m3, True)]
    if dsfid == iso28560_2.DSFID:
        order = [(p2, False), (p2, True)] + [o for o in order if o[0] is not p2]
    reasons: list[str] = []
    flipped: bytes | None = None
    for (name, looks, decoder), reversed_ in order:
        if not reversed_:
            memory = data
        elif block_size > 1:
            if flipped is None:
                flipped = reverse_blocks(data, block_size)
            memory = flipped
        else:
            continue
        if not looks(memory):
            continue
        try:
            tag = decoder(memory)
        except TagFormatError as exc:
            reasons.append(f"{name}{' (blocks reversed)' if reversed_ else ''}: {exc}")
            continue
        if reversed_:
            return LibraryTag._trusted(**{**tag.__dict__, "block_reversed": True})
        return tag
    why = "; ".join(reasons) if reasons else "no format signature matches"
    raise UnknownFormatError(f"not a known library tag format ({why}): {data[:36].hex()}", data=data)


ENCODERS: dict[str, Callable[..., bytes]] = {
    iso28560_3.FORMAT: iso28560_3.encode,
    iso28560_2.FORMAT: iso28560_2.encode,
    rfid501.FORMAT: rfid501.encode,
}


def encode(tag: LibraryTag, fmt: str = "iso28560-3", *, block_size: int = 4) -> bytes:
    """Encode ``tag`` in ``fmt``; the result is padded to whole blocks."""
    encoder = ENCODERS.get(fmt)
    if encoder is None:
        raise EncodeError(fmt, "format", fmt, f"unknown format; one of {sorted(ENCODERS)}")
    if not 1 <= block_size <= 32:
        raise EncodeError(fmt, "block_size", block_size, "1..32 bytes")
    result: bytes = encoder(tag, block_size=block_size)
    return result
