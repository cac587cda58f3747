"""The server's ingest consumer as its own process, for kill -9 in the chaos suite.

    python -m tests.mqtt.chaos_consumer --database URL --port P --prefix X
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from server.db import Database
from server.ingest.consumer import IngestConsumer
from server.settings import MqttSettings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--client-id", default="chaos-ingest")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    db = Database(args.database)
    consumer = IngestConsumer(
        MqttSettings(enabled=True, port=args.port, topic_prefix=args.prefix, client_id=args.client_id), db
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    consumer.start_threads()
    consumer.connected.wait(10)
    print("consuming", flush=True)  # noqa: T201
    done.wait(300)
    consumer.stop_threads()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
