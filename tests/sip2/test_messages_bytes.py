"""Byte-exact SIP2 conversations with a scripted raw-socket client, one test per message pair."""

from __future__ import annotations

from collections.abc import Callable

from tests.sip2.conftest import BLANK, DATE, Running
from tests.sip2.rawclient import RawClient, frame

AO = "AOVN-TEST|"




def test_login_refused_then_closed_after_three(connect: Callable[[], RawClient]) -> None:
    c = connect()
    assert c.login(password="wrong") == frame("940", 0)
    assert c.request("9300CNnobody|COx|") == frame("940", 1)
    assert c.request("9310CNkiosk1|COkiosk1-pass|") == frame("940", 2)  # only plain-text algorithms
    assert c.closed()


def test_request_before_login_closes(connect: Callable[[], RawClient]) -> None:
    c = connect()
    c.send_raw(frame(f"23000{DATE}{AO}AA0001|AC|AD|", 0))
    assert c.read() == b""


def test_sc_status_before_and_after_login(connect: Callable[[], RawClient]) -> None:
    c = connect()
    assert c.request("9900802.00") == frame(f"98NNNNNN050003{DATE}2.00AO|BXNNNNYYYNNNNNNNNN|", 0)
    c.login()
    c.expect(
        "9900802.00",
        f"98YYYYYY050003{DATE}2.00{AO}AMThư viện tỉnh Thử|BXYYYYYYYYYYYYYYYY|ANSảnh tầng 1|",
    )


def test_patron_status(client: RawClient) -> None:
    client.expect(
        f"23000{DATE}{AO}AA0001|AC|AD1234|",
        f"24              000{DATE}{AO}AA0001|AENguyễn Văn An|BLY|CQY|BHVND|BV0|",
    )
    client.expect(
        f"23000{DATE}{AO}AA0001|AC|AD9999|",
        f"24              000{DATE}{AO}AA0001|AENguyễn Văn An|BLY|CQN|BHVND|BV0|",
    )
    # lenient: AC and AD missing altogether
    client.expect(f"23000{DATE}{AO}AA0001|", f"24              000{DATE}{AO}AA0001|AENguyễn Văn An|BLY|BHVND|BV0|")


def test_patron_status_unknown_and_blocked(client: RawClient) -> None:
    client.expect(
        f"23000{DATE}{AO}AA9999|AC|",
        f"24YYYY          000{DATE}{AO}AA9999|AE|BLN|"
        "AFKhông tìm thấy thẻ bạn đọc / Library card not recognised [patron_not_found]|",
    )
    client.expect(
        f"23000{DATE}{AO}AA0005|AC|",
        f"24YYYY          000{DATE}{AO}AA0005|AEHoàng Quốc Việt|BLY|BHVND|BV0|"
        "AFThẻ đã hết hạn — vui lòng gia hạn thẻ tại quầy / Your card has expired — please renew it at the desk|",
    )
    client.expect(
        f"23000{DATE}{AO}AA0006|AC|",
        f"24YYYY      Y   000{DATE}{AO}AA0006|AEVũ Thị Lan|BLY|BHVND|BV60000|"
        "AFBạn còn nợ 60.000 đồng, vượt mức 50.000 đồng — vui lòng thanh toán / "
        "You owe 60.000 VND, over the 50.000 VND limit — please pay first|",
    )


def test_checkout_and_patron_information(client: RawClient) -> None:
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0001|AB39000001|AC|",
        f"121NNY{DATE}{AO}AA0001|AB39000001|AJTruyện Kiều|AH20261210    235959|CK001|AFHạn trả / Due 10/12/2026|",
    )
    client.expect(
        f"63000{DATE}  Y       {AO}AA0001|AC|AD1234|",
        f"64              000{DATE}000000000001000000000000{AO}AA0001|AENguyễn Văn An|CB0005|CC50000|"
        "BLY|CQY|BHVND|BV0|AU39000001|BE0001@example.vn|",
    )


