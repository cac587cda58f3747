"""The merge review page in Chromium (Playwright) against a real ``thuvien server`` on PostgreSQL: a province
cataloguer opens the merges, compares both records side by side, confirms one merge and splits another."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from sqlalchemy import select

from server.catalog.models import BibRecord
from server.union.models import RecordMerge, SourceRecord
from tests.web.conftest import ARTIFACTS, LiveServer, Seeded, browser_login, shot
from tests.web.test_merges import make_merge

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.mosquitto]

DOCS_SHOT = ARTIFACTS.parents[1] / "docs" / "screenshots" / "12-merge-review.png"


def test_cataloguer_confirms_and_splits_merges(page: Any, live_server: LiveServer) -> None:
    target = Seeded(live_server.db, None)  # type: ignore[arg-type]  # only the database is used
    kept_merge = make_merge(target, "Nỗi buồn chiến tranh", "Bảo Ninh", 2018)
    wrong_merge = make_merge(target, "Đất rừng phương Nam", "Đoàn Giỏi", 2020)
    browser_login(page, live_server.base, "thuthu.tinh", "thuthu-tinh")
    page.click("nav >> text=Gộp biểu ghi")
    assert page.locator("h1").inner_text() == "Biểu ghi gộp trong mục lục liên hợp"
    row = page.locator(f"tr[data-merge='{wrong_merge}']")
    assert "title-author-year" in row.inner_text() and "0.90" in row.inner_text()
    shot(page, "12-merge-list")

    row.locator("a").first.click()
    assert page.locator("[data-score]").inner_text() == "0.90"
    assert page.locator("table.side-by-side tr.differ").count() >= 1
    assert page.locator("table.side-by-side").inner_text().count("Đất rừng phương Nam") >= 2
    path = shot(page, "12-merge-review")
    assert path.stat().st_size > 10_000
    page.click("text=Tách: khôi phục biểu ghi của thành viên")
    page.wait_for_url(re.compile(r".*/web/union/merges\?done=split$"))
    assert "Đã tách" in page.locator("[role=status]").inner_text()
    assert page.locator(f"tr[data-merge='{wrong_merge}']").count() == 0

    page.click(f"tr[data-merge='{kept_merge}'] >> a >> nth=0")
    page.click("text=Xác nhận gộp")
    page.wait_for_url(re.compile(r".*/web/union/merges\?done=confirmed$"))
    assert page.locator(f"tr[data-merge='{kept_merge}']").count() == 0
    page.click("text=Gồm cả những cặp đã duyệt")
    page.wait_for_load_state()  # count() does not wait for the new page
    assert page.locator(f"tr[data-merge='{kept_merge}']").count() == 1
    shot(page, "12-merge-list-reviewed")

    with live_server.db.session() as session:
        split = session.get(RecordMerge, wrong_merge)
        kept = session.get(RecordMerge, kept_merge)
        assert split is not None and split.undone_at is not None
        assert kept is not None and kept.reviewed_at is not None and kept.undone_at is None
        original = session.get(SourceRecord, split.source_record_id)
        assert original is not None and original.record_id is not None
        restored = session.scalar(select(BibRecord).where(BibRecord.id == original.record_id))
        assert restored is not None and restored.deleted_at is None and restored.id != split.kept_record_id


def teardown_module() -> None:
    """Keep the review page's screenshot for docs/web.md."""
    source = ARTIFACTS / "12-merge-review.png"
    if source.exists() and not DOCS_SHOT.exists():
        shutil.copy(source, DOCS_SHOT)
