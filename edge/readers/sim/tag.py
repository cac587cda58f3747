"""A virtual ISO 15693 tag (NXP ICODE SLIX-like) that answers air frames exactly as a real one would."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from edge.iso15693 import Command, CrcError, ErrorCode, SystemInfo, TruncatedFrameError, Uid, commands
from edge.iso15693.commands import Request
from edge.tags import LibraryTag
from edge.tags import encode as encode_tag

__all__ = ["VirtualTag", "afi_matches"]

EAS_SEQUENCE = bytes(range(0xE0, 0x100))  # the 256-bit EAS ALARM answer (option flag 0)


def afi_matches(requested: int | None, tag_afi: int) -> bool:
    """ISO 15693 AFI selection: 00 all; X0 family X; 0Y exactly 0Y; XY exactly XY."""
    if requested is None or requested == 0:
        return True
    if requested & 0x0F == 0:
        return tag_afi >> 4 == requested >> 4
    return tag_afi == requested


@dataclass(eq=False)
class VirtualTag:
    """Tag state: UID, memory blocks with locks, AFI, DSFID, EAS, and the ISO 15693 ready/quiet/selected state."""

    uid: Uid
    memory: bytearray = field(default_factory=lambda: bytearray(112))
    block_size: int = 4
    afi: int = 0x00
    dsfid: int = 0x00
    eas: bool = False
    locked_blocks: set[int] = field(default_factory=set)
    afi_locked: bool = False
    dsfid_locked: bool = False
    eas_locked: bool = False
    ic_reference: int = 0x01
    antenna: int = 1
    present: bool = True
    write_multiple: bool = True
    label: str = ""
    state: str = "ready"

    def __post_init__(self) -> None:
        if not 1 <= self.block_size <= 32:
            raise ValueError(f"block size must be 1..32, got {self.block_size!r}")
        self.memory = bytearray(self.memory)
        if len(self.memory) % self.block_size:
            self.memory += bytes(self.block_size - len(self.memory) % self.block_size)
        if not 1 <= self.block_count <= 256:
            raise ValueError(f"a tag has 1..256 blocks, got {self.block_count}")
        self.lock = threading.RLock()

    @classmethod
    def with_item(
        cls,
        uid: Uid | str,
        tag: LibraryTag,
        fmt: str = "iso28560-3",
        *,
        block_count: int = 28,
        block_size: int = 4,
        **kwargs: Any,
    ) -> VirtualTag:
        """A tag programmed with ``tag`` in ``fmt`` (ISO 28560-2 sets DSFID 0x06)."""
        data = encode_tag(tag, fmt, block_size=block_size)
        memory = bytearray(block_count * block_size)
        if len(data) > len(memory):
            raise ValueError(f"{len(data)} bytes of tag data do not fit {block_count} blocks")
        memory[: len(data)] = data
        if fmt == "iso28560-2":
            kwargs.setdefault("dsfid", 0x06)
        real_uid = uid if isinstance(uid, Uid) else Uid.from_hex(uid)
        return cls(real_uid, memory, block_size, **kwargs)

    @property
    def block_count(self) -> int:
        return len(self.memory) // self.block_size

    def system_info(self) -> SystemInfo:
        return SystemInfo(self.uid, self.dsfid, self.afi, self.block_size, self.block_count, self.ic_reference)

    def block(self, n: int) -> bytes:
        return bytes(self.memory[n * self.block_size : (n + 1) * self.block_size])

    def answers_inventory(self, afi: int | None, mask_len: int = 0, mask: int = 0) -> bool:
        if self.state == "quiet" or not afi_matches(afi, self.afi):
            return False
        return int(self.uid) & ((1 << mask_len) - 1) == mask

    def write_block(self, n: int, data: bytes) -> int | None:
        """Write one block; an ISO error code on failure."""
        if not 0 <= n < self.block_count:
            return ErrorCode.BLOCK_NOT_AVAILABLE
        if n in self.locked_blocks:
            return ErrorCode.BLOCK_LOCKED
        if len(data) != self.block_size:
            return ErrorCode.NOT_RECOGNISED
        self.memory[n * self.block_size : (n + 1) * self.block_size] = data
        return None

    def handle(self, frame: bytes) -> bytes | None:
        """Answer a request air frame; None when this tag stays silent."""
        try:
            req = commands.parse_request(frame)
        except (CrcError, TruncatedFrameError):
            return None
        with self.lock:
            return self._handle(req)

    def _handle(self, req: Request) -> bytes | None:
        if req.is_inventory:
            if req.command != Command.INVENTORY:
                return None
            if not self.answers_inventory(req.afi, req.mask_len, req.mask):
                return None
            return commands.response_frame(bytes((self.dsfid,)) + self.uid.lsb)
        if req.uid is not None and req.uid != self.uid:
            return None
        if req.uid is None:
            if req.selected and self.state != "selected":
                return None
            if not req.selected and self.state == "quiet":
                return None
        if req.mfr is not None and req.mfr != self.uid.manufacturer_code:
            return None
        try:
            return self._dispatch(req)
        except IndexError:
            return commands.error_frame(ErrorCode.NOT_RECOGNISED)

    def _dispatch(self, req: Request) -> bytes | None:  # noqa: C901 - one branch per command
        cmd, p = req.command, req.params
        ok = commands.response_frame
        err = commands.error_frame
        if cmd == Command.STAY_QUIET:
            if req.uid is not None:
                self.state = "quiet"
            return None
        if cmd == Command.READ_SINGLE_BLOCK:
            n = p[0]
            if n >= self.block_count:
                return err(ErrorCode.BLOCK_NOT_AVAILABLE)
            sec = bytes((1 if n in self.locked_blocks else 0,)) if req.option else b""
            return ok(sec + self.block(n))
        if cmd == Command.READ_MULTIPLE_BLOCKS:
            first, count = p[0], p[1] + 1
            if first + count > self.block_count:
                return err(ErrorCode.BLOCK_NOT_AVAILABLE)
            out = bytearray()
            for n in range(first, first + count):
                if req.option:
                    out.append(1 if n in self.locked_blocks else 0)
                out += self.block(n)
            return ok(bytes(out))
        if cmd == Command.WRITE_SINGLE_BLOCK:
            code = self.write_block(p[0], p[1:])
            return err(code) if code is not None else ok()
        if cmd == Command.WRITE_MULTIPLE_BLOCKS:
            if not self.write_multiple:
                return err(ErrorCode.NOT_SUPPORTED)
            first, count = p[0], p[1] + 1
            data = p[2:]
            if len(data) != count * self.block_size:
                return err(ErrorCode.NOT_RECOGNISED)
            if first + count > self.block_count:
                return err(ErrorCode.BLOCK_NOT_AVAILABLE)
            if any(n in self.locked_blocks for n in range(first, first + count)):
                return err(ErrorCode.BLOCK_LOCKED)
            for i in range(count):
                self.write_block(first + i, data[i * self.block_size : (i + 1) * self.block_size])
            return ok()
        if cmd == Command.LOCK_BLOCK:
            n = p[0]
            if n >= self.block_count:
                return err(ErrorCode.BLOCK_NOT_AVAILABLE)
            if n in self.locked_blocks:
                return err(ErrorCode.BLOCK_ALREADY_LOCKED)
            self.locked_blocks.add(n)
            return ok()
        if cmd == Command.SELECT:
            if req.uid is None:
                return err(ErrorCode.NOT_RECOGNISED)
            self.state = "selected"
            return ok()
        if cmd == Command.RESET_TO_READY:
            self.state = "ready"
            return ok()
        if cmd == Command.WRITE_AFI:
            if self.afi_locked:
                return err(ErrorCode.BLOCK_LOCKED)
            self.afi = p[0]
            return ok()
        if cmd == Command.LOCK_AFI:
            if self.afi_locked:
                return err(ErrorCode.BLOCK_ALREADY_LOCKED)
            self.afi_locked = True
            return ok()
        if cmd == Command.WRITE_DSFID:
            if self.dsfid_locked:
                return err(ErrorCode.BLOCK_LOCKED)
            self.dsfid = p[0]
            return ok()
        if cmd == Command.LOCK_DSFID:
            if self.dsfid_locked:
                return err(ErrorCode.BLOCK_ALREADY_LOCKED)
            self.dsfid_locked = True
            return ok()
        if cmd == Command.GET_SYSTEM_INFO:
            return ok(self.system_info().to_payload())
        if cmd == Command.GET_BLOCK_SECURITY_STATUS:
            first, count = p[0], p[1] + 1
            if first + count > self.block_count:
                return err(ErrorCode.BLOCK_NOT_AVAILABLE)
            return ok(bytes(1 if n in self.locked_blocks else 0 for n in range(first, first + count)))
        if cmd in (Command.NXP_SET_EAS, Command.NXP_RESET_EAS, Command.NXP_LOCK_EAS):
            if self.eas_locked:
                return err(ErrorCode.BLOCK_LOCKED)
            if cmd == Command.NXP_LOCK_EAS:
                self.eas_locked = True
            else:
                self.eas = cmd == Command.NXP_SET_EAS
            return ok()
        if cmd == Command.NXP_EAS_ALARM:
            return ok(EAS_SEQUENCE) if self.eas else None
        return err(ErrorCode.NOT_SUPPORTED) if req.uid is not None else None

    def to_json(self) -> dict[str, Any]:
        """The tag-file representation (see docs/rfid.md)."""
        return {
            "uid": self.uid.hex,
            "afi": f"{self.afi:02X}",
            "dsfid": f"{self.dsfid:02X}",
            "eas": self.eas,
            "block_size": self.block_size,
            "block_count": self.block_count,
            "memory": bytes(self.memory).hex().upper(),
            "locked_blocks": sorted(self.locked_blocks),
            "afi_locked": self.afi_locked,
            "present": self.present,
            "antenna": self.antenna,
            "label": self.label,
        }
