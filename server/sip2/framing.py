"""Cutting a TCP byte stream into SIP2 frames: buffer to CR, accept CRLF, cap the size, spot NULs.

:class:`FrameBuffer` is fed whatever ``read()`` returned (half a frame, three frames, a frame and a half)
and hands back complete frames without their terminator. A frame longer than the cap is reported once as
:class:`Oversized` as soon as the cap is passed and dropped up to its CR; a frame containing NUL is
reported as :class:`BadBytes`.
Nothing here raises on input: every byte sequence produces frames or events.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

TLS_HANDSHAKE = 0x16


@dataclass(frozen=True)
class Oversized:
    """A frame went past the size cap (``size`` bytes seen so far); it is dropped up to its CR."""

    size: int


@dataclass(frozen=True)
class BadBytes:
    """A frame contained bytes SIP2 forbids (NUL)."""

    frame: bytes


Event = bytes | Oversized | BadBytes


class FrameBuffer:
    """Incremental SIP2 framer (one per connection)."""

    def __init__(self, max_frame_bytes: int = 8192) -> None:
        if max_frame_bytes < 16:
            raise ValueError(f"frame cap too small: {max_frame_bytes!r}")
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._discarding = False  # inside an oversized frame, dropping bytes up to its CR

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        start = 0
        while start < len(data):
            end = data.find(b"\r", start)
            chunk = data[start:] if end < 0 else data[start:end]
            if self._discarding:
                if end >= 0:
                    self._discarding = False
            else:
                self._buffer += chunk
                if len(self._buffer) > self.max_frame_bytes:
                    # reported at once (the peer may never send CR); the rest up to CR is dropped
                    events.append(Oversized(len(self._buffer)))
                    self._buffer.clear()
                    self._discarding = end < 0
                elif end >= 0:
                    frame = bytes(self._buffer).lstrip(b"\n")  # the LF of a CRLF terminator
                    self._buffer.clear()
                    if b"\x00" in frame:
                        events.append(BadBytes(frame))
                    elif frame:
                        events.append(frame)
            if end < 0:
                break
            start = end + 1
        return events
