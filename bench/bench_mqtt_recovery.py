"""Recovery after an outage: a branch's edge holds a 10,000-event backlog in its outbox while the broker is
down; the broker comes back; how long until every event is stored exactly once and acknowledged?

Both the edge (separate process, real uplink) and the ingest consumer are running and reconnecting with
backoff when the broker returns. Bounded: under two minutes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import mqtt_rig  # noqa: E402
from bench.common import table  # noqa: E402

BACKLOG = 10_000


def main() -> int:
    with mqtt_rig.scratch_dir() as tmp:
        broker = mqtt_rig.Mosquitto(Path(tmp) / "broker")
        broker.start()
        try:
            with mqtt_rig.database() as db:
                consumer = mqtt_rig.consumer(db, broker.port)
                broker.kill()  # the outage begins
                outbox = Path(tmp) / "outbox.db"
                mqtt_rig.fill_outbox(outbox, BACKLOG)  # what the branch recorded meanwhile
                edge = mqtt_rig.edge_process(broker.port, outbox, BACKLOG)
                time.sleep(2.0)  # both sides are retrying now
                broker.start()
                back = time.perf_counter()
                deadline = time.monotonic() + 110
                while mqtt_rig.stored(db) < BACKLOG and time.monotonic() < deadline:
                    time.sleep(0.02)
                stored_at = time.perf_counter()
                out, _ = edge.communicate(timeout=120)
                drained_at = float(out.split(" at ")[-1]) if "drained True" in out else float("nan")
                count, distinct = mqtt_rig.stored(db), mqtt_rig.distinct_ids(db)
                consumer.stop_threads()  # type: ignore[attr-defined]
                duplicates = consumer.counters.get("duplicate", 0)  # type: ignore[attr-defined]
        finally:
            broker.kill()
    if count != BACKLOG or distinct != BACKLOG:
        print(f"FAILED: stored {count} ({distinct} distinct) of {BACKLOG}; edge said {out!r}")
        return 1
    stored_s = stored_at - back
    wall_back = time.time() - (time.perf_counter() - back)
    print(table(
        ["backlog", "all stored after", "outbox empty after", "drain rate", "duplicates dropped"],
        [[BACKLOG, f"{stored_s:.1f} s", f"{drained_at - wall_back:.1f} s", f"{BACKLOG / stored_s:,.0f} ev/s",
          duplicates]],
    ))
    print("(times from the broker's return; includes both sides' reconnect backoff)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
