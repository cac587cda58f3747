"""The SIP2 listener: asyncio TCP (optional TLS), one task per connection, service calls in a thread pool.

Per connection: frames are cut by :class:`~server.sip2.framing.FrameBuffer`, parsed by the codec, answered
by :class:`~server.sip2.handlers.Sip2Handler` in order. A request with the same AY and AZ as the previous
one is a retransmission and gets the stored response again (never executed twice); ``97`` resends the last
response; a bad checksum, an unknown command or a malformed frame gets ``96``. A TLS ClientHello on the
plain port, an oversized frame, an idle client or too many connections end the connection cleanly, with
a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from concurrent.futures import ThreadPoolExecutor

from server.circulation.service import CirculationService
from server.db import Database
from server.settings import ServerSettings
from server.sip2.accounts import AccountConfig, Sip2AccountService
from server.sip2.codec import (
    CR,
    DELIMITER,
    Request,
    Sip2Error,
    Wire,
    build_response,
    login_delimiter,
    parse_request,
    resend_request,
    split_trailer,
)
from server.sip2.framing import TLS_HANDSHAKE, BadBytes, FrameBuffer, Oversized
from server.sip2.handlers import Connection, Sip2Handler

log = logging.getLogger(__name__)

TRACE = 5  # raw frames are logged below DEBUG
DEFAULT_WIRE = Wire()
MAX_CONNECTIONS = 2048
INLINE_COMMANDS = frozenset({"99"})  # answered without a thread hop (SC status keep-alives)


def account_wire(account: AccountConfig | None) -> Wire:
    if account is None:
        return DEFAULT_WIRE
    terminator = account.terminator.encode("ascii") or CR
    return Wire(account.encoding, account.error_detection, terminator, account.field_delimiter)


class _Session:
    """What one connection remembers between frames."""

    def __init__(self, peer: str) -> None:
        self.conn = Connection(peer=peer)
        self.last_request: tuple[str | None, str] | None = None
        self.last_response: bytes | None = None


class Sip2Server:
    """A background service of the server process (see ``server.runtime.Service``)."""

    name = "sip2"

    def __init__(
        self,
        settings: ServerSettings,
        db: Database,
        *,
        service: CirculationService | None = None,
        accounts: Sip2AccountService | None = None,
        host: str | None = None,
        port: int | None = None,
        threads: int | None = None,
        max_connections: int = MAX_CONNECTIONS,
        reuse_port: bool = False,
    ) -> None:
        self.settings = settings
        self.host = host if host is not None else settings.sip2.host
        self.requested_port = port if port is not None else settings.sip2.port
        self.handler = Sip2Handler(service or CirculationService(db, settings), accounts or Sip2AccountService(db))
        self.threads = threads or max(4, min(32, settings.database.pool_size * 2))
        self.max_connections = max_connections
        self.reuse_port = reuse_port  # several worker processes listen on the one port (server.sip2.workers)
        self._executor: ThreadPoolExecutor | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self.requested_port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def connections(self) -> int:
        return len(self._tasks)

    def _ssl_context(self) -> ssl.SSLContext | None:
        sip2 = self.settings.sip2
        if sip2.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sip2.tls_cert, sip2.tls_key)
        return context

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="sip2")
        self._server = await asyncio.start_server(
            self._accept,
            self.host,
            self.requested_port,
            ssl=self._ssl_context(),
            backlog=2048,
            reuse_port=self.reuse_port or None,
        )
        log.info("SIP2 listening on %s:%d%s", self.host, self.port, " (TLS)" if self.settings.sip2.tls_cert else "")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        log.info("SIP2 stopped")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername")
        peer_text = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if len(self._tasks) >= self.max_connections:
            log.warning("SIP2 connection from %s refused: %d connections open", peer_text, len(self._tasks))
            writer.close()
            return
        self._tasks.add(task)
        try:
            await self._serve(reader, writer, _Session(peer_text))
        except asyncio.CancelledError:
            pass
        except (ConnectionError, TimeoutError, ssl.SSLError) as exc:
            log.info("SIP2 connection %s ended: %s", peer_text, exc)
        except Exception:
            log.exception("SIP2 connection %s failed", peer_text)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: _Session) -> None:
        framer = FrameBuffer(self.settings.sip2.max_frame_bytes)
        idle = self.settings.sip2.idle_timeout_seconds
        first = True
        while not session.conn.closing:
            try:
                data = await asyncio.wait_for(reader.read(65536), idle)
            except TimeoutError:
                log.info("SIP2 connection %s idle for %.0f s; closing", session.conn.peer, idle)
                return
            if not data:
                return
            if first and data[0] == TLS_HANDSHAKE and self.settings.sip2.tls_cert is None:
                log.warning("SIP2 connection %s sent a TLS handshake to the plain port; closing", session.conn.peer)
                return
            first = False
            for event in framer.feed(data):
                if isinstance(event, Oversized):
                    log.warning(
                        "SIP2 frame of %d bytes from %s exceeds %d; closing",
                        event.size,
                        session.conn.peer,
                        framer.max_frame_bytes,
                    )
                    writer.write(resend_request(True))
                    await writer.drain()
                    return
                if isinstance(event, BadBytes):
                    log.warning("SIP2 frame with a NUL byte from %s; asking to resend", session.conn.peer)
                    writer.write(resend_request(True))
                    continue
                response = await self._respond(event, session)
                if response is not None:
                    writer.write(response)
                if session.conn.closing:
                    break
            await writer.drain()

    async def _respond(self, frame: bytes, session: _Session) -> bytes | None:
        conn = session.conn
        wire = account_wire(conn.account)
        if log.isEnabledFor(TRACE):
            log.log(TRACE, "SIP2 %s <- %r", conn.peer, redact(frame, wire.delimiter))
        if frame[:2] in (b"97", b"96"):
            return session.last_response if session.last_response is not None else resend_request(True)
        try:
            request = parse_request(frame, wire.encoding, delimiter=wire.delimiter)
        except Sip2Error as exc:
            log.warning("SIP2 frame from %s rejected: %s", conn.peer, exc)
            return resend_request(b"AZ" in frame[-6:-4])
        if request.checksum is not None:
            key = (request.sequence, request.checksum)
            if key == session.last_request and session.last_response is not None:
                log.info("SIP2 retransmission from %s (AY%s); replaying", conn.peer, request.sequence)
                return session.last_response
        loop = asyncio.get_running_loop()
        try:
            if request.code in INLINE_COMMANDS:
                reply = self.handler.handle(request, conn)  # no database: answer on the event loop
            else:
                reply = await loop.run_in_executor(self._executor, self.handler.handle, request, conn)
        except Exception:
            log.exception("SIP2 %s from %s failed", request.code, conn.peer)
            return resend_request(request.checksum is not None)
        if reply is None:
            return None
        response = build_response(reply.code, reply.fixed, reply.fields, account_wire(conn.account), _sequence(request))
        log.log(TRACE, "SIP2 %s -> %r", conn.peer, response)
        session.last_request = (request.sequence, request.checksum) if request.checksum is not None else None
        session.last_response = response
        return response


def redact(frame: bytes, delimiter: str = DELIMITER) -> bytes:
    """A frame fit for logs: login passwords (CO) and patron PINs (AD) masked up to the field delimiter."""
    if frame[:2] == b"93":
        delimiter = login_delimiter(split_trailer(frame)[0][4:].decode("latin-1"))
    end = re.escape(delimiter.encode("ascii"))
    return re.sub(rb"((?:" + end + rb"|^93..)(?:CO|AD))[^" + end + rb"]*", rb"\1***", frame)


def _sequence(request: Request) -> str | None:
    if request.sequence is not None:
        return request.sequence
    return "" if request.checksum is not None else None
