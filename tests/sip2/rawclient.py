"""A scripted raw-socket SIP2 client for tests: build frames with checksums, read replies to CR."""

from __future__ import annotations

import socket

from server.sip2.codec import checksum


def frame(body: str, seq: int | None = None, *, encoding: str = "utf-8") -> bytes:
    """``body`` + ``AY<seq>AZ<checksum>`` + CR (``seq=None``: no error detection)."""
    data = body.encode(encoding)
    if seq is None:
        return data + b"\r"
    data += f"AY{seq}AZ".encode("ascii")
    return data + checksum(data).encode("ascii") + b"\r"


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.seq = 0

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> bytes:
        """One reply including its CR; b"" when the server closed the connection."""
        while b"\r" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += chunk
        reply, _, self.buffer = self.buffer.partition(b"\r")
        return reply + b"\r"

    def request(self, body: str, *, seq: bool = True) -> bytes:
        data = frame(body, self.seq if seq else None)
        self.seq = (self.seq + 1) % 10
        self.send_raw(data)
        return self.read()

    def expect(self, body: str, reply: str) -> None:
        """Send ``body`` and assert the byte-exact reply ``reply`` (framed with the request's sequence number)."""
        seq = self.seq
        assert self.request(body) == frame(reply, seq)

    def text(self, body: str) -> str:
        return self.request(body).decode("utf-8")

    def login(self, user: str = "kiosk1", password: str = "kiosk1-pass") -> bytes:
        return self.request(f"9300CN{user}|CO{password}|CPKIOSK|")

    def closed(self) -> bool:
        """Whether the server closed the connection (reads EOF)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError, OSError):
            return True

    def close(self) -> None:
        self.sock.close()
