"""ISO 15693-3 request flags, command codes, request builders and response parsers (air frames).

Every builder returns a complete air frame:
``flags | command | [IC mfg code] | [UID LSB first] | params | CRC``.
Builders take :class:`~edge.iso15693.uid.Uid` values, never raw UID bytes, so the byte order is always right.
:func:`parse_request` is the inverse used by the simulated tags; :func:`parse_response` checks the CRC and
the error flag of a tag's answer and returns the payload after the flags byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from .crc import append_crc_x25, check_crc_x25
from .errors import CrcError, FrameError, TagError, TruncatedFrameError
from .uid import Uid

__all__ = [
    "RequestFlag",
    "ResponseFlag",
    "Command",
    "NXP_MFR_CODE",
    "Request",
    "build",
    "inventory",
    "stay_quiet",
    "read_single_block",
    "write_single_block",
    "lock_block",
    "read_multiple_blocks",
    "write_multiple_blocks",
    "select",
    "reset_to_ready",
    "write_afi",
    "lock_afi",
    "write_dsfid",
    "lock_dsfid",
    "get_system_info",
    "get_block_security_status",
    "set_eas",
    "reset_eas",
    "lock_eas",
    "eas_alarm",
    "parse_request",
    "parse_response",
    "parse_inventory_response",
    "parse_blocks",
    "response_frame",
    "error_frame",
]


class RequestFlag(IntFlag):
    """Request flags (byte 0 of a request). Bits 5 and 6 change meaning with INVENTORY."""

    SUBCARRIER_TWO = 0x01
    HIGH_RATE = 0x02
    INVENTORY = 0x04
    PROTOCOL_EXTENSION = 0x08
    SELECT = 0x10  # without INVENTORY
    ADDRESS = 0x20  # without INVENTORY
    OPTION = 0x40
    AFI = 0x10  # with INVENTORY: an AFI byte follows the command
    ONE_SLOT = 0x20  # with INVENTORY: 1 slot instead of 16


class ResponseFlag(IntFlag):
    ERROR = 0x01
    EXTENSION = 0x08


class Command(IntEnum):
    INVENTORY = 0x01
    STAY_QUIET = 0x02
    READ_SINGLE_BLOCK = 0x20
    WRITE_SINGLE_BLOCK = 0x21
    LOCK_BLOCK = 0x22
    READ_MULTIPLE_BLOCKS = 0x23
    WRITE_MULTIPLE_BLOCKS = 0x24
    SELECT = 0x25
    RESET_TO_READY = 0x26
    WRITE_AFI = 0x27
    LOCK_AFI = 0x28
    WRITE_DSFID = 0x29
    LOCK_DSFID = 0x2A
    GET_SYSTEM_INFO = 0x2B
    GET_BLOCK_SECURITY_STATUS = 0x2C
    # NXP ICODE custom commands (followed by the IC manufacturer code 0x04)
    NXP_SET_EAS = 0xA2
    NXP_RESET_EAS = 0xA3
    NXP_LOCK_EAS = 0xA4
    NXP_EAS_ALARM = 0xA5


NXP_MFR_CODE = 0x04
_CUSTOM_MIN = 0xA0
_CUSTOM_MAX = 0xDF


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed request frame (what a tag sees)."""

    flags: int
    command: int
    uid: Uid | None
    params: bytes
    mfr: int | None = None
    afi: int | None = None  # inventory only
    mask_len: int = 0  # inventory only
    mask: int = 0  # inventory only, bits LSB first as on the air

    @property
    def option(self) -> bool:
        return bool(self.flags & RequestFlag.OPTION)

    @property
    def is_inventory(self) -> bool:
        return bool(self.flags & RequestFlag.INVENTORY)

    @property
    def selected(self) -> bool:
        return not self.is_inventory and bool(self.flags & RequestFlag.SELECT)


def _flags(uid: Uid | None, option: bool, high_rate: bool = True) -> int:
    flags = RequestFlag.HIGH_RATE if high_rate else RequestFlag(0)
    if uid is not None:
        flags |= RequestFlag.ADDRESS
    if option:
        flags |= RequestFlag.OPTION
    return int(flags)


def build(
    command: int,
    *,
    uid: Uid | None = None,
    params: bytes = b"",
    option: bool = False,
    mfr: int | None = None,
    high_rate: bool = True,
    selected: bool = False,
) -> bytes:
    """A non-inventory request frame with CRC (``selected``: only the tag in the selected state answers)."""
    frame = bytearray((_flags(uid, option, high_rate) | (RequestFlag.SELECT if selected else 0), command))
    if mfr is not None:
        frame.append(mfr)
    if uid is not None:
        frame += uid.lsb
    frame += params
    return append_crc_x25(bytes(frame))


