"""SIP2 over TLS when ``sip2.tls_cert``/``sip2.tls_key`` are set (a self-signed certificate made with openssl)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.db import Database
from tests.circulation.builders import Clock, build_world
from tests.sip2.conftest import Running, start_server
from tests.sip2.rawclient import frame
from tests.support import require


@pytest.fixture
def tls_sip(sqlite_db: Database, clock: Clock, tmp_path: Path) -> Iterator[tuple[Running, Path]]:
    require(shutil.which("openssl") is not None, "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    world = build_world(sqlite_db)
    for running in start_server(sqlite_db, world, clock, tls_cert=cert, tls_key=key):
        yield running, cert


def test_login_over_tls(tls_sip: tuple[Running, Path]) -> None:
    running, cert = tls_sip
    context = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.sendall(frame("9300CNkiosk1|COkiosk1-pass|", 0))
            data = b""
            while not data.endswith(b"\r"):
                data += tls.recv(4096)
    assert data == frame("941", 0)
