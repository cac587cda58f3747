"""The edge agent (``thuvien edge --config FILE``; ``thuvien station``): one device's readers, durable outbox,
uplink, telemetry and commands, with the role's domain work (kiosk, gate, station) plugged in.

A role is an object with ``name``, ``start(ctx)``, ``stop()``, ``commands()`` and ``telemetry()`` (see
:class:`Role` and :class:`BaseRole`). It records transactions with ``ctx.emit(kind, data)``, which commits
them to the outbox before anything is published, and reaches its readers through ``ctx.reader(name)``, whose
``use()`` classifies failures (silent vs unplugged), reopens the reader with backoff and reports each change
as a ``reader_state`` event. Roles are found by name in :data:`ROLES` (``"package.module:factory"``,
imported only when used) or registered with :func:`register_role`; the gate and kiosk packages run the
agent programmatically with their own role: ``Agent(settings, role=MyRole()).run()``.

Commands from the server (each with an id and an expiry; an expired one is refused, an id runs once):
``ping``, ``reload-config``, ``set-mode``, ``silence-alarm`` and ``encode-tag`` (the last two are the role's),
plus any the role adds.

Exceptions::

    AgentError (RuntimeError)
     ├── RoleNotFound       no role of that name
     └── CommandFailed      raised by a command handler: the device reports the command failed (.message)
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.commandlog import CommandLog
from edge.config import ProcessSettings, SettingsError, load_settings
from edge.contract import (
    Command,
    CommandResult,
    DeviceTopics,
    Event,
    ReaderHealth,
    Status,
    Telemetry,
    TopicError,
    new_event_id,
)
from edge.contract.topics import check_level
from edge.outbox import Outbox
from edge.uplink import MqttLinkSettings, Uplink

log = logging.getLogger(__name__)

T = TypeVar("T")
CommandHandler = Callable[[dict[str, Any]], dict[str, Any]]
MODES = ("normal", "maintenance", "out-of-service")


class AgentError(RuntimeError):
    """Base of the agent's errors."""


class RoleNotFound(AgentError):
    pass


class CommandFailed(AgentError):
    """A command that could not be carried out; ``message`` is reported to the server."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- settings ------------------------------------------------------------------------------------------------


class ReaderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    url: str  # e.g. "serial:///dev/serial/by-id/...?driver=feig", "sim://...", "standin://"


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_events: int = Field(default=100_000, ge=1)
    resend_after_s: float = Field(default=15.0, gt=0)


class EdgeSettings(ProcessSettings):
    """An edge agent's settings (TOML file plus ``THUVIEN_...`` variables, e.g. ``THUVIEN_MQTT__PASSWORD``)."""

    role: Literal["kiosk", "gate", "station"]
    device_id: str
    library: str  # ISIL, e.g. VN-HDU
    data_dir: Path = Path("var/edge")
    mode: str = "normal"
    telemetry_interval_s: float = Field(default=30.0, ge=0.1)
    reader_probe_interval_s: float = Field(default=5.0, ge=0.1)
    command_record_days: float = Field(default=7.0, gt=0)  # run commands' ids kept this long after their expiry
    mqtt: MqttLinkSettings = MqttLinkSettings()
    outbox: OutboxSettings = OutboxSettings()
    readers: list[ReaderSettings] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)  # the role's own settings

    @field_validator("device_id")
    @classmethod
    def _device_level(cls, value: str) -> str:
        try:
            return check_level(value, "device id")
        except TopicError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in MODES:
            raise ValueError(f"mode {value!r} is not one of {', '.join(MODES)}")
        return value


# -- readers ---------------------------------------------------------------------------------------------------


