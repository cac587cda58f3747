"""3M / Bibliotheca Model 210/810 pad protocol driver and frame codec.

Frame (both directions; numbers big-endian, UIDs MSB first)::

    D6 | LEN (2) | CMD | [ERR, responses only] | fields | BCC (2)

LEN counts the bytes after itself (BCC included); BCC = CRC-16/GENIBUS over LEN..fields (start byte excluded),
sent MSB first. 19200 8N1.

Capabilities of this driver:

==========================  ====================================================================
inventory (AFI filter)      0xFE Read Block UID, duplicates removed (the reader may repeat a UID)
read / write blocks         0x02 Read Multiblock (new style) / 0x04 Write Multiblock, 4-byte blocks
lock block, AFI, DSFID      0x08 / 0x09 0x06 0x0A / 0x0B 0x0E 0x0F
EAS                         0x0C EAS Control, 0x03 Check EAS (error 0x06 means EAS off)
system info                 0x0D Tag Info
ISO pass-through            0x14 (the reader adds and checks the air CRC)
outputs / inputs            not available on this pad (UnsupportedOperationError)
==========================  ====================================================================

Error 0x06 ("no transponder") is common on writes at the edge of the field: writes are retried ``retries``
times before NoTagError is raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.iso15693 import SystemInfo, Uid, crc16_genibus

from .base import Capability, InventoryResult
from .errors import (
    NoTagError,
    ProtocolError,
    ReaderConnectionError,
    ReaderStatusError,
    TagResponseError,
    UnsupportedOperationError,
)
from .port import Port, ResyncParser, exchange

__all__ = ["M3Frame", "M3FrameParser", "build_frame", "Bibliotheca810Reader", "ERRORS"]

log = logging.getLogger(__name__)

START = 0xD6
ERRORS: dict[int, str] = {
    0x00: "ok",
    0x02: "not implemented",
    0x06: "no transponder",
    0x0F: "unknown error",
    0x11: "memory not available",
    0x12: "memory locked",
    0x15: "memory not read",
    0x16: "memory not written",
    0x21: "ISO error 01",
    0x22: "ISO error 02",
    0x23: "ISO error 03",
    0x30: "not supported",
    0x31: "option not supported",
    0x32: "parameter error",
    0xFD: "user cancel",
    0xFE: "not enough memory",
}
NO_TAG = 0x06


@dataclass(frozen=True, slots=True)
class M3Frame:
    command: int
    body: bytes  # responses: ERR first

    def encode(self) -> bytes:
        return build_frame(self.command, self.body)


def build_frame(command: int, body: bytes = b"") -> bytes:
    length = 1 + len(body) + 2
    if length > 0xFFFF:
        raise ValueError(f"3M frame too long: {length}")
    head = length.to_bytes(2, "big") + bytes((command,)) + body
    return bytes((START,)) + head + crc16_genibus(head).to_bytes(2, "big")


class M3FrameParser(ResyncParser[M3Frame]):
    """Incremental parser that resynchronises on the 0xD6 start byte after garbage or a bad BCC."""

    label = "3M"

    def _could_start(self, byte: int) -> bool:
        return byte == START

    def _resume_at(self, n: int) -> int:
        nxt = self.buffer.find(START, n)
        return len(self.buffer) if nxt < 0 else nxt

    def _try(self, start: int) -> tuple[M3Frame, int] | str:
        buf = self.buffer
        if buf[start] != START:
            return "bad"
        if len(buf) - start < 3:
            return "need"
        length = buf[start + 1] << 8 | buf[start + 2]
        if length < 3:
            return "bad"
        size = 3 + length
        if len(buf) - start < size:
            return "need"
        frame = bytes(buf[start : start + size])
        if crc16_genibus(frame[1:-2]) != int.from_bytes(frame[-2:], "big"):
            return "bad"
        return M3Frame(frame[3], frame[4:-2]), size


class Bibliotheca810Reader:
    """Blocking 3M/Bibliotheca 810 driver over any :class:`~edge.readers.port.Port`."""

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
            Capability.TRANSPARENT,
        }
    )

    def __init__(
        self,
        port: Port,
        *,
        timeout: float = 1.0,
        retries: int = 5,
        name: str = "3m",
        owns_port: bool = True,
    ) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.name = name
        self._owns_port = owns_port
        self._lock = threading.RLock()
        self._parser = M3FrameParser()
        self._closed = False
        self.on_close: list[Callable[[], None]] = []

    def transact(self, command: int, body: bytes = b"") -> bytes:
        """Send one request; return the response body (ERR first)."""
        frame = build_frame(command, body)
        with self._lock:
            if self._closed:
                raise ReaderConnectionError(f"{self.name}: reader is closed")
            response = exchange(
                self.port,
                self._parser,
                frame,
                matches=lambda r: r.command == command,
                timeout=self.timeout,
                name=self.name,
                label="3M",
                what=f"command 0x{command:02X}",
            )
        if not response.body:
            raise ProtocolError(f"{self.name}: response without error byte", data=frame)
        return response.body

    def _error(self, command: int, body: bytes) -> ReaderStatusError:
        err = body[0]
        what = f"{self.name}: command 0x{command:02X} error 0x{err:02X} ({ERRORS.get(err, 'unknown')})"
        if err == NO_TAG:
            return NoTagError(what, status=err, data=body)
        if err in (0x21, 0x22, 0x23):
            return TagResponseError(what, status=err, code=err - 0x20, data=body)
        if err == 0x12:
            return TagResponseError(what, status=err, code=0x12, data=body)
        return ReaderStatusError(what, status=err, data=body)

    def _ok(self, command: int, body: bytes = b"", *, retry: bool = False) -> bytes:
        attempts = self.retries + 1 if retry else 1
        last = b""
        for attempt in range(attempts):
            last = self.transact(command, body)
            if last[0] == 0x00:
                return last[1:]
            if last[0] != NO_TAG:
                break
            log.debug("3M: command 0x%02X got error 0x06, attempt %d", command, attempt + 1)
        raise self._error(command, last)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_port:
                self.port.close()
        for callback in self.on_close:
            callback()

    def __enter__(self) -> Bibliotheca810Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _expect_uid(self, uid: Uid, data: bytes) -> bytes:
        if data[:8] != uid.msb:
            raise ProtocolError(f"{self.name}: answer for {data[:8].hex()}, asked {uid}", data=data)
        return data[8:]

    # -- commands -------------------------------------------------------------------------------------

    def reader_version(self) -> bytes:
        return self._ok(0x11)

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        body = self.transact(0xFE, bytes((afi or 0, 0x01)))
        if body[0] == NO_TAG:
            return []
        if body[0] != 0:
            raise self._error(0xFE, body)
        if len(body) < 4:
            raise ProtocolError(f"{self.name}: short inventory answer {body.hex()}", data=body)
        count = body[3]
        uids = body[4:]
        if len(uids) != 8 * count:
            raise ProtocolError(f"{self.name}: {count} UIDs in {len(uids)} bytes", data=body)
        seen: dict[Uid, InventoryResult] = {}
        for i in range(count):
            uid = Uid.from_msb(uids[8 * i : 8 * i + 8])
            seen.setdefault(uid, InventoryResult(uid))
        return list(seen.values())

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        out = bytearray()
        block = first
        while block < first + count:
            n = min(32, first + count - block)
            data = self._expect_uid(uid, self._ok(0x02, uid.msb + bytes((block, n, 0x05)), retry=True))
            if len(data) != 2 + 5 * n or data[0] != block or data[1] != n:
                raise ProtocolError(f"{self.name}: bad read answer {data.hex()}", data=data)
            for i in range(n):
                rec = data[2 + 5 * i : 7 + 5 * i]
                if rec[0] > 0x03:
                    raise ReaderStatusError(f"{self.name}: block {block + i} error 0x{rec[0]:02X}", status=rec[0])
                out += rec[1:]
            block += n
        return bytes(out)

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        if not data or len(data) % 4:
            raise ValueError(f"write of {len(data)} bytes is not whole 4-byte blocks")
        count = len(data) // 4
        self._expect_uid(uid, self._ok(0x04, uid.msb + bytes((first, count)) + data, retry=True))

    def lock_block(self, uid: Uid, block: int) -> None:
        self._ok(0x08, uid.msb + bytes((block,)), retry=True)

    def write_afi(self, uid: Uid, afi: int) -> None:
        self._ok(0x09, uid.msb + bytes((afi,)), retry=True)

    def get_afi(self, uid: Uid) -> int:
        data = self._expect_uid(uid, self._ok(0x0A, uid.msb, retry=True))
        return data[0]

    def lock_afi(self, uid: Uid) -> None:
        self._ok(0x06, uid.msb, retry=True)

    def write_dsfid(self, uid: Uid, dsfid: int) -> None:
        self._ok(0x0B, uid.msb + bytes((dsfid,)), retry=True)

    def set_eas(self, uid: Uid) -> None:
        self._ok(0x0C, uid.msb + b"\x01", retry=True)

    def reset_eas(self, uid: Uid) -> None:
        self._ok(0x0C, uid.msb + b"\x00", retry=True)

    def check_eas(self, uid: Uid) -> bool:
        body = self.transact(0x03, uid.msb)
        if body[0] == 0:
            return True
        if body[0] == NO_TAG:
            return False
        raise self._error(0x03, body)

    def eas_alarm(self) -> bool:
        return any(self.check_eas(r.uid) for r in self.inventory())

    def system_info(self, uid: Uid) -> SystemInfo:
        data = self._expect_uid(uid, self._ok(0x0D, uid.msb + b"\x0f", retry=True))
        if len(data) != 6:
            raise ProtocolError(f"{self.name}: tag info must be 6 bytes: {data.hex()}", data=data)
        return SystemInfo(uid, data[1], data[2], data[3] + 1, data[4] + 1, data[5])

    def iso_passthru(self, frame: bytes, receive_size: int, *, control: int = 0) -> bytes:
        """Send an ISO 15693 request (without CRC); returns the tag's answer (without CRC)."""
        body = len(frame).to_bytes(2, "big") + receive_size.to_bytes(2, "big") + control.to_bytes(2, "big")
        return self._ok(0x14, body + frame)

    def set_outputs(self, outputs: dict[int, bool]) -> None:
        raise UnsupportedOperationError(f"{self.name}: the 810 pad has no switchable outputs")

    def read_inputs(self) -> dict[int, bool]:
        raise UnsupportedOperationError(f"{self.name}: the 810 pad has no inputs")

    def __repr__(self) -> str:
        return f"Bibliotheca810Reader({self.name!r})"
