"""The kiosk's connector to the library system: a SIP2 client and offline store-and-forward.

Errors (see :mod:`kiosk.ils.errors`)::

    IlsError
    ├── IlsUnavailable
    ├── IlsLoginRefused
    └── Sip2ProtocolError
        ├── Sip2FrameError
        └── Sip2ChecksumError
"""

from .errors import IlsError, IlsLoginRefused, IlsUnavailable, Sip2ChecksumError, Sip2FrameError, Sip2ProtocolError
from .offline import Journal, OfflinePolicy, OutboxJournal, ResilientIls
from .pool import Sip2Pool
from .port import Ils, ItemInfo, LoanResult, PatronInfo, RenewAllResult, ReturnResult
from .sip2 import Sip2Client, Sip2Config

__all__ = [
    "Ils",
    "ItemInfo",
    "LoanResult",
    "PatronInfo",
    "RenewAllResult",
    "ReturnResult",
    "Sip2Client",
    "Sip2Config",
    "Sip2Pool",
    "Journal",
    "OutboxJournal",
    "OfflinePolicy",
    "ResilientIls",
    "IlsError",
    "IlsUnavailable",
    "IlsLoginRefused",
    "Sip2ProtocolError",
    "Sip2FrameError",
    "Sip2ChecksumError",
]
