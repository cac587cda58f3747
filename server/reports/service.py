"""Statistics for a library and the libraries below it over a period: loans and returns per library and
month, self-service share, visitors, collection size and growth, items never borrowed, gate alarms and the
digitisation share of local-history records; plus the dashboard's figures for today.

Months and days are local (Asia/Ho_Chi_Minh). A period report uses the library tree as it was on the
period's first day (:func:`server.libraries.service.subtree_at`), so a report over 2024 still groups a
district library under the province it then belonged to.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from server.catalog.models import BibRecord, Item, ItemStatus
from server.circulation.models import Hold, HoldState, Loan
from server.devices.models import Device, DeviceState, GateAlarm, VisitorCount
from server.libraries.service import subtree_at, tree_at

log = logging.getLogger(__name__)

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
#: Loan channels that are self-service (a kiosk over SIP2); "desk" and anything else is staff-mediated.
SELF_SERVICE_CHANNELS = ("kiosk", "sip2", "self", "selfcheck")


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), LOCAL).astimezone(dt.UTC)


def _bucket(session: Session, column: Any, unit: str) -> ColumnElement[Any]:
    """The local month or day of a UTC timestamp column; read it with :func:`_label`.

    PostgreSQL truncates (cheaper than formatting every row: a year of 100k loans groups in half the time);
    SQLite formats, since it keeps timestamps as text.
    """
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone(literal_column("'Asia/Ho_Chi_Minh'"), column))
    fmt = "%Y-%m" if unit == "month" else "%Y-%m-%d"
    return func.strftime(fmt, column, "+7 hours")


def _label(value: Any, unit: str) -> str:
    """``YYYY-MM`` or ``YYYY-MM-DD`` of a bucket as either back end returns it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m" if unit == "month" else "%Y-%m-%d")
    return str(value)


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """``YYYY-MM`` for each month touching ``[start, end]``."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass
class Dashboard:
    loans_today: int
    returns_today: int
    active_loans: int
    overdue: int
    holds_ready: int
    devices_online: int
    devices_offline: int
    devices_total: int
    alarms_open: int
    visitors_today: int
    days: list[str]
    loans_per_day: list[int]
    returns_per_day: list[int]


def dashboard(session: Session, scope: set[int], now: dt.datetime, *, days: int = 30) -> Dashboard:
    """Today's figures for the libraries in ``scope`` and the loans of the last ``days`` days."""
    ids = sorted(scope)
    today = now.astimezone(LOCAL).date()
    start_today = local_midnight(today)
    first = today - dt.timedelta(days=days - 1)
    in_scope = Loan.library_id.in_(ids)

    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    loans_today = count(select(func.count(Loan.id)).where(in_scope, Loan.checked_out_at >= start_today))
    returns_today = count(
        select(func.count(Loan.id)).where(Loan.returned_library_id.in_(ids), Loan.returned_at >= start_today)
    )
    active = count(select(func.count(Loan.id)).where(in_scope, Loan.returned_at.is_(None)))
    overdue = count(select(func.count(Loan.id)).where(in_scope, Loan.returned_at.is_(None), Loan.due_at < now))
    holds_ready = count(
        select(func.count(Hold.id)).where(Hold.pickup_library_id.in_(ids), Hold.state == HoldState.READY)
    )
    device_rows = session.execute(
        select(Device.state, func.count(Device.id))
        .where(Device.library_id.in_(ids), Device.retired_at.is_(None))
        .group_by(Device.state)
    ).all()
    by_state = {DeviceState(state): int(n) for state, n in device_rows}
    alarms_open = count(
        select(func.count(GateAlarm.id)).where(GateAlarm.library_id.in_(ids), GateAlarm.acknowledged_at.is_(None))
    )
    visitors = count(
        select(func.coalesce(func.sum(VisitorCount.count_in), 0)).where(
            VisitorCount.library_id.in_(ids), VisitorCount.period_start >= start_today
        )
    )
    labels = [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]
    out_day = _bucket(session, Loan.checked_out_at, "day")
    loans_by_day = {
        _label(day, "day"): n
        for day, n in session.execute(
            select(out_day, func.count())
            .where(in_scope, Loan.checked_out_at >= local_midnight(first))
            .group_by(out_day)
        )
    }
    back_day = _bucket(session, Loan.returned_at, "day")
    returns_by_day = {
        _label(day, "day"): n
        for day, n in session.execute(
            select(back_day, func.count())
            .where(Loan.returned_library_id.in_(ids), Loan.returned_at >= local_midnight(first))
            .group_by(back_day)
        )
    }
    return Dashboard(
        loans_today=loans_today,
        returns_today=returns_today,
        active_loans=active,
        overdue=overdue,
        holds_ready=holds_ready,
        devices_online=by_state.get(DeviceState.ONLINE, 0),
        devices_offline=by_state.get(DeviceState.OFFLINE, 0),
        devices_total=sum(by_state.values()),
        alarms_open=alarms_open,
        visitors_today=visitors,
        days=[label[5:] for label in labels],
        loans_per_day=[int(loans_by_day.get(label, 0)) for label in labels],
        returns_per_day=[int(returns_by_day.get(label, 0)) for label in labels],
    )