class StandInReader:
    """A reader with an empty field, for roles configured without hardware (``standin://``)."""

    capabilities: frozenset[Any] = frozenset()

    def __init__(self, name: str) -> None:
        self.name = name

    def inventory(self, afi: int | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        return None


def open_reader_url(url: str, name: str) -> Any:
    """Open a reader by URL; ``standin://`` gives a :class:`StandInReader`."""
    if url.startswith("standin:"):
        return StandInReader(name)
    from edge.readers import open_reader

    return open_reader(url)


class ReaderSlot:
    """One configured reader: opened with backoff, its state (connected / silent / unplugged) tracked."""

    def __init__(
        self,
        settings: ReaderSettings,
        on_change: Callable[[str, str, str, str], None],
        opener: Callable[[str, str], Any] = open_reader_url,
    ) -> None:
        self.name = settings.name
        self.url = settings.url
        self.state = "closed"
        self.reads = 0
        self.errors = 0
        self._reader: Any = None
        self._opener = opener
        self._on_change = on_change
        self._lock = threading.RLock()
        self._next_open = 0.0
        self._backoff = 1.0
        self._rate_since = time.monotonic()
        self._rate_reads = 0

    @property
    def reader(self) -> Any:
        """The open reader (opening it if due), or None while it cannot be opened."""
        with self._lock:
            if self._reader is None and time.monotonic() >= self._next_open:
                try:
                    self._reader = self._opener(self.url, self.name)
                except Exception as exc:
                    self._next_open = time.monotonic() + self._backoff
                    self._backoff = min(self._backoff * 2, 30.0)
                    self._set("unplugged", f"cannot open {self.url}: {exc}")
                    return None
                self._backoff = 1.0
                self._set("connected", "opened")
            return self._reader

    def use(self, operation: Callable[[Any], T]) -> T | None:
        """Run ``operation(reader)``; None (and the state updated) when the reader is away or fails."""
        reader = self.reader
        if reader is None:
            return None
        try:
            result = operation(reader)
        except AgentError:
            raise
        except Exception as exc:
            self.errors += 1
            self._classify(exc)
            return None
        self.reads += 1
        if self.state != "connected":
            self._set("connected", "answering again")
        return result

    def _classify(self, exc: Exception) -> None:
        kind = type(exc).__name__
        if kind in ("ReaderTimeoutError",):
            self._set("silent", str(exc))
            return
        if kind in ("ReaderConnectionError", "OSError", "SerialException") or isinstance(exc, OSError):
            self._set("unplugged", str(exc))
            self.close()
            return
        log.warning("reader %s: %s: %s", self.name, kind, exc)

    def _set(self, state: str, detail: str) -> None:
        if state == self.state:
            return
        previous, self.state = self.state, state
        log.log(logging.INFO if state == "connected" else logging.WARNING, "reader %s is %s (%s)", self.name, state,
                detail)
        self._on_change(self.name, previous, state, detail)

    def health(self) -> ReaderHealth:
        """State and counters, with the read rate since the previous call (one telemetry period)."""
        now = time.monotonic()
        elapsed = now - self._rate_since
        rate = (self.reads - self._rate_reads) * 60.0 / elapsed if elapsed > 0 else None
        self._rate_since, self._rate_reads = now, self.reads
        return ReaderHealth(
            name=self.name,
            state=self.state,
            reads=self.reads,
            errors=self.errors,
            reads_per_minute=None if rate is None else round(rate, 1),
        )

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
            self._next_open = time.monotonic() + self._backoff
        if reader is not None:
            try:
                reader.close()
            except Exception:
                log.debug("closing reader %s failed", self.name, exc_info=True)


# -- roles -----------------------------------------------------------------------------------------------------


class Role(Protocol):
    """What a role plugs into the agent."""

    name: str

    def start(self, ctx: AgentContext) -> None: ...

    def stop(self) -> None: ...

    def commands(self) -> Mapping[str, CommandHandler]: ...

    def telemetry(self) -> dict[str, int]: ...


class BaseRole:
    """A role that does nothing of its own; subclass it and override what you need."""

    name = "idle"

    def __init__(self) -> None:
        self.ctx: AgentContext | None = None

    def start(self, ctx: AgentContext) -> None:
        self.ctx = ctx

    def stop(self) -> None:
        return None

    def commands(self) -> Mapping[str, CommandHandler]:
        return {}

    def telemetry(self) -> dict[str, int]:
        return {}

    @property
    def probes_readers(self) -> bool:
        """False when the agent should probe the readers for health (the role does not use them itself)."""
        return False


class StationRole(BaseRole):
    """A staff station: programmes tags on command (``encode-tag``) with its first reader."""

    name = "station"

    def commands(self) -> Mapping[str, CommandHandler]:
        return {"encode-tag": self.encode_tag}

    def encode_tag(self, args: dict[str, Any]) -> dict[str, Any]:
        from edge.iso15693 import Uid
        from edge.readers.base import Capability
        from edge.tags import EncodeError, LibraryTag, encode

        ctx = self.ctx
        if ctx is None or not ctx.readers:
            raise CommandFailed("this station has no reader")
        slot = ctx.readers[str(args.get("reader") or next(iter(ctx.readers)))]
        fields = args.get("tag")
        if not isinstance(fields, dict) or not fields.get("primary_item_id"):
            raise CommandFailed("encode-tag needs args.tag with at least primary_item_id")
        try:
            tag = LibraryTag(**fields)
            block_size = int(args.get("block_size", 4))
            data = encode(tag, str(args.get("format", "iso28560-3")), block_size=block_size)
        except (TypeError, ValueError, EncodeError) as exc:
            raise CommandFailed(f"cannot encode the tag: {exc}") from None
        uid_text = args.get("uid")

        afi = args.get("afi")
        want_eas = bool(args.get("eas"))
        verify = bool(args.get("verify"))

        def write(reader: Any) -> dict[str, Any]:
            uids = [Uid.from_hex(str(uid_text))] if uid_text else [r.uid for r in reader.inventory()]
            if len(uids) != 1:
                raise CommandFailed(f"expected one tag on the reader, found {len(uids)}")
            uid = uids[0]
            reader.write_blocks(uid, 0, data)
            outcome: dict[str, Any] = {"uid": str(uid.hex), "bytes": len(data), "verified": False}
            if verify:
                # Read the data back: a tag that acknowledged the write but holds other bytes is not programmed.
                back = reader.read_blocks(uid, 0, -(-len(data) // block_size))
                if back[: len(data)] != data:
                    raise CommandFailed(f"tag {uid.hex} holds other data than was written (read back differs)")
                outcome["verified"] = True
            capabilities: frozenset[Capability] = getattr(reader, "capabilities", frozenset())
            if afi is not None:
                reader.write_afi(uid, int(afi))
                outcome["afi"] = int(afi)
            if want_eas and Capability.EAS in capabilities:
                reader.set_eas(uid)
                outcome["eas"] = True
            return outcome

        result = slot.use(write)
        if result is None:
            raise CommandFailed(f"reader {slot.name} is {slot.state}")
        ctx.emit(
            "tag_encoded",
            {"uid": result["uid"], "primary_item_id": tag.primary_item_id, "format": args.get("format"),
             "verified": result["verified"]},
        )
        return result


# Role factories by name, imported only when that role runs; other packages add theirs or call register_role().
ROLES: dict[str, str] = {
    "kiosk": "kiosk.agent:make_role",
    "gate": "gate.agent:make_role",
    "station": "edge.agent:StationRole",
}
_registered: dict[str, Callable[[], Role]] = {}


def register_role(name: str, factory: Callable[[], Role]) -> None:
    _registered[name] = factory


def make_role(name: str) -> Role:
    """The role called ``name``; an idle role (readers, telemetry, commands only) when its package is absent."""
    if name in _registered:
        return _registered[name]()
    target = ROLES.get(name)
    if target is None:
        raise RoleNotFound(f"no role named {name!r}; known roles: {', '.join(sorted({*ROLES, *_registered}))}")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attr)
    except (ModuleNotFoundError, AttributeError):
        log.warning("role %s is not installed (%s); running the idle role", name, target)
        role = BaseRole()
        role.name = name
        return role
    made: Role = factory()
    return made


# -- the agent -------------------------------------------------------------------------------------------------


class AgentContext:
    """What a role sees of the agent."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

    @property
    def settings(self) -> EdgeSettings:
        return self._agent.settings

    @property
    def device_id(self) -> str:
        return self._agent.settings.device_id

    @property
    def mode(self) -> str:
        return self._agent.mode

    @property
    def outbox(self) -> Outbox:
        return self._agent.outbox

    @property
    def readers(self) -> dict[str, ReaderSlot]:
        return self._agent.readers

    def reader(self, name: str) -> ReaderSlot:
        return self._agent.readers[name]

    def emit(self, kind: str, data: dict[str, Any], *, occurred_at: dt.datetime | None = None,
             event_id: str | None = None, conn: Any = None) -> str:
        """Commit an event to the outbox (in the caller's outbox transaction when ``conn`` is given);
        its event_id. Raises :class:`~edge.outbox.OutboxFull` when the outbox is at its bound."""
        return self._agent.emit(kind, data, occurred_at=occurred_at, event_id=event_id, conn=conn)


class Agent:
    """Runs one device. ``start()``/``stop()`` for embedding, ``run()`` to block until a signal."""

    def __init__(self, settings: EdgeSettings, *, role: Role | None = None, config_path: Path | None = None,
                 reader_opener: Callable[[str, str], Any] = open_reader_url) -> None:
        self.settings = settings
        self.config_path = config_path
        self.mode = settings.mode
        self.role: Role = role if role is not None else make_role(settings.role)
        self.topics = DeviceTopics(settings.mqtt.topic_prefix, settings.library, settings.role, settings.device_id)
        data_dir = settings.data_dir
        self.outbox = Outbox(
            data_dir / f"{settings.device_id}-outbox.db",
            max_events=settings.outbox.max_events,
            resend_after=settings.outbox.resend_after_s,
        )
        self.command_log = CommandLog(self.outbox, keep_after_expiry=dt.timedelta(days=settings.command_record_days))
        self.readers = {
            r.name: ReaderSlot(r, self._reader_changed, reader_opener) for r in settings.readers
        }
        self.uplink = Uplink(settings.mqtt, self.topics, self.outbox, birth=self.birth, on_command=self.execute)
        self.context = AgentContext(self)
        self.started_at = time.monotonic()
        self._seq_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life cycle --------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.uplink.start()
        self.role.start(self.context)
        thread = threading.Thread(target=self._telemetry_loop, name="telemetry", daemon=True)
        thread.start()
        self._threads.append(thread)
        log.info("edge agent %s (%s) started", self.settings.device_id, self.role.name)

    def stop(self) -> None:
        self._stop.set()
        try:
            self.role.stop()
        except Exception:
            log.exception("role %s did not stop cleanly", self.role.name)
        for thread in self._threads:
            thread.join(5)
        self.uplink.stop()
        for slot in self.readers.values():
            slot.close()
        self.outbox.close()

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        self.start()
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            self.stop()

    # -- events ------------------------------------------------------------------------------------------------

    def emit(self, kind: str, data: dict[str, Any], *, occurred_at: dt.datetime | None = None,
             event_id: str | None = None, conn: Any = None) -> str:
        event = Event(
            event_id=event_id or new_event_id(),
            device_id=self.settings.device_id,
            kind=kind,
            occurred_at=occurred_at or dt.datetime.now(dt.UTC),
            data=data,
        )
        self.outbox.add(self.topics.event(kind), event, conn=conn)
        if conn is None:
            self.uplink.wake()
        return event.event_id

    def _reader_changed(self, name: str, previous: str, state: str, detail: str) -> None:
        try:
            self.emit("reader_state", {"reader": name, "previous": previous, "state": state, "detail": detail[:500]})
        except Exception:
            log.exception("could not record the state change of reader %s", name)

    # -- status and telemetry ----------------------------------------------------------------------------------

    def birth(self) -> Status:
        from edge.cli import version

        return Status(
            device_id=self.settings.device_id,
            state="online",
            at=dt.datetime.now(dt.UTC),
            mode=self.mode,
            versions={"thuvien": version(), "role": self.settings.role, "plugin": self.role.name, "schema": "1"},
            config={
                "role": self.settings.role,
                "readers": [{"name": r.name, "url": r.url} for r in self.settings.readers],
                "telemetry_interval_s": self.settings.telemetry_interval_s,
            },
        )

    def telemetry(self) -> Telemetry:
        counters = {f"uplink_{k}": v for k, v in self.uplink.counters.items()}
        try:
            counters.update(self.role.telemetry())
        except Exception:
            log.exception("role %s telemetry failed", self.role.name)
        return Telemetry(
            device_id=self.settings.device_id,
            at=dt.datetime.now(dt.UTC),
            mode=self.mode,
            uptime_s=round(time.monotonic() - self.started_at, 1),
            readers=[slot.health() for slot in self.readers.values()],
            outbox_depth=self.outbox.depth(),
            outbox_oldest_age_s=self.outbox.oldest_age(),
            outbox_full=self.outbox.full,
            temperature_c=_cpu_temperature(),
            counters=counters,
        )

    def _telemetry_loop(self) -> None:
        next_telemetry = 0.0
        next_probe = 0.0
        while not self._stop.wait(0.1):
            now = time.monotonic()
            try:
                if now >= next_probe and not getattr(self.role, "probes_readers", False):
                    next_probe = now + self.settings.reader_probe_interval_s
                    for slot in self.readers.values():
                        slot.use(lambda r: r.inventory())
                if now >= next_telemetry:
                    next_telemetry = now + self.settings.telemetry_interval_s
                    self.uplink.publish_telemetry(self.telemetry())
            except Exception:
                log.exception("telemetry loop error (continuing)")

    # -- commands ----------------------------------------------------------------------------------------------

    def execute(self, command: Command) -> CommandResult:
        """Run a command once, even across restarts (a redelivered id gets the recorded result again), never
        after its expiry."""
        done = self.command_log.begin(command, self.settings.device_id)
        if done is None:
            done = self._run_command(command)
            self.command_log.finish(done)
        self.uplink.publish_result(command.name, done)
        return done

    def _run_command(self, command: Command) -> CommandResult:
        now = dt.datetime.now(dt.UTC)

        def result(ok: bool, body: dict[str, Any] | None = None, error: str | None = None) -> CommandResult:
            return CommandResult(command_id=command.command_id, device_id=self.settings.device_id, ok=ok,
                                 at=dt.datetime.now(dt.UTC), result=body or {}, error=error)

        if command.expires_at <= now:
            log.warning("command %s (%s) expired before it arrived; not run", command.name, command.command_id)
            return result(False, error="expired")
        handlers: dict[str, CommandHandler] = {
            "ping": lambda _a: {"pong": True, "at": dt.datetime.now(dt.UTC).isoformat()},
            "reload-config": self._reload_config,
            "set-mode": self._set_mode,
            "silence-alarm": lambda _a: {"silenced": False, "reason": "this role has no alarm output"},
        }
        handlers.update(self.role.commands())
        handler = handlers.get(command.name)
        if handler is None:
            return result(False, error=f"unknown command {command.name!r}")
        try:
            return result(True, handler(dict(command.args)))
        except CommandFailed as exc:
            return result(False, error=exc.message)
        except Exception as exc:
            log.exception("command %s failed", command.name)
            return result(False, error=f"{type(exc).__name__}: {exc}")

    def _set_mode(self, args: dict[str, Any]) -> dict[str, Any]:
        mode = args.get("mode")
        if mode not in MODES:
            raise CommandFailed(f"mode {mode!r} is not one of {', '.join(MODES)}")
        previous, self.mode = self.mode, str(mode)
        on_mode = getattr(self.role, "on_mode", None)
        if callable(on_mode):
            on_mode(self.mode)
        self.uplink.publish_status(self.birth())
        return {"mode": self.mode, "previous": previous}

    def _reload_config(self, _args: dict[str, Any]) -> dict[str, Any]:
        if self.config_path is None:
            raise CommandFailed("this agent was not started from a settings file")
        try:
            fresh = load_settings(EdgeSettings, self.config_path)
        except SettingsError as exc:
            raise CommandFailed(str(exc)) from None
        restart = [
            key for key in ("role", "device_id", "library", "data_dir", "mqtt", "outbox", "readers")
            if getattr(fresh, key) != getattr(self.settings, key)
        ]
        self.settings = fresh.model_copy(update={k: getattr(self.settings, k) for k in restart})
        self.mode = fresh.mode
        self.uplink.publish_status(self.birth())
        return {"reloaded": True, "restart_required": restart}


def _cpu_temperature() -> float | None:
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


# -- command line ----------------------------------------------------------------------------------------------


def main(argv: list[str], *, prog: str = "thuvien edge", role: str | None = None) -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Run an edge agent (kiosk, gate or station role).")
    parser.add_argument("--config", type=Path, help="agent settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {"role": role} if role else {}
    try:
        settings = load_settings(EdgeSettings, args.config, **overrides)
    except SettingsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        agent = Agent(settings, config_path=args.config)
    except (AgentError, TopicError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    agent.run()
    return 0


def station_main(argv: list[str]) -> int:
    return main(argv, prog="thuvien station", role="station")
