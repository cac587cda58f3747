"""ISO 15693 Get System Information: the tag's DSFID, AFI, memory size and IC reference."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TruncatedFrameError
from .uid import Uid

__all__ = ["SystemInfo", "INFO_DSFID", "INFO_AFI", "INFO_MEMORY", "INFO_IC_REF"]

INFO_DSFID = 0x01
INFO_AFI = 0x02
INFO_MEMORY = 0x04
INFO_IC_REF = 0x08


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """What a tag says about itself; fields the tag did not report are None."""

    uid: Uid
    dsfid: int | None = None
    afi: int | None = None
    block_size: int | None = None
    block_count: int | None = None
    ic_reference: int | None = None

    @property
    def info_flags(self) -> int:
        flags = 0
        if self.dsfid is not None:
            flags |= INFO_DSFID
        if self.afi is not None:
            flags |= INFO_AFI
        if self.block_size is not None and self.block_count is not None:
            flags |= INFO_MEMORY
        if self.ic_reference is not None:
            flags |= INFO_IC_REF
        return flags

    @property
    def memory_size(self) -> int | None:
        if self.block_size is None or self.block_count is None:
            return None
        return self.block_size * self.block_count

    @classmethod
    def parse(cls, payload: bytes) -> SystemInfo:
        """Parse the response payload after the response flags: ``info flags, UID (LSB first), ...``."""
        if len(payload) < 9:
            raise TruncatedFrameError(f"system info too short: {payload.hex()}", data=payload)
        flags = payload[0]
        uid = Uid.from_lsb(payload[1:9])
        pos = 9
        need = 9 + bool(flags & INFO_DSFID) + bool(flags & INFO_AFI) + 2 * bool(flags & INFO_MEMORY)
        need += bool(flags & INFO_IC_REF)
        if len(payload) < need:
            raise TruncatedFrameError(
                f"system info with flags 0x{flags:02X} needs {need} bytes: {payload.hex()}", data=payload
            )
        dsfid = afi = block_size = block_count = ic_ref = None
        if flags & INFO_DSFID:
            dsfid = payload[pos]
            pos += 1
        if flags & INFO_AFI:
            afi = payload[pos]
            pos += 1
        if flags & INFO_MEMORY:
            block_count = payload[pos] + 1
            block_size = (payload[pos + 1] & 0x1F) + 1
            pos += 2
        if flags & INFO_IC_REF:
            ic_ref = payload[pos]
        return cls(uid, dsfid, afi, block_size, block_count, ic_ref)

    def to_payload(self) -> bytes:
        out = bytearray((self.info_flags,)) + self.uid.lsb
        if self.dsfid is not None:
            out.append(self.dsfid)
        if self.afi is not None:
            out.append(self.afi)
        if self.block_size is not None and self.block_count is not None:
            out += bytes((self.block_count - 1, (self.block_size - 1) & 0x1F))
        if self.ic_reference is not None:
            out.append(self.ic_reference)
        return bytes(out)
