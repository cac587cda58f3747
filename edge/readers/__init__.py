"""RFID reader drivers behind one typed port, transports chosen by URL, and the reader simulator.

Only this package imports ``serial`` (lazily, in :mod:`.transport`) and ``smartcard`` (lazily, in
:mod:`.pcsc`). Errors (see :mod:`edge.readers.errors`)::

    ReaderError
    ├── ReaderConnectionError      unplugged
    ├── ReaderTimeoutError         connected but silent
    ├── ProtocolError
    ├── ReaderStatusError (.status)
    │   ├── NoTagError
    │   └── TagResponseError (.code)
    ├── UnsupportedOperationError
    └── ReaderUrlError
"""

from .base import (
    Capability,
    CardReader,
    InventoryResult,
    PatronCardPresented,
    PresenceTracker,
    ReaderState,
    TagLeft,
    TagReader,
    TagSeen,
    read_library_tag,
)
from .errors import (
    NoTagError,
    ProtocolError,
    ReaderConnectionError,
    ReaderError,
    ReaderStatusError,
    ReaderTimeoutError,
    ReaderUrlError,
    TagResponseError,
    UnsupportedOperationError,
)
from .reconnect import ReconnectingReader
from .transport import open_reader, parse_url
from .wedge import WedgeCardReader

__all__ = [
    "Capability",
    "CardReader",
    "InventoryResult",
    "PatronCardPresented",
    "PresenceTracker",
    "ReaderState",
    "TagLeft",
    "TagReader",
    "TagSeen",
    "read_library_tag",
    "open_reader",
    "WedgeCardReader",
    "ReconnectingReader",
    "parse_url",
    "ReaderError",
    "ReaderConnectionError",
    "ReaderTimeoutError",
    "ProtocolError",
    "ReaderStatusError",
    "NoTagError",
    "TagResponseError",
    "UnsupportedOperationError",
    "ReaderUrlError",
]
