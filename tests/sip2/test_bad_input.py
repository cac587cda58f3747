"""Bad input: malformed frames, wrong checksums, oversized frames, NUL bytes, TLS hello, idle clients,
1,000 connections at once. Each gets a clear reply or a clean close, a log line, and the server lives on."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator

import pytest

from server.db import Database
from tests.circulation.builders import Clock, build_world
from tests.sip2.conftest import BLANK, DATE, Running, start_server
from tests.sip2.rawclient import RawClient, frame

TLS_CLIENT_HELLO = bytes.fromhex("16030100c4010000c00303") + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00"


def still_serving(port: int) -> None:
    c = RawClient(port)
    try:
        assert c.login() == frame("941", 0)
        assert c.request("9900802.00").startswith(b"98YYYYYY")
    finally:
        c.close()


@pytest.fixture
def client(connect: Callable[[], RawClient]) -> RawClient:
    c = connect()
    c.login()
    return c


def test_wrong_checksum_gets_96(sip: Running, client: RawClient, caplog: pytest.LogCaptureFixture) -> None:
    good = frame(f"35{DATE}AOVN-TEST|AA0001|", 1)
    bad = good[:-5] + (b"0000" if good[-5:-1] != b"0000" else b"0001") + b"\r"
    with caplog.at_level(logging.WARNING, "server.sip2.server"):
        client.send_raw(bad)
        assert client.read() == b"96AZFEF6\r"
    assert "rejected" in caplog.text
    client.send_raw(good)
    assert client.read().startswith(b"36Y")


@pytest.mark.parametrize(
    "raw",
    [
        b"55xyz\r",  # unknown command
        b"11YN2026\r",  # fixed part too short
        b"9\r",  # shorter than a command code
        b"\xff\xfe\r",  # not ASCII
        b"17" + DATE.encode() + b"AOx|ABy|AYxAZ0000\r",  # sequence not a digit (and bad checksum)
    ],
)
def test_malformed_frames_get_96(sip: Running, client: RawClient, raw: bytes) -> None:
    client.send_raw(raw)
    assert client.read() in (b"96\r", b"96AZFEF6\r")
    still_serving(sip.port)


def test_nul_byte_gets_96(sip: Running, client: RawClient) -> None:
    client.send_raw(b"17" + DATE.encode() + b"AOVN\x00TEST|AB1|\r")
    assert client.read() == b"96AZFEF6\r"
    assert client.request(f"35{DATE}AOVN-TEST|AA0001|").startswith(b"36Y")


def test_oversized_frame_closes(sip: Running, client: RawClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "server.sip2.server"):
        client.send_raw(b"17" + b"A" * 9000 + b"\r")
        assert client.read() == b"96AZFEF6\r"
        assert client.closed()
    assert "exceeds" in caplog.text
    still_serving(sip.port)


def test_oversized_without_terminator_closes(sip: Running, client: RawClient) -> None:
    client.send_raw(b"17" + b"B" * 20000)
    assert client.read() == b"96AZFEF6\r"
    assert client.closed()


def test_tls_hello_on_plain_port(
    sip: Running, connect: Callable[[], RawClient], caplog: pytest.LogCaptureFixture
) -> None:
    c = connect()
    with caplog.at_level(logging.WARNING, "server.sip2.server"):
        c.send_raw(TLS_CLIENT_HELLO)
        assert c.read() == b""
    assert "TLS handshake" in caplog.text
    still_serving(sip.port)


def test_no_partial_transaction_when_client_vanishes(sip: Running, connect: Callable[[], RawClient]) -> None:
    c = connect()
    c.login()
    c.send_raw(frame(f"11YN{DATE}{BLANK}AOVN-TEST|AA0001|AB39000001|AC|", 1))
    c.close()  # the reply is lost; the checkout is whole or absent, never half
    d = RawClient(sip.port)
    try:
        d.login()
        reply = d.request(f"17{DATE}AOVN-TEST|AB39000001|")
        assert reply[2:4] in (b"03", b"04")
    finally:
        d.close()


@pytest.fixture
def idle_sip(sqlite_db: Database, clock: Clock) -> Iterator[Running]:
    world = build_world(sqlite_db)
    yield from start_server(sqlite_db, world, clock, idle_timeout_seconds=0.3)


def test_idle_client_is_disconnected(idle_sip: Running, caplog: pytest.LogCaptureFixture) -> None:
    c = RawClient(idle_sip.port)
    try:
        with caplog.at_level(logging.INFO, "server.sip2.server"):
            assert c.closed()  # blocks until the server closes it
        assert "idle" in caplog.text
    finally:
        c.close()


def test_thousand_connections_at_once(sip: Running) -> None:
    socks: list[socket.socket] = []
    try:
        for _ in range(1000):
            s = socket.socket()
            s.settimeout(30)
            s.connect(("127.0.0.1", sip.port))
            socks.append(s)
        # every one of them is served: a status request on each gets its answer
        for s in socks:
            s.sendall(frame("9900802.00", 0))
        for s in socks:
            data = b""
            while not data.endswith(b"\r"):
                chunk = s.recv(4096)
                assert chunk
                data += chunk
            assert data.startswith(b"98N")
    finally:
        for s in socks:
            s.close()
    still_serving(sip.port)
