"""Reports over periods (with the library tree of their time), the self-evaluation, exports, charts, and the
hierarchy changes of the 2025 mergers; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy.orm import Session

from server.catalog.models import BibRecord, Item, ItemType
from server.circulation.models import Loan
from server.db import Database
from server.devices.models import AlarmClass, GateAlarm, VisitorCount
from server.libraries import service as hierarchy
from server.libraries.models import Library, LibraryCode, LibraryKind, LibraryParentPeriod
from server.patrons.models import PatronCategory
from server.reports import export
from server.reports.charts import bar_chart, line_chart
from server.reports.selfeval import default_year, period_of, self_evaluation
from server.reports.service import dashboard, local_midnight, months_between, period_report

SINCE = dt.date(2020, 1, 1)


def _library(session: Session, isil: str, name: str, kind: LibraryKind, parent: Library | None) -> Library:
    library = Library(isil=isil, name=name, kind=kind, parent_id=parent.id if parent else None)
    session.add(library)
    session.flush()
    session.add(LibraryCode(library_id=library.id, code=isil, name=name, valid_from=SINCE))
    session.add(LibraryParentPeriod(library_id=library.id, parent_id=library.parent_id, valid_from=SINCE))
    return library


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return local_midnight(day) + dt.timedelta(hours=hour)


def _build(db: Database) -> dict[str, int]:
    with db.write() as session:
        old = _library(session, "VN-HDU", "Thư viện tỉnh Hải Dương", LibraryKind.PROVINCE, None)
        new = _library(session, "VN-HPG", "Thư viện thành phố Hải Phòng", LibraryKind.PROVINCE, None)
        district = _library(session, "VN-HDU-GL", "Thư viện huyện Gia Lộc", LibraryKind.DISTRICT, old)
        session.add_all([ItemType(code="book", name="Sách"), PatronCategory(code="adult", name="Người lớn")])
        record = BibRecord(marc=b"", title="Lịch sử Hải Dương", local_history=True, digitised=True,
                           source_library_id=old.id)
        other = BibRecord(marc=b"", title="Truyện Kiều", local_history=True, digitised=False,
                          source_library_id=old.id)
        session.add_all([record, other])
        session.flush()
        items = []
        for n, lib in enumerate([old, district, district, new]):
            item = Item(barcode=f"30000{n}", record_id=record.id if n < 2 else other.id, library_id=lib.id,
                        item_type="book", created_at=_at(dt.date(2024, 1, 5)))
            session.add(item)
            items.append(item)
        session.flush()

        def lend(item: Item, day: dt.date, channel: str, back: dt.date | None) -> None:
            session.add(Loan(item_id=item.id, patron_category="adult", library_id=item.library_id,
                             checked_out_at=_at(day), due_at=_at(day + dt.timedelta(days=14)), channel=channel,
                             returned_at=_at(back) if back else None,
                             returned_library_id=item.library_id if back else None))

        lend(items[0], dt.date(2025, 3, 3), "desk", dt.date(2025, 3, 10))
        lend(items[1], dt.date(2025, 3, 4), "sip2", dt.date(2025, 4, 1))
        lend(items[1], dt.date(2025, 9, 9), "kiosk", None)
        session.add(VisitorCount(device_id="gate-1", library_id=district.id, period_start=_at(dt.date(2025, 3, 4)),
                                 period_end=_at(dt.date(2025, 3, 4), 11), count_in=42, count_out=40))
        session.add(GateAlarm(event_id="e1", device_id="gate-1", library_id=district.id,
                              occurred_at=_at(dt.date(2025, 3, 5)), classification=AlarmClass.THEFT_ATTEMPT))
        return {"old": old.id, "new": new.id, "district": district.id}


def test_months_and_periods() -> None:
    assert months_between(dt.date(2024, 12, 1), dt.date(2025, 2, 3)) == ["2024-12", "2025-01", "2025-02"]
    assert period_of(2026) == (dt.date(2025, 12, 1), dt.date(2026, 11, 30))
    assert default_year(dt.date(2026, 11, 26)) == 2026


def test_reports_use_the_tree_of_their_period(db: Database) -> None:
    ids = _build(db)
    with db.write() as session:
        hierarchy.move_library(session, ids["district"], ids["new"], dt.date(2025, 7, 1), actor_id="1")
        hierarchy.rename_library(session, ids["district"], name="Thư viện Gia Lộc (Hải Phòng)", code="VN-HPG-GL",
                                 effective=dt.date(2025, 7, 1), actor_id="1")
    with db.session() as session:
        first_half = period_report(session, ids["old"], dt.date(2025, 1, 1), dt.date(2025, 6, 30))
        assert first_half.totals.loans == 2
        assert {r.code for r in first_half.libraries} == {"VN-HDU", "VN-HDU-GL"}
        assert first_half.totals.self_service_loans == 1
        assert first_half.totals.visitors == 42 and first_half.totals.alarms == 1
        assert first_half.loans_per_month[first_half.months.index("2025-03")] == 2
        assert first_half.returns_per_month[first_half.months.index("2025-04")] == 1
        assert first_half.alarms_by_class == {"theft_attempt": 1}
        second_half_old = period_report(session, ids["old"], dt.date(2025, 8, 1), dt.date(2025, 12, 31))
        assert second_half_old.totals.loans == 0
        second_half_new = period_report(session, ids["new"], dt.date(2025, 8, 1), dt.date(2025, 12, 31))
        assert second_half_new.totals.loans == 1
        assert "VN-HPG-GL" in {r.code for r in second_half_new.libraries}
        assert hierarchy.library_by_code(session, "VN-HDU-GL") is not None
        library = session.get(Library, ids["district"])
        assert library is not None and library.isil == "VN-HPG-GL" and library.parent_id == ids["new"]
        parents, codes = hierarchy.history(session, ids["district"])
        assert [p.parent_id for p in parents] == [ids["old"], ids["new"]]
        assert [c.code for c in codes] == ["VN-HDU-GL", "VN-HPG-GL"]
        assert first_half.local_history_records == 2 and first_half.digitised_local_history == 1


def test_hierarchy_refuses_cycles_and_backdating(db: Database) -> None:
    ids = _build(db)
    with db.write() as session:
        with pytest.raises(hierarchy.CycleRefused):
            hierarchy.move_library(session, ids["old"], ids["district"], dt.date(2025, 7, 1), actor_id="1")
        with pytest.raises(hierarchy.DateRefused):
            hierarchy.move_library(session, ids["district"], ids["new"], dt.date(2019, 1, 1), actor_id="1")
        with pytest.raises(hierarchy.HierarchyError):
            hierarchy.rename_library(session, ids["district"], name="x", code="VN-HPG", effective=dt.date(2025, 7, 1),
                                     actor_id="1")


def test_self_evaluation_and_exports(db: Database) -> None:
    ids = _build(db)
    with db.session() as session:
        evaluation = self_evaluation(session, ids["old"], 2025)
        stats = {f.key: f.value for f in evaluation.statistics}
        indicators = {f.key: f.value for f in evaluation.indicators}
        assert evaluation.start == dt.date(2024, 12, 1)
        assert stats["loans"] == 3 and stats["collection_items"] == 3
        assert indicators["collection_turnover"] == 1.0
        assert indicators["digitisation_share"] == 50.0
        assert indicators["stock_not_used"] == pytest.approx(33.3, abs=0.1)
        assert ("loans_per_capita", "population_served") in evaluation.not_computable
        tables = export.selfeval_tables(evaluation, lambda s: s, lambda s: s)
        csv_bytes = export.to_csv(tables)
        assert csv_bytes.startswith("\ufeff".encode())
        assert "collection_turnover" in csv_bytes.decode("utf-8")
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(export.to_xlsx(tables)))
        assert book.sheetnames == ["Statistics", "Indicators", "Not computable"]


def test_dashboard_counts(db: Database) -> None:
    ids = _build(db)
    with db.session() as session:
        figures = dashboard(session, {ids["district"]}, _at(dt.date(2025, 9, 9), 12))
        assert figures.loans_today == 1 and figures.active_loans == 1
        assert len(figures.loans_per_day) == 30 and figures.loans_per_day[-1] == 1


def test_exports_neutralise_formulas_and_charts_escape() -> None:
    tables: list[tuple[str, export.Table]] = [("T", (["a"], [["=HYPERLINK(\"x\")"], ["ok"]]))]
    assert "'=HYPERLINK" in export.to_csv(tables).decode("utf-8")
    svg = bar_chart(["<b>"], [("<i>", [3])], title="<script>")
    assert "<script>" not in svg and "&lt;b&gt;" in svg
    assert "<polyline" in line_chart(["a", "b"], [("s", [1, 2])])
