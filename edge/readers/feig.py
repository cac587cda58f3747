"""FEIG OBID ISC host protocol (ID ISC.MR/LR, classic-pro CPR) driver and frame codec.

Frames (CRC-16/MCRF4XX over everything before it, LSB first)::

    standard  host → reader   LEN | COM-ADR | CMD | DATA | CRC          LEN = whole frame, 5..255
              reader → host   LEN | COM-ADR | CMD | STATUS | DATA | CRC
    advanced                  0x02 | ALEN (2, MSB first) | COM-ADR | CMD | [STATUS] | DATA | CRC

Capabilities of this driver:

=============================  ===============================================================
inventory (with AFI, MORE)     [0xB0 0x01], status 0x94 re-issued with the MORE bit
read / write blocks            [0xB0 0x23] / [0xB0 0x24], ≤128 data bytes per call, addressed
lock block, AFI, DSFID          [0xB0 0x22] / 0x27 0x28 / 0x29 0x2A
system info                    [0xB0 0x2B]
EAS (NXP ICODE)                [0xB1] MFR 0x04: A2 set, A3 reset, A4 lock, A5 alarm
outputs / inputs               [0x72] set output / [0x74] get input
configuration                  [0x80] read, [0x81] write, [0x82] save, [0x83] defaults
buffered read mode             [0x22] read buffer, [0x31] info, [0x32] clear, [0x33] initialise
=============================  ===============================================================

UIDs travel MSB first. Block data is MSB first too in ISO-host mode, i.e. each block byte-reversed relative to
memory; ``block_order="msb"`` (the default) undoes that, ``"lsb"`` passes blocks through unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum

from edge.iso15693 import SystemInfo, Uid, crc16_mcrf4xx

from .base import Capability, InventoryResult
from .errors import (
    NoTagError,
    ProtocolError,
    ReaderConnectionError,
    ReaderStatusError,
    TagResponseError,
)
from .port import Port, ResyncParser, exchange

__all__ = [
    "Status",
    "FeigFrame",
    "FeigFrameParser",
    "build_frame",
    "FeigReader",
    "BufferRecord",
    "CFG_BLOCK_SIZE",
    "MAX_READ_BYTES",
]

log = logging.getLogger(__name__)

STX = 0x02
BROADCAST = 0xFF
CFG_BLOCK_SIZE = 14
MAX_READ_BYTES = 128
MODE_ADDRESSED = 0x01
MODE_SEC = 0x08
MODE_AFI = 0x10
MODE_MORE = 0x80
TR_TYPE_ISO15693 = 0x03
NXP = 0x04


class Cmd(IntEnum):
    READ_BUFFER = 0x22
    BUFFER_INFO = 0x31
    CLEAR_BUFFER = 0x32
    INIT_BUFFER = 0x33
    BAUD_DETECTION = 0x52
    CPU_RESET = 0x63
    SOFTWARE_VERSION = 0x65
    READER_INFO = 0x66
    RF_RESET = 0x69
    RF_ON_OFF = 0x6A
    SET_OUTPUT = 0x72
    GET_INPUT = 0x74
    READ_CONFIG = 0x80
    WRITE_CONFIG = 0x81
    SAVE_CONFIG = 0x82
    DEFAULT_CONFIG = 0x83
    ISO_HOST = 0xB0
    ISO_CUSTOM = 0xB1


class Status(IntEnum):
    OK = 0x00
    NO_TRANSPONDER = 0x01
    DATA_FALSE = 0x02
    WRITE_ERROR = 0x03
    ADDRESS_ERROR = 0x04
    WRONG_TRANSPONDER_TYPE = 0x05
    GENERAL_ERROR = 0x0E
    UNKNOWN_COMMAND = 0x80
    LENGTH_ERROR = 0x81
    COMMAND_NOT_AVAILABLE = 0x82
    RF_COMMUNICATION_ERROR = 0x83
    NO_VALID_DATA = 0x92
    DATA_BUFFER_OVERFLOW = 0x93
    MORE_DATA = 0x94
    ISO15693_ERROR = 0x95


@dataclass(frozen=True, slots=True)
class FeigFrame:
    address: int
    command: int
    status: int | None
    data: bytes
    advanced: bool = False

    def encode(self) -> bytes:
        body = bytes((self.address, self.command))
        if self.status is not None:
            body += bytes((self.status,))
        body += self.data
        return build_raw(body, advanced=self.advanced)


def build_raw(body: bytes, *, advanced: bool = False) -> bytes:
    """Frame ``COM-ADR | CMD | ...`` with length and CRC (advanced automatically beyond 255 bytes)."""
    if not advanced and len(body) + 3 <= 255:
        frame = bytes((len(body) + 3,)) + body
    else:
        total = len(body) + 5
        if total > 0xFFFF:
            raise ValueError(f"FEIG frame too long: {total} bytes")
        frame = bytes((STX, total >> 8, total & 0xFF)) + body
    return frame + crc16_mcrf4xx(frame).to_bytes(2, "little")


def build_frame(command: int, data: bytes = b"", *, address: int = BROADCAST, advanced: bool = False) -> bytes:
    """A host → reader request."""
    return build_raw(bytes((address, command)) + data, advanced=advanced)


class FeigFrameParser(ResyncParser[FeigFrame]):
    """Incremental, resynchronising frame parser for one direction.

    ``responses=True`` parses reader → host frames (with a status byte). Bytes that cannot start a valid
    frame are dropped and counted in ``discarded``; a complete frame further on wins over a long, still
    incomplete candidate (a garbage length byte cannot stall the stream).
    """

    label = "FEIG"

    def __init__(self, *, responses: bool) -> None:
        super().__init__()
        self.responses = responses
        self._min = 6 if responses else 5

    def _try(self, start: int) -> tuple[FeigFrame, int] | str:
        buf = self.buffer
        avail = len(buf) - start
        if buf[start] == STX:
            if avail < 3:
                return "need"
            size = buf[start + 1] << 8 | buf[start + 2]
            head = 3
            if size < self._min + 2:
                return "bad"
        else:
            size = buf[start]
            head = 1
            if size < self._min:
                return "bad"
        if avail < size:
            return "need"
        frame = bytes(buf[start : start + size])
        if crc16_mcrf4xx(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
            return "bad"
        body = frame[head:-2]
        if self.responses:
            parsed = FeigFrame(body[0], body[1], body[2], body[3:], head == 3)
        else:
            parsed = FeigFrame(body[0], body[1], None, body[2:], head == 3)
        return parsed, size


@dataclass(frozen=True, slots=True)
class BufferRecord:
    """One record of the buffered read mode FIFO."""

    uid: Uid
    antenna: int | None = None
    data: bytes = b""


class FeigReader:
    """Blocking FEIG ISC reader driver over any :class:`~edge.readers.port.Port`."""

    capabilities = frozenset(
        {
            Capability.INVENTORY,
            Capability.INVENTORY_AFI,
            Capability.READ,
            Capability.WRITE,
            Capability.LOCK,
            Capability.AFI,
            Capability.DSFID,
            Capability.EAS,
            Capability.SYSTEM_INFO,
            Capability.OUTPUTS,
            Capability.INPUTS,
            Capability.BUFFERED_READ,
            Capability.CONFIG,
        }
    )

    def __init__(
        self,
        port: Port,
        *,
        address: int = BROADCAST,
        timeout: float = 1.0,
        block_order: str = "msb",
        advanced: bool = False,
        name: str = "feig",
        owns_port: bool = True,
    ) -> None:
        if block_order not in ("msb", "lsb"):
            raise ValueError(f"block_order must be 'msb' or 'lsb', got {block_order!r}")
        if not 0 <= address <= 255:
            raise ValueError(f"FEIG bus address must be 0..255, got {address!r}")
        self.port = port
        self.address = address
        self.timeout = timeout
        self.block_order = block_order
        self.advanced = advanced
        self.name = name
        self._owns_port = owns_port
        self._lock = threading.RLock()
        self._parser = FeigFrameParser(responses=True)
        self._block_sizes: dict[Uid, int] = {}
        self._closed = False
        self.on_close: list[Callable[[], None]] = []

    # -- transport ------------------------------------------------------------------------------------

    def transact(self, command: int, data: bytes = b"") -> FeigFrame:
        """Send one request, return the matching response frame (any status)."""
        frame = build_frame(command, data, address=self.address, advanced=self.advanced)
        with self._lock:
            if self._closed:
                raise ReaderConnectionError(f"{self.name}: reader is closed")
            return exchange(
                self.port,
                self._parser,
                frame,
                matches=lambda r: r.command == command,
                timeout=self.timeout,
                name=self.name,
                label="FEIG",
                what=f"command 0x{command:02X}",
            )

    def _ok(self, command: int, data: bytes = b"", *, accept: tuple[int, ...] = (Status.OK,)) -> FeigFrame:
        response = self.transact(command, data)
        if response.status not in accept:
            raise self._status_error(command, response)
        return response

    def _status_error(self, command: int, response: FeigFrame) -> ReaderStatusError:
        status = response.status if response.status is not None else -1
        try:
            name = Status(status).name
        except ValueError:
            name = "UNKNOWN"
        what = f"{self.name}: command 0x{command:02X} status 0x{status:02X} ({name})"
        if status == Status.NO_TRANSPONDER:
            return NoTagError(what, status=status, data=response.data)
        if status == Status.ISO15693_ERROR:
            code = response.data[0] if response.data else -1
            return TagResponseError(f"{what}, ISO error 0x{code:02X}", status=status, code=code, data=response.data)
        if status in (Status.UNKNOWN_COMMAND, Status.COMMAND_NOT_AVAILABLE):
            return ReaderStatusError(what, status=status, data=response.data)
        return ReaderStatusError(what, status=status, data=response.data)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_port:
                self.port.close()
        for callback in self.on_close:
            callback()

    def __enter__(self) -> FeigReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reader control -------------------------------------------------------------------------------

    def software_version(self) -> bytes:
        return self._ok(Cmd.SOFTWARE_VERSION).data

    def reader_info(self, mode: int = 0) -> bytes:
        return self._ok(Cmd.READER_INFO, bytes((mode,))).data

    def rf_reset(self) -> None:
        self._ok(Cmd.RF_RESET)

    def rf_on(self, on: bool = True) -> None:
        self._ok(Cmd.RF_ON_OFF, bytes((1 if on else 0,)))

    def set_outputs(self, outputs: dict[int, bool], *, hold_100ms: int = 0) -> None:
        """Switch outputs (LEDs, relays, buzzer) on or off; ``hold_100ms`` 0 = until changed."""
        data = bytearray((0x00, len(outputs)))
        for number, on in sorted(outputs.items()):
            data += bytes((number, 1 if on else 0)) + hold_100ms.to_bytes(2, "big")
        self._ok(Cmd.SET_OUTPUT, bytes(data))

    def read_inputs(self) -> dict[int, bool]:
        bits = self._ok(Cmd.GET_INPUT).data
        value = bits[0] if bits else 0
        return {i + 1: bool(value >> i & 1) for i in range(8)}

    def read_config(self, block: int, *, eeprom: bool = False) -> bytes:
        return self._ok(Cmd.READ_CONFIG, bytes((_cfg_adr(block, eeprom),))).data

    def write_config(self, block: int, data: bytes, *, eeprom: bool = False) -> None:
        if len(data) != CFG_BLOCK_SIZE:
            raise ValueError(f"a FEIG configuration block is {CFG_BLOCK_SIZE} bytes, got {len(data)}")
        self._ok(Cmd.WRITE_CONFIG, bytes((_cfg_adr(block, eeprom),)) + data)

    def save_config(self, block: int | None = None) -> None:
        """Copy RAM configuration to EEPROM (one block, or all with ``None``)."""
        adr = 0x40 if block is None else _cfg_adr(block, True)
        self._ok(Cmd.SAVE_CONFIG, bytes((adr,)))

    def default_config(self, block: int | None = None) -> None:
        adr = 0x40 if block is None else _cfg_adr(block, False)
        self._ok(Cmd.DEFAULT_CONFIG, bytes((adr,)))

    # -- ISO 15693 --------------------------------------------------------------------------------------

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        mode = MODE_AFI if afi is not None else 0
        data = bytes((0x01, mode)) + (bytes((afi,)) if afi is not None else b"")
        found: dict[Uid, InventoryResult] = {}
        for _ in range(64):
            response = self.transact(Cmd.ISO_HOST, data)
            if response.status == Status.NO_TRANSPONDER:
                break
            if response.status not in (Status.OK, Status.MORE_DATA):
                raise self._status_error(Cmd.ISO_HOST, response)
            for result in _parse_inventory(response.data):
                found.setdefault(result.uid, result)
            if response.status == Status.OK:
                break
            data = bytes((0x01, mode | MODE_MORE)) + data[2:]
        return list(found.values())

    def _block_size(self, uid: Uid) -> int:
        size = self._block_sizes.get(uid)
        if size is None:
            size = self.system_info(uid).block_size or 4
        return size

    def _order(self, data: bytes, block_size: int) -> bytes:
        if self.block_order == "lsb":
            return data
        return b"".join(data[i : i + block_size][::-1] for i in range(0, len(data), block_size))

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        if count < 1 or first < 0 or first + count > 256:
            raise ValueError(f"bad block range {first}+{count}")
        out = bytearray()
        size = self._block_sizes.get(uid, 4)
        per_call = max(1, MAX_READ_BYTES // size)
        block = first
        while block < first + count:
            n = min(per_call, first + count - block)
            request = bytes((0x23, MODE_ADDRESSED)) + uid.msb + bytes((block, n))
            response = self._ok(Cmd.ISO_HOST, request)
            blocks, size = _parse_read(response.data, n)
            self._block_sizes[uid] = size
            out += self._order(b"".join(blocks), size)
            block += n
            per_call = max(1, MAX_READ_BYTES // size)
        return bytes(out)

    def block_security(self, uid: Uid, first: int, count: int) -> list[int]:
        request = bytes((0x2C, MODE_ADDRESSED)) + uid.msb + bytes((first, count))
        data = self._ok(Cmd.ISO_HOST, request).data
        if not data or data[0] != count or len(data) != 1 + count:
            raise ProtocolError(f"{self.name}: bad block security response {data.hex()}", data=data)
        return list(data[1:])

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        size = self._block_size(uid)
        if not data or len(data) % size:
            raise ValueError(f"write of {len(data)} bytes is not whole {size}-byte blocks")
        per_call = max(1, MAX_READ_BYTES // size)
        count = len(data) // size
        done = 0
        while done < count:
            n = min(per_call, count - done)
            chunk = self._order(data[done * size : (done + n) * size], size)
            request = bytes((0x24, MODE_ADDRESSED)) + uid.msb + bytes((first + done, n, size)) + chunk
            self._ok(Cmd.ISO_HOST, request)
            done += n

    def lock_block(self, uid: Uid, block: int) -> None:
        self._ok(Cmd.ISO_HOST, bytes((0x22, MODE_ADDRESSED)) + uid.msb + bytes((block,)))

    def write_afi(self, uid: Uid, afi: int) -> None:
        self._ok(Cmd.ISO_HOST, bytes((0x27, MODE_ADDRESSED)) + uid.msb + bytes((afi,)))

    def lock_afi(self, uid: Uid) -> None:
        self._ok(Cmd.ISO_HOST, bytes((0x28, MODE_ADDRESSED)) + uid.msb)

    def write_dsfid(self, uid: Uid, dsfid: int) -> None:
        self._ok(Cmd.ISO_HOST, bytes((0x29, MODE_ADDRESSED)) + uid.msb + bytes((dsfid,)))

    def lock_dsfid(self, uid: Uid) -> None:
        self._ok(Cmd.ISO_HOST, bytes((0x2A, MODE_ADDRESSED)) + uid.msb)

    def stay_quiet(self, uid: Uid) -> None:
        self._ok(Cmd.ISO_HOST, bytes((0x02, MODE_ADDRESSED)) + uid.msb)

    def system_info(self, uid: Uid) -> SystemInfo:
        data = self._ok(Cmd.ISO_HOST, bytes((0x2B, MODE_ADDRESSED)) + uid.msb).data
        if len(data) != 13:
            raise ProtocolError(f"{self.name}: system info must be 13 bytes: {data.hex()}", data=data)
        info = SystemInfo(
            uid=Uid.from_msb(data[1:9]),
            dsfid=data[0],
            afi=data[9],
            block_size=(data[10] & 0x1F) + 1,
            block_count=data[11] + 1,
            ic_reference=data[12],
        )
        if info.uid != uid:
            raise ProtocolError(f"{self.name}: system info for {info.uid}, asked {uid}", data=data)
        self._block_sizes[uid] = info.block_size or 4
        return info

    def _nxp(self, code: int, uid: Uid | None) -> FeigFrame:
        mode = MODE_ADDRESSED if uid is not None else 0
        data = bytes((NXP, code, mode)) + (uid.msb if uid is not None else b"")
        return self.transact(Cmd.ISO_CUSTOM, data)

    def _nxp_ok(self, code: int, uid: Uid) -> None:
        response = self._nxp(code, uid)
        if response.status != Status.OK:
            raise self._status_error(Cmd.ISO_CUSTOM, response)

    def set_eas(self, uid: Uid) -> None:
        self._nxp_ok(0xA2, uid)

    def reset_eas(self, uid: Uid) -> None:
        self._nxp_ok(0xA3, uid)

    def lock_eas(self, uid: Uid) -> None:
        self._nxp_ok(0xA4, uid)

    def eas_alarm(self) -> bool:
        """NXP EAS ALARM, non-addressed: any answer (even a collision) means a secured tag is in the field."""
        response = self._nxp(0xA5, None)
        if response.status == Status.OK:
            return True
        if response.status == Status.NO_TRANSPONDER:
            return False
        if response.status in (Status.RF_COMMUNICATION_ERROR, Status.DATA_FALSE):
            return True  # energy but garbled: several secured tags answered at once
        raise self._status_error(Cmd.ISO_CUSTOM, response)

    # -- buffered read mode ---------------------------------------------------------------------------

    def init_buffer(self) -> None:
        self._ok(Cmd.INIT_BUFFER)

    def clear_buffer(self) -> None:
        self._ok(Cmd.CLEAR_BUFFER)

    def buffer_info(self) -> tuple[int, int, int]:
        """(table size, first record, number of records)."""
        data = self._ok(Cmd.BUFFER_INFO).data
        if len(data) != 6:
            raise ProtocolError(f"{self.name}: buffer info must be 6 bytes: {data.hex()}", data=data)
        return (
            int.from_bytes(data[0:2], "big"),
            int.from_bytes(data[2:4], "big"),
            int.from_bytes(data[4:6], "big"),
        )

    def read_buffer(self, max_records: int = 255) -> list[BufferRecord]:
        """Records collected by the reader; empty when none (status 0x92). Clear them with clear_buffer()."""
        response = self._ok(Cmd.READ_BUFFER, max_records.to_bytes(2, "big"), accept=(Status.OK, Status.NO_VALID_DATA))
        if response.status == Status.NO_VALID_DATA:
            return []
        return list(_parse_buffer(response.data))

    def __repr__(self) -> str:
        return f"FeigReader({self.name!r}, address=0x{self.address:02X})"


def _cfg_adr(block: int, eeprom: bool) -> int:
    if not 0 <= block <= 63:
        raise ValueError(f"FEIG configuration block must be 0..63, got {block!r}")
    return block | (0x80 if eeprom else 0)


def _parse_inventory(data: bytes) -> Iterator[InventoryResult]:
    if not data:
        raise ProtocolError("inventory response without DATA-SETS", data=data)
    count = data[0]
    if len(data) != 1 + 10 * count:
        raise ProtocolError(f"inventory response: {count} records in {len(data) - 1} bytes", data=data)
    for i in range(count):
        rec = data[1 + 10 * i : 11 + 10 * i]
        if rec[0] != TR_TYPE_ISO15693:
            continue
        yield InventoryResult(Uid.from_msb(rec[2:10]), dsfid=rec[1])


def _parse_read(data: bytes, expected: int) -> tuple[list[bytes], int]:
    if len(data) < 2:
        raise ProtocolError(f"read response too short: {data.hex()}", data=data)
    count, size = data[0], data[1]
    if count != expected or size < 1 or len(data) != 2 + count * (size + 1):
        raise ProtocolError(f"read response: {count} blocks of {size} in {len(data) - 2} bytes", data=data)
    step = size + 1
    return [data[2 + i * step + 1 : 2 + (i + 1) * step] for i in range(count)], size


def _parse_buffer(data: bytes) -> Iterator[BufferRecord]:
    if len(data) < 3:
        raise ProtocolError(f"read buffer response too short: {data.hex()}", data=data)
    tr_data, count = data[0], int.from_bytes(data[1:3], "big")
    with_ant = bool(tr_data & 0x10)
    step = 8 + (1 if with_ant else 0)
    if len(data) != 3 + count * step:
        raise ProtocolError(f"read buffer: {count} records in {len(data) - 3} bytes", data=data)
    for i in range(count):
        rec = data[3 + i * step : 3 + (i + 1) * step]
        yield BufferRecord(Uid.from_msb(rec[:8]), rec[8] if with_ant else None)
