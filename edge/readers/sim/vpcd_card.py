"""A virtual contactless card for ``pcscd`` with Debian's ``vsmartcard-vpcd`` reader driver.

vpcd listens on 127.0.0.1:35963 (slot 0; 35964 slot 1). Every message, both ways, is a 2-byte big-endian
length and a payload. A 1-byte message from vpcd is a control code: 00 power off, 01 power on, 02 reset (no
answer to these), 04 get ATR (answer the ATR). Anything longer is a command APDU; the answer is the response
APDU. Connecting inserts the card into ``Virtual PCD 00 00``; closing the socket removes it.

The card plays the contactless front end of a PC/SC storage-card reader:

- ``FF CA 00 00 00`` GET DATA UID: the UID (ISO 15693 tags LSB first, as real readers return it), 90 00;
- ``FF B0 00 bb Le`` / ``FF D6 00 bb Lc data``: read / update binary on the first tag, block-wise;
- ``FF C2`` transparent exchange: start/end session (81/82), switch protocol (8F), and transceive (95) of an
  ISO 15693 frame to every tag in its :class:`~edge.readers.sim.field.TagField` (so several tags can collide);
- a patron card (``patron_uid``: the UID bytes in the order the reader reports them, e.g. a 4- or 7-byte
  MIFARE UID) answers only GET DATA UID.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from edge.iso15693.crc import append_crc_x25, check_crc_x25

from .field import TagField

__all__ = ["VpcdCard", "atr_for", "VPCD_PORT"]

log = logging.getLogger(__name__)

VPCD_PORT = 35963
OK = b"\x90\x00"


def atr_for(standard: int, card_name: int) -> bytes:
    """PC/SC part 3 ATR of a storage card (``standard`` 0x0B = ISO 15693 part 3, 0x03 = ISO 14443 A part 3)."""
    body = bytes((0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, standard))
    body += card_name.to_bytes(2, "big") + bytes(4)
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes((tck,))


class VpcdCard:
    """The virtual card; ``start()`` connects to vpcd in a background thread (and keeps reconnecting)."""

    def __init__(
        self,
        field: TagField | None = None,
        *,
        patron_uid: bytes | None = None,
        host: str = "127.0.0.1",
        port: int = VPCD_PORT,
    ) -> None:
        self.field = field if field is not None else TagField()
        self.patron_uid = patron_uid
        self.host = host
        self.port = port
        self.atr = atr_for(0x03, 0x0001) if patron_uid is not None else atr_for(0x0B, 0x0000)
        self.apdus = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.connected = threading.Event()

    def start(self) -> VpcdCard:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="vpcd-card", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=3)
        self._thread = None
        self.connected.clear()

    def __enter__(self) -> VpcdCard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1)
            except OSError:
                self._stop.wait(0.2)
                continue
            self._sock = sock
            sock.settimeout(0.2)
            self.connected.set()
            try:
                self._serve(sock)
            except OSError as exc:
                log.debug("vpcd card: connection ended: %s", exc)
            finally:
                self.connected.clear()
                self._sock = None
                sock.close()
            self._stop.wait(0.2)

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            if self._stop.is_set():
                return None
            try:
                chunk = sock.recv(n - len(buf))
            except TimeoutError:
                continue
            if not chunk:
                return None
            buf += chunk
        return buf

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            head = self._recv_exact(sock, 2)
            if head is None:
                return
            payload = self._recv_exact(sock, int.from_bytes(head, "big"))
            if payload is None:
                return
            answer = self.handle(payload)
            if answer is not None:
                sock.sendall(len(answer).to_bytes(2, "big") + answer)

    def handle(self, message: bytes) -> bytes | None:
        """Answer one vpcd message (control code or APDU); None when no answer is due."""
        if len(message) == 1:
            if message[0] == 0x04:
                return self.atr
            return None
        self.apdus += 1
        return self.apdu(message)

    def apdu(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        if cla != 0xFF:
            return b"\x6e\x00"
        if ins == 0xCA and p1 == 0x00:
            uid = self._uid()
            return (uid + OK) if uid is not None else b"\x6a\x81"
        if self.patron_uid is not None:
            return b"\x6d\x00"
        if ins == 0xB0:
            return self._read_binary(p2, apdu[4] if len(apdu) > 4 else 0)
        if ins == 0xD6:
            return self._update_binary(p2, apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b"")
        if ins == 0xC2:
            body = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
            return self._transparent(p2, body)
        return b"\x6d\x00"

    def _uid(self) -> bytes | None:
        if self.patron_uid is not None:
            return self.patron_uid
        tags = self.field.present()
        return tags[0].uid.lsb if tags else None

    def _read_binary(self, block: int, le: int) -> bytes:
        tags = self.field.present()
        if not tags:
            return b"\x6a\x81"
        tag = tags[0]
        size = le or tag.block_size
        start = block * tag.block_size
        if start + size > len(tag.memory):
            return b"\x6b\x00"
        return bytes(tag.memory[start : start + size]) + OK

    def _update_binary(self, block: int, data: bytes) -> bytes:
        tags = self.field.present()
        if not tags:
            return b"\x6a\x81"
        tag = tags[0]
        for i in range(0, len(data), tag.block_size):
            if tag.write_block(block + i // tag.block_size, data[i : i + tag.block_size]) is not None:
                return b"\x65\x81"
        return OK

    def _transparent(self, function: int, body: bytes) -> bytes:
        status_ok = b"\xc0\x03\x00\x90\x00"
        if function == 0x00:  # session management (81 start, 82 end)
            return status_ok + OK
        if function == 0x02:  # switch protocol
            return status_ok + b"\x8f\x01\x00" + OK
        if function != 0x01:
            return b"\x6a\x81"
        frame = None
        pos = 0
        while pos < len(body):
            tag = body[pos]
            pos += 1
            if tag == 0x5F:
                pos += 1  # two-byte tag 5F46 (timer)
            length = body[pos]
            value = body[pos + 1 : pos + 1 + length]
            pos += 1 + length
            if tag == 0x95:
                frame = value
        if not frame:
            return b"\xc0\x03\x01\x6a\x80" + OK
        answers = self.field.transceive(append_crc_x25(bytes(frame)))
        time.sleep(0)  # let control threads run between exchanges
        if not answers:
            return b"\xc0\x03\x01\x64\x01" + OK
        if len(answers) > 1 or not check_crc_x25(answers[0]):
            return b"\xc0\x03\x01\x64\x02" + OK
        data = answers[0][:-2]
        return status_ok + b"\x92\x01\x00\x96\x02\x00\x00\x97" + bytes((len(data),)) + data + OK
