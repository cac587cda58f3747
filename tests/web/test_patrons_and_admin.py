"""Patron data under the PDPL (create, export, erase), the library hierarchy from the web, tag programming
refusals, and the completeness of the Vietnamese catalog."""

from __future__ import annotations

import json
import re
from pathlib import Path

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.libraries.models import Library, LibraryParentPeriod
from server.patrons.models import Patron
from server.staff.service import load_principal
from server.staff.tagging import start
from tests.web.conftest import Seeded, csrf_of, signed_in

WEB = Path(__file__).resolve().parents[2] / "server" / "web"


def _library_id(seeded: Seeded, isil: str) -> int:
    with seeded.db.session() as session:
        library_id = session.scalar(select(Library.id).where(Library.isil == isil))
        assert library_id is not None
        return int(library_id)


def test_create_export_and_erase_a_patron(as_admin: TestClient, seeded: Seeded) -> None:
    token = csrf_of(as_admin)
    response = as_admin.post("/web/patrons/new", data={
        "csrf": token, "full_name": "Đinh Thị Thu", "email": "thu@example.vn", "phone": "0912 345 678",
        "home_library_id": _library_id(seeded, "VN-HDU"), "category_code": "adult", "expires_on": "2027-12-31",
        "card": "0009999001"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    patron_id = int(response.headers["location"].rsplit("/", 1)[1])
    exported = as_admin.post(f"/web/patrons/{patron_id}/export", data={"csrf": token})
    assert exported.headers["content-type"].startswith("application/json")
    document = json.loads(exported.content)
    assert document["patron"]["full_name"] == "Đinh Thị Thu"
    assert document["cards"][0]["number"] == "0009999001"
    refused = as_admin.post(f"/web/patrons/{patron_id}/erase", data={"csrf": token, "confirm": "no"})
    assert refused.status_code == 400
    erased = as_admin.post(f"/web/patrons/{patron_id}/erase", data={"csrf": token, "confirm": "ERASE"})
    assert erased.status_code == 200 and "Đã xóa" in erased.text
    with seeded.db.session() as session:
        patron = session.get(Patron, patron_id)
        assert patron is not None and patron.erased_at is not None
        assert patron.full_name == "—" and patron.email is None and patron.phone is None and not patron.cards
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(patron_id))))
        assert {"patron.created", "patron.exported", "patron.erased"} <= actions


def test_erase_is_refused_while_fees_are_owed(as_admin: TestClient, seeded: Seeded) -> None:
    with seeded.db.session() as session:
        patron_id = session.scalar(select(Patron.id).where(Patron.full_name == "Vũ Thị Lan"))
    token = csrf_of(as_admin)
    response = as_admin.post(f"/web/patrons/{patron_id}/erase", data={"csrf": token, "confirm": "ERASE"})
    assert response.status_code == 409


def test_move_a_library_from_the_web(as_admin: TestClient, seeded: Seeded) -> None:
    from server.app import create_app

    as_district = signed_in(TestClient(create_app(seeded.settings, seeded.db), base_url="https://testserver"),
                            "thuthu.gialoc", "thuthu-gialoc")
    commune = _library_id(seeded, "VN-HDU-GLGT")
    target = _library_id(seeded, "VN-HDU-KM")
    token = csrf_of(as_district)
    refused = as_district.post(f"/web/libraries/{commune}/move",
                               data={"csrf": token, "parent_id": str(target), "effective": "2025-07-01"})
    assert refused.status_code == 403
    token = csrf_of(as_admin)
    moved = as_admin.post(f"/web/libraries/{commune}/move",
                          data={"csrf": token, "parent_id": str(target), "effective": "2025-07-01"},
                          follow_redirects=True)
    assert moved.status_code == 200
    assert "VN-HDU-KM" in moved.text
    with seeded.db.session() as session:
        periods = session.scalars(select(LibraryParentPeriod).where(LibraryParentPeriod.library_id == commune)
                                  .order_by(LibraryParentPeriod.valid_from)).all()
        assert [p.parent_id for p in periods][-1] == target


def test_tag_programming_reports_each_barcode(seeded: Seeded) -> None:
    from server.devices import service as devices

    with seeded.db.write() as session:
        if devices.repository.get(session, "hdu-station-unit") is None:
            devices.add_device(session, "hdu-station-unit", "station", "VN-HDU-GL")
    with seeded.db.write() as session:
        from server.staff.models import StaffUser

        user = session.scalar(select(StaffUser).where(StaffUser.username == "thuthu.gialoc"))
        assert user is not None
        principal = load_principal(session, user.id)
        assert principal is not None
        jobs = start(session, principal, "hdu-station-unit", ["nope", "3000000001", "3000000008"], None, ip=None)
    by_barcode = {job.barcode: job for job in jobs}
    assert by_barcode["nope"].error == "unknown_item"
    assert by_barcode["3000000001"].error == "not_in_scope"  # a province item, not Gia Lộc's
    assert by_barcode["3000000008"].command_id is not None


def test_every_message_has_a_vietnamese_translation() -> None:
    with (WEB / "locale" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    translated = {m.id for m in catalog if m.id and m.string}
    used = set()
    pattern = re.compile(r"""_\(\s*(?:"([^"]*)"|'([^']*)')\s*\)""")
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        used |= {a or b for a, b in pattern.findall(path.read_text("utf-8"))}
    assert used and used <= translated, sorted(used - translated)
