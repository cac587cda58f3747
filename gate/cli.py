"""``thuvien gate --config FILE``: run a security gate (the edge agent with the gate role)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from edge.config import SettingsError, load_settings

__all__ = ["main"]

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    from edge.agent import Agent, AgentError, EdgeSettings
    from edge.contract import TopicError

    from .config import parse_options
    from .role import GateRole

    parser = argparse.ArgumentParser(
        prog="thuvien gate",
        description="Run a library security gate: alarm on secured items, name them, count visitors.",
    )
    parser.add_argument("--config", type=Path, help="gate settings file (TOML); default $THUVIEN_CONFIG")
    parser.add_argument("--simulate", action="store_true", help="run on a simulated gate with people walking")
    parser.add_argument("--check", action="store_true", help="check the settings and profile, then exit")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings(EdgeSettings, args.config, role="gate")
        options_doc = dict(settings.options)
        if args.simulate:
            options_doc["simulation"] = {**dict(options_doc.get("simulation", {})), "enabled": True}
        options = parse_options(options_doc)
        profile = options.load_profile()
        detector = options.detector_config(settings.device_id, profile)
        counting = options.counting_config(profile)
        options.output_factory(profile)
        if not settings.readers and not options.simulation.enabled:
            raise SettingsError("no reader configured: add a [[readers]] entry, or run with --simulate")
    except SettingsError as exc:
        print(f"thuvien gate: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    if args.check:
        aisles = ", ".join(f"{a.aisle}: in {a.outer}/{a.inner}" for a in counting.aisles) or "no counting"
        print(  # noqa: T201
            f"gate {settings.device_id} ({settings.library}): mode {detector.mode}, AFI in stock "
            f"0x{detector.afi_in_stock:02X}, {detector.fast_mode} fast mode, threshold {detector.alarm_threshold}, "
            f"beams {aisles}"
        )
        return 0
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        agent = Agent(settings, role=GateRole(options), config_path=args.config)
    except (AgentError, TopicError, OSError) as exc:
        print(f"thuvien gate: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    agent.run()
    return 0