def test_checkout_refusals(client: RawClient) -> None:
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0001|AB39000006|AC|",
        f"120NUN{DATE}{AO}AA0001|AB39000006|AJLịch sử Hải Dương|AH|"
        "AFTài liệu này không cho mượn về nhà / This item cannot be borrowed [item_not_loanable]|",
    )
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0001|AB00000000|AC|",
        f"120NUN{DATE}{AO}AA0001|AB00000000|AJ|AH|"
        "AFKhông tìm thấy tài liệu / Item not recognised — please see staff [item_not_found]|",
    )
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0006|AB39000001|AC|",
        f"120NUN{DATE}{AO}AA0006|AB39000001|AJTruyện Kiều|AH|BHVND|BV60000|"
        "AFBạn còn nợ 60.000 đồng, vượt mức 50.000 đồng — vui lòng thanh toán / "
        "You owe 60.000 VND, over the 50.000 VND limit — please pay first [patron_blocked]|",
    )
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0001|AB39000001|AC|AD0000|",
        f"120NUN{DATE}{AO}AA0001|AB39000001|AJTruyện Kiều|AH|AFMã PIN không đúng / Wrong PIN [invalid_pin]|",
    )


def test_item_information(client: RawClient) -> None:
    client.expect(
        f"17{DATE}{AO}AB39000002|",
        f"18030001{DATE}AB39000002|AJSố đỏ|BGVN-TEST|CK001|AQVN-TEST|APVN-TEST|CS895.922|",
    )
    client.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000002|AC|")
    client.expect(
        f"17{DATE}{AO}AB39000002|",
        f"18040001{DATE}AH20261210    235959|AB39000002|AJSố đỏ|BGVN-TEST|CK001|AQVN-TEST|APVN-TEST|CS895.922|",
    )


def test_item_status_update_stores_properties(sip: Running, client: RawClient) -> None:
    client.expect(
        f"19{DATE}{AO}AB39000002|AC|CHKèm đĩa CD / with CD|",
        f"201{DATE}AB39000002|AJSố đỏ|CHKèm đĩa CD / with CD|",
    )
    # item information now carries the stored properties (CH after AP)
    client.expect(
        f"17{DATE}{AO}AB39000002|",
        f"18030001{DATE}AB39000002|AJSố đỏ|BGVN-TEST|CK001|AQVN-TEST|APVN-TEST|CHKèm đĩa CD / with CD|CS895.922|",
    )
    # checkout (12) and checkin (10) tell the machine too
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0001|AB39000002|AC|",
        f"121NNY{DATE}{AO}AA0001|AB39000002|AJSố đỏ|AH20261210    235959|CK001|CHKèm đĩa CD / with CD|"
        "AFHạn trả / Due 10/12/2026|",
    )
    client.expect(
        f"09N{DATE}{DATE}APSảnh|{AO}AB39000002|AC|",
        f"101YNN{DATE}{AO}AB39000002|AQVN-TEST|AJSố đỏ|CL0|CK001|CHKèm đĩa CD / with CD|CS895.922|",
    )
    # an empty CH clears them
    client.expect(f"19{DATE}{AO}AB39000002|CH|", f"201{DATE}AB39000002|AJSố đỏ|")
    client.expect(
        f"19{DATE}{AO}AB99999999|CHx|",
        f"200{DATE}AB99999999|AFKhông tìm thấy tài liệu / Item not recognised — please see staff [item_not_found]|",
    )
    from sqlalchemy import select

    from server.audit.models import AuditEntry

    with sip.db.session() as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "circulation.item_properties").order_by(AuditEntry.id)
        ).all()
        assert [(e.actor_kind, e.actor_id, e.target_id, e.details) for e in entries] == [
            ("sip2", "kiosk1", "39000002", {"properties": "Kèm đĩa CD / with CD", "previous": None}),
            ("sip2", "kiosk1", "39000002", {"properties": None, "previous": "Kèm đĩa CD / with CD"}),
        ]


def test_item_status_update_needs_the_operation(sip: Running, connect: Callable[[], RawClient]) -> None:
    from sqlalchemy import select

    from server.catalog.models import Item
    from server.sip2.accounts import Sip2AccountService

    Sip2AccountService(sip.db).add("lender", "pw", library_isil="VN-TEST", allowed_operations=["checkout", "checkin"])
    c = connect()
    assert c.login("lender", "pw") == frame("941", 0)
    assert c.request("9900802.00") == frame(
        f"98YYYNNY050003{DATE}2.00{AO}AMThư viện tỉnh Thử|BXNYYNYYYNNNNNNNNN|", 1
    )
    assert c.request(f"19{DATE}{AO}AB39000002|CHx|") == frame(
        f"200{DATE}AB39000002|AJSố đỏ|"
        "AFThao tác không được phép tại đây / This operation is not allowed here [operation_not_permitted]|",
        2,
    )
    with sip.db.session() as s:
        assert s.scalar(select(Item.properties).where(Item.barcode == "39000002")) is None


