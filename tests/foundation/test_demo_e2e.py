"""`thuvien demo --headless` starts, answers /readyz, describes itself, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support import free_ports, wait_for


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return 0, {}


def test_demo_describe_has_every_key(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "demo", "--describe", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout
    doc = json.loads(out)
    for key in ("libraries", "patrons", "items", "staff", "sip2_accounts", "urls", "mqtt", "devices", "readers"):
        assert doc[key], key
    assert doc["patrons"][0] == {
        "card": "0001000001", "pin": "1234", "name": "Nguyễn Văn An", "category": "adult",
        "library": "VN-HDU", "note": "ordinary adult reader",
    }
    assert all(len(uid) == 16 for item in doc["items"] for uid in item["tag_uids"])


def test_demo_headless_starts_and_stops(tmp_path: Path) -> None:
    http_port, sip2_port = free_ports(2)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "demo", "--headless", "--data-dir", str(tmp_path),
         "--http-port", str(http_port), "--sip2-port", str(sip2_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        assert wait_for(lambda: _get(base + "/readyz")[0] == 200, timeout=60), "demo never became ready"
        status, body = _get(base + "/readyz")
        assert body == {"status": "ready", "database": "sqlite"}
        assert wait_for(lambda: (tmp_path / "demo.json").exists(), timeout=10)
        described = json.loads((tmp_path / "demo.json").read_text("utf-8"))
        assert described["urls"]["readyz"] == base + "/readyz"
        # The simulated kiosk pad speaks the FEIG protocol: an independent `thuvien tag read` finds the books on it.
        pad = next(reader for reader in described["readers"] if reader["name"] == "kiosk-pad")
        read = subprocess.run(
            [sys.executable, "-m", "edge.cli", "tag", "read", "--reader", pad["url"]],
            capture_output=True, text=True, timeout=60, check=True,
        )
        on_pad = sorted(json.loads(line)["primary_item_id"] for line in read.stdout.splitlines() if line.strip())
        assert on_pad == sorted(pad["on_the_pad"]) == ["3000000001", "3000000002", "3000000003"]
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert "thuvien demo stopped." in output
    assert "Traceback" not in output
