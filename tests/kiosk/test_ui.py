"""The real Kivy screens under a virtual display (SDL offscreen), driven by pressing their buttons.

Screenshots land in test-artifacts/kiosk-ui/ (look at them). Kivy gets its own process: one App per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "kiosk-ui"


@pytest.mark.kivy
def test_kiosk_screens_under_a_virtual_display(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(
        SDL_VIDEODRIVER="offscreen",
        KIVY_NO_ARGS="1",
        KIVY_NO_CONSOLELOG="1",
        KIVY_NO_FILELOG="1",
        KIVY_HOME=str(tmp_path / "kivyhome"),
        SDL_AUDIODRIVER="dummy",
        PYTHONPATH=str(ROOT),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tests.kiosk.ui_driver", str(ARTIFACTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = json.loads((ARTIFACTS / "results.json").read_text("utf-8"))
    assert proc.returncode == 0, (proc.stderr[-3000:], results["errors"])
    steps = {s["name"]: s for s in results["steps"]}
    assert len(steps) == 25
    for step in steps.values():
        assert step["seen"] == step["expected"], step
        assert Path(step["png"]).stat().st_size > 10_000, step
    assert steps["03-borrow-stack"]["codes"].count("KIOSK-CHECKOUT-002") == 4
    assert "KIOSK-CHECKOUT-004" in steps["03-borrow-stack"]["codes"]
    assert steps["04-borrow-en"]["lang"] == "en"
    assert steps["08-blocked-patron"]["notice"] == "KIOSK-PATRON-002"
    assert {"KIOSK-ITEM-001", "KIOSK-ITEM-002", "KIOSK-ITEM-003"} <= set(steps["10-return-bad-tags"]["codes"])
    assert steps["13-offline"]["notice"] == "KIOSK-OFFLINE-001"
    assert steps["18-renewed"]["codes"] == ["KIOSK-RENEW-001"]
    assert steps["19-account"]["lang"] == "en"
    assert results["sounds"] == ["failure.wav", "success.wav"]
