"""Hold (15/16): place, change in place (``*``: BS pickup, BW expiration, BY hold type), cancel, byte-exact
and through pysip2's codec; the change is made by the circulation service and seen by checkin."""

from __future__ import annotations

import socket

from pysip2 import HoldRequest, HoldResponse, LoginRequest, LoginResponse, decode_as, encode_message, verify_checksum
from sqlalchemy import select

from server.audit.models import AuditEntry
from server.circulation.models import Hold
from tests.sip2.conftest import BLANK, DATE, Running
from tests.sip2.rawclient import RawClient

AO = "AOVN-TEST|"
BW = "20261231    235959"




def test_change_keeps_the_queue_place_and_moves_the_pickup(sip: Running, client: RawClient) -> None:
    client.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000002|AC|")
    client.expect(f"15+{DATE}{AO}AA0002|AB39000002|", f"161N{DATE}BR1|BSVN-TEST|{AO}AA0002|AB39000002|AJSố đỏ|")
    client.expect(f"15+{DATE}{AO}AA0003|AB39000002|", f"161N{DATE}BR2|BSVN-TEST|{AO}AA0003|AB39000002|AJSố đỏ|")
    # change: pickup at the branch, not wanted after 31/12; still first in the queue
    client.expect(
        f"15*{DATE}BW{BW}|BSVN-TEST-B|{AO}AA0002|AB39000002|",
        f"161N{DATE}BW{BW}|BR1|BSVN-TEST-B|{AO}AA0002|AB39000002|AJSố đỏ|",
    )
    # only what is sent changes: a later change of the type alone keeps pickup and date
    client.expect(
        f"15*{DATE}BY3|{AO}AA0002|AB39000002|",
        f"161N{DATE}BW{BW}|BR1|BSVN-TEST-B|{AO}AA0002|AB39000002|AJSố đỏ|",
    )
    with sip.db.session() as s:
        holds = s.scalars(select(Hold).order_by(Hold.id)).all()
        assert [h.state.value for h in holds] == ["waiting", "waiting"]
        assert holds[0].pickup_library_id == sip.world.branch and holds[0].item_id is not None
        changes = s.scalars(select(AuditEntry).where(AuditEntry.action == "circulation.hold_change")).all()
        assert [sorted(e.details) for e in changes] == [["expires_at", "pickup_library_id"], ["item_id"]]
    # returned at the main library, the copy now travels to the branch for 0002
    reply = client.request(f"09N{DATE}{DATE}APSảnh|{AO}AB39000002|AC|")
    assert b"CTVN-TEST-B|CV02|CY0002|" in reply
    # a hold whose copy is on its way cannot be changed at the machine
    client.expect(
        f"15*{DATE}BSVN-TEST|{AO}AA0002|AB39000002|",
        f"160N{DATE}{AO}AA0002|AB39000002|AFTài liệu đã được giữ cho bạn, không đổi yêu cầu được / "
        "A copy is already set aside for you; please ask staff to change this request [hold_refused]|",
    )


def test_change_refusals(client: RawClient) -> None:
    client.expect(
        f"15*{DATE}BSVN-TEST-B|{AO}AA0002|AB39000003|",
        f"160N{DATE}{AO}AA0002|AB39000003|"
        "AFKhông tìm thấy yêu cầu đặt mượn / Hold request not found [hold_not_found]|",
    )
    client.request(f"15+{DATE}{AO}AA0002|AB39000003|")
    client.expect(
        f"15*{DATE}BSVN-NOPE|{AO}AA0002|AB39000003|",
        f"160N{DATE}{AO}AA0002|AB39000003|"
        "AFKhông có thư viện VN-NOPE để nhận sách / There is no library VN-NOPE to pick up from [hold_refused]|",
    )
    client.expect(
        f"15*{DATE}BW20261125    235959|{AO}AA0002|AB39000003|",
        f"160N{DATE}{AO}AA0002|AB39000003|"
        "AFNgày hết hạn đã qua / The expiration date is in the past [hold_refused]|",
    )
    client.expect(
        f"15?{DATE}{AO}AA0002|AB39000003|",
        f"160N{DATE}{AO}AA0002|AB39000003|AFKhông đặt mượn được / The hold could not be placed [hold_refused]|",
    )


def test_a_hold_past_its_expiration_is_passed_over(sip: Running, client: RawClient) -> None:
    client.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000004|AC|")
    client.expect(
        f"15+{DATE}BW20261127    235959|{AO}AA0002|AB39000004|",
        f"161N{DATE}BW20261127    235959|BR1|BSVN-TEST|{AO}AA0002|AB39000004|AJDế Mèn phiêu lưu ký|",
    )
    sip.clock.advance(days=2)
    date = "20261128    100000"
    reply = client.request(f"09N{date}{date}APSảnh|{AO}AB39000004|AC|")
    assert reply.startswith(b"101YNN") and b"CV" not in reply


def test_pysip2_hold_change(sip: Running) -> None:
    with socket.create_connection(("127.0.0.1", sip.port), timeout=10) as sock:
        buffer = b""
        seq = 0

        def call(message: object, expect: type) -> object:
            nonlocal buffer, seq
            sock.sendall(encode_message(message, sequence_number=seq, checksum=True, encoding="utf-8"))  # type: ignore[arg-type]
            seq += 1
            while b"\r" not in buffer:
                chunk = sock.recv(65536)
                assert chunk, "server closed the connection"
                buffer += chunk
            reply, _, buffer = buffer.partition(b"\r")
            assert verify_checksum(reply), reply
            return decode_as(reply + b"\r", expect, encoding="utf-8").message

        login = LoginRequest(uid_algorithm="0", pwd_algorithm="0", login_user_id="kiosk1", login_password="kiosk1-pass")
        assert call(login, LoginResponse).ok == "1"  # type: ignore[attr-defined]
        placed = call(
            HoldRequest(
                hold_mode="+",
                transaction_date=DATE,
                institution_id="VN-TEST",
                patron_identifier="0002",
                item_identifier="39000005",
            ),
            HoldResponse,
        )
        assert placed.ok == "1" and placed.available == "Y"  # type: ignore[attr-defined]
        changed = call(
            HoldRequest(
                hold_mode="*",
                transaction_date=DATE,
                expiration_date=BW,
                pickup_location="VN-TEST-B",
                hold_type="2",
                institution_id="VN-TEST",
                patron_identifier="0002",
                item_identifier="39000005",
            ),
            HoldResponse,
        )
        assert changed.ok == "1" and changed.expiration_date == BW  # type: ignore[attr-defined]
        assert changed.queue_position == "1" and changed.pickup_location == "VN-TEST-B"  # type: ignore[attr-defined]
        assert changed.title_identifier == "Nỗi buồn chiến tranh"  # type: ignore[attr-defined]