def _byte(name: str, value: int) -> int:
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must be a byte, got {value!r}")
    return value


def inventory(
    afi: int | None = None,
    *,
    one_slot: bool = True,
    mask_len: int = 0,
    mask: int = 0,
    high_rate: bool = True,
) -> bytes:
    """Inventory request; ``mask`` holds ``mask_len`` UID bits counted from the UID's lowest bit."""
    if not 0 <= mask_len <= 64:
        raise ValueError(f"mask length must be 0..64 bits, got {mask_len!r}")
    flags = RequestFlag.INVENTORY
    if high_rate:
        flags |= RequestFlag.HIGH_RATE
    if one_slot:
        flags |= RequestFlag.ONE_SLOT
    frame = bytearray((int(flags), Command.INVENTORY))
    if afi is not None:
        frame[0] |= RequestFlag.AFI
        frame.append(_byte("AFI", afi))
    frame.append(mask_len)
    nbytes = (mask_len + 7) // 8
    frame += (mask & ((1 << mask_len) - 1)).to_bytes(nbytes, "little") if nbytes else b""
    return append_crc_x25(bytes(frame))


def stay_quiet(uid: Uid) -> bytes:
    return build(Command.STAY_QUIET, uid=uid)


def read_single_block(block: int, uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.READ_SINGLE_BLOCK, uid=uid, params=bytes((_byte("block", block),)), option=option)


def write_single_block(block: int, data: bytes, uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.WRITE_SINGLE_BLOCK, uid=uid, params=bytes((_byte("block", block),)) + data, option=option)


def lock_block(block: int, uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.LOCK_BLOCK, uid=uid, params=bytes((_byte("block", block),)), option=option)


def read_multiple_blocks(first: int, count: int, uid: Uid | None = None, *, option: bool = False) -> bytes:
    """Read ``count`` blocks from ``first`` (the frame carries ``count - 1``)."""
    if not 1 <= count <= 256:
        raise ValueError(f"block count must be 1..256, got {count!r}")
    params = bytes((_byte("first block", first), count - 1))
    return build(Command.READ_MULTIPLE_BLOCKS, uid=uid, params=params, option=option)


def write_multiple_blocks(
    first: int, blocks: Sequence[bytes], uid: Uid | None = None, *, option: bool = False
) -> bytes:
    if not 1 <= len(blocks) <= 256:
        raise ValueError(f"block count must be 1..256, got {len(blocks)!r}")
    params = bytes((_byte("first block", first), len(blocks) - 1)) + b"".join(blocks)
    return build(Command.WRITE_MULTIPLE_BLOCKS, uid=uid, params=params, option=option)


def select(uid: Uid) -> bytes:
    return build(Command.SELECT, uid=uid)


def reset_to_ready(uid: Uid | None = None) -> bytes:
    return build(Command.RESET_TO_READY, uid=uid)


def write_afi(afi: int, uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.WRITE_AFI, uid=uid, params=bytes((_byte("AFI", afi),)), option=option)


def lock_afi(uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.LOCK_AFI, uid=uid, option=option)


def write_dsfid(dsfid: int, uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.WRITE_DSFID, uid=uid, params=bytes((_byte("DSFID", dsfid),)), option=option)


def lock_dsfid(uid: Uid | None = None, *, option: bool = False) -> bytes:
    return build(Command.LOCK_DSFID, uid=uid, option=option)


def get_system_info(uid: Uid | None = None) -> bytes:
    return build(Command.GET_SYSTEM_INFO, uid=uid)


def get_block_security_status(first: int, count: int, uid: Uid | None = None) -> bytes:
    if not 1 <= count <= 256:
        raise ValueError(f"block count must be 1..256, got {count!r}")
    return build(Command.GET_BLOCK_SECURITY_STATUS, uid=uid, params=bytes((_byte("first", first), count - 1)))


def set_eas(uid: Uid | None = None) -> bytes:
    """NXP ICODE SET EAS (0xA2)."""
    return build(Command.NXP_SET_EAS, uid=uid, mfr=NXP_MFR_CODE)


def reset_eas(uid: Uid | None = None) -> bytes:
    """NXP ICODE RESET EAS (0xA3)."""
    return build(Command.NXP_RESET_EAS, uid=uid, mfr=NXP_MFR_CODE)


