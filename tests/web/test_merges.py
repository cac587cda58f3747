"""The merge review page through FastAPI's TestClient: listed with key and confidence, both records side by side,
confirm and split by a cataloguer, refused to read-only staff and to librarians of unconcerned libraries."""

from __future__ import annotations

import re
import secrets

from fastapi.testclient import TestClient
from pymarc import Field, Subfield
from sqlalchemy import select

from server.app import create_app
from server.audit.models import AuditEntry
from server.catalog.models import BibRecord, Item
from server.union.models import RecordMerge, SourceRecord
from tests.catalog.helpers import make_record
from tests.union.merging import harvest_record
from tests.web.conftest import Seeded, csrf_of, signed_in


def make_merge(seeded: Seeded, title: str = "Số đỏ", author: str = "Vũ Trọng Phụng", year: int = 2016) -> int:
    """A Kinh Môn record of a demo title with one copy, harvested into the demo catalog; the merge id."""
    token = secrets.token_hex(3)
    copy = Field(tag="952", indicators=[" ", " "], subfields=[Subfield("a", "VN-HDU-KM"), Subfield("p", f"KM{token}")])
    report = harvest_record(
        seeded.db,
        f"km-{token}",
        "VN-HDU-KM",
        f"km:{token}",
        make_record(f"km-{token}", title + " :", author, year, extra=[copy]),
    )
    assert report.merged == 1, report
    with seeded.db.session() as session:
        merge_id = session.scalar(select(RecordMerge.id).order_by(RecordMerge.id.desc()).limit(1))
    assert merge_id is not None
    return merge_id


def test_list_view_confirm_and_split(seeded: Seeded, as_admin: TestClient) -> None:
    first, second = make_merge(seeded), make_merge(seeded)
    listing = as_admin.get("/web/union/merges")
    assert listing.status_code == 200
    assert f'data-merge="{first}"' in listing.text and "title-author-year" in listing.text and "0.90" in listing.text
    detail = as_admin.get(f"/web/union/merges/{first}")
    assert detail.status_code == 200
    assert "Biểu ghi chung" in detail.text and "Biểu ghi gốc của thành viên" in detail.text
    assert re.search(r"<td>\$a Số đỏ :</td>", detail.text) and re.search(r"<td>\$a Số đỏ</td>", detail.text)
    assert 'class="differ"' in detail.text

    token = csrf_of(as_admin, "/web/union/merges")
    confirmed = as_admin.post(f"/web/union/merges/{first}/confirm", data={"csrf": token}, follow_redirects=True)
    assert confirmed.status_code == 200 and "Đã xác nhận gộp" in confirmed.text
    assert f'data-merge="{first}"' not in confirmed.text and f'data-merge="{second}"' in confirmed.text

    split = as_admin.post(f"/web/union/merges/{second}/split", data={"csrf": token}, follow_redirects=True)
    assert split.status_code == 200 and "Đã tách" in split.text
    with seeded.db.session() as session:
        merge = session.get(RecordMerge, second)
        assert merge is not None and merge.undone_at is not None and merge.reviewed_by is not None
        entries = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id.in_([str(first), str(second)])))
        assert {"union.merge_confirmed", "union.merge_split"} <= set(entries)
        original = session.get(SourceRecord, merge.source_record_id)
        assert original is not None and original.record_id not in (None, merge.kept_record_id)
        restored = session.get(BibRecord, original.record_id)  # the Kinh Môn original, its own record again
        assert restored is not None and restored.control_number == original.identifier.replace(":", "-")
        assert [i.barcode for i in session.scalars(select(Item).where(Item.record_id == restored.id))] == [
            "KM" + original.identifier[3:]
        ]
    again = as_admin.post(f"/web/union/merges/{second}/split", data={"csrf": token})
    assert again.status_code == 409


def as_user(seeded: Seeded, username: str, password: str) -> TestClient:
    return signed_in(
        TestClient(create_app(seeded.settings, seeded.db), base_url="https://testserver"), username, password
    )


def test_only_cataloguers_of_a_concerned_library(seeded: Seeded) -> None:
    merge_id = make_merge(seeded, "Tắt đèn", "Ngô Tất Tố", 2017)
    reader = as_user(seeded, "xem.kinhmon", "xem-kinhmon")
    assert reader.get("/web/union/merges").status_code == 403
    assert reader.get(f"/web/union/merges/{merge_id}").status_code == 403
    gialoc = as_user(seeded, "thuthu.gialoc", "thuthu-gialoc")
    assert f'data-merge="{merge_id}"' not in gialoc.get("/web/union/merges").text
    assert gialoc.get(f"/web/union/merges/{merge_id}").status_code == 403
    token = csrf_of(gialoc)
    assert gialoc.post(f"/web/union/merges/{merge_id}/split", data={"csrf": token}).status_code == 403
    province = as_user(seeded, "thuthu.tinh", "thuthu-tinh")
    assert f'data-merge="{merge_id}"' in province.get("/web/union/merges").text
    assert province.post(f"/web/union/merges/{merge_id}/split", data={"csrf": "forged"}).status_code == 403
    with seeded.db.session() as session:
        merge = session.get(RecordMerge, merge_id)
        assert merge is not None and merge.undone_at is None
