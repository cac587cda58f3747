"""``thuvien kiosk``: settings validation, the demo's generated configuration, a headless start and stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.runtime import security_profile
from kiosk.security import SecurityMode
from kiosk.settings import load_kiosk_settings
from server.demo.parts import DemoConfig, KioskDemoPart
from tests.kiosk.fakes import ScriptedPeer
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_demo_config_is_valid_and_uses_the_site_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = KioskDemoPart().write_config(DemoConfig(data_dir=tmp_path, sip2_port=16001))
    settings = load_kiosk_settings(path)
    assert settings.sip2.login == "kiosk1" and settings.kiosk.demo_tray
    profile = security_profile(settings)
    assert profile.mode is SecurityMode.AFI_EAS and profile.afi_on_loan == 0xC2 and profile.afi_in_stock == 0x07
    assert main(["--config", str(path), "--check"]) == 0
    assert "security afi+eas" in capsys.readouterr().out


def test_bad_settings_are_one_clear_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_text('[sip2]\nencoding = "klingon"\n', "utf-8")
    assert main(["--config", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert "sip2.encoding" in err and "klingon" in err
    path.write_text("[kiosk]\nlanguge = 'vi'\n", "utf-8")
    assert main(["--config", str(path), "--check"]) == 2
    assert "languge" in capsys.readouterr().err


def test_headless_kiosk_starts_and_stops(tmp_path: Path) -> None:
    peer = ScriptedPeer()
    path = KioskDemoPart().write_config(DemoConfig(data_dir=tmp_path, sip2_port=peer.port))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "kiosk", "--config", str(path), "--headless"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        journal = tmp_path / "kiosk" / "offline-outbox.db"
        assert wait_for(lambda: journal.exists() or proc.poll() is not None, timeout=30)
        assert wait_for(lambda: proc.poll() is not None, timeout=1.0) is False  # still running
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        peer.close()
    assert proc.returncode == 0, out
    assert "running headless" in out and "stopped" in out and "Traceback" not in out
