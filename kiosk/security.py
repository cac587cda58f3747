"""Writing an item's security state after the ILS said yes, and reading it back.

Per the site's profile the kiosk uses the AFI (ISO 28560: on loan 0xC2, in stock 0x07 by default), the NXP
EAS bit, or both. The write is retried while the tag stays on the pad; :meth:`SecurityWriter.set_on_loan` /
:meth:`~SecurityWriter.set_in_stock` return a :class:`WriteOutcome`: verified, the tag left the pad (write again
when it is back), or failed although the tag answers (the caller tells the patron and staff; the loan stands).

Verification: the AFI is read back with Get System Information. The EAS bit cannot be read per tag through
the reader port; an EAS write is accepted when the tag acknowledged it, and with ``afi+eas`` the AFI
read-back verifies the tag was written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from edge.iso15693 import Uid
from edge.readers import NoTagError, ReaderError, ReaderTimeoutError, TagReader

log = logging.getLogger(__name__)

__all__ = ["SecurityMode", "SecurityProfile", "SecurityWriter", "WriteOutcome"]


class WriteOutcome(StrEnum):
    VERIFIED = "verified"
    TAG_GONE = "tag_gone"  # the tag stopped answering (lifted off the pad): retry when it is back
    FAILED = "failed"  # the tag answers but the write does not verify

    def __bool__(self) -> bool:
        return self is WriteOutcome.VERIFIED


class SecurityMode(StrEnum):
    AFI = "afi"
    EAS = "eas"
    AFI_EAS = "afi+eas"
    NONE = "none"


@dataclass(frozen=True)
class SecurityProfile:
    mode: SecurityMode = SecurityMode.AFI
    afi_in_stock: int = 0x07
    afi_on_loan: int = 0xC2
    attempts: int = 5
    retry_delay: float = 0.03

    def __post_init__(self) -> None:
        for name in ("afi_in_stock", "afi_on_loan"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be a byte, got {value!r}")
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts!r}")


class SecurityWriter:
    """Sets and verifies the security state of one tag at a time through a :class:`TagReader`."""

    def __init__(self, reader: TagReader, profile: SecurityProfile) -> None:
        self.reader = reader
        self.profile = profile

    def set_on_loan(self, uid: Uid) -> WriteOutcome:
        """Unsecure a tag (checkout). Only call after the ILS lent the item."""
        return self._write(uid, self.profile.afi_on_loan, eas=False)

    def set_in_stock(self, uid: Uid) -> WriteOutcome:
        """Secure a tag (checkin)."""
        return self._write(uid, self.profile.afi_in_stock, eas=True)

    def is_on_loan(self, uid: Uid) -> bool | None:
        """True/False when the AFI says so; None when the mode does not use the AFI or the tag is gone."""
        if self.profile.mode not in (SecurityMode.AFI, SecurityMode.AFI_EAS):
            return None
        try:
            return self.reader.system_info(uid).afi == self.profile.afi_on_loan
        except ReaderError:
            return None

    def _write(self, uid: Uid, afi: int, *, eas: bool) -> WriteOutcome:
        mode = self.profile.mode
        if mode is SecurityMode.NONE:
            return WriteOutcome.VERIFIED
        gone = False
        for attempt in range(1, self.profile.attempts + 1):
            try:
                if mode in (SecurityMode.EAS, SecurityMode.AFI_EAS):
                    if eas:
                        self.reader.set_eas(uid)
                    else:
                        self.reader.reset_eas(uid)
                if mode in (SecurityMode.AFI, SecurityMode.AFI_EAS):
                    self.reader.write_afi(uid, afi)
                    if self.reader.system_info(uid).afi != afi:
                        raise _NotVerified(f"AFI of {uid} reads back wrong")
                return WriteOutcome.VERIFIED
            except (ReaderError, _NotVerified) as exc:
                gone = isinstance(exc, NoTagError | ReaderTimeoutError)
                log.info("security write to %s failed (attempt %d/%d): %s", uid, attempt, self.profile.attempts, exc)
                if attempt < self.profile.attempts:
                    time.sleep(self.profile.retry_delay)
        if gone:
            log.info("tag %s left the pad before its security was written", uid)
            return WriteOutcome.TAG_GONE
        log.warning("security of %s could not be written and verified", uid)
        return WriteOutcome.FAILED


class _NotVerified(Exception):
    pass
