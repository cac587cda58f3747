"""Visitor counting from two beams per aisle: direction, turn-backs, blocked-beam faults, periods."""

from __future__ import annotations

import datetime as dt

import pytest

from gate.counter import AisleBeams, AisleCounter, LineCounter, VisitorCounter, parse_counter_line


def feed(counter: AisleCounter, samples: list[tuple[bool, bool]], start: float = 0.0) -> list[str | None]:
    return [counter.update(start + i * 0.05, outer, inner)[0] for i, (outer, inner) in enumerate(samples)]


IN = [(False, False), (True, False), (True, True), (False, True), (False, False)]
OUT = [(False, False), (False, True), (True, True), (True, False), (False, False)]


def test_direction_comes_from_the_beam_broken_first() -> None:
    counter = AisleCounter(AisleBeams(1, outer=1, inner=2))
    assert feed(counter, IN)[-1] == "in"
    assert feed(counter, OUT)[-1] == "out"
    assert (counter.count_in, counter.count_out) == (1, 1)


def test_turning_back_after_one_beam_counts_nobody() -> None:
    counter = AisleCounter(AisleBeams(1, outer=1, inner=2))
    feed(counter, [(True, False), (False, False), (False, True), (False, False)])
    assert (counter.count_in, counter.count_out) == (0, 0)


def test_a_beam_blocked_past_the_limit_is_a_fault_until_it_is_free() -> None:
    counter = AisleCounter(AisleBeams(1, outer=1, inner=2), blocked_limit_s=30)
    _, faults = counter.update(0.0, True, False)
    assert faults == []
    _, faults = counter.update(31.0, True, False)
    assert [(f.beam, f.blocked) for f in faults] == [("outer", True)]
    _, faults = counter.update(32.0, True, True)
    assert faults == []
    _, faults = counter.update(40.0, False, False)
    assert [(f.beam, f.blocked) for f in faults] == [("outer", False)]
    assert (counter.count_in, counter.count_out) == (0, 0)
    assert feed(counter, IN, start=50)[-1] == "in"


def test_periods_carry_the_counts_since_the_last_one() -> None:
    clock = iter(dt.datetime(2026, 11, 26, 8, m, tzinfo=dt.UTC) for m in range(0, 60, 15))
    counter = VisitorCounter([AisleBeams(1, 1, 2), AisleBeams(2, 3, 4)], wall=lambda: next(clock))
    t = 0.0
    for levels in [{1: o, 2: i} for o, i in IN] + [{3: o, 4: i} for o, i in OUT] + [{3: o, 4: i} for o, i in OUT]:
        counter.update(t, levels)
        t += 0.05
    first = counter.close_period()
    assert (first.count_in, first.count_out) == (1, 2)
    assert first.aisles == {1: (1, 0), 2: (0, 2)}
    assert first.period_start.minute == 0 and first.period_end.minute == 15
    second = counter.close_period()
    assert (second.count_in, second.count_out) == (0, 0)
    assert second.period_start == first.period_end


def test_inverted_inputs_and_bad_wiring() -> None:
    counter = VisitorCounter([AisleBeams(1, 5, 6, blocked_level=False)])
    t = 0.0
    for outer, inner in IN:
        counter.update(t, {5: not outer, 6: not inner})
        t += 0.05
    assert counter.total_in == 1
    with pytest.raises(ValueError, match="different inputs"):
        AisleBeams(1, 3, 3)
    with pytest.raises(ValueError, match="own input"):
        VisitorCounter([AisleBeams(1, 1, 2), AisleBeams(2, 2, 3)])


class FakeStream:
    def __init__(self) -> None:
        self.data = b""

    @property
    def in_waiting(self) -> int:
        return len(self.data)

    def read(self, size: int = 1) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def test_a_people_counter_reporting_lines() -> None:
    assert parse_counter_line("in") == ("in", 1)
    assert parse_counter_line(" OUT 2\r") == ("out", 2)
    assert parse_counter_line("BLOCKED 1") == ("blocked", 1)
    assert parse_counter_line("hello") is None and parse_counter_line("IN x") is None
    stream = FakeStream()
    counter = LineCounter(stream)
    stream.data = b"IN\r\nOUT 2\nIN 2\nnoise\nOU"
    assert counter.poll() == [("in", 1), ("out", 2), ("in", 2)]
    stream.data = b"T 1\n"
    assert counter.poll() == [("out", 1)]
    assert counter.bad_lines == 1
    visitors = VisitorCounter([AisleBeams(1, -2, -3), AisleBeams(2, -4, -5)])
    for direction, aisle in [("in", 1), ("out", 2), ("in", 2)]:
        visitors.record(aisle, direction)
    assert (visitors.total_in, visitors.total_out) == (2, 1)
    with pytest.raises(ValueError, match="no aisle 7"):
        visitors.record(7, "in")
