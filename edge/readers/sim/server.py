"""The reader simulator: a protocol engine on a pseudo-terminal or TCP port, a field of virtual tags,
air-time pacing, fault injection, and a JSON-lines control socket.

In-process use::

    sim = ReaderSimulator("feig", "pty", tags, timing=False)
    sim.start()
    reader = open_reader(sim.url)          # serial:///dev/pts/N?driver=feig
    sim.place(VirtualTag(...)); sim.inject("noise")
    sim.stop()

Control protocol (one JSON object per line, answer ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``):
``list``, ``place`` (``tag``: a tag-file entry, or ``uid`` of a known tag), ``remove`` (``uid``), ``move``
(``uid``, ``antenna``), ``timing`` (``on``), ``fault`` (``kind``, ``count``, ``size``), ``inputs`` (``value``),
``outputs``, ``config``, ``stats``.

With ``timing`` on, each answer leaves when the ISO 15693 air time of the exchanges it needed has passed
since the request arrived; ``link_baud`` adds the serial byte time of request and answer (a pty or TCP link
has none of its own).
"""

from __future__ import annotations

import json
import logging
import os
import random
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from edge.iso15693 import HIGH_RATE, AirTiming, Uid

from .feig_sim import FeigProtocol
from .field import Faults, TagField
from .m3_sim import M3Protocol
from .tag import VirtualTag
from .tagfile import TagFileError, load_tags, parse_tag

if TYPE_CHECKING:
    from ..base import TagReader
    from ..transport import ReaderUrl

__all__ = ["ReaderSimulator", "SimControl", "open_sim_reader"]

log = logging.getLogger(__name__)


class _Parser(Protocol):
    def feed(self, data: bytes) -> list[Any]: ...


