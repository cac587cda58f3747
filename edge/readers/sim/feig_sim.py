"""The FEIG ISC reader side: turns host frames into ISO 15693 air exchanges with the virtual tags.

Everything the :class:`~edge.readers.feig.FeigReader` driver sends is answered byte for byte as an ID ISC.MR
reader in ISO-host mode would, and every air exchange adds its ISO 15693 air time (the server sleeps it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge.iso15693 import AirTiming, Command, Uid, commands
from edge.iso15693.commands import ResponseFlag
from edge.iso15693.crc import check_crc_x25

from ..feig import CFG_BLOCK_SIZE, MODE_AFI, MODE_MORE, TR_TYPE_ISO15693, FeigFrame, FeigFrameParser, Status
from .field import Faults, TagField

__all__ = ["FeigProtocol", "SOFTWARE_VERSION"]

log = logging.getLogger(__name__)

SOFTWARE_VERSION = bytes.fromhex("030A00754C0003")  # SW-REV 3.10, D-REV 0, HW-TYPE, SW-TYPE 0x4C, TR-TYPE


class FeigProtocol:
    """Reader-side protocol engine (no I/O): ``handle(frame) -> (response bytes | None, air µs)``."""

    name = "feig"

    def __init__(
        self,
        field: TagField,
        faults: Faults,
        timing: Callable[[], AirTiming],
        *,
        address: int = 0x00,
        block_order: str = "msb",
        max_records: int = 24,
    ) -> None:
        self.field = field
        self.faults = faults
        self.timing = timing
        self.address = address
        self.block_order = block_order
        self.max_records = max_records
        self.rf_on = True
        self.outputs: dict[int, int] = {}
        self.inputs = 0
        self.config_ram: dict[int, bytes] = {}
        self.config_eeprom: dict[int, bytes] = {}
        self._more: list[bytes] = []
        self._buffer: list[tuple[Uid, int]] = []
        self._buffer_read = 0
        self._buffer_seen: set[Uid] = set()
        self._air = 0.0

    def parser(self) -> FeigFrameParser:
        return FeigFrameParser(responses=False)

    # -- helpers --------------------------------------------------------------------------------------

    def _reply(self, req: FeigFrame, status: int, data: bytes = b"") -> bytes:
        return FeigFrame(self.address, req.command, status, data, req.advanced).encode()

    def _order(self, data: bytes, size: int) -> bytes:
        if self.block_order == "lsb":
            return data
        return b"".join(data[i : i + size][::-1] for i in range(0, len(data), size))

    def _air_exchange(self, frame: bytes, *, write: bool = False) -> list[bytes]:
        answers = self.field.transceive(frame) if self.rf_on else []
        size = len(answers[0]) if len(answers) == 1 else (12 if answers else None)
        self._air += self.timing().exchange_us(len(frame), size, write=write)
        return answers

    def _one(self, req: FeigFrame, frame: bytes, *, write: bool = False) -> tuple[bytes | None, bytes]:
        """(FEIG error reply or None, tag payload)."""
        answers = self._air_exchange(frame, write=write)
        if not answers:
            return self._reply(req, Status.NO_TRANSPONDER), b""
        if len(answers) > 1 or not check_crc_x25(answers[0]):
            return self._reply(req, Status.RF_COMMUNICATION_ERROR), b""
        body = answers[0][:-2]
        if body[0] & ResponseFlag.ERROR:
            return self._reply(req, Status.ISO15693_ERROR, body[1:2]), b""
        return None, body[1:]

    # -- dispatch -------------------------------------------------------------------------------------

    def handle(self, req: FeigFrame) -> tuple[bytes | None, float]:
        if req.address not in (self.address, 0xFF):
            return None, 0.0
        self._air = 0.0
        if req.command in (0xB0, 0xB1) and self.faults.take("no_tag"):
            return self._reply(req, Status.NO_TRANSPONDER), 0.0
        try:
            response = self._dispatch(req)
        except IndexError:
            response = self._reply(req, Status.LENGTH_ERROR)
        return response, self._air

    def _dispatch(self, req: FeigFrame) -> bytes:  # noqa: C901 - one branch per command
        cmd, d = req.command, req.data
        if cmd in (0x52, 0x63):
            return self._reply(req, Status.OK)
        if cmd == 0x65:
            return self._reply(req, Status.OK, SOFTWARE_VERSION)
        if cmd == 0x66:
            return self._reply(req, Status.OK, SOFTWARE_VERSION + bytes(3))
        if cmd == 0x69:
            self.field.rf_reset()
            return self._reply(req, Status.OK)
        if cmd == 0x6A:
            self.rf_on = bool(d[0] & 1)
            return self._reply(req, Status.OK)
        if cmd == 0x72:
            count = d[1]
            for i in range(count):
                rec = d[2 + 4 * i : 6 + 4 * i]
                self.outputs[rec[0]] = rec[1]
            return self._reply(req, Status.OK)
        if cmd == 0x74:
            return self._reply(req, Status.OK, bytes((self.inputs,)))
        if cmd in (0x80, 0x81, 0x82, 0x83):
            return self._config(req)
        if cmd in (0x22, 0x31, 0x32, 0x33):
            return self._brm(req)
        if cmd == 0xB0:
            return self._iso(req)
        if cmd == 0xB1:
            return self._custom(req)
        return self._reply(req, Status.UNKNOWN_COMMAND)

    def _config(self, req: FeigFrame) -> bytes:
        cmd, d = req.command, req.data
        adr = d[0]
        block, eeprom = adr & 0x3F, bool(adr & 0x80)
        if cmd == 0x80:
            store = self.config_eeprom if eeprom else self.config_ram
            return self._reply(req, Status.OK, store.get(block, bytes(CFG_BLOCK_SIZE)))
        if cmd == 0x81:
            data = d[1:]
            if len(data) != CFG_BLOCK_SIZE:
                return self._reply(req, Status.LENGTH_ERROR)
            self.config_ram[block] = bytes(data)
            if eeprom:
                self.config_eeprom[block] = bytes(data)
            return self._reply(req, Status.OK)
        if cmd == 0x82:
            if adr & 0x40:
                self.config_eeprom.update(self.config_ram)
            elif block in self.config_ram:
                self.config_eeprom[block] = self.config_ram[block]
            return self._reply(req, Status.OK)
        if adr & 0x40:
            self.config_ram.clear()
        else:
            self.config_ram.pop(block, None)
        return self._reply(req, Status.OK)

    def _brm(self, req: FeigFrame) -> bytes:
        cmd = req.command
        self._scan_buffer()
        if cmd == 0x33:
            self._buffer.clear()
            self._buffer_read = 0
            self._buffer_seen.clear()
            return self._reply(req, Status.OK)
        if cmd == 0x32:
            del self._buffer[: self._buffer_read]
            self._buffer_read = 0
            return self._reply(req, Status.OK)
        if cmd == 0x31:
            size = (1024).to_bytes(2, "big")
            return self._reply(req, Status.OK, size + bytes(2) + len(self._buffer).to_bytes(2, "big"))
        wanted = int.from_bytes(req.data[0:2], "big")
        records = self._buffer[self._buffer_read : self._buffer_read + wanted]
        if not records:
            return self._reply(req, Status.NO_VALID_DATA)
        self._buffer_read += len(records)
        out = bytearray((0x11,)) + len(records).to_bytes(2, "big")
        for uid, antenna in records:
            out += uid.msb + bytes((antenna,))
        return self._reply(req, Status.OK, bytes(out))

    def _scan_buffer(self) -> None:
        """The reader's autonomous scan: a record for each tag that arrived since the last scan."""
        uids = [t.uid for t in self.field.present()]
        found, air = self.timing().anticollision(uids)
        self._air += air
        current = set(found)
        for tag in self.field.present():
            if tag.uid in current and tag.uid not in self._buffer_seen:
                self._buffer.append((tag.uid, tag.antenna))
        self._buffer_seen = current

    def _inventory(self, req: FeigFrame) -> bytes:
        mode = req.data[1]
        if mode & MODE_MORE and self._more:
            records, self._more = self._more[: self.max_records], self._more[self.max_records :]
            status = Status.MORE_DATA if self._more else Status.OK
            return self._reply(req, status, bytes((len(records),)) + b"".join(records))
        afi = req.data[2] if mode & MODE_AFI else None
        responders = [t for t in self.field.present() if t.answers_inventory(afi)] if self.rf_on else []
        timing = self.timing()
        found, air = timing.anticollision([t.uid for t in responders], afi)
        if self.faults.take("collision"):
            # keep only the tags a single 16-slot round resolves
            slots: dict[int, list[Uid]] = {}
            for uid in found:
                slots.setdefault(int(uid) & 0xF, []).append(uid)
            found = [u[0] for u in slots.values() if len(u) == 1]
        self._air += air
        if not found:
            return self._reply(req, Status.NO_TRANSPONDER)
        by_uid = {t.uid: t for t in responders}
        records = [bytes((TR_TYPE_ISO15693, by_uid[u].dsfid)) + u.msb for u in found]
        first, self._more = records[: self.max_records], records[self.max_records :]
        status = Status.MORE_DATA if self._more else Status.OK
        return self._reply(req, status, bytes((len(first),)) + b"".join(first))

    def _iso(self, req: FeigFrame) -> bytes:  # noqa: C901 - one branch per sub-command
        d = req.data
        sub, mode = d[0], d[1]
        if sub == 0x01:
            return self._inventory(req)
        adr_mode = mode & 0x07
        uid: Uid | None = None
        pos = 2
        if adr_mode == 1:
            uid = Uid.from_msb(d[2:10])
            if len(d) < 10:
                return self._reply(req, Status.LENGTH_ERROR)
            pos = 10
        elif adr_mode not in (0, 2):
            return self._reply(req, Status.GENERAL_ERROR)
        selected = adr_mode == 2
        p = d[pos:]
        if sub == 0x23:
            first, count = p[0], p[1]
            if count < 1:
                return self._reply(req, Status.LENGTH_ERROR)
            frame = commands.build(
                Command.READ_MULTIPLE_BLOCKS, uid=uid, params=bytes((first, count - 1)), option=True, selected=selected
            )
            error, payload = self._one(req, frame)
            if error:
                return error
            size = len(payload) // count - 1
            out = bytearray((count, size))
            for i in range(count):
                rec = payload[i * (size + 1) : (i + 1) * (size + 1)]
                out += rec[:1] + self._order(rec[1:], size)
            return self._reply(req, Status.OK, bytes(out))
        if sub == 0x24:
            return self._write_multiple(req, uid, selected, p)
        simple: dict[int, tuple[int, bytes, bool]] = {
            0x22: (Command.LOCK_BLOCK, p[:1], True),
            0x25: (Command.SELECT, b"", False),
            0x26: (Command.RESET_TO_READY, b"", False),
            0x27: (Command.WRITE_AFI, p[:1], True),
            0x28: (Command.LOCK_AFI, b"", True),
            0x29: (Command.WRITE_DSFID, p[:1], True),
            0x2A: (Command.LOCK_DSFID, b"", True),
        }
        if sub in simple:
            code, params, write = simple[sub]
            if len(params) != (1 if sub in (0x22, 0x27, 0x29) else 0):
                return self._reply(req, Status.LENGTH_ERROR)
            frame = commands.build(code, uid=uid, params=params, selected=selected)
            error, _ = self._one(req, frame, write=write)
            return error or self._reply(req, Status.OK)
        if sub == 0x02:
            if uid is not None:
                self._air_exchange(commands.stay_quiet(uid))
            return self._reply(req, Status.OK)
        if sub == 0x2B:
            frame = commands.build(Command.GET_SYSTEM_INFO, uid=uid, selected=selected)
            error, payload = self._one(req, frame)
            if error:
                return error
            info = _info(payload)
            return self._reply(req, Status.OK, info)
        if sub == 0x2C:
            first, count = p[0], p[1]
            frame = commands.build(
                Command.GET_BLOCK_SECURITY_STATUS, uid=uid, params=bytes((first, count - 1)), selected=selected
            )
            error, payload = self._one(req, frame)
            return error or self._reply(req, Status.OK, bytes((count,)) + payload)
        return self._reply(req, Status.UNKNOWN_COMMAND)

    def _write_multiple(self, req: FeigFrame, uid: Uid | None, selected: bool, p: bytes) -> bytes:
        first, count, size = p[0], p[1], p[2]
        data = p[3:]
        if count < 1 or size < 1 or len(data) != count * size:
            return self._reply(req, Status.LENGTH_ERROR)
        data = self._order(data, size)
        blocks = [data[i * size : (i + 1) * size] for i in range(count)]
        leave = self.faults.take("leave_mid_write")
        if leave is not None and uid is not None:
            frame = commands.build(
                Command.WRITE_SINGLE_BLOCK, uid=uid, params=bytes((first,)) + blocks[0], selected=selected
            )
            self._one(req, frame, write=True)
            self.field.remove(uid)
            self._air_exchange(
                commands.build(Command.WRITE_SINGLE_BLOCK, uid=uid, params=bytes((first + 1,)) + blocks[-1])
            )
            return self._reply(req, Status.NO_TRANSPONDER)
        if count > 1:
            frame = commands.build(
                Command.WRITE_MULTIPLE_BLOCKS,
                uid=uid,
                params=bytes((first, count - 1)) + data,
                selected=selected,
            )
            error, _ = self._one(req, frame, write=True)
            if error is None:
                return self._reply(req, Status.OK)
            if not (error[3] == Status.ISO15693_ERROR and error[4] == 0x01):
                return error
        for i, blk in enumerate(blocks):  # tag without write-multiple: block by block, as FEIG does
            frame = commands.build(
                Command.WRITE_SINGLE_BLOCK, uid=uid, params=bytes((first + i,)) + blk, selected=selected
            )
            error, _ = self._one(req, frame, write=True)
            if error:
                return error
        return self._reply(req, Status.OK)

    def _custom(self, req: FeigFrame) -> bytes:
        d = req.data
        mfr, code, mode = d[0], d[1], d[2]
        uid = Uid.from_msb(d[3:11]) if mode & 0x07 == 1 else None
        if mode & 0x07 == 1 and len(d) < 11:
            return self._reply(req, Status.LENGTH_ERROR)
        frame = commands.build(code, uid=uid, mfr=mfr)
        if code == Command.NXP_EAS_ALARM:
            answers = self._air_exchange(frame)
            if not answers:
                return self._reply(req, Status.NO_TRANSPONDER)
            if len(answers) > 1:
                return self._reply(req, Status.RF_COMMUNICATION_ERROR)
            return self._reply(req, Status.OK, answers[0][1:-2])
        error, payload = self._one(req, frame, write=code in (0xA2, 0xA3, 0xA4))
        return error or self._reply(req, Status.OK, payload)


def _info(payload: bytes) -> bytes:
    """ISO system-info payload → FEIG layout: DSFID, UID (MSB first), AFI, MEM-SIZE (2), IC-REF."""
    from edge.iso15693 import SystemInfo

    info = SystemInfo.parse(payload)
    mem = bytes((((info.block_size or 4) - 1) & 0x1F, (info.block_count or 1) - 1))
    return bytes((info.dsfid or 0,)) + info.uid.msb + bytes((info.afi or 0,)) + mem + bytes((info.ic_reference or 0,))
