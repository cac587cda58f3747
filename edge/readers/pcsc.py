"""PC/SC readers through pyscard: ISO 15693 tags by transparent exchange, patron cards by UID.

``pyscard`` is imported lazily, so ``import edge.readers`` works without it.

Tag reader (:class:`PcscTagReader`), PC/SC 2.02 part 3 transparent exchange (``FF C2``), as ACS ACR1552U
readers implement it::

    start session     FF C2 00 00 02 81 00                 → C0 03 00 90 00, 90 00
    switch to 15693   FF C2 00 02 04 8F 02 02 03           → C0 03 00 90 00 8F 01 00, 90 00
    transceive        FF C2 00 01 Lc [5F46 04 timer-µs-LE] 95 len <ISO frame without CRC>
                      → C0 03 00 90 00 92 01 00 96 02 00 00 97 len <answer without CRC>, 90 00
                        C0 03 01 64 01 = no answer (timeout), C0 03 01 64 02 = collision (this project's
                        convention, used by the virtual card; real readers report garbled frames differently)

==========================  ==================================================================
inventory                   1-slot inventories with a growing mask (binary tree on collisions)
read / write blocks         ISO 0x23 read multiple; 0x21 write single per block (1 s timer TLV)
AFI, EAS, system info       ISO 0x27; NXP 0xA2/0xA3/0xA5; ISO 0x2B
outputs / inputs            no (UnsupportedOperationError)
==========================  ==================================================================

Card reader (:class:`PcscCardReader`): ``FF CA 00 00 00`` returns the UID; a UID ending in ``E0`` is an ISO
15693 UID sent LSB first and is turned around.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from edge.iso15693 import SystemInfo, TagError, Uid, commands

from .base import Capability, InventoryResult, PatronCardPresented
from .errors import (
    NoTagError,
    ProtocolError,
    ReaderConnectionError,
    ReaderError,
    ReaderStatusError,
    TagResponseError,
    UnsupportedOperationError,
)

__all__ = ["PcscTagReader", "PcscCardReader", "parse_tlvs", "list_readers", "normalise_uid"]

log = logging.getLogger(__name__)

GET_UID = [0xFF, 0xCA, 0x00, 0x00, 0x00]
START_SESSION = [0xFF, 0xC2, 0x00, 0x00, 0x02, 0x81, 0x00]
END_SESSION = [0xFF, 0xC2, 0x00, 0x00, 0x02, 0x82, 0x00]
SWITCH_15693 = [0xFF, 0xC2, 0x00, 0x02, 0x04, 0x8F, 0x02, 0x02, 0x03]
NO_ANSWER = bytes((0x01, 0x64, 0x01))
COLLISION = bytes((0x01, 0x64, 0x02))


def _smartcard() -> Any:
    try:
        import smartcard.Exceptions
        import smartcard.System
    except ImportError as exc:
        raise ReaderConnectionError("PC/SC needs pyscard: pip install 'thuvien-rfid[pcsc]'") from exc
    return smartcard


def _readers() -> list[Any]:
    """pyscard's reader objects; a missing or unreachable pcscd is a ReaderConnectionError."""
    sc = _smartcard()
    import smartcard.pcsc.PCSCExceptions as pcsc_errors

    try:
        return list(sc.System.readers())
    except (sc.Exceptions.SmartcardException, pcsc_errors.BaseSCardException) as exc:
        raise ReaderConnectionError(f"PC/SC service not available: {exc}") from exc


def list_readers() -> list[str]:
    return [str(r) for r in _readers()]


