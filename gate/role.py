"""The gate as a role of the edge agent: events through the agent's durable outbox, commands from the server.

``thuvien gate --config FILE`` (and ``thuvien edge`` with ``role = "gate"``) run :class:`GateRole` inside
:class:`edge.agent.Agent`, which owns the outbox, the MQTT uplink, telemetry and command dispatch. The gate
opens its reader itself (it inventories without pause, so the agent must not probe the same port) and, with
``options.simulation.enabled``, runs on a simulated gate with people walking through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from edge.agent import AgentContext, BaseRole, CommandFailed, CommandHandler, open_reader_url
from edge.contract import Event
from edge.firmware.profile import Profile
from edge.readers import TagReader

from .agent import CommandRejected, GateAgent
from .config import GateOptions, SimulationOptions, line_counter_factory, parse_options
from .sim import GateWorld, SimClock, SimTag, SimulatorBridge, Traffic, WorldReader

__all__ = ["GateRole", "ContextSink", "SimulatedGate"]

log = logging.getLogger(__name__)


class ContextSink:
    """Events into the edge agent's outbox (committed before anything is published)."""

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx

    def emit(self, event: Event) -> None:
        self.ctx.emit(event.kind, event.data, occurred_at=event.occurred_at, event_id=event.event_id)


class SimulatedGate:
    """A gate scene in real time: people walk through; the reader is the FEIG simulator or the world itself."""

    def __init__(self, options: SimulationOptions, *, afi_in_stock: int = 0x07) -> None:
        self.clock = SimClock(realtime=True)
        self.world = GateWorld(self.clock, aisles=range(1, options.aisles + 1), seed=None)
        secured = [
            SimTag.item(uid, barcode, owner_isil=options.owner_isil, afi_in_stock=afi_in_stock)
            for uid, barcode in options.secured
        ]
        borrowed = [
            SimTag.item(uid, barcode, owner_isil=options.owner_isil, secured=False) for uid, barcode in options.borrowed
        ]
        self.traffic = Traffic(
            self.world, secured=secured, borrowed=borrowed, interval_s=options.interval_s, aisles=options.aisles
        )
        self.backend = options.backend
        self.simulator: Any = None
        if self.backend == "feig":
            from edge.readers.sim import ReaderSimulator

            self.simulator = ReaderSimulator("feig", "pty", timing=True).start()
            SimulatorBridge(self.world, self.simulator)

    def open_reader(self) -> TagReader:
        if self.simulator is not None:
            return open_reader_url(str(self.simulator.url), "gate-sim")  # type: ignore[no-any-return]
        return WorldReader(self.world)

    def start(self) -> None:
        self.traffic.start()

    def stop(self) -> None:
        self.traffic.stop()
        if self.simulator is not None:
            self.simulator.stop()


class GateRole(BaseRole):
    """The ``gate`` role (see the module docstring)."""

    name = "gate"

    def __init__(self, options: GateOptions | None = None) -> None:
        super().__init__()
        self.options = options
        self.agent: GateAgent | None = None
        self.simulation: SimulatedGate | None = None

    @property
    def probes_readers(self) -> bool:
        return True

    def start(self, ctx: AgentContext) -> None:
        options = self.options or parse_options(dict(ctx.settings.options))
        profile: Profile | None = options.load_profile()
        detector = options.detector_config(ctx.device_id, profile)
        factory: Callable[[], TagReader]
        if options.simulation.enabled:
            self.simulation = SimulatedGate(options.simulation, afi_in_stock=detector.afi_in_stock)
            factory = self.simulation.open_reader
            self.simulation.start()
        else:
            readers = ctx.settings.readers
            if not readers:
                raise CommandFailed("the gate needs a reader: add a [[readers]] entry (or options.simulation)")
            chosen = next((r for r in readers if r.name == options.reader), readers[0])
            url, name = chosen.url, chosen.name

            def factory() -> TagReader:
                reader: TagReader = open_reader_url(url, name)
                return reader

        self.agent = GateAgent(
            ctx.device_id,
            factory,
            ContextSink(ctx),
            detector=detector,
            outputs=options.output_factory(profile),
            counting=options.counting_config(profile),
            line_counter=line_counter_factory(options),
            idle_s=options.idle_s(profile),
            max_silence_s=options.max_silence_s,
        )
        self.agent.start()

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None
        if self.simulation is not None:
            self.simulation.stop()
            self.simulation = None

    def commands(self) -> Mapping[str, CommandHandler]:
        return {"silence-alarm": self._silence}

    def _silence(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.agent is None:
            raise CommandFailed("the gate is not running")
        try:
            return self.agent.silence(args.get("seconds", 60))
        except CommandRejected as exc:
            raise CommandFailed(str(exc)) from None

    def telemetry(self) -> dict[str, int]:
        return self.agent.telemetry() if self.agent is not None else {}
