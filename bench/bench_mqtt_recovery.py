"""Recovery after an outage: a branch's edge holds a 10,000-event backlog in its outbox while the broker is
down; the broker comes back; how long until every event is stored exactly once and acknowledged?

The ingest consumer (this process) and the edge (a separate process, real uplink, reconnect backoff 1 s) are
both running and retrying when the broker (persistence off: it comes back empty) returns; the times count from
the broker accepting connections again, so they include both sides' reconnect backoff. The backlog is
checkouts, checkins and renewals in runs of 8 of one kind (EventBatch messages of at most 8 events). At the end
the stored event ids are compared with the 10,000 sent: each exactly once. Bounded: under two minutes.

    .venv/bin/python bench/bench_mqtt_recovery.py
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
RUN = 8


def main() -> int:
    with mqtt_rig.scratch_dir() as tmp:
        broker = mqtt_rig.Mosquitto(Path(tmp) / "broker")
        broker.start()
        try:
            with mqtt_rig.database() as db:
                consumer = mqtt_rig.consumer(db, broker.port)
                broker.kill()  # the outage begins
                outbox = Path(tmp) / "outbox.db"
                mqtt_rig.fill_outbox(outbox, BACKLOG, run=RUN)  # what the branch recorded meanwhile
                edge = mqtt_rig.edge_process(broker.port, outbox, BACKLOG)
                time.sleep(2.0)  # both sides are retrying now
                broker.start()
                back = time.time()
                deadline = time.monotonic() + 110
                while mqtt_rig.stored(db) < BACKLOG and time.monotonic() < deadline:
                    time.sleep(0.02)
                stored_at = time.time()
                _connected, drained_at, _cpu = edge.finish()
                ids = mqtt_rig.stored_ids(db)
                consumer.stop_threads()  # type: ignore[attr-defined]
                duplicates = consumer.counters.get("duplicate", 0)  # type: ignore[attr-defined]
        finally:
            broker.kill()
    if len(ids) != BACKLOG or set(ids) != set(mqtt_rig.event_ids(mqtt_rig.DEVICE, BACKLOG)) or drained_at is None:
        print(f"FAILED: stored {len(ids)} rows ({len(set(ids))} distinct) of {BACKLOG}; drained at {drained_at}")
        return 1
    stored_s = stored_at - back
    print(table(
        ["backlog", "all stored after", "outbox empty after", "drain rate", "duplicates dropped"],
        [[BACKLOG, f"{stored_s:.1f} s", f"{drained_at - back:.1f} s", f"{BACKLOG / stored_s:,.0f} ev/s",
          duplicates]],
    ))
    print("(times from the broker's return; they include both sides' reconnect backoff)")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
