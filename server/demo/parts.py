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


class KioskDemoPart:
    """The self-checkout kiosk window (``thuvien kiosk``, its own process) on a simulated pad holding the
    demo items, talking SIP2 to the demo server. Opened only when a display exists and not ``--headless``."""

    name = "kiosk"

    def __init__(self) -> None:
        self._proc: Any = None

    def describe(self, config: DemoConfig) -> dict[str, Any]:
        return {"kiosk": {"sip2_login": "kiosk1", "pad": "simulated FEIG reader; demo tray on the right"}}

    def write_config(self, config: DemoConfig) -> Path:
        import json

        from server.demo import data

        tags = []
        for spec in data.HIGHLIGHTS:
            for part, uid in enumerate(spec.tag_uids, start=1):
                parts = len(spec.tag_uids)
                item = {
                    "primary_item_id": spec.barcode,
                    "owner_isil": spec.library,
                    "type_of_usage": 1,
                    "parts_in_set": parts if parts > 1 else None,
                    "part_number": part if parts > 1 else None,
                }
                label = spec.title + (f" ({part}/{parts})" if parts > 1 else "")
                secured = spec.barcode != data.LOAN_OF_PATRON_2
                tags.append(
                    {
                        "uid": uid,
                        "item": item,
                        "afi": 0x07 if secured else 0xC2,
                        "eas": secured,
                        "label": label,
                        "present": False,
                    }
                )
        folder = config.data_dir / "kiosk"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pad-tags.json").write_text(json.dumps({"tags": tags}, ensure_ascii=False, indent=1), "utf-8")
        path = folder / "kiosk.toml"
        path.write_text(
            f'[kiosk]\nid = "kiosk-demo"\nlibrary = "{data.PROVINCE_ISIL}"\nlibrary_name = "Thư viện tỉnh Hải Dương"\n'
            f'accepted_owners = ["{data.PROVINCE_ISIL}"]\ndemo_tray = true\nfullscreen = false\n'
            f'data_dir = "{folder.as_posix()}"\n'
            f'[sip2]\nhost = "{config.host}"\nport = {config.sip2_port}\nlogin = "kiosk1"\npassword = "kiosk1-pass"\n'
            f'institution = "{data.PROVINCE_ISIL}"\nlocation = "Sảnh tầng 1"\n'
            f'[reader]\nurl = "sim://?driver=feig&tags={(folder / "pad-tags.json").as_posix()}&timing=on"\n'
            f'profile = "feig-mr101-kiosk-pad"\n[receipts]\nprinter = "file"\n',
            "utf-8",
        )
        return path

    async def start(self, config: DemoConfig) -> None:
        import importlib.util
        import os
        import subprocess
        import sys

        if config.headless or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return
        if importlib.util.find_spec("kivy") is None:
            return
        path = self.write_config(config)
        self._proc = subprocess.Popen([sys.executable, "-m", "edge.cli", "kiosk", "--config", str(path), "--windowed"])

    async def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except Exception:
                self._proc.kill()


def demo_parts(config: DemoConfig) -> list[DemoPart]:
    """The parts the demo runs, in start order."""
    from server.alarms.demo import GateDemoPart  # one security gate on a simulated reader
    from server.demo.readers import PadReaderDemoPart  # the simulated kiosk pad, headless too
    from server.ingest.demo import MqttDemoPart  # the embedded broker first: the others connect to it

    return [MqttDemoPart(), GateDemoPart(), PadReaderDemoPart(), KioskDemoPart()]
