"""Group commit: events that threads add at the same moment share one transaction (one fsync), each caller
returns once its own events are committed, and a refused event fails only its own caller."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest

from edge.contract import Event
from edge.outbox import DuplicateEvent, Outbox, OutboxClosed, OutboxFull
from tests.support import wait_for


def _event(name: str) -> Event:
    return Event(event_id=name, device_id="k1", kind="checkout", occurred_at=dt.datetime.now(dt.UTC))


def _add_in_thread(box: Outbox, name: str, errors: dict[str, BaseException]) -> threading.Thread:
    def add() -> None:
        try:
            box.add("t/evt/checkout", _event(name))
        except Exception as exc:
            errors[name] = exc

    thread = threading.Thread(target=add)
    thread.start()
    return thread


def test_waiting_events_commit_together_and_a_refusal_stays_with_its_caller(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", max_events=5)
    box.add("t/evt/checkout", _event("before"))
    errors: dict[str, BaseException] = {}
    with box.transaction():  # holds the connection: the adders below queue up behind it
        threads = [_add_in_thread(box, name, errors) for name in ("a", "b", "before", "c", "d", "e")]
        assert wait_for(lambda: len(box._waiting) == 6, timeout=10)
        commits = box.commits
    for thread in threads:
        thread.join(10)
    assert box.commits == commits + 2  # the holder's transaction, then one for all six callers
    assert isinstance(errors.pop("before"), DuplicateEvent)
    assert [type(e) for e in errors.values()] == [OutboxFull]  # the sixth event did not fit (bound 5)
    assert box.depth() == 5
    stored = set(box.event_ids())
    assert stored == {"before", "a", "b", "c", "d", "e"} - set(errors)
    box.close()
    reopened = sqlite3.connect(tmp_path / "o.db")  # committed, not merely in memory
    assert reopened.execute("SELECT COUNT(*) FROM outbox").fetchone() == (5,)
    reopened.close()


def test_concurrent_adders_all_land_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    errors: dict[str, BaseException] = {}

    def adder(t: int) -> None:
        for i in range(50):
            try:
                box.add("t/evt/checkout", _event(f"t{t}-{i:03d}"))
            except Exception as exc:
                errors[f"t{t}-{i:03d}"] = exc

    threads = [threading.Thread(target=adder, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == {}
    ids = box.event_ids()
    assert len(ids) == 300 and len(set(ids)) == 300 and box.depth() == 300
    for t in range(6):  # each thread's events in its own order
        mine = [i for i in ids if i.startswith(f"t{t}-")]
        assert mine == sorted(mine)
    box.close()


def test_adding_to_a_closed_outbox_says_so(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.close()
    with pytest.raises(OutboxClosed):
        box.add("t/evt/checkout", _event("late"))