def parse_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """BER-TLV objects of a transparent-exchange answer (one- or two-byte tags, short or 81/82 lengths)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag & 0x1F == 0x1F:
            if pos >= len(data):
                raise ProtocolError(f"TLV tag cut short: {data.hex()}", data=data)
            tag = tag << 8 | data[pos]
            pos += 1
        if pos >= len(data):
            raise ProtocolError(f"TLV without length: {data.hex()}", data=data)
        length = data[pos]
        pos += 1
        if length in (0x81, 0x82):
            n = length - 0x80
            length = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        if pos + length > len(data):
            raise ProtocolError(f"TLV value cut short: {data.hex()}", data=data)
        out.append((tag, bytes(data[pos : pos + length])))
        pos += length
    return out


def normalise_uid(raw: bytes) -> bytes:
    """MSB-first UID bytes: ISO 15693 UIDs come LSB first from PC/SC (their last byte is 0xE0)."""
    return raw[::-1] if len(raw) == 8 and raw[-1] == 0xE0 else raw


class _Connection:
    """One pyscard connection to the first reader whose name contains ``name``."""

    def __init__(self, name: str | None) -> None:
        self.name_filter = name
        self.reader_name = ""
        self._conn: Any = None

    def connect(self) -> None:
        sc = _smartcard()
        readers = _readers()
        chosen = [r for r in readers if self.name_filter is None or self.name_filter in str(r)]
        if not chosen:
            names = [str(r) for r in readers]
            raise ReaderConnectionError(f"no PC/SC reader matching {self.name_filter!r} among {names}")
        reader = chosen[0]
        conn = reader.createConnection()
        try:
            conn.connect()
        except sc.Exceptions.NoCardException as exc:
            raise NoTagError(f"{reader}: no card on the reader", status=-1) from exc
        except sc.Exceptions.CardConnectionException as exc:
            raise ReaderConnectionError(f"{reader}: cannot connect: {exc}") from exc
        self._conn = conn
        self.reader_name = str(reader)

    def transmit(self, apdu: Sequence[int]) -> tuple[bytes, int, int]:
        sc = _smartcard()
        if self._conn is None:
            self.connect()
        try:
            data, sw1, sw2 = self._conn.transmit(list(apdu))
        except sc.Exceptions.CardConnectionException as exc:
            self.disconnect()
            raise ReaderConnectionError(f"{self.reader_name}: transmit failed: {exc}") from exc
        log.log(5, "PC/SC %s -> %s %02X%02X", bytes(apdu), bytes(data), sw1, sw2)
        return bytes(data), sw1, sw2

    def disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.disconnect()
            except Exception:  # noqa: BLE001 - pyscard raises assorted errors on a vanished card
                log.debug("PC/SC disconnect failed", exc_info=True)
            self._conn = None


class PcscTagReader:
    """ISO 15693 tags on a PC/SC reader with transparent exchange (one field, no antennas)."""

    capabilities = frozenset(
        {
            Capability.INVENTORY,
            Capability.INVENTORY_AFI,
            Capability.READ,
            Capability.WRITE,
            Capability.AFI,
            Capability.EAS,
            Capability.SYSTEM_INFO,
            Capability.TRANSPARENT,
        }
    )

    def __init__(self, reader_name: str | None = None, *, write_timer_us: int = 1_000_000) -> None:
        self.name = f"pcsc:{reader_name or '*'}"
        self._conn = _Connection(reader_name)
        self._lock = threading.RLock()
        self._session = False
        self.write_timer_us = write_timer_us

    def _open_session(self) -> None:
        if self._session:
            return
        for apdu in (START_SESSION, SWITCH_15693):
            data, sw1, sw2 = self._conn.transmit(apdu)
            if (sw1, sw2) != (0x90, 0x00):
                raise ReaderStatusError(f"{self.name}: session set-up failed {sw1:02X}{sw2:02X}", status=sw1)
        self._session = True

    def transceive(self, frame: bytes, *, timer_us: int | None = None) -> bytes:
        """Send an ISO 15693 request (without CRC); return the answer (flags first, without CRC)."""
        with self._lock:
            self._open_session()
            body = b""
            if timer_us is not None:
                body += bytes((0x5F, 0x46, 0x04)) + timer_us.to_bytes(4, "little")
            body += bytes((0x95, len(frame))) + frame
            data, sw1, sw2 = self._conn.transmit([0xFF, 0xC2, 0x00, 0x01, len(body), *body])
        if (sw1, sw2) != (0x90, 0x00):
            raise ReaderStatusError(f"{self.name}: transparent exchange status {sw1:02X}{sw2:02X}", status=sw1)
        objects = dict(parse_tlvs(data))
        status = objects.get(0xC0, b"")
        if status in (NO_ANSWER,):
            raise NoTagError(f"{self.name}: no tag answered", status=0x64, data=data)
        if status == COLLISION:
            raise _Collision(f"{self.name}: collision", data=data)
        if len(status) != 3 or status[0] != 0:
            raise ReaderStatusError(f"{self.name}: transparent exchange error {status.hex()}", status=-1, data=data)
        answer = objects.get(0x97)
        if answer is None:
            raise ProtocolError(f"{self.name}: no card response object in {data.hex()}", data=data)
        return answer

    def _command(self, frame: bytes, *, timer_us: int | None = None) -> bytes:
        answer = self.transceive(frame[:-2], timer_us=timer_us)
        try:
            return commands.parse_response_body(answer)
        except TagError as exc:
            raise TagResponseError(str(exc), status=0x95, code=exc.code, data=answer) from exc

    def uid(self) -> Uid:
        """UID of the card/tag on the reader through ``FF CA``."""
        with self._lock:
            data, sw1, sw2 = self._conn.transmit(GET_UID)
        if (sw1, sw2) != (0x90, 0x00) or len(data) != 8:
            raise ReaderStatusError(f"{self.name}: GET DATA UID failed {sw1:02X}{sw2:02X}", status=sw1)
        return Uid.from_msb(normalise_uid(data))

    def inventory(self, afi: int | None = None) -> list[InventoryResult]:
        found: list[InventoryResult] = []
        pending = [(0, 0)]
        while pending:
            mask_len, mask = pending.pop()
            try:
                answer = self._command(commands.inventory(afi, one_slot=True, mask_len=mask_len, mask=mask))
            except NoTagError:
                continue
            except _Collision:
                if mask_len < 64:
                    pending.append((mask_len + 1, mask | 1 << mask_len))
                    pending.append((mask_len + 1, mask))
                continue
            dsfid, uid = commands.parse_inventory_response(answer)
            found.append(InventoryResult(uid, dsfid))
        return found

    def read_blocks(self, uid: Uid, first: int, count: int) -> bytes:
        out = bytearray()
        block = first
        while block < first + count:
            n = min(32, first + count - block)
            out += self._command(commands.read_multiple_blocks(block, n, uid))
            block += n
        return bytes(out)

    def write_blocks(self, uid: Uid, first: int, data: bytes) -> None:
        size = self.system_info(uid).block_size or 4
        if not data or len(data) % size:
            raise ValueError(f"write of {len(data)} bytes is not whole {size}-byte blocks")
        for i in range(len(data) // size):
            frame = commands.write_single_block(first + i, data[i * size : (i + 1) * size], uid)
            self._command(frame, timer_us=self.write_timer_us)

    def write_afi(self, uid: Uid, afi: int) -> None:
        self._command(commands.write_afi(afi, uid), timer_us=self.write_timer_us)

    def set_eas(self, uid: Uid) -> None:
        self._command(commands.set_eas(uid), timer_us=self.write_timer_us)

    def reset_eas(self, uid: Uid) -> None:
        self._command(commands.reset_eas(uid), timer_us=self.write_timer_us)

    def eas_alarm(self) -> bool:
        try:
            self._command(commands.eas_alarm())
        except NoTagError:
            return False
        except _Collision:
            return True
        return True

    def system_info(self, uid: Uid) -> SystemInfo:
        return SystemInfo.parse(self._command(commands.get_system_info(uid)))

    def set_outputs(self, outputs: dict[int, bool]) -> None:
        raise UnsupportedOperationError(f"{self.name}: PC/SC readers have no switchable outputs here")

    def read_inputs(self) -> dict[int, bool]:
        raise UnsupportedOperationError(f"{self.name}: PC/SC readers have no inputs here")

    def close(self) -> None:
        with self._lock:
            if self._session:
                try:
                    self._conn.transmit(END_SESSION)
                except ReaderError:
                    pass
                self._session = False
            self._conn.disconnect()


class _Collision(ReaderError):
    """Several tags answered a 1-slot inventory at once."""


class PcscCardReader:
    """Patron cards on a PC/SC reader: one :class:`PatronCardPresented` per card placed."""

    def __init__(self, reader_name: str | None = None, *, poll_interval: float = 0.2) -> None:
        self.name = f"pcsc:{reader_name or '*'}"
        self.reader_name = reader_name
        self.poll_interval = poll_interval
        self._last: bytes | None = None
        self._closed = threading.Event()

    def _probe(self) -> bytes | None:
        conn = _Connection(self.reader_name)
        try:
            conn.connect()
            data, sw1, sw2 = conn.transmit(GET_UID)
        except (NoTagError, ReaderConnectionError):
            return None
        finally:
            conn.disconnect()
        if (sw1, sw2) != (0x90, 0x00) or not data:
            return None
        return normalise_uid(data)

    def wait_for_card(self, timeout: float | None = None) -> PatronCardPresented | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed.is_set():
            uid = self._probe()
            if uid is None:
                self._last = None
            elif uid != self._last:
                self._last = uid
                card = Uid.from_msb(uid) if len(uid) == 8 and uid[0] == 0xE0 else None
                return PatronCardPresented(uid.hex().upper(), "pcsc", card, self.name)
            if deadline is not None and time.monotonic() >= deadline:
                return None
            self._closed.wait(self.poll_interval)
        return None

    def close(self) -> None:
        self._closed.set()