def test_renew_and_renew_all(sip: Running, client: RawClient) -> None:
    client.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000001|AC|")
    sip.clock.advance(days=3)
    date = "20261129    100000"
    client.expect(
        f"29NN{date}{BLANK}{AO}AA0001|AB39000001|",
        f"301YNY{date}{AO}AA0001|AB39000001|AJTruyện Kiều|AH20261213    235959|CK001|AFHạn trả / Due 13/12/2026|",
    )
    client.expect(f"65{date}{AO}AA0001|", f"66100010000{date}{AO}BM39000001|")
    sip.clock.advance(seconds=1)
    date = "20261129    100001"
    client.expect(
        f"65{date}{AO}AA0001|",
        f"66100000001{date}{AO}BN39000001|"
        "AF39000001: Đã gia hạn tối đa 2 lần / Already renewed the maximum of 2 times|",
    )


def test_checkin_plain_with_fine(sip: Running, client: RawClient) -> None:
    client.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000001|AC|")
    sip.clock.advance(days=17)
    date = "20261213    100000"
    client.expect(
        f"09N{date}{date}APSảnh|{AO}AB39000001|AC|",
        f"101YNN{date}{AO}AB39000001|AQVN-TEST|AJTruyện Kiều|CL0|CK001|CS895.922|"
        "AFPhạt quá hạn / Overdue fine 3000 VND|",
    )


def test_checkin_traps_hold(client: RawClient) -> None:
    client.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000002|AC|")
    client.expect(
        f"15+{DATE}{AO}AA0002|AB39000002|",
        f"161N{DATE}BR1|BSVN-TEST|{AO}AA0002|AB39000002|AJSố đỏ|",
    )
    client.expect(
        f"09N{DATE}{BLANK}APSảnh|{AO}AB39000002|AC|",
        f"101YNY{DATE}{AO}AB39000002|AQVN-TEST|AJSố đỏ|CL1|CK001|CS895.922|CTVN-TEST|CV01|CY0002|"
        "DATrần Thị Bích Ngọc|AFĐặt lên giá giữ chỗ / Put on the hold shelf|",
    )
    # another patron cannot take it from the hold shelf; the patron it waits for can
    client.expect(
        f"11YN{DATE}{BLANK}{AO}AA0003|AB39000002|AC|",
        f"120NUN{DATE}{AO}AA0003|AB39000002|AJSố đỏ|AH|"
        "AFTài liệu đang được giữ cho bạn đọc khác / This item is reserved for another reader "
        "[item_on_hold_for_another]|",
    )
    assert client.request(f"11YN{DATE}{BLANK}{AO}AA0002|AB39000002|AC|").startswith(b"121NNY")


def test_checkin_transit_and_unknown(client: RawClient) -> None:
    client.expect(
        f"09N{DATE}{BLANK}APSảnh|{AO}AB39000008|AC|",
        f"101YNY{DATE}{AO}AB39000008|AQVN-TEST-B|AJĐất rừng phương Nam|CL3|CK001|CS895.922|CTVN-TEST-B|CV04|"
        "AFChuyển về / Send to Thư viện huyện Nhánh|AFTài liệu không ở trạng thái mượn / Item was not on loan|",
    )
    client.expect(
        f"09N{DATE}{BLANK}APSảnh|{AO}AB404|AC|",
        f"100NUY{DATE}{AO}AB404|AQ|CV99|"
        "AFKhông tìm thấy tài liệu / Item not recognised — please see staff [item_not_found]|",
    )


