"""The yearly self-evaluation report (Circular 05/2020/TT-BVHTTDL): the period 1 December – 30 November,
the library statistics of TCVN 12843:2019 (ISO 2789) the data holds, and the performance indicators of
TCVN 11774:2016 (ISO 11620) it supports — and, by name, those it cannot compute and why.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from server.catalog.models import Item, ItemStatus
from server.circulation.models import Loan
from server.libraries.service import subtree_at
from server.patrons.models import Patron
from server.reports.service import PeriodReport, local_midnight, period_report

log = logging.getLogger(__name__)


def default_year(today: dt.date) -> int:
    """The evaluation year whose period ends on 30 November of ``today``'s year (in December: the one just
    ended)."""
    return today.year


def period_of(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year - 1, 12, 1), dt.date(year, 11, 30)


@dataclass(frozen=True)
class Figure:
    """One line of the report: a key for translation, its value and the standard it comes from."""

    key: str
    value: float | int | None
    standard: str
    unit: str = ""
    note: str = ""


@dataclass
class SelfEvaluation:
    year: int
    start: dt.date
    end: dt.date
    report: PeriodReport
    statistics: list[Figure] = field(default_factory=list)
    indicators: list[Figure] = field(default_factory=list)
    not_computable: list[tuple[str, str]] = field(default_factory=list)


#: Indicators of TCVN 11774:2016 (ISO 11620) this system has no data for, with what is missing.
NOT_COMPUTABLE = (
    ("market_penetration", "population_served"),
    ("loans_per_capita", "population_served"),
    ("visits_per_capita", "population_served"),
    ("cost_per_loan", "finance"),
    ("cost_per_visit", "finance"),
    ("staff_per_capita", "staff_fte"),
    ("user_satisfaction", "survey"),
    ("seat_occupancy", "seats"),
    ("title_availability", "survey"),
    ("interlibrary_loan_speed", "ill"),
)


def self_evaluation(session: Session, root_id: int, year: int) -> SelfEvaluation:
    start, end = period_of(year)
    report = period_report(session, root_id, start, end)
    ids = sorted(subtree_at(session, root_id, start))
    t0, t1 = local_midnight(start), local_midnight(end + dt.timedelta(days=1))
    totals = report.totals

    titles = int(
        session.scalar(
            select(func.count(func.distinct(Item.record_id))).where(
                Item.library_id.in_(ids), Item.created_at < t1, Item.status != ItemStatus.WITHDRAWN
            )
        ) or 0
    )
    registered = int(
        session.scalar(
            select(func.count(Patron.id)).where(
                Patron.home_library_id.in_(ids), Patron.erased_at.is_(None), Patron.created_at < t1,
                Patron.expires_on >= start,
            )
        ) or 0
    )
    active = int(
        session.scalar(
            select(func.count(func.distinct(Loan.patron_id))).where(
                Loan.library_id.in_(ids), Loan.checked_out_at >= t0, Loan.checked_out_at < t1,
                Loan.patron_id.is_not(None),
            )
        ) or 0
    )
    lent_in_period = select(Loan.item_id).where(
        Loan.checked_out_at < t1, or_(Loan.returned_at.is_(None), Loan.returned_at >= t0)
    )
    unused = int(
        session.scalar(
            select(func.count(Item.id)).where(
                and_(Item.library_id.in_(ids), Item.created_at < t1, Item.status != ItemStatus.WITHDRAWN),
                Item.id.not_in(lent_in_period),
            )
        ) or 0
    )

    evaluation = SelfEvaluation(year=year, start=start, end=end, report=report)
    evaluation.statistics = [
        Figure("collection_items", totals.items_at_end, "TCVN 12843:2019"),
        Figure("collection_titles", titles, "TCVN 12843:2019"),
        Figure("collection_additions", totals.items_added, "TCVN 12843:2019"),
        Figure("registered_users", registered, "TCVN 12843:2019"),
        Figure("active_users", active, "TCVN 12843:2019", note="anonymised_loans_not_counted"),
        Figure("loans", totals.loans, "TCVN 12843:2019"),
        Figure("renewals", totals.renewals, "TCVN 12843:2019"),
        Figure("visits", totals.visitors, "TCVN 12843:2019", note="gate_counts"),
        Figure("local_history_records", report.local_history_records, "05/2020/TT-BVHTTDL"),
        Figure("local_history_digitised", report.digitised_local_history, "05/2020/TT-BVHTTDL"),
    ]
    items = totals.items_at_end
    evaluation.indicators = [
        Figure("collection_turnover", round(totals.loans / items, 3) if items else None, "TCVN 11774:2016"),
        Figure("stock_not_used", round(100 * unused / items, 1) if items else None, "TCVN 11774:2016", unit="%"),
        Figure("active_user_share", round(100 * active / registered, 1) if registered else None,
               "TCVN 11774:2016", unit="%"),
        Figure("loans_per_active_user", round(totals.loans / active, 2) if active else None, "TCVN 11774:2016"),
        Figure("self_service_share",
               round(100 * totals.self_service_loans / totals.loans, 1) if totals.loans else None,
               "project", unit="%"),
        Figure("digitisation_share",
               round(100 * report.digitisation_share, 1) if report.digitisation_share is not None else None,
               "05/2020/TT-BVHTTDL", unit="%"),
    ]
    evaluation.not_computable = list(NOT_COMPUTABLE)
    return evaluation