@dataclass
class LibraryRow:
    library_id: int
    code: str
    name: str
    loans: int = 0
    self_service_loans: int = 0
    returns: int = 0
    renewals: int = 0
    visitors: int = 0
    alarms: int = 0
    items_at_end: int = 0
    items_added: int = 0
    never_borrowed: int = 0

    @property
    def self_service_share(self) -> float | None:
        return self.self_service_loans / self.loans if self.loans else None


@dataclass
class PeriodReport:
    """Everything the report page shows and exports, for one library subtree and one period."""

    root_id: int
    root_name: str
    start: dt.date
    end: dt.date
    months: list[str]
    libraries: list[LibraryRow]
    loans_per_month: list[int]
    returns_per_month: list[int]
    self_service_per_month: list[int]
    visitors_per_month: list[int]
    alarms_per_month: list[int]
    alarms_by_class: dict[str, int]
    local_history_records: int
    digitised_local_history: int
    never_borrowed_sample: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def totals(self) -> LibraryRow:
        total = LibraryRow(self.root_id, "", self.root_name)
        for row in self.libraries:
            for name in ("loans", "self_service_loans", "returns", "renewals", "visitors", "alarms",
                         "items_at_end", "items_added", "never_borrowed"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total

    @property
    def digitisation_share(self) -> float | None:
        if not self.local_history_records:
            return None
        return self.digitised_local_history / self.local_history_records


def period_report(session: Session, root_id: int, start: dt.date, end: dt.date) -> PeriodReport:
    """The report for ``root_id`` and every library below it (tree as on ``start``), ``start``..``end`` inclusive."""
    if end < start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    tree = tree_at(session, start)
    ids = sorted(subtree_at(session, root_id, start))
    t0, t1 = local_midnight(start), local_midnight(end + dt.timedelta(days=1))
    months = months_between(start, end)
    rows = {lib: LibraryRow(lib, tree[lib].code, tree[lib].name) for lib in ids if lib in tree}

    month_out = _bucket(session, Loan.checked_out_at, "month")
    self_service = func.sum(func.cast(Loan.channel.in_(SELF_SERVICE_CHANNELS), _int_type()))
    loans_pm: dict[str, int] = defaultdict(int)
    self_pm: dict[str, int] = defaultdict(int)
    for lib, month, n, n_self, renewals in session.execute(
        select(Loan.library_id, month_out, func.count(), self_service, func.sum(Loan.renewals))
        .where(Loan.library_id.in_(ids), Loan.checked_out_at >= t0, Loan.checked_out_at < t1)
        .group_by(Loan.library_id, month_out)
    ):
        month = _label(month, "month")
        rows[lib].loans += int(n)
        rows[lib].self_service_loans += int(n_self or 0)
        rows[lib].renewals += int(renewals or 0)
        loans_pm[month] += int(n)
        self_pm[month] += int(n_self or 0)

    month_back = _bucket(session, Loan.returned_at, "month")
    returns_pm: dict[str, int] = defaultdict(int)
    for lib, month, n in session.execute(
        select(func.coalesce(Loan.returned_library_id, Loan.library_id), month_back, func.count())
        .where(
            func.coalesce(Loan.returned_library_id, Loan.library_id).in_(ids),
            Loan.returned_at >= t0, Loan.returned_at < t1,
        )
        .group_by(func.coalesce(Loan.returned_library_id, Loan.library_id), month_back)
    ):
        rows[lib].returns += int(n)
        returns_pm[_label(month, "month")] += int(n)

    month_visit = _bucket(session, VisitorCount.period_start, "month")
    visitors_pm: dict[str, int] = defaultdict(int)
    for lib, month, n in session.execute(
        select(VisitorCount.library_id, month_visit, func.sum(VisitorCount.count_in))
        .where(VisitorCount.library_id.in_(ids), VisitorCount.period_start >= t0, VisitorCount.period_start < t1)
        .group_by(VisitorCount.library_id, month_visit)
    ):
        if lib in rows:
            rows[lib].visitors += int(n or 0)
        visitors_pm[_label(month, "month")] += int(n or 0)

    month_alarm = _bucket(session, GateAlarm.occurred_at, "month")
    alarms_pm: dict[str, int] = defaultdict(int)
    alarms_by_class: dict[str, int] = defaultdict(int)
    for lib, month, klass, n in session.execute(
        select(GateAlarm.library_id, month_alarm, GateAlarm.classification, func.count(GateAlarm.id))
        .where(GateAlarm.library_id.in_(ids), GateAlarm.occurred_at >= t0, GateAlarm.occurred_at < t1)
        .group_by(GateAlarm.library_id, month_alarm, GateAlarm.classification)
    ):
        if lib in rows:
            rows[lib].alarms += int(n)
        alarms_pm[_label(month, "month")] += int(n)
        alarms_by_class[str(klass)] += int(n)

    present = and_(Item.created_at < t1, Item.status != ItemStatus.WITHDRAWN)
    for lib, n in session.execute(
        select(Item.library_id, func.count(Item.id)).where(Item.library_id.in_(ids), present).group_by(Item.library_id)
    ):
        rows[lib].items_at_end = int(n)
    for lib, n in session.execute(
        select(Item.library_id, func.count(Item.id))
        .where(Item.library_id.in_(ids), Item.created_at >= t0, Item.created_at < t1)
        .group_by(Item.library_id)
    ):
        rows[lib].items_added = int(n)
    ever_lent = select(Loan.item_id).where(Loan.checked_out_at < t1)
    for lib, n in session.execute(
        select(Item.library_id, func.count(Item.id))
        .where(Item.library_id.in_(ids), present, Item.id.not_in(ever_lent))
        .group_by(Item.library_id)
    ):
        rows[lib].never_borrowed = int(n)
    sample = [
        (barcode, title, tree[lib].code if lib in tree else "")
        for barcode, title, lib in session.execute(
            select(Item.barcode, BibRecord.title, Item.library_id)
            .join(BibRecord, BibRecord.id == Item.record_id)
            .where(Item.library_id.in_(ids), present, Item.id.not_in(ever_lent))
            .order_by(Item.created_at, Item.id)
            .limit(50)
        )
    ]

    held_here = select(Item.record_id).where(Item.library_id.in_(ids))
    local = and_(
        BibRecord.local_history.is_(True), BibRecord.deleted_at.is_(None),
        or_(BibRecord.source_library_id.in_(ids), BibRecord.id.in_(held_here)),
    )
    local_total = int(session.scalar(select(func.count(BibRecord.id)).where(local)) or 0)
    local_digitised = int(
        session.scalar(select(func.count(BibRecord.id)).where(local, BibRecord.digitised.is_(True))) or 0
    )
    root = tree.get(root_id)
    return PeriodReport(
        root_id=root_id,
        root_name=root.name if root else str(root_id),
        start=start,
        end=end,
        months=months,
        libraries=sorted(rows.values(), key=lambda r: (r.library_id != root_id, r.code)),
        loans_per_month=[loans_pm.get(m, 0) for m in months],
        returns_per_month=[returns_pm.get(m, 0) for m in months],
        self_service_per_month=[self_pm.get(m, 0) for m in months],
        visitors_per_month=[visitors_pm.get(m, 0) for m in months],
        alarms_per_month=[alarms_pm.get(m, 0) for m in months],
        alarms_by_class=dict(alarms_by_class),
        local_history_records=local_total,
        digitised_local_history=local_digitised,
        never_borrowed_sample=sample,
    )


def _int_type() -> Any:
    from sqlalchemy import Integer

    return Integer()
