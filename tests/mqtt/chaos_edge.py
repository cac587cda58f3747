"""An edge process for the chaos suite: produces N events at a steady rate through the real agent, resuming
after kill -9 from its own progress table (committed in the same transaction as each event).

    python -m tests.mqtt.chaos_edge --data-dir D --port P --prefix X --device ID --count N --rate R
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from edge.agent import Agent, BaseRole, EdgeSettings
from tests.support import wait_for


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--no-app-ack", action="store_true",
                        help="control: forget events once handed to the broker (what the outbox must not do)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = EdgeSettings(
        role="kiosk", device_id=args.device, library="VN-HDU", data_dir=args.data_dir, telemetry_interval_s=1.0,
        mqtt={"port": args.port, "topic_prefix": args.prefix, "reconnect_min_s": 1, "reconnect_max_s": 2,
              "keepalive": 5},
        outbox={"resend_after_s": 3.0},
    )
    agent = Agent(settings, role=BaseRole())
    if args.no_app_ack:
        outbox = agent.outbox

        def forget(seqs: list[int], *, now: float | None = None) -> None:
            marks = ",".join(str(int(s)) for s in seqs) or "NULL"
            query = f"SELECT event_id FROM outbox WHERE seq IN ({marks})"
            with outbox._lock:
                ids = [r[0] for r in outbox._connection().execute(query)]
            outbox.acknowledge(ids)

        outbox.mark_sent = forget  # type: ignore[method-assign,assignment]
    with agent.outbox.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS produced (i INTEGER PRIMARY KEY)")
        row = conn.execute("SELECT MAX(i) FROM produced").fetchone()
    start = 0 if row[0] is None else int(row[0]) + 1
    agent.start()
    print(f"started at {start}", flush=True)  # noqa: T201
    began = time.monotonic()
    for i in range(start, args.count):
        with agent.outbox.transaction() as conn:
            conn.execute("INSERT INTO produced VALUES (?)", (i,))
            agent.context.emit("checkout", {"item": f"3{i:09d}"}, event_id=f"{args.device}-{i:06d}", conn=conn)
        agent.uplink.wake()
        if i % 50 == 0:
            print(f"produced {i}", flush=True)  # noqa: T201
        delay = began + (i - start + 1) / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print("all produced", flush=True)  # noqa: T201
    drained = wait_for(lambda: agent.outbox.depth() == 0, timeout=90, interval=0.1)
    print("drained" if drained else f"not drained: {agent.outbox.depth()} left", flush=True)  # noqa: T201
    agent.stop()
    return 0 if drained else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
