"""Events per second stored exactly once into PostgreSQL end to end, next to Mosquitto's raw QoS 1 rate in the
same run.

What is measured, per case: N events already committed in the SQLite outboxes of M edge agents (one process per
device, each running the real uplink: outbox -> paho -> Mosquitto), consumed by one server ingest consumer (in
this process) that stores them in PostgreSQL and acknowledges them; an edge is done when its outbox is empty,
that is when the server has acknowledged, hence committed, every one of its events. The rate is
N / (last outbox empty - first edge connected): interpreter start-up and outbox filling are outside, connecting
and everything after it inside. At the end the stored event ids are compared with the N ids sent: each exactly
once, no other row (the case fails otherwise). The outboxes hold checkouts, checkins and renewals in runs of one
kind (``--run`` events each, as a patron's visit gives), so EventBatch messages hold at most ``--run`` events;
the "one event per message" case sets ``mqtt.event_batch = 1`` (the behaviour for servers without EventBatch).

CPU per event: the server process (consumer threads; ``time.process_time``) and the edge processes (each its
own ``time.process_time`` from the start of its uplink to its empty outbox). The raw reference is a paho
publisher (child process) -> Mosquitto -> paho subscriber (this process), QoS 1, 200-byte payloads.
Bounded: well under two minutes.

    .venv/bin/python bench/bench_mqtt_ingest.py [--events 60000] [--edges 4] [--run 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import mqtt_rig  # noqa: E402
from bench.common import table  # noqa: E402

N_RAW = 30_000


@dataclass
class Case:
    label: str
    events: int
    rate: float
    server_us: float
    edge_us: float
    duplicates: int


def run_case(port: int, db: object, tmp: Path, label: str, events: int, edges: int, run: int,
             event_batch: int) -> Case:
    from sqlalchemy import text

    from server.db import Database

    assert isinstance(db, Database)
    with db.write() as session:
        session.execute(text("DELETE FROM device_events"))
    names = mqtt_rig.devices(edges)
    per_edge = events // edges
    for name in names:
        mqtt_rig.fill_outbox(tmp / f"{label}-{name}.db", per_edge, name, run=run)
    consumer = mqtt_rig.consumer(db, port)
    workers = [mqtt_rig.Edge(port, tmp / f"{label}-{name}.db", per_edge, name, event_batch=event_batch)
               for name in names]
    server_cpu = time.process_time()
    for worker in workers:
        worker.go()
    marks = [worker.finish() for worker in workers]
    server_cpu = time.process_time() - server_cpu
    edge_cpu = sum(cpu for _c, _d, cpu in marks)
    consumer.stop_threads()  # type: ignore[attr-defined]
    duplicates = consumer.counters.get("duplicate", 0)  # type: ignore[attr-defined]
    total = per_edge * edges
    expected = {i for name in names for i in mqtt_rig.event_ids(name, per_edge)}
    stored = mqtt_rig.stored_ids(db)
    starts = [c for c, _d, _cpu in marks if c is not None]
    ends = [d for _c, d, _cpu in marks if d is not None]
    if len(ends) != edges or len(stored) != total or set(stored) != expected:
        raise SystemExit(f"FAILED ({label}): {len(stored)} rows, {len(set(stored) & expected)} of {total} ids; "
                         f"{len(ends)} of {edges} outboxes drained")
    rate = total / (max(ends) - min(starts))
    return Case(label, total, rate, server_cpu / total * 1e6, edge_cpu / total * 1e6, duplicates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000, help="events in all outboxes together")
    parser.add_argument("--edges", type=int, default=4, help="edge agents (processes, devices)")
    parser.add_argument("--run", type=int, default=8, help="events of one kind in a row in an outbox")
    parser.add_argument("--single-events", type=int, default=10_000,
                        help="events for the one-event-per-message case (0: skip it)")
    args = parser.parse_args()
    cases: list[Case] = []
    with mqtt_rig.scratch_dir() as tmp_name:
        tmp = Path(tmp_name)
        broker = mqtt_rig.Mosquitto(tmp / "broker")
        broker.start()
        try:
            raw = mqtt_rig.raw_qos1(broker.port, N_RAW)
            with mqtt_rig.database(mqtt_rig.devices(args.edges)) as db:
                cases.append(run_case(broker.port, db, tmp, "batched", args.events, args.edges, args.run, 100))
                if args.single_events:
                    cases.append(run_case(broker.port, db, tmp, "single", args.single_events, args.edges,
                                          args.run, 1))
        finally:
            broker.kill()
    rows: list[list[object]] = [["Mosquitto raw QoS 1 (paho pub -> sub)", N_RAW, f"{raw:,.0f}", "1.00", "", "", ""]]
    labels = {
        "batched": f"{args.edges} edge outboxes -> PostgreSQL, exactly once (EventBatch, "
                   + (f"runs of {args.run})" if args.run else "one kind)"),
        "single": f"{args.edges} edge outboxes -> PostgreSQL, exactly once (one event per message)",
    }
    for case in cases:
        rows.append([labels[case.label], case.events, f"{case.rate:,.0f}", f"{case.rate / raw:.2f}",
                     f"{case.server_us:.0f}", f"{case.edge_us:.0f}", case.duplicates])
    print(table(["measure", "events", "rate (/s)", "vs raw", "server CPU µs/ev", "edge CPU µs/ev", "dups dropped"],
                rows))
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(other processes share this machine; the ratio is the comparable figure)")
    best = cases[0].rate
    print(f"targets: ratio >= 0.3 -> {'met' if best / raw >= 0.3 else 'NOT met'}; "
          f">= 5,000 events/s -> {'met' if best >= 5000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
