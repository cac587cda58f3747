"""The SIP2 client against a scripted peer on localhost: every exchange checked on the wire."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from kiosk.ils import IlsLoginRefused, IlsUnavailable, Sip2Client, Sip2Config
from kiosk.ils.codec import verify
from tests.kiosk.fakes import MiniLibrary, ScriptedPeer
from tests.support import free_port


def test_login_then_patron_information(client: Sip2Client, peer: ScriptedPeer) -> None:
    info = client.patron_info("0001000002", "2345")
    assert peer.received[0].startswith("9300CNkiosk1|COkiosk1-pass|CPSảnh tầng 1|AY0AZ".encode())
    assert peer.received[1].startswith(b"63000")
    assert all(verify(raw) for raw in peer.received)
    assert info.name == "Trần Thị Bích Ngọc"
    assert info.valid and info.pin_ok is True and not info.blocked
    assert info.loans == ("3000000005",)
    assert info.holds_ready == ("3000000008",)  # second 63 with the hold-items summary position
    assert len(peer.received) == 3


def test_unknown_and_blocked_patrons(client: Sip2Client) -> None:
    unknown = client.patron_info("9999")
    assert not unknown.valid and unknown.blocked
    blocked = client.patron_info("0001000004", "4567")
    assert blocked.valid and blocked.blocked and blocked.card_lost
    assert blocked.screen_messages == ("Thẻ bị khoá",)


def test_checkout_checkin_renew(client: Sip2Client, library: MiniLibrary) -> None:
    loan = client.checkout("0001000001", "3000000001")
    assert loan.ok and loan.title == "Truyện Kiều" and loan.desensitize is True
    assert loan.due is not None and loan.due.date() == dt.date.today() + dt.timedelta(days=14)
    again = client.checkout("0001000002", "3000000001")
    assert not again.ok and again.screen_messages == ("Already on loan",)
    renewed = client.renew("0001000001", "3000000001")
    assert renewed.ok and renewed.renewal
    back = client.checkin("3000000001")
    assert back.ok and back.resensitize is True and back.permanent_location == "MUON"
    held = client.checkin("3000000008")
    assert held.alert and held.alert_type == "01"
    assert not client.item_info("nope").known
    assert client.item_info("3000000002").title == "Số đỏ"
    client.end_session("0001000001")
    assert client.ping()


def test_renew_all(client: Sip2Client, library: MiniLibrary) -> None:
    library.items["3000000001"].on_loan_to = "0001000001"
    library.items["3000000002"].on_loan_to = "0001000001"
    library.items["3000000002"].hold_for = "0001000002"
    result = client.renew_all("0001000001")
    assert result.ok and result.renewed == ("3000000001",) and result.unrenewed == ("3000000002",)


def test_sequence_numbers_wrap_after_nine(client: Sip2Client, peer: ScriptedPeer) -> None:
    for _ in range(12):
        client.ping()
    seqs = [int(raw[-7:-6]) for raw in peer.received]
    assert seqs == [(n % 10) for n in range(13)]


def test_lost_reply_is_retransmitted_and_lends_once(
    client: Sip2Client, peer: ScriptedPeer, library: MiniLibrary
) -> None:
    client.ping()
    peer.faults = ["drop"]
    loan = client.checkout("0001000001", "3000000003")
    assert loan.ok
    assert len(library.checkouts) == 1  # executed once; the retransmission got the replayed reply
    checkout_frames = [raw for raw in peer.received if raw.startswith(b"11")]
    assert len(checkout_frames) == 2 and checkout_frames[0] == checkout_frames[1]


def test_bad_checksum_asks_for_a_resend(client: Sip2Client, peer: ScriptedPeer, library: MiniLibrary) -> None:
    client.ping()
    peer.faults = ["corrupt"]
    loan = client.checkout("0001000001", "3000000002")
    assert loan.ok and len(library.checkouts) == 1
    assert b"97AZFEF5" in peer.received


def test_acs_resend_request_gets_the_same_frame(client: Sip2Client, peer: ScriptedPeer) -> None:
    client.ping()
    peer.faults = ["resend"]
    assert client.checkout("0001000001", "3000000002").ok
    frames = [raw for raw in peer.received if raw.startswith(b"11")]
    assert len(frames) == 2 and frames[0] == frames[1]


def test_dropped_connection_reconnects_and_logs_in_again(client: Sip2Client, peer: ScriptedPeer) -> None:
    client.ping()
    peer.kill_connections()
    assert client.checkout("0001000001", "3000000002").ok
    assert sum(1 for raw in peer.received if raw.startswith(b"93")) == 2


def test_unreachable_server_is_offline() -> None:
    c = Sip2Client(
        Sip2Config(host="127.0.0.1", port=free_port(), institution="X", timeout=0.2, connect_timeout=0.2, retries=1)
    )
    with pytest.raises(IlsUnavailable):
        c.patron_info("1")
    assert not c.ping()


def test_silent_server_is_offline_after_retries(client: Sip2Client, peer: ScriptedPeer) -> None:
    client.ping()
    peer.faults = ["drop", "drop", "drop", "drop"]
    peer.library.handle = lambda text: None  # type: ignore[method-assign]
    with pytest.raises(IlsUnavailable):
        client.checkout("0001000001", "3000000002")


def test_login_refused(sip_config: Sip2Config, library: MiniLibrary) -> None:
    library.login_ok = False
    c = Sip2Client(sip_config)
    with pytest.raises(IlsLoginRefused):
        c.patron_info("0001000001")


def test_without_error_detection_and_with_ascii_folding(sip_config: Sip2Config, peer: ScriptedPeer) -> None:
    c = Sip2Client(dataclasses.replace(sip_config, error_detection=False, encoding="ascii-fold"))
    info = c.patron_info("0001000001")
    assert b"AY" not in peer.received[0] and b"CPSanh tang 1|" in peer.received[0]
    assert info.valid
    c.close()


def test_reply_lost_with_the_connection_is_not_a_refusal(
    client: Sip2Client, peer: ScriptedPeer, library: MiniLibrary
) -> None:
    client.ping()
    peer.faults = ["vanish"]  # the checkout is executed, the connection dies before the reply
    loan = client.checkout("0001000001", "3000000003")
    assert loan.ok and loan.item_id == "3000000003"
    assert len(library.checkouts) == 1  # lent once; the repeat on the new connection was refused by the peer
    assert any(raw.startswith(b"63") for raw in peer.received)  # the client checked the patron's loans


def test_login_without_an_answer_is_retried(client: Sip2Client, peer: ScriptedPeer) -> None:
    peer.faults = ["drop"]  # the first 93 gets no reply
    assert client.patron_info("0001000001").valid
    logins = [raw for raw in peer.received if raw.startswith(b"93")]
    assert len(logins) == 2
