"""Events per second stored exactly once into PostgreSQL end to end (edge outbox -> Mosquitto -> ingest
consumer -> PostgreSQL -> application ack -> outbox empty), next to Mosquitto's raw QoS 1 rate in the same run.

Targets: ratio >= 0.3 and >= 5,000 events/s. The edge is a separate process running the real uplink over a
pre-filled outbox; the consumer batches commits and acks. Bounded: well under two minutes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import mqtt_rig  # noqa: E402
from bench.common import table  # noqa: E402

N_RAW = 30_000
N_EVENTS = 30_000


def main() -> int:
    with mqtt_rig.scratch_dir() as tmp:
        broker = mqtt_rig.Mosquitto(Path(tmp) / "broker")
        broker.start()
        try:
            raw = mqtt_rig.raw_qos1(broker.port, N_RAW)
            with mqtt_rig.database() as db:
                outbox = Path(tmp) / "outbox.db"
                mqtt_rig.fill_outbox(outbox, N_EVENTS)
                consumer = mqtt_rig.consumer(db, broker.port)
                edge = mqtt_rig.edge_process(broker.port, outbox, N_EVENTS)
                deadline = time.monotonic() + 110
                first_at, first_count, done = 0.0, 0, 0
                while done < N_EVENTS and time.monotonic() < deadline:
                    time.sleep(0.02)
                    done = mqtt_rig.stored(db)
                    if done and not first_at:  # from the first stored event: not the edge's start-up
                        first_at, first_count = time.perf_counter(), done
                stored_at = time.perf_counter()
                out, _ = edge.communicate(timeout=120)
                count, distinct = mqtt_rig.stored(db), mqtt_rig.distinct_ids(db)
                consumer.stop_threads()  # type: ignore[attr-defined]
                counters = dict(consumer.counters)  # type: ignore[attr-defined]
        finally:
            broker.kill()
    if count != N_EVENTS or distinct != N_EVENTS or "edge drained True" not in out:
        print(f"FAILED: stored {count} ({distinct} distinct) of {N_EVENTS}; edge said {out!r}")
        return 1
    rate = (N_EVENTS - first_count) / (stored_at - first_at)
    print(table(
        ["measure", "messages", "rate (msg/s)", "vs raw"],
        [
            ["Mosquitto raw QoS 1 (paho pub -> sub)", N_RAW, f"{raw:,.0f}", "1.00"],
            ["edge outbox -> PostgreSQL, exactly once", N_EVENTS, f"{rate:,.0f}", f"{rate / raw:.2f}"],
        ],
    ))
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(other processes share this machine; the ratio is the comparable figure)")
    print(f"consumer counters: applied {counters.get('applied', 0)}, duplicates {counters.get('duplicate', 0)}")
    print(f"targets: ratio >= 0.3 -> {'met' if rate / raw >= 0.3 else 'NOT met'}; "
          f">= 5,000 events/s -> {'met' if rate >= 5000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
