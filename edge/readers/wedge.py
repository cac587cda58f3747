"""Keyboard-wedge barcode scanners (patron cards, Vietnamese CCCD QR codes) as a :class:`CardReader`.

A wedge scanner types what it reads followed by Enter. The kiosk UI forwards key presses with :meth:`feed`
(or the reader reads lines from a text stream, e.g. a scanner in serial/HID-POS mode opened as a file).
Lines shorter than ``min_length`` are ignored (stray key presses). A Vietnamese citizen-ID QR code
(``ID12|old ID|NAME|DDMMYYYY|...``) yields its 12-digit ID number as the card id; the rest of the QR data
(name, birth date, address) is never kept.
"""

from __future__ import annotations

import queue
import re
import threading
from typing import TextIO

from .base import PatronCardPresented

__all__ = ["WedgeCardReader", "card_id_from_scan"]

_CCCD = re.compile(r"^(\d{12})\|")


def card_id_from_scan(text: str) -> tuple[str, str] | None:
    """(card id, source) from one scanned line; None for lines that are not a card."""
    line = text.strip()
    if not line:
        return None
    match = _CCCD.match(line)
    if match:
        return match.group(1), "wedge-cccd"
    if "|" in line or any(ord(c) < 0x20 for c in line):
        return None
    return line, "wedge"


class WedgeCardReader:
    """Patron cards from a keyboard-wedge scanner: feed key presses, or give it a line stream."""

    def __init__(self, stream: TextIO | None = None, *, name: str = "wedge", min_length: int = 4) -> None:
        self.name = name
        self.min_length = min_length
        self._buffer: list[str] = []
        self._events: queue.Queue[PatronCardPresented | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if stream is not None:
            self._thread = threading.Thread(target=self._pump, args=(stream,), name="wedge", daemon=True)
            self._thread.start()

    def _pump(self, stream: TextIO) -> None:
        for line in stream:
            self._line(line)
        self._events.put(None)

    def _line(self, line: str) -> PatronCardPresented | None:
        found = card_id_from_scan(line)
        if found is None or len(found[0]) < self.min_length:
            return None
        event = PatronCardPresented(found[0], found[1], None, self.name)
        self._events.put(event)
        return event

    def feed(self, keys: str) -> list[PatronCardPresented]:
        """Key presses from the UI ("\\r" or "\\n" ends a scan); returns the cards completed by them."""
        done: list[PatronCardPresented] = []
        with self._lock:
            for ch in keys:
                if ch in "\r\n":
                    event = self._line("".join(self._buffer))
                    self._buffer.clear()
                    if event is not None:
                        done.append(event)
                else:
                    self._buffer.append(ch)
        return done

    def wait_for_card(self, timeout: float | None = None) -> PatronCardPresented | None:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._events.put(None)
