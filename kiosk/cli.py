"""``thuvien kiosk --config FILE``: run the self-checkout kiosk (Kivy screen, or ``--headless`` without one)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from edge.config import SettingsError

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="thuvien kiosk", description="Run the self-checkout kiosk.")
    parser.add_argument("--config", type=Path, help="settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--headless", action="store_true", help="no screen: run the controller and pad only")
    parser.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    parser.add_argument("--check", action="store_true", help="validate the settings and the site profile, then exit")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    from .runtime import KioskRuntime, security_profile
    from .settings import load_kiosk_settings

    try:
        settings = load_kiosk_settings(args.config)
        profile = security_profile(settings)
    except (SettingsError, ValueError) as exc:
        print(f"thuvien kiosk: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if args.check:
        print(  # noqa: T201
            f"kiosk {settings.kiosk.id}: SIP2 {settings.sip2.host}:{settings.sip2.port} as {settings.sip2.login!r}, "
            f"reader {settings.reader.url}, security {profile.mode.value} "
            f"(in stock 0x{profile.afi_in_stock:02X}, on loan 0x{profile.afi_on_loan:02X}), "
            f"offline {settings.offline.policy}, receipts {settings.receipts.mode}"
        )
        return 0
    try:
        runtime = KioskRuntime(settings)
    except Exception as exc:
        print(f"thuvien kiosk: cannot start: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    runtime.start()
    try:
        if args.headless:
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            print(f"thuvien kiosk {settings.kiosk.id} running headless — Ctrl-C stops it.", flush=True)  # noqa: T201
            stop.wait()
        else:
            os.environ.setdefault("KIVY_NO_ARGS", "1")
            from .ui.app import KioskApp

            demo = None
            sim = runtime.simulator
            if settings.kiosk.demo_tray and sim is not None:
                demo = (sim, sorted(sim.field.all(), key=lambda t: t.label or str(t.uid)))
            KioskApp(
                runtime.controller,
                fullscreen=settings.kiosk.fullscreen and not args.windowed,
                sound=settings.kiosk.sound,
                sound_dir=settings.kiosk.data_dir / "sounds",
                demo=demo,
                window_size=(1580, 800) if demo is not None else (1280, 800),
            ).run()
    except KeyboardInterrupt:
        pass
    finally:
        runtime.stop()
    print("thuvien kiosk stopped.")  # noqa: T201
    return 0
