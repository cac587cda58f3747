"""Reports as tables (a header row and data rows) and as CSV or XLSX files."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence

from server.reports.selfeval import SelfEvaluation
from server.reports.service import PeriodReport

log = logging.getLogger(__name__)

Table = tuple[list[str], list[list[object]]]


def period_tables(report: PeriodReport, _: Callable[[str], str]) -> list[tuple[str, Table]]:
    by_library: Table = (
        [_("Code"), _("Library"), _("Loans"), _("Self-service loans"), _("Returns"), _("Renewals"), _("Visitors"),
         _("Alarms"), _("Items at end"), _("Items added"), _("Never borrowed")],
        [
            [r.code, r.name, r.loans, r.self_service_loans, r.returns, r.renewals, r.visitors, r.alarms,
             r.items_at_end, r.items_added, r.never_borrowed]
            for r in report.libraries
        ],
    )
    by_month: Table = (
        [_("Month"), _("Loans"), _("Self-service loans"), _("Returns"), _("Visitors"), _("Alarms")],
        [
            [m, report.loans_per_month[i], report.self_service_per_month[i], report.returns_per_month[i],
             report.visitors_per_month[i], report.alarms_per_month[i]]
            for i, m in enumerate(report.months)
        ],
    )
    digitisation: Table = (
        [_("Local-history records"), _("Digitised"), _("Share")],
        [[report.local_history_records, report.digitised_local_history,
          "" if report.digitisation_share is None else round(report.digitisation_share, 4)]],
    )
    return [(_("By library"), by_library), (_("By month"), by_month), (_("Digitisation"), digitisation)]


def selfeval_tables(evaluation: SelfEvaluation, _: Callable[[str], str],
                    label: Callable[[str], str]) -> list[tuple[str, Table]]:
    stats: Table = ([_("Statistic"), _("Value"), _("Standard")],
                    [[label(f.key), "" if f.value is None else f.value, f.standard] for f in evaluation.statistics])
    indicators: Table = ([_("Indicator"), _("Value"), _("Unit"), _("Standard")],
                         [[label(f.key), "" if f.value is None else f.value, f.unit, f.standard]
                          for f in evaluation.indicators])
    missing: Table = ([_("Indicator"), _("Missing data")],
                      [[label(key), label(reason)] for key, reason in evaluation.not_computable])
    return [(_("Statistics"), stats), (_("Indicators"), indicators), (_("Not computable"), missing)]


def to_csv(tables: Sequence[tuple[str, Table]]) -> bytes:
    """All tables one after another, each under its title; UTF-8 with a BOM so spreadsheets read Vietnamese."""
    out = io.StringIO()
    writer = csv.writer(out)
    for title, (header, rows) in tables:
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows([[_safe_cell(v) for v in row] for row in rows])
        writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[tuple[str, Table]]) -> bytes:
    """One worksheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = True
    for title, (header, rows) in tables:
        sheet = book.active if first else book.create_sheet()
        first = False
        sheet.title = _sheet_title(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_safe_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join(c for c in title if c not in "[]:*?/\\")
    return cleaned[:31] or "Sheet"


def _safe_cell(value: object) -> object:
    # A text cell starting with = + - @ would be read as a formula by a spreadsheet (CSV/formula injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
