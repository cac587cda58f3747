"""``thuvien demo``: set up and run the whole system on embedded defaults, and describe it."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
from pathlib import Path

from server import logs, migrate
from server.db import DatabaseError
from server.demo.describe import describe
from server.demo.parts import DemoConfig, DemoPart, demo_parts
from server.demo.seed import seed
from server.settings import DatabaseSettings, HttpSettings, MailSettings, MqttSettings, ServerSettings, Sip2Settings

log = logging.getLogger(__name__)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str, besides: set[int]) -> int:
    """A port free now and not one of ``besides`` (the demo's other ports, free too until it binds them)."""
    while True:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in besides:
            return port


def settings_for(config: DemoConfig) -> ServerSettings:
    return ServerSettings(
        demo=True,
        data_dir=config.data_dir,
        database=DatabaseSettings(url=config.database_url, auto_migrate=True),
        http=HttpSettings(host=config.host, port=config.http_port),
        sip2=Sip2Settings(host=config.host, port=config.sip2_port),
        mqtt=MqttSettings(enabled=True, host=config.host, port=config.mqtt_port, protocol="3.1.1", share_group=None),
        mail=MailSettings(mode="file", folder=config.data_dir / "mail"),
    )


def _summary(doc: dict[str, object]) -> str:
    urls = doc["urls"]
    assert isinstance(urls, dict)
    lines = [
        "",
        "thuvien demo is running — Ctrl-C stops it.",
        f"  staff web      {urls['web']}   (admin / thuvien-admin)",
        f"  REST API docs  {urls['api_docs']}",
        f"  SIP2           {urls['sip2']}   (kiosk1 / kiosk1-pass)",
        "  patron cards   0001000001 (PIN 1234) ... see docs/demo.md",
        "  everything     thuvien demo --describe",
        "",
    ]
    return "\n".join(lines)


async def _run(config: DemoConfig) -> None:
    from server.cli import open_database
    from server.runtime import ServerProcess

    settings = settings_for(config)
    db = open_database(settings)
    try:
        migrate.ensure_schema(db, auto_migrate=True)
        if seed(db):
            log.info("demo data set written to %s", config.database_url)
        process = ServerProcess(settings, db)
        serving = asyncio.create_task(process.run())
        started = asyncio.create_task(process.started.wait())
        await asyncio.wait({serving, started}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            serving.result()
            return
        parts: list[DemoPart] = []
        try:
            for part in demo_parts(config):
                await part.start(config)
                parts.append(part)
            doc = describe(config, parts)
            # Written aside and renamed: whoever waits for the file (a script, the tests) never reads half of it.
            described = config.data_dir / "demo.json"
            partial = described.with_suffix(".json.part")
            partial.write_text(json.dumps(doc, ensure_ascii=False, indent=2), "utf-8")
            os.replace(partial, described)
            print(_summary(doc), flush=True)  # noqa: T201
            await serving
        finally:
            for part in reversed(parts):
                try:
                    await part.stop()
                except Exception:
                    log.exception("demo part %s did not stop cleanly", part.name)
            process.stop()
            await asyncio.gather(serving, return_exceptions=True)
    finally:
        db.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="thuvien demo", description="Run the whole system on embedded defaults.")
    parser.add_argument("--headless", action="store_true", help="open no window (for tests and servers)")
    parser.add_argument("--describe", action="store_true", help="print every demo identifier as JSON and exit")
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="where the demo keeps its files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--sip2-port", type=int, default=6001)
    parser.add_argument("--mqtt-port", type=int, default=1883)
    args = parser.parse_args(argv)
    config = DemoConfig(
        data_dir=args.data_dir.resolve(),
        host=args.host,
        http_port=args.http_port,
        sip2_port=args.sip2_port,
        mqtt_port=args.mqtt_port,
        headless=args.headless,
    )
    if args.describe:
        print(json.dumps(describe(config), ensure_ascii=False, indent=2))  # noqa: T201
        return 0
    logs.configure("INFO")
    for attr in ("http_port", "sip2_port", "mqtt_port"):
        port = getattr(config, attr)
        if not _port_free(config.host, port):
            replacement = _free_port(config.host, {config.http_port, config.sip2_port, config.mqtt_port})
            log.warning("port %d is taken; the demo uses %d instead", port, replacement)
            setattr(config, attr, replacement)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.run(_run(config))
    except DatabaseError as exc:
        print(f"thuvien demo: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        pass
    print("thuvien demo stopped.")  # noqa: T201
    return 0
