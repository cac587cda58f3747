"""Sessions, CSRF, roles scoped to library subtrees, escaping, oversized bodies, audit of refusals."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.db import utcnow
from server.libraries.models import Library
from server.patrons.models import Patron
from server.staff.models import StaffUser
from server.web.core import COOKIE, SESSION_SECONDS, serializer
from tests.web.conftest import Seeded, csrf_of, login


def _audit_count(seeded: Seeded, action: str) -> int:
    with seeded.db.session() as session:
        return int(session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action)) or 0)


def _patron_in(seeded: Seeded, isil: str) -> int:
    with seeded.db.session() as session:
        library = session.scalar(select(Library).where(Library.isil == isil))
        assert library is not None
        patron_id = session.scalar(select(Patron.id).where(Patron.home_library_id == library.id).limit(1))
        assert patron_id is not None
        return int(patron_id)


def test_pages_need_a_session(client: TestClient) -> None:
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/web/"
    response = client.get("/web/patrons", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/web/login?next=/web/patrons")


def test_session_cookie_flags(client: TestClient) -> None:
    page = client.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    response = client.post("/web/login", data={"username": "admin", "password": "thuvien-admin",
                                                "csrf": token.group(1)}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


def test_login_without_token_is_refused(client: TestClient, seeded: Seeded) -> None:
    before = _audit_count(seeded, "access.csrf_rejected")
    response = client.post("/web/login", data={"username": "admin", "password": "thuvien-admin", "csrf": "forged"})
    assert response.status_code == 403
    assert COOKIE not in response.cookies
    assert _audit_count(seeded, "access.csrf_rejected") == before + 1


def test_forged_csrf_changes_nothing(as_admin: TestClient, seeded: Seeded) -> None:
    patron_id = _patron_in(seeded, "VN-HDU")
    response = as_admin.post(f"/web/patrons/{patron_id}/block", data={"reason": "forged", "csrf": "not-the-token"})
    assert response.status_code == 403
    assert "Biểu mẫu bị từ chối" in response.text
    with seeded.db.session() as session:
        patron = session.get(Patron, patron_id)
        assert patron is not None
        assert all(block.reason != "forged" for block in patron.blocks)


def test_district_librarian_cannot_reach_another_library(as_district: TestClient, seeded: Seeded) -> None:
    outside = _patron_in(seeded, "VN-HDU-KM")
    inside = _patron_in(seeded, "VN-HDU-GL")
    before = _audit_count(seeded, "access.denied")
    response = as_district.get(f"/web/patrons/{outside}")
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text
    assert _audit_count(seeded, "access.denied") == before + 1
    assert as_district.get(f"/web/patrons/{inside}").status_code == 200
    token = csrf_of(as_district)
    changed = as_district.post(f"/web/patrons/{outside}/block", data={"reason": "x", "csrf": token})
    assert changed.status_code == 403


def test_patron_view_is_audited(as_admin: TestClient, seeded: Seeded) -> None:
    patron_id = _patron_in(seeded, "VN-HDU")
    before = _audit_count(seeded, "patron.viewed")
    assert as_admin.get(f"/web/patrons/{patron_id}").status_code == 200
    assert _audit_count(seeded, "patron.viewed") == before + 1


def test_read_only_cannot_change_and_sees_no_admin(client: TestClient, seeded: Seeded) -> None:
    login(client, "xem.kinhmon", "xem-kinhmon")
    assert client.get("/web/staff").status_code == 403
    assert client.get("/web/audit").status_code == 403
    patron_id = _patron_in(seeded, "VN-HDU-KM")
    token = csrf_of(client)
    response = client.post(f"/web/patrons/{patron_id}/block", data={"reason": "ro", "csrf": token})
    assert response.status_code == 403


def test_html_is_escaped(as_admin: TestClient, seeded: Seeded) -> None:
    patron_id = _patron_in(seeded, "VN-HDU")
    token = csrf_of(as_admin)
    evil = '<script>alert("x")</script>'
    response = as_admin.post(f"/web/patrons/{patron_id}/block", data={"reason": evil, "csrf": token},
                             follow_redirects=True)
    assert response.status_code == 200
    assert evil not in response.text
    assert "&lt;script&gt;alert(" in response.text
    search = as_admin.get("/web/catalog", params={"q": evil})
    assert evil not in search.text


def test_oversized_body_is_refused(as_admin: TestClient, seeded: Seeded) -> None:
    token = csrf_of(as_admin)
    patron_id = _patron_in(seeded, "VN-HDU")
    response = as_admin.post(f"/web/patrons/{patron_id}/block", data={"reason": "x" * (3 * 1024 * 1024),
                                                                       "csrf": token})
    assert response.status_code == 413
    big_file = as_admin.post("/web/tags", data={"csrf": token, "station": "none"},
                             files={"listing": ("list.txt", b"3000000001\n" * 10000, "text/plain")})
    assert big_file.status_code == 413


def test_expired_session_goes_to_login(client: TestClient, seeded: Seeded) -> None:
    with seeded.db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "admin"))
        assert user is not None
        payload = {"u": user.id, "c": "t", "p": "", "l": "vi"}
    old = serializer(seeded.settings).dumps(payload)
    import itsdangerous

    class PastSigner(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int((utcnow() - dt.timedelta(seconds=SESSION_SECONDS + 60)).timestamp())

    expired = itsdangerous.URLSafeTimedSerializer(
        seeded.settings.secret_key.get_secret_value(), salt="thuvien-staff-session", signer=PastSigner
    ).dumps(payload)
    assert old != expired
    client.cookies.set(COOKIE, expired)
    response = client.get("/web/", follow_redirects=False)
    assert response.status_code == 303
    assert "expired=1" in response.headers["location"]
    page = client.get(response.headers["location"])
    assert "Phiên làm việc đã hết hạn" in page.text


def test_lockout_after_repeated_failures(client: TestClient, seeded: Seeded) -> None:
    from server.security import hash_secret

    with seeded.db.write() as session:
        session.add(StaffUser(username="lock.me", full_name="Khóa Thử", password_hash=hash_secret("right-password-1")))
    for _ in range(5):
        page = client.get("/web/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        client.post("/web/login", data={"username": "lock.me", "password": "wrong", "csrf": token.group(1)})
    page = client.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    response = client.post("/web/login", data={"username": "lock.me", "password": "right-password-1",
                                                "csrf": token.group(1)}, follow_redirects=False)
    assert response.status_code == 401
    assert "khóa tạm thời" in response.text


def test_password_change_ends_old_sessions(client: TestClient, seeded: Seeded) -> None:
    from server.app import create_app
    from server.security import hash_secret

    with seeded.db.write() as session:
        session.add(StaffUser(username="doi.mk", full_name="Đổi Mật Khẩu", password_hash=hash_secret("old-password-1"),
                              roles=[]))
    login(client, "doi.mk", "old-password-1")
    other = TestClient(create_app(seeded.settings, seeded.db), base_url="https://testserver")
    login(other, "doi.mk", "old-password-1")
    token = csrf_of(client, "/web/password")
    response = client.post("/web/password", data={"csrf": token, "old_password": "old-password-1",
                                                  "new_password": "new-password-22", "confirm": "new-password-22"})
    assert response.status_code == 200 and "Đã đổi mật khẩu" in response.text
    assert client.get("/web/", follow_redirects=False).status_code == 200
    assert other.get("/web/", follow_redirects=False).status_code == 303


def test_logout_clears_the_session_and_languages_switch(client: TestClient) -> None:
    login(client, "thuthu.tinh", "thuthu-tinh")
    assert "Tổng quan" in client.get("/web/").text
    client.get("/web/lang/en?next=/web/")
    assert "Dashboard" in client.get("/web/").text
    client.get("/web/lang/vi?next=/web/")
    assert "Tổng quan" in client.get("/web/").text
    token = csrf_of(client)
    response = client.post("/web/logout", data={"csrf": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/web/", follow_redirects=False).status_code == 303


def test_open_redirect_is_refused(client: TestClient) -> None:
    page = client.get("/web/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    response = client.post("/web/login", data={"username": "admin", "password": "thuvien-admin",
                                                "csrf": token.group(1), "next": "https://evil.example/"},
                           follow_redirects=False)
    assert response.headers["location"] == "/web/"
