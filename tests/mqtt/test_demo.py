"""`thuvien demo` embeds a broker (no Mosquitto needed): its edge agents report status and telemetry, visible
through the REST API, and `--describe` names the broker URL and the devices."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_ports, wait_for

pytestmark = pytest.mark.timeout(180)


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return json.loads(response.read())
    except OSError:
        return None


def test_describe_names_the_broker_and_devices(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "edge.cli", "demo", "--describe", "--data-dir", str(tmp_path),
                          "--mqtt-port", "18831"], capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert doc["mqtt"]["url"] == "mqtt://127.0.0.1:18831"
    assert any(d["device_id"] == "station-1" for d in doc["devices"])


def test_demo_agents_report_through_the_embedded_broker(tmp_path: Path) -> None:
    http, sip2, mqtt_port = free_ports(3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "demo", "--headless", "--data-dir", str(tmp_path), "--http-port",
         str(http), "--sip2-port", str(sip2), "--mqtt-port", str(mqtt_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{http}/api/v1/devices"
    try:
        def station() -> dict[str, Any]:
            devices = _get(base) or []
            return next((d for d in devices if d["device_id"] == "station-1"), {})

        assert wait_for(lambda: station().get("state") == "online", timeout=120), "station-1 never came online"
        assert station()["versions"]["role"] == "station"
        assert wait_for(lambda: bool(_get(base + "/station-1/telemetry")), timeout=30), "no telemetry"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "Traceback" not in output
