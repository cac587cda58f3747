"""What can go wrong talking to a library system.

::

    IlsError
    ├── IlsUnavailable          cannot connect, connection lost, no reply after the retries (offline)
    ├── IlsLoginRefused         the ACS refused the SC's login (94 with ok = 0)
    └── Sip2ProtocolError
        ├── Sip2FrameError      a frame that cannot be parsed
        └── Sip2ChecksumError   a frame whose AZ does not match
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class IlsError(Exception):
    """Base of every ILS connector error."""


class IlsUnavailable(IlsError):
    """The library system cannot be reached (or does not answer): the kiosk is offline."""


class IlsLoginRefused(IlsError):
    """The SIP2 login was refused: the kiosk's account or password is wrong."""


class Sip2ProtocolError(IlsError):
    """The peer sent something that is not SIP2."""


class Sip2FrameError(Sip2ProtocolError):
    """A frame that cannot be parsed."""


class Sip2ChecksumError(Sip2ProtocolError):
    """A frame with a wrong AZ checksum."""