class ReaderSimulator:
    """A simulated FEIG or 3M reader speaking its wire protocol byte for byte."""

    def __init__(
        self,
        protocol: str = "feig",
        link: str = "pty",
        tags: Iterable[VirtualTag] = (),
        *,
        timing: bool = True,
        control: str | None = None,
        block_order: str = "msb",
        max_records: int = 24,
        air_timing: AirTiming = HIGH_RATE,
        seed: int = 15693,
        link_baud: int | None = None,
    ) -> None:
        if protocol not in ("feig", "3m"):
            raise ValueError(f"simulated protocol must be 'feig' or '3m', got {protocol!r}")
        if link != "pty" and not link.startswith("tcp:"):
            raise ValueError(f"link must be 'pty' or 'tcp:PORT', got {link!r}")
        self.protocol_name = protocol
        self.link = link
        self.field = TagField(tags)
        self.faults = Faults()
        self.timing = timing
        self.air_timing = air_timing
        # with link_baud, timing also charges the serial bytes (8E1 = 11 bits per byte for FEIG, 8N1 = 10 for 3M)
        self.link_baud = link_baud
        self.link_bits = 11 if protocol == "feig" else 10
        self.control_spec = control
        self._random = random.Random(seed)
        self.engine: FeigProtocol | M3Protocol
        if protocol == "feig":
            self.engine = FeigProtocol(
                self.field, self.faults, lambda: self.air_timing, block_order=block_order, max_records=max_records
            )
        else:
            self.engine = M3Protocol(self.field, self.faults, lambda: self.air_timing)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._master: int | None = None
        self._slave: int | None = None
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._control: socket.socket | None = None
        self.device: str | None = None
        self.port: int | None = None
        self.control_port: int | None = None
        self.requests = 0
        self.air_seconds = 0.0
        self._write_lock = threading.Lock()

    # -- life cycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.device is not None:
            return f"serial://{self.device}?driver={self.protocol_name}"
        if self.port is not None:
            return f"socket://127.0.0.1:{self.port}?driver={self.protocol_name}"
        raise RuntimeError("simulator not started")

    @property
    def control_address(self) -> str | None:
        return f"127.0.0.1:{self.control_port}" if self.control_port is not None else None

    def start(self) -> ReaderSimulator:
        if self._threads:
            return self
        self._stop.clear()
        if self.link == "pty":
            self._master, self._slave = os.openpty()
            tty.setraw(self._slave)
            self.device = os.ttyname(self._slave)
            self._spawn(self._serve_pty, "sim-pty")
        else:
            port = int(self.link.split(":", 1)[1] or 0)
            self._listener = socket.create_server(("127.0.0.1", port))
            self._listener.settimeout(0.1)
            self.port = self._listener.getsockname()[1]
            self._spawn(self._serve_tcp, "sim-tcp")
        if self.control_spec is not None:
            port = int(self.control_spec.split(":", 1)[1]) if self.control_spec.startswith("tcp:") else 0
            self._control = socket.create_server(("127.0.0.1", port))
            self._control.settimeout(0.1)
            self.control_port = self._control.getsockname()[1]
            self._spawn(self._serve_control, "sim-control")
        log.info("simulated %s reader on %s", self.protocol_name, self.url)
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        for sock in (self._client, self._listener, self._control):
            if sock is not None:
                sock.close()
        self._client = self._listener = self._control = None
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def __enter__(self) -> ReaderSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control API ----------------------------------------------------------------------------------

    def place(self, tag: VirtualTag | Uid, *, antenna: int | None = None) -> None:
        self.field.place(self.field.get(tag) if isinstance(tag, Uid) else tag, antenna=antenna)

    def remove(self, uid: Uid) -> VirtualTag:
        return self.field.remove(uid)

    def move(self, uid: Uid, antenna: int) -> None:
        self.field.move(uid, antenna)

    def set_timing(self, on: bool) -> None:
        self.timing = on

    def inject(self, kind: str, count: int = 1, *, size: int = 4) -> None:
        self.faults.inject(kind, count, size=size)

    def tags(self) -> list[VirtualTag]:
        return self.field.all()

    # -- serving --------------------------------------------------------------------------------------

    def _respond(self, frame: Any, received: float, write: Callable[[bytes], None]) -> bool:
        """Answer one request; False when the link must close (unplug fault)."""
        self.requests += 1
        if self.faults.take("unplug"):
            return False
        if self.faults.take("silent"):
            return True
        response, air_us = self.engine.handle(frame)
        self.air_seconds += air_us / 1e6
        if response is None or self.faults.take("drop"):
            return True
        if self.faults.take("corrupt"):
            mutable = bytearray(response)
            mutable[len(mutable) // 2] ^= 0x5A
            response = bytes(mutable)
        noise = self.faults.take("noise")
        if noise is not None:
            response = bytes(self._random.randrange(256) for _ in range(noise.size)) + response
        if self.timing:
            seconds = air_us / 1e6
            if self.link_baud:
                seconds += (len(frame.encode()) + len(response)) * self.link_bits / self.link_baud
            delay = received + seconds - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        write(response)
        return True

    def _serve_stream(self, read: Callable[[], bytes | None], write: Callable[[bytes], None]) -> None:
        parser: _Parser = self.engine.parser()
        while not self._stop.is_set():
            data = read()
            if data is None:
                continue
            if not data:
                return
            received = time.perf_counter()
            for frame in parser.feed(data):
                if not self._respond(frame, received, write):
                    raise _Unplugged

    def _serve_pty(self) -> None:
        master = self._master
        assert master is not None

        def read() -> bytes | None:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                return None
            try:
                return os.read(master, 4096)
            except OSError:
                return None  # no client has the slave open right now

        def write(data: bytes) -> None:
            with self._write_lock:
                os.write(master, data)

        try:
            self._serve_stream(read, write)
        except _Unplugged:
            log.info("simulator: unplugged %s", self.device)
            fd, self._master = self._master, None
            if fd is not None:
                os.close(fd)
            slave, self._slave = self._slave, None
            if slave is not None:
                os.close(slave)

    def _serve_tcp(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(0.1)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._client = client

            def read(c: socket.socket = client) -> bytes | None:
                try:
                    return c.recv(4096)
                except TimeoutError:
                    return None
                except OSError:
                    return b""

            def write(data: bytes, c: socket.socket = client) -> None:
                c.sendall(data)

            try:
                self._serve_stream(read, write)
            except (_Unplugged, OSError):
                pass
            finally:
                client.close()
                self._client = None

    # -- control socket -------------------------------------------------------------------------------

    def _serve_control(self) -> None:
        listener = self._control
        assert listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn_control_client(conn)

    def _spawn_control_client(self, conn: socket.socket) -> None:
        def serve() -> None:
            conn.settimeout(0.2)
            buf = b""
            with conn:
                while not self._stop.is_set():
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    if not chunk:
                        return
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line.strip():
                            reply = self.control(line.decode("utf-8", "replace"))
                            conn.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")

        threading.Thread(target=serve, name="sim-control-client", daemon=True).start()

    def control(self, line: str | dict[str, Any]) -> dict[str, Any]:
        """Execute one control command (a JSON line or a dict)."""
        try:
            msg = json.loads(line) if isinstance(line, str) else line
            if not isinstance(msg, dict):
                raise ValueError("a control command is a JSON object")
            return {"ok": True, **self._control_command(msg)}
        except (ValueError, KeyError, TypeError, TagFileError) as exc:
            return {"ok": False, "error": str(exc)}

    def _control_command(self, msg: dict[str, Any]) -> dict[str, Any]:
        cmd = msg.get("cmd")
        if cmd == "list":
            return {"tags": [t.to_json() for t in self.field.all()]}
        if cmd == "place":
            if "tag" in msg:
                tag = parse_tag(msg["tag"])
                self.field.place(tag, antenna=msg.get("antenna"))
                return {"uid": tag.uid.hex}
            self.place(Uid.from_hex(str(msg["uid"])), antenna=msg.get("antenna"))
            return {"uid": str(msg["uid"]).upper()}
        if cmd == "remove":
            self.remove(Uid.from_hex(str(msg["uid"])))
            return {}
        if cmd == "move":
            self.move(Uid.from_hex(str(msg["uid"])), int(msg["antenna"]))
            return {}
        if cmd == "timing":
            self.set_timing(bool(msg["on"]))
            return {"timing": self.timing}
        if cmd == "fault":
            self.inject(str(msg["kind"]), int(msg.get("count", 1)), size=int(msg.get("size", 4)))
            return {"pending": self.faults.pending()}
        if cmd == "stats":
            return {"requests": self.requests, "air_seconds": round(self.air_seconds, 6)}
        if isinstance(self.engine, FeigProtocol):
            if cmd == "inputs":
                self.engine.inputs = int(msg["value"]) & 0xFF
                return {}
            if cmd == "outputs":
                return {"outputs": {str(k): v for k, v in self.engine.outputs.items()}}
            if cmd == "config":
                return {
                    "ram": {str(k): v.hex().upper() for k, v in sorted(self.engine.config_ram.items())},
                    "eeprom": {str(k): v.hex().upper() for k, v in sorted(self.engine.config_eeprom.items())},
                }
        raise ValueError(f"unknown control command {cmd!r} for a {self.protocol_name} simulator")


class _Unplugged(Exception):
    pass


class SimControl:
    """Client of a running simulator's control socket (``host:port``)."""

    def __init__(self, address: str, *, timeout: float = 5.0) -> None:
        host, _, port = address.rpartition(":")
        self._sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
        self._file = self._sock.makefile("rwb")

    def call(self, cmd: str, **params: Any) -> dict[str, Any]:
        self._file.write(json.dumps({"cmd": cmd, **params}, ensure_ascii=False).encode() + b"\n")
        self._file.flush()
        line = self._file.readline()
        if not line:
            raise ConnectionError("simulator closed the control connection")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> SimControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sim_reader(parsed: ReaderUrl) -> TagReader:
    """``sim://?driver=feig&tags=FILE&timing=off``: start an in-process simulator and open a driver on it."""
    from ..transport import open_driver, open_port, parse_url

    tags = load_tags(parsed.options["tags"]) if parsed.options.get("tags") else []
    timing = parsed.options.get("timing", "on").lower() not in ("off", "0", "false", "no")
    sim = ReaderSimulator(parsed.driver, "pty", tags, timing=timing).start()
    inner = parse_url(sim.url)
    reader = open_driver(parsed, open_port(inner))
    reader.on_close.append(sim.stop)  # type: ignore[attr-defined]
    reader.simulator = sim  # type: ignore[attr-defined]
    return reader