def lock_eas(uid: Uid | None = None) -> bytes:
    """NXP ICODE LOCK EAS (0xA4)."""
    return build(Command.NXP_LOCK_EAS, uid=uid, mfr=NXP_MFR_CODE)


def eas_alarm(uid: Uid | None = None, *, option: bool = False) -> bytes:
    """NXP ICODE EAS ALARM (0xA5); only tags with EAS = 1 answer."""
    return build(Command.NXP_EAS_ALARM, uid=uid, mfr=NXP_MFR_CODE, option=option)


def parse_request(frame: bytes) -> Request:
    """Parse a request air frame (with CRC), as a tag would."""
    if len(frame) < 4:
        raise TruncatedFrameError(f"request too short: {frame.hex()}", data=frame)
    if not check_crc_x25(frame):
        raise CrcError(f"bad CRC in request {frame.hex()}", data=frame)
    body = frame[:-2]
    flags, command = body[0], body[1]
    pos = 2
    if flags & RequestFlag.INVENTORY:
        afi = None
        if flags & RequestFlag.AFI:
            if len(body) < pos + 1:
                raise TruncatedFrameError(f"inventory without AFI byte: {frame.hex()}", data=frame)
            afi = body[pos]
            pos += 1
        if len(body) < pos + 1:
            raise TruncatedFrameError(f"inventory without mask length: {frame.hex()}", data=frame)
        mask_len = body[pos]
        pos += 1
        nbytes = (mask_len + 7) // 8
        if mask_len > 64 or len(body) < pos + nbytes:
            raise TruncatedFrameError(f"bad inventory mask: {frame.hex()}", data=frame)
        mask = int.from_bytes(body[pos : pos + nbytes], "little") & ((1 << mask_len) - 1)
        pos += nbytes
        return Request(flags, command, None, bytes(body[pos:]), afi=afi, mask_len=mask_len, mask=mask)
    mfr = None
    if _CUSTOM_MIN <= command <= _CUSTOM_MAX:
        if len(body) < pos + 1:
            raise TruncatedFrameError(f"custom command without IC mfg code: {frame.hex()}", data=frame)
        mfr = body[pos]
        pos += 1
    uid = None
    if flags & RequestFlag.ADDRESS:
        if len(body) < pos + 8:
            raise TruncatedFrameError(f"addressed request without UID: {frame.hex()}", data=frame)
        uid = Uid.from_lsb(body[pos : pos + 8])
        pos += 8
    return Request(flags, command, uid, bytes(body[pos:]), mfr=mfr)


def response_frame(payload: bytes = b"", flags: int = 0) -> bytes:
    """A tag's success response frame (flags, payload, CRC)."""
    return append_crc_x25(bytes((flags,)) + payload)


def error_frame(code: int) -> bytes:
    return append_crc_x25(bytes((ResponseFlag.ERROR, code)))


def parse_response(frame: bytes) -> bytes:
    """Check CRC and error flag of a tag response; return the payload after the flags byte."""
    if len(frame) < 3:
        raise TruncatedFrameError(f"response too short: {frame.hex()}", data=frame)
    if not check_crc_x25(frame):
        raise CrcError(f"bad CRC in response {frame.hex()}", data=frame)
    return parse_response_body(frame[:-2])


def parse_response_body(body: bytes) -> bytes:
    """Like :func:`parse_response` for a frame whose CRC the reader already removed."""
    if not body:
        raise TruncatedFrameError("empty response", data=body)
    if body[0] & ResponseFlag.ERROR:
        if len(body) < 2:
            raise TruncatedFrameError(f"error flag without error code: {body.hex()}", data=body)
        raise TagError(body[1], data=body)
    return bytes(body[1:])


def parse_inventory_response(payload: bytes) -> tuple[int, Uid]:
    """``DSFID, UID`` from an inventory response payload."""
    if len(payload) != 9:
        raise TruncatedFrameError(f"inventory response must be 9 bytes: {payload.hex()}", data=payload)
    return payload[0], Uid.from_lsb(payload[1:9])


def parse_blocks(payload: bytes, block_size: int, *, with_security: bool) -> list[tuple[int, bytes]]:
    """Split a read response into ``(security status, data)`` per block (status 0 when not requested)."""
    step = block_size + (1 if with_security else 0)
    if block_size < 1 or not payload or len(payload) % step:
        raise FrameError(
            f"read response of {len(payload)} bytes is not a whole number of {block_size}-byte blocks",
            data=payload,
        )
    out = []
    for pos in range(0, len(payload), step):
        if with_security:
            out.append((payload[pos], payload[pos + 1 : pos + step]))
        else:
            out.append((0, payload[pos : pos + step]))
    return out
