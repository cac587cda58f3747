"""The durable outbox: committed before publishing, oldest first, resent until acknowledged, bounded,
and still there after kill -9."""

from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge.contract import Event, new_event_id
from edge.outbox import DuplicateEvent, Outbox, OutboxClosed, OutboxFull


def _event(i: int = 0) -> Event:
    return Event(event_id=f"e{i:05d}", device_id="k1", kind="checkout", occurred_at=dt.datetime.now(dt.UTC))


def test_rows_come_oldest_first_and_leave_only_on_ack(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", resend_after=5)
    for i in range(5):
        box.add("t/evt/checkout", _event(i))
    due = box.due(3, now=1e12)
    assert [r.event_id for r in due] == ["e00000", "e00001", "e00002"]
    box.mark_sent([r.seq for r in due], now=100.0)
    assert [r.event_id for r in box.due(10, now=101.0)] == ["e00003", "e00004"]
    assert len(box.due(10, now=106.0)) == 5  # resend after the timeout
    assert box.acknowledge(["e00000", "e00001", "unknown"]) == 2
    assert box.depth() == 3
    box.mark_sent([r.seq for r in box.due(10)], now=200.0)
    assert box.due(10, now=201.0) == []
    box.rewind()
    assert len(box.due(10, now=201.0)) == 3
    box.close()
    with pytest.raises(OutboxClosed):
        box.due()


def test_outbox_is_bounded_and_says_so(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_events=3)
    box.add_many([("t", _event(i)) for i in range(3)])
    assert box.full
    with pytest.raises(OutboxFull):
        box.add("t", _event(9))
    assert box.depth() == 3
    box.acknowledge(["e00000"])
    assert not box.full
    box.add("t", _event(9))
    box.close()


def test_a_local_record_and_its_event_commit_together(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    with box.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS loans (item TEXT)")
    with pytest.raises(RuntimeError), box.transaction() as conn:
        conn.execute("INSERT INTO loans VALUES ('300001')")
        box.add("t", _event(1), conn=conn)
        raise RuntimeError("the kiosk failed half way")
    assert box.depth() == 0
    with box.transaction() as conn:
        conn.execute("INSERT INTO loans VALUES ('300001')")
        box.add("t", _event(1), conn=conn)
    assert box.depth() == 1
    box.close()
    reopened = sqlite3.connect(tmp_path / "o.db")
    assert reopened.execute("SELECT COUNT(*) FROM loans").fetchone() == (1,)
    reopened.close()


def test_committed_events_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    script = textwrap.dedent(
        f"""
        import datetime as dt, sys, time
        from edge.contract import Event
        from edge.outbox import Outbox
        box = Outbox({str(path)!r})
        for i in range(200):
            box.add("t", Event(event_id=f"k{{i:05d}}", device_id="k1", kind="checkout",
                               occurred_at=dt.datetime.now(dt.UTC)))
            if i == 99:
                print("committed", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "committed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    box = Outbox(path)
    ids = box.event_ids()
    box.close()
    assert len(ids) >= 100
    assert ids == [f"k{i:05d}" for i in range(len(ids))]  # a prefix, in order, no gaps


def test_duplicate_event_ids_are_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    event = _event(1)
    box.add("t", event)
    with pytest.raises(DuplicateEvent):
        box.add("t", event)
    assert box.depth() == 1
    assert new_event_id() != new_event_id()
    box.close()
