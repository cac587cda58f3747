"""Reports: a period report for a library and the libraries below it, the yearly self-evaluation, exports."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from server.audit.service import record
from server.libraries.models import Library
from server.reports import export
from server.reports.charts import bar_chart, line_chart
from server.reports.selfeval import default_year, self_evaluation
from server.reports.service import LOCAL, period_report
from server.staff.service import AccessDenied, Level
from server.web.core import Web, WebDep

log = logging.getLogger(__name__)
router = APIRouter()


def _root(web: Web, library: int | None) -> int:
    scope = web.principal.scope(Level.READ)
    if library is None:
        homes = [lib for lib in web.principal.home_library_ids if lib in scope]
        if not homes:
            raise AccessDenied("reports")
        return min(homes)
    if library not in scope:
        raise AccessDenied("reports", library)
    return library


def _period(start: str, end: str) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(LOCAL).date()
    try:
        first = dt.date.fromisoformat(start) if start else dt.date(today.year, 1, 1)
        last = dt.date.fromisoformat(end) if end else today
    except ValueError:
        first, last = dt.date(today.year, 1, 1), today
    if last < first:
        first, last = last, first
    if (last - first).days > 366 * 5:
        first = last - dt.timedelta(days=366 * 5)
    return first, last


def _libraries(web: Web) -> list[Library]:
    return list(web.session.scalars(
        select(Library).where(Library.id.in_(web.principal.scope(Level.READ))).order_by(Library.id)
    ))


@router.get("/reports", response_class=HTMLResponse)
def report_page(web: WebDep, library: int | None = None, start: str = "", end: str = "") -> HTMLResponse:
    root = _root(web, library)
    first, last = _period(start, end)
    report = period_report(web.session, root, first, last)
    _ = web._
    loans_chart = bar_chart(
        report.months,
        [(_("Loans"), report.loans_per_month), (_("Returns"), report.returns_per_month),
         (_("Self-service loans"), report.self_service_per_month)],
        title=_("Loans and returns per month"),
    )
    visitors_chart = line_chart(report.months, [(_("Visitors"), report.visitors_per_month),
                                                (_("Alarms"), report.alarms_per_month)],
                                title=_("Visitors and alarms per month"))
    return web.render("reports.html", report=report, loans_chart=loans_chart, visitors_chart=visitors_chart,
                      libraries=_libraries(web), root=root, start=first.isoformat(), end=last.isoformat())


@router.get("/reports/export.{fmt}")
def report_export(web: WebDep, fmt: str, library: int | None = None, start: str = "", end: str = "") -> Response:
    root = _root(web, library)
    first, last = _period(start, end)
    report = period_report(web.session, root, first, last)
    tables = export.period_tables(report, web._)
    record(web.session, action="report.exported", target_type="library", target_id=root, library_id=root,
           details={"format": fmt, "start": first.isoformat(), "end": last.isoformat()}, **web.actor())
    return _file(tables, fmt, f"bao-cao-{first.isoformat()}-{last.isoformat()}")


def _file(tables: list[tuple[str, export.Table]], fmt: str, name: str) -> Response:
    if fmt == "csv":
        return Response(export.to_csv(tables), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(export.to_xlsx(tables),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return Response(status_code=404)


@router.get("/reports/self-evaluation", response_class=HTMLResponse)
def selfeval_page(web: WebDep, library: int | None = None, year: int | None = None) -> HTMLResponse:
    root = _root(web, library)
    chosen = year or default_year(dt.datetime.now(LOCAL).date())
    evaluation = self_evaluation(web.session, root, max(2000, min(chosen, 2100)))
    return web.render("selfeval.html", evaluation=evaluation, libraries=_libraries(web), root=root,
                      label=_label(web))


@router.get("/reports/self-evaluation.{fmt}")
def selfeval_export(web: WebDep, fmt: str, library: int | None = None, year: int | None = None) -> Response:
    root = _root(web, library)
    chosen = year or default_year(dt.datetime.now(LOCAL).date())
    evaluation = self_evaluation(web.session, root, max(2000, min(chosen, 2100)))
    record(web.session, action="report.exported", target_type="library", target_id=root, library_id=root,
           details={"format": fmt, "self_evaluation": evaluation.year}, **web.actor())
    return _file(export.selfeval_tables(evaluation, web._, _label(web)), fmt, f"tu-danh-gia-{evaluation.year}")


def _label(web: Web) -> Callable[[str], str]:
    _ = web._
    labels = {
        "collection_items": _("Collection: physical items"),
        "collection_titles": _("Collection: titles"),
        "collection_additions": _("Additions during the period"),
        "registered_users": _("Registered users"),
        "active_users": _("Active users (borrowed in the period)"),
        "loans": _("Loans"),
        "renewals": _("Renewals"),
        "visits": _("Visits (gate counts)"),
        "local_history_records": _("Local-history records"),
        "local_history_digitised": _("Local-history records digitised"),
        "collection_turnover": _("Collection turnover"),
        "stock_not_used": _("Percentage of stock not used"),
        "active_user_share": _("Active users among registered users"),
        "loans_per_active_user": _("Loans per active user"),
        "self_service_share": _("Self-service share of loans"),
        "digitisation_share": _("Digitised share of local-history records"),
        "market_penetration": _("Percentage of the population reached"),
        "loans_per_capita": _("Loans per capita"),
        "visits_per_capita": _("Library visits per capita"),
        "cost_per_loan": _("Cost per loan"),
        "cost_per_visit": _("Cost per library visit"),
        "staff_per_capita": _("Staff per capita"),
        "user_satisfaction": _("User satisfaction"),
        "seat_occupancy": _("Seat occupancy rate"),
        "title_availability": _("Availability of required titles"),
        "interlibrary_loan_speed": _("Speed of interlibrary lending"),
        "population_served": _("population served is not recorded"),
        "finance": _("expenditure is not recorded"),
        "staff_fte": _("staff numbers are not recorded"),
        "survey": _("needs a user survey"),
        "seats": _("seats are not recorded"),
        "ill": _("interlibrary loans are not recorded"),
        "anonymised_loans_not_counted": _("loans anonymised for privacy are not counted"),
        "gate_counts": _("from gate people counters"),
    }
    return lambda key: labels.get(key, key)

