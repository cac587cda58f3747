"""Helpers for the kiosk end-to-end tests and the benchmark: the real server as a subprocess, demo tags,
and a TCP proxy that can cut the kiosk's network."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.readers.sim import VirtualTag
from edge.tags import LibraryTag
from tests.support import free_ports, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def demo_server(data_dir: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``thuvien demo --headless`` (seeded SQLite) on free ports; yields (sip2 port, describe document)."""
    http_port, sip2_port = free_ports(2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (data_dir / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge.cli",
            "demo",
            "--headless",
            "--data-dir",
            str(data_dir),
            "--http-port",
            str(http_port),
            "--sip2-port",
            str(sip2_port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    try:
        described = data_dir / "demo.json"
        # demo.json is written once every demo part runs: the sign that the whole demo is up.
        ready = wait_for(lambda: described.exists() or proc.poll() is not None, timeout=180)
        if not ready or proc.poll() is not None or not port_open("127.0.0.1", sip2_port):
            log.flush()
            state = "exited" if proc.poll() is not None else "still starting"
            output = (data_dir / "server.log").read_text()
            raise RuntimeError(f"the demo server is not up ({state}); its log:\n{output}")
        yield sip2_port, json.loads(described.read_text("utf-8"))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def item_tags(
    doc: dict[str, Any], barcode: str, *, parts: tuple[int, ...] | None = None, **kwargs: Any
) -> list[VirtualTag]:
    """Virtual tags of one demo item (every part, or only ``parts``), programmed as the library does."""
    item = next(i for i in doc["items"] if i["barcode"] == barcode)
    uids = item["tag_uids"]
    tags = []
    for part, uid in enumerate(uids, start=1):
        if parts is not None and part not in parts:
            continue
        data = LibraryTag(
            primary_item_id=barcode,
            owner_isil=item["library"],
            type_of_usage=1,
            parts_in_set=len(uids) if len(uids) > 1 else None,
            part_number=part if len(uids) > 1 else None,
        )
        kwargs.setdefault("afi", 0x07)
        kwargs.setdefault("eas", True)
        tags.append(VirtualTag.with_item(uid, data, "iso28560-3", label=item["title"], **kwargs))
    return tags


class CuttableProxy:
    """Forwards 127.0.0.1:port to a target; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port: int = self.listener.getsockname()[1]
        self.up = True
        self._stop = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def cut(self) -> None:
        self.up = False
        for a, b in self._pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
        self._pairs.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self.listener.close()
        self._thread.join(timeout=2)
