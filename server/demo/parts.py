"""The pieces the demo runs beside the server (simulated readers, the embedded broker, gate, kiosk...).

Each later capability adds a :class:`DemoPart` to :func:`demo_parts`; the demo starts them in order after the
server is ready and stops them in reverse. ``describe`` contributes to ``thuvien demo --describe``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class DemoConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    http_port: int = 8000
    sip2_port: int = 6001
    mqtt_port: int = 1883
    headless: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'demo.db').as_posix()}"


class DemoPart(Protocol):
    name: str

    def describe(self, config: DemoConfig) -> dict[str, Any]:
        """Keys to merge into the ``--describe`` document (for example ``{"readers": [...]}``)."""
        ...

    async def start(self, config: DemoConfig) -> None: ...

    async def stop(self) -> None: ...


def demo_parts(config: DemoConfig) -> list[DemoPart]:
    """The parts the demo runs, in start order."""
    from server.alarms.demo import GateDemoPart  # one security gate on a simulated reader

    return [GateDemoPart()]
