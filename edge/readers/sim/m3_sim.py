"""The 3M/Bibliotheca 810 reader side: D6 frames in, ISO 15693 air exchanges with the virtual tags."""

from __future__ import annotations

from collections.abc import Callable

from edge.iso15693 import AirTiming, Command, SystemInfo, Uid, commands
from edge.iso15693.commands import ResponseFlag
from edge.iso15693.crc import append_crc_x25, check_crc_x25

from ..bibliotheca810 import M3Frame, M3FrameParser
from .field import Faults, TagField

__all__ = ["M3Protocol", "READER_VERSION"]

READER_VERSION = bytes.fromhex("0A0502")
_ISO_TO_3M = {0x01: 0x21, 0x02: 0x22, 0x03: 0x23, 0x10: 0x11, 0x11: 0x12, 0x12: 0x12}


class M3Protocol:
    """Reader-side engine for the 3M protocol: ``handle(frame) -> (response bytes | None, air µs)``."""

    name = "3m"

    def __init__(self, field: TagField, faults: Faults, timing: Callable[[], AirTiming]) -> None:
        self.field = field
        self.faults = faults
        self.timing = timing
        self._air = 0.0

    def parser(self) -> M3FrameParser:
        return M3FrameParser()

    def _reply(self, req: M3Frame, err: int, data: bytes = b"") -> bytes:
        return M3Frame(req.command, bytes((err,)) + data).encode()

    def _exchange(self, frame: bytes, *, write: bool = False) -> tuple[int, bytes]:
        """(3M error code, tag payload after the flags byte)."""
        answers = self.field.transceive(frame)
        size = len(answers[0]) if len(answers) == 1 else (12 if answers else None)
        self._air += self.timing().exchange_us(len(frame), size, write=write)
        if not answers:
            return 0x06, b""
        if len(answers) > 1 or not check_crc_x25(answers[0]):
            return 0x0F, b""
        body = answers[0][:-2]
        if body[0] & ResponseFlag.ERROR:
            return _ISO_TO_3M.get(body[1], 0x0F), b""
        return 0x00, body[1:]

    def handle(self, req: M3Frame) -> tuple[bytes | None, float]:
        self._air = 0.0
        if req.command != 0x11 and self.faults.take("no_tag"):
            return self._reply(req, 0x06), 0.0
        try:
            return self._dispatch(req), self._air
        except IndexError:
            return self._reply(req, 0x32), self._air

    def _dispatch(self, req: M3Frame) -> bytes:  # noqa: C901 - one branch per command
        cmd, b = req.command, req.body
        if cmd == 0x11:
            return self._reply(req, 0x00, READER_VERSION)
        if cmd == 0xFE:
            return self._inventory(req)
        if cmd == 0x14:
            send, _receive = int.from_bytes(b[0:2], "big"), int.from_bytes(b[2:4], "big")
            frame = bytes(b[6 : 6 + send])
            if len(frame) != send or len(frame) < 2:
                return self._reply(req, 0x32)
            answers = self.field.transceive(append_crc_x25(frame))
            size = len(answers[0]) if len(answers) == 1 else None
            self._air += self.timing().exchange_us(len(frame) + 2, size)
            if not answers:
                return self._reply(req, 0x06)
            if len(answers) > 1:
                return self._reply(req, 0x0F)
            return self._reply(req, 0x00, answers[0][:-2])
        if len(b) < 8:
            return self._reply(req, 0x32)
        uid = Uid.from_msb(b[:8])
        p = b[8:]
        if cmd == 0x02:
            first, count = p[0], p[1]
            if count < 1:
                return self._reply(req, 0x32)
            frame = commands.read_multiple_blocks(first, count, uid, option=True)
            err, payload = self._exchange(frame)
            if err:
                return self._reply(req, err, uid.msb)
            if len(payload) != 5 * count:
                return self._reply(req, 0x31, uid.msb)  # only 4-byte blocks on this reader
            return self._reply(req, 0x00, uid.msb + bytes((first, count)) + payload)
        if cmd in (0x04, 0x05, 0x07):
            return self._write(req, uid, p)
        if cmd == 0x03:
            frame = commands.build(Command.NXP_EAS_ALARM, uid=uid, mfr=uid.manufacturer_code)
            err, _ = self._exchange(frame)
            return self._reply(req, 0x00 if err == 0 else 0x06, uid.msb)
        if cmd == 0x0C:
            eas_code = Command.NXP_SET_EAS if p[0] else Command.NXP_RESET_EAS
            err, _ = self._exchange(commands.build(eas_code, uid=uid, mfr=0x04), write=True)
            return self._reply(req, err, uid.msb)
        if cmd in (0x0A, 0x0D, 0x0F):
            err, payload = self._exchange(commands.get_system_info(uid))
            if err:
                return self._reply(req, err, uid.msb)
            info = SystemInfo.parse(payload)
            if cmd == 0x0A:
                return self._reply(req, 0x00, uid.msb + bytes((info.afi or 0,)))
            if cmd == 0x0F:
                return self._reply(req, 0x00, uid.msb + bytes((info.dsfid or 0,)))
            mem = bytes(((info.block_size or 4) - 1, (info.block_count or 1) - 1))
            data = bytes((p[0] if p else 0x0F, info.dsfid or 0, info.afi or 0)) + mem + bytes((info.ic_reference or 0,))
            return self._reply(req, 0x00, uid.msb + data)
        simple: dict[int, tuple[int, bytes]] = {
            0x01: (Command.STAY_QUIET, b""),
            0x08: (Command.LOCK_BLOCK, p[:1]),
            0x09: (Command.WRITE_AFI, p[:1]),
            0x06: (Command.LOCK_AFI, b""),
            0x0B: (Command.WRITE_DSFID, p[:1]),
            0x0E: (Command.LOCK_DSFID, b""),
        }
        if cmd in simple:
            code, params = simple[cmd]
            if cmd == 0x01:
                self._exchange(commands.stay_quiet(uid))
                return self._reply(req, 0x00, uid.msb)
            err, _ = self._exchange(commands.build(code, uid=uid, params=params), write=True)
            return self._reply(req, err, uid.msb)
        return self._reply(req, 0x02)

    def _inventory(self, req: M3Frame) -> bytes:
        afi, options = req.body[0], req.body[1]
        responders = [t for t in self.field.present() if t.answers_inventory(afi or None)]
        found, air = self.timing().anticollision([t.uid for t in responders], afi or None)
        self._air += air
        if not found:
            return self._reply(req, 0x06, bytes((afi, options, 0)))
        return self._reply(req, 0x00, bytes((afi, options, len(found))) + b"".join(u.msb for u in found))

    def _write(self, req: M3Frame, uid: Uid, p: bytes) -> bytes:
        if req.command == 0x04:
            first, count, data = p[0], p[1], p[2:]
        else:
            first, count, data = p[0], 1, p[1:]
        if count < 1 or len(data) != 4 * count:
            return self._reply(req, 0x32, uid.msb)
        if self.faults.take("leave_mid_write"):
            self._exchange(commands.write_single_block(first, data[:4], uid), write=True)
            self.field.remove(uid)
            return self._reply(req, 0x06, uid.msb)
        for i in range(count):
            err, _ = self._exchange(commands.write_single_block(first + i, data[4 * i : 4 * i + 4], uid), write=True)
            if err:
                return self._reply(req, err, uid.msb)
        if req.command == 0x07:
            for i in range(count):
                self._exchange(commands.lock_block(first + i, uid), write=True)
        return self._reply(req, 0x00, uid.msb)