def test_fee_paid(client: RawClient) -> None:
    client.expect(
        f"37{DATE}0100VNDBV60000|{AO}AA0006|BKrcpt-1|",
        f"38Y{DATE}{AO}AA0006|BKrcpt-1|AFĐã nhận 60000 VND; còn nợ 0 VND|",
    )
    client.expect(
        f"37{DATE}0100USDBV5|{AO}AA0006|",
        f"38N{DATE}{AO}AA0006|AFChỉ nhận VND / Only VND is accepted, not USD [payment_refused]|",
    )
    client.expect(
        f"37{DATE}0100VNDBV1000|{AO}AA0006|",
        f"38N{DATE}{AO}AA0006|AFBạn không nợ khoản phí nào / There is nothing to pay [payment_refused]|",
    )


def test_hold_cancel_and_refusal(sip: Running, client: RawClient) -> None:
    client.request(f"15+{DATE}{AO}AA0002|AB39000003|")
    # the same request again is a retry (same client transaction key): the same answer
    assert client.request(f"15+{DATE}{AO}AA0002|AB39000003|").startswith(b"161Y")
    sip.clock.advance(seconds=1)
    later = "20261126    100001"
    client.expect(
        f"15+{later}{AO}AA0002|AB39000003|",
        f"160N{later}{AO}AA0002|AB39000003|"
        "AFBạn đã đặt tài liệu này / You have already requested this title [hold_refused]|",
    )
    client.expect(f"15-{later}{AO}AA0002|AB39000003|", f"161N{later}BSVN-TEST|{AO}AA0002|AB39000003|AJTắt đèn|")


def test_end_session_block_enable(client: RawClient) -> None:
    client.expect(f"35{DATE}{AO}AA0001|", f"36Y{DATE}{AO}AA0001|")
    client.expect(
        f"01Y{DATE}{AO}ALcard retained|AA0003|AC|",
        f"24YYYY          000{DATE}{AO}AA0003|AELê Minh Đức|BLY|BHVND|BV0|"
        "AFcard retained (thẻ bị giữ lại / card retained)|",
    )
    client.expect(f"25{DATE}{AO}AA0003|", f"26              000{DATE}{AO}AA0003|AELê Minh Đức|BLY|")


def test_retransmission_replays_and_97_resends(sip: Running, client: RawClient) -> None:
    request = frame(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000001|AC|", 5)
    client.send_raw(request)
    first = client.read()
    client.send_raw(request)  # same AY and AZ: the reply was lost, the SC sends again
    assert client.read() == first
    client.send_raw(b"97AZFEF5\r")
    assert client.read() == first
    client.send_raw(b"97\r")
    assert client.read() == first
    from sqlalchemy import func, select

    from server.circulation.models import Loan

    with sip.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 1


def test_pipelined_split_and_crlf(client: RawClient) -> None:
    a = frame(f"17{DATE}{AO}AB39000001|", 1)
    b = frame(f"17{DATE}{AO}AB39000002|", 2).replace(b"\r", b"\r\n")
    data = a + b
    client.send_raw(data[:7])
    client.send_raw(data[7:50])
    client.send_raw(data[50:])
    first, second = client.read(), client.read()
    assert first.startswith(b"18030001") and b"AB39000001|" in first and first.endswith(b"AY1AZ" + first[-5:-1] + b"\r")
    assert b"AB39000002|" in second and b"AY2AZ" in second


def test_no_error_detection_frames_get_plain_replies(client: RawClient) -> None:
    assert client.request(f"35{DATE}{AO}AA0001|", seq=False) == f"36Y{DATE}{AO}AA0001|\r".encode()


def test_operation_not_allowed_for_account(sip: Running, connect: Callable[[], RawClient]) -> None:
    from server.sip2.accounts import Sip2AccountService

    Sip2AccountService(sip.db).add(
        "returns-only", "pw", library_isil="VN-TEST", allowed_operations=["checkin"], encoding="ascii"
    )
    c = connect()
    assert c.login("returns-only", "pw") == frame("941", 0)
    assert c.request("9900802.00") == frame(f"98YYNNNY050003{DATE}2.00{AO}AMThu vien tinh Thu|BXNNYNYYYNNNNNNNNN|", 1)
    assert c.request(f"11YN{DATE}{BLANK}{AO}AA0001|AB39000001|AC|") == frame(
        f"120NUN{DATE}{AO}AA0001|AB39000001|AJTruyen Kieu|AH|"
        "AFThao tac khong duoc phep tai day / This operation is not allowed here [operation_not_permitted]|",
        2,
    )
