"""Property tests of the policy rules (pure functions, no database)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.circulation import policies
from server.circulation.policies import Policy, resolve_policy

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
moments = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC))
keys = st.tuples(
    st.sampled_from([None, 1, 2]), st.sampled_from([None, "adult", "child"]), st.sampled_from([None, "book", "av"])
)
policy_rows = st.lists(
    st.builds(
        Policy,
        library_id=st.sampled_from([None, 1, 2]),
        patron_category=st.sampled_from([None, "adult", "child"]),
        item_type=st.sampled_from([None, "book", "av"]),
        loan_days=st.integers(0, 60),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(rows=policy_rows, key=keys)
def test_resolved_policy_matches_and_is_most_specific(rows: list[Policy], key: tuple) -> None:  # type: ignore[type-arg]
    chosen = resolve_policy(rows, *key)
    matching = [p for p in rows if p.matches(*key)]
    if not matching:
        assert chosen is policies.DEFAULT_POLICY
        return
    assert chosen in matching
    assert all(p.specificity <= chosen.specificity for p in matching)
    assert resolve_policy(list(reversed(rows)), *key).specificity == chosen.specificity


@settings(max_examples=300, deadline=None)
@given(start=moments, days=st.integers(0, 120), closed=st.sets(st.integers(0, 6), max_size=6))
def test_due_date_is_an_opening_day_end_of_day_not_before_the_period(
    start: dt.datetime, days: int, closed: set[int]
) -> None:
    def next_open(day: dt.date) -> dt.date:
        while day.weekday() in closed:
            day += dt.timedelta(days=1)
        return day

    due = policies.due_date(start, days, ZONE, next_open)
    local = due.astimezone(ZONE)
    assert local.time() == dt.time(23, 59, 59)
    assert local.weekday() not in closed
    earliest = start.astimezone(ZONE).date() + dt.timedelta(days=days)
    assert earliest <= local.date() <= earliest + dt.timedelta(days=6)


@settings(max_examples=300, deadline=None)
@given(days=st.integers(-5, 400), rate=st.integers(0, 10_000), cap=st.one_of(st.none(), st.integers(0, 500_000)))
def test_fine_bounds(days: int, rate: int, cap: int | None) -> None:
    fine = policies.overdue_fine(days, rate, cap)
    assert fine >= 0
    if days <= 0 or rate == 0:
        assert fine == 0
    if cap is not None:
        assert fine <= cap
    assert fine <= max(days, 0) * rate
    assert policies.overdue_fine(days + 1, rate, cap) >= fine  # monotone in lateness


@settings(max_examples=300, deadline=None)
@given(due=moments, late=st.integers(-3, 60))
def test_days_overdue(due: dt.datetime, late: int) -> None:
    returned = due + dt.timedelta(days=late)
    assert policies.days_overdue(due, returned, ZONE) == max(0, late)


@settings(max_examples=300, deadline=None)
@given(
    expired=st.booleans(),
    staff=st.lists(st.text(min_size=1, max_size=10), max_size=2),
    owed=st.integers(0, 200_000),
    limit=st.integers(0, 100_000),
    loans=st.integers(0, 10),
    max_items=st.integers(1, 10),
    fees_block=st.booleans(),
)
def test_blocks_exactly_when_a_rule_applies(
    expired: bool, staff: list[str], owed: int, limit: int, loans: int, max_items: int, fees_block: bool
) -> None:
    today = dt.date(2026, 11, 26)
    blocks = policies.patron_blocks(
        today=today,
        expires_on=today - dt.timedelta(days=1) if expired else today,
        staff_reasons=staff,
        owed_vnd=owed,
        fee_limit_vnd=limit,
        open_loans=loans,
        max_items=max_items,
        fees_block=fees_block,
    )
    codes = [b.code for b in blocks]
    assert (policies.BLOCK_CARD_EXPIRED in codes) == expired
    assert codes.count(policies.BLOCK_STAFF) == len(staff)
    assert (policies.BLOCK_FEES in codes) == (fees_block and owed > limit)
    assert (policies.BLOCK_TOO_MANY_ITEMS in codes) == (loans >= max_items)
    assert all(b.reason for b in blocks)


@settings(max_examples=200, deadline=None)
@given(done=st.integers(0, 10), allowed=st.integers(0, 10), waiting=st.booleans())
def test_can_renew(done: int, allowed: int, waiting: bool) -> None:
    assert policies.can_renew(done, allowed, waiting) == (done < allowed and not waiting)
