"""The kiosk controller end to end in-process: fake pad + PadScanner + SIP2 client + scripted SIP2 peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.iso15693 import Uid
from kiosk.controller import ItemState, Screen
from kiosk.ils import Journal, OfflinePolicy, OutboxJournal, ResilientIls, Sip2Client, Sip2Config, Sip2Pool
from kiosk.messages import LABELS, MESSAGES
from tests.kiosk.fakes import FakePadReader, MiniLibrary, ScriptedPeer
from tests.kiosk.harness import Harness

ON_LOAN, IN_STOCK = 0xC2, 0x07


def uid(n: int) -> str:
    return f"E00401{n:010X}"


def place(pad: FakePadReader, n: int, **kw: object) -> Uid:
    return pad.place_item(uid(n), f"3000{n:06d}", **kw)  # type: ignore[arg-type]


def signed_in(h: Harness, card: str = "0001000001") -> None:
    view = h.card(card)
    assert view.screen is Screen.MENU, view


def test_every_message_has_both_languages_and_a_stable_code() -> None:
    for code, message in MESSAGES.items():
        assert code.startswith("KIOSK-") and code[-3:].isdigit()
        assert message.vi and message.en and message.vi != message.en
    assert all(vi and en for vi, en in LABELS.values())


def test_borrow_a_stack_of_five_with_an_incomplete_set(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    assert h.view.patron_name == "Nguyễn Văn An"
    h.act("borrow")
    assert h.view.screen is Screen.BORROW and h.view.headline_code == "KIOSK-CHECKOUT-001"
    singles = [place(pad, n) for n in (1, 2, 3, 4)]
    set_part = pad.place_item(uid(6), "3000000006", part=1, parts=2)
    h.step()
    for n in (1, 2, 3, 4):
        assert h.item(f"3000{n:06d}") == ("done", "KIOSK-CHECKOUT-002")
    assert h.item("3000000006")[0] == "waiting_set"
    h.step(1.5)  # the pad settles: the set is still incomplete
    assert h.item("3000000006") == ("waiting_set", "KIOSK-CHECKOUT-004")
    view = h.view
    set_view = next(i for i in view.items if i.item_id == "3000000006")
    assert set_view.parts == "1/2" and set_view.failure and "quầy" in set_view.text
    assert [c[1] for c in library.checkouts] == [f"3000{n:06d}" for n in (1, 2, 3, 4)]
    assert all(pad.tags[u].afi == ON_LOAN for u in singles)
    assert pad.tags[set_part].afi == IN_STOCK  # no security bit cleared without a loan
    assert h.sink.kinds().count("checkout") == 4
    done = [i for i in view.items if i.state is ItemState.DONE]
    assert all("hạn trả" in i.text for i in done)
    h.act("finish")
    assert h.view.screen is Screen.RECEIPT and h.view.receipt_options == ("print", "email", "none")
    h.act("receipt", "print")
    assert h.view.screen is Screen.GOODBYE and h.view.headline_code == "KIOSK-RECEIPT-001"
    receipt = (tmp_path / "receipts" / "receipts.txt").read_text("utf-8")
    assert "MƯỢN: Truyện Kiều" in receipt and "Nguyễn Văn An" in receipt and "3000000006" not in receipt
    assert (tmp_path / "receipts" / "receipts.bin").read_bytes().count(b"\x1dv0") >= 1  # raster image
    h.step(5)
    assert h.view.screen is Screen.ATTRACT and not h.view.items


def test_complete_set_is_lent_and_both_parts_unsecured(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    a = pad.place_item(uid(6), "3000000006", part=1, parts=2)
    h.step()
    assert h.item("3000000006")[0] == "waiting_set"
    b = pad.place_item(uid(7), "3000000006", part=2, parts=2)
    h.step(0.2)
    assert h.item("3000000006") == ("done", "KIOSK-CHECKOUT-002")
    assert pad.tags[a].afi == ON_LOAN and pad.tags[b].afi == ON_LOAN
    assert len(library.checkouts) == 1


def test_item_the_library_keeps_secured_is_lent_but_not_unsecured(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    """Checkout answers "desensitize: N": the loan stands, the tag keeps its security, the patron sees the desk."""
    library.items["3000000001"].desensitize = "N"
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    tag = place(pad, 1)
    h.step(0.2)
    assert h.item("3000000001") == ("done", "KIOSK-CHECKOUT-010")
    assert pad.tags[tag].afi == IN_STOCK
    assert [c[1] for c in library.checkouts] == ["3000000001"]


def test_items_already_on_the_pad_are_read_when_borrowing_starts(
    client: Sip2Client, pad: FakePadReader, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path)
    place(pad, 1)
    place(pad, 2)
    h.step()
    assert h.view.screen is Screen.ATTRACT and not h.view.items
    signed_in(h)
    h.act("borrow")
    assert {i.item_id for i in h.view.items if i.state is ItemState.DONE} == {"3000000001", "3000000002"}


def test_bad_tags_each_get_a_message_and_nothing_is_lent(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    pad.place_raw(uid(50), b"\x11\xfe\x99garbage-that-is-no-format" * 3)
    pad.place_item(uid(51), "3000000101", owner="VN-HN")
    pad.place_item(uid(52), "9999999999")
    pad.place_raw(uid(53), bytes(112))
    place(pad, 5)  # on loan to someone else
    h.step()
    codes = {i.code for i in h.view.items}
    assert codes == {"KIOSK-ITEM-001", "KIOSK-ITEM-002", "KIOSK-ITEM-003", "KIOSK-ITEM-004", "KIOSK-CHECKOUT-003"}
    assert all(i.failure and i.text for i in h.view.items)
    assert library.checkouts == []
    assert all(t.afi == IN_STOCK for t in pad.tags.values())
    assert "Already on loan" in next(i.text for i in h.view.items if i.code == "KIOSK-CHECKOUT-003")
    assert h.view.cue == "failure"


def test_blocked_unknown_and_twice_read_cards(client: Sip2Client, pad: FakePadReader, tmp_path: Path) -> None:
    h = Harness(client, pad, tmp_path)
    view = h.card("0001000004")
    assert view.screen is Screen.NOTICE and view.notice_code == "KIOSK-PATRON-002"
    assert "Thẻ bị khoá" in view.notice
    h.act("dismiss")
    assert h.view.screen is Screen.ATTRACT
    view = h.card("12345")
    assert view.notice_code == "KIOSK-PATRON-001" and "12345" in view.notice
    h.act("dismiss")
    signed_in(h)
    view = h.card("0001000001")
    assert view.screen is Screen.MENU and view.toast_code == "KIOSK-PATRON-005"
    view = h.card("0001000002")
    assert view.screen is Screen.MENU and view.toast_code == "KIOSK-PATRON-008" and view.patron_name == "Nguyễn Văn An"


def test_pin_required(client: Sip2Client, pad: FakePadReader, tmp_path: Path) -> None:
    h = Harness(client, pad, tmp_path, pin_required=True)
    assert h.card("0001000001").screen is Screen.PIN
    view = h.act("pin", "0000")
    assert view.notice_code == "KIOSK-PATRON-003"
    h.act("dismiss")
    assert h.view.screen is Screen.PIN
    assert h.act("pin", "1234").screen is Screen.MENU


def test_books_removed_mid_checkout(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    lifted = place(pad, 1)
    pad.remove_on_write.add(lifted)  # the ILS says yes, then the book leaves before its AFI is written
    h.step()
    assert h.item("3000000001") == ("security_pending", "KIOSK-CHECKOUT-005")
    assert len(library.checkouts) == 1  # the loan stands
    pad.put_back(lifted)
    h.step()
    assert h.item("3000000001") == ("done", "KIOSK-CHECKOUT-002")
    assert pad.tags[lifted].afi == ON_LOAN
    assert len(library.checkouts) == 1 and "tag_write_failed" not in h.sink.kinds()


def test_book_taken_away_for_good_reports_to_staff(client: Sip2Client, pad: FakePadReader, tmp_path: Path) -> None:
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    lifted = place(pad, 2)
    pad.remove_on_write.add(lifted)
    h.step()
    h.act("finish")
    failed = [p for k, p in h.sink.events if k == "tag_write_failed"]
    assert failed and failed[0]["item_id"] == "3000000002" and failed[0]["wanted"] == "on_loan"


def test_write_failure_tells_patron_and_staff_and_the_loan_stands(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    stubborn = place(pad, 3)
    flaky = place(pad, 4)
    pad.fail_writes[stubborn] = 99
    pad.fail_writes[flaky] = 2  # two failures, then the third attempt sticks
    h.step()
    assert h.item("3000000003") == ("security_failed", "KIOSK-SECURITY-001")
    assert h.item("3000000004") == ("done", "KIOSK-CHECKOUT-002")
    assert len(library.checkouts) == 2
    kinds = h.sink.kinds()
    assert kinds.count("tag_write_failed") == 1
    assert sum(1 for u, _ in pad.afi_writes if u == stubborn) == h.profile.attempts
    # the patron lifts the book and puts it back: written again, and staff hear that it is fine now
    pad.fail_writes[stubborn] = 0
    pad.remove(stubborn)
    h.step()
    pad.put_back(stubborn)
    h.step()
    assert h.item("3000000003") == ("done", "KIOSK-CHECKOUT-002")
    assert pad.tags[stubborn].afi == ON_LOAN and "tag_write_recovered" in h.sink.kinds()
    assert len(library.checkouts) == 2


def test_return_secures_and_flags_holds(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    library.items["3000000001"].on_loan_to = "0001000001"
    h = Harness(client, pad, tmp_path)
    h.act("return")
    assert h.view.screen is Screen.RETURN and h.view.headline_code == "KIOSK-CHECKIN-004"
    a = place(pad, 1, afi=ON_LOAN)
    b = place(pad, 8, afi=ON_LOAN)
    pad.place_item(uid(52), "9999999999", afi=ON_LOAN)
    h.step()
    assert h.item("3000000001") == ("done", "KIOSK-CHECKIN-001")
    assert h.item("3000000008") == ("done", "KIOSK-CHECKIN-003")
    assert h.item("9999999999") == ("refused", "KIOSK-ITEM-003")
    assert pad.tags[a].afi == IN_STOCK and pad.tags[b].afi == IN_STOCK
    assert pad.tags[Uid.from_hex(uid(52))].afi == ON_LOAN  # no ILS yes, no security change
    h.act("finish")
    assert h.view.screen is Screen.RECEIPT and "email" not in h.view.receipt_options
    h.act("receipt", "none")
    assert h.view.screen is Screen.GOODBYE


def test_renew_from_the_account_and_by_placing_the_item(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    library.items["3000000001"].on_loan_to = "0001000001"
    library.items["3000000002"].on_loan_to = "0001000001"
    library.items["3000000002"].hold_for = "0001000002"
    h = Harness(client, pad, tmp_path)
    signed_in(h)
    view = h.act("renew")
    assert view.screen is Screen.RENEW and set(view.loans) == {"3000000001", "3000000002"}
    assert dict(view.titles) == {"3000000001": "Truyện Kiều", "3000000002": "Số đỏ"}
    h.act("renew_item", "3000000001")
    assert h.item("3000000001") == ("done", "KIOSK-RENEW-001")
    h.act("renew_item", "3000000002")
    assert h.item("3000000002") == ("refused", "KIOSK-RENEW-002")
    place(pad, 1)
    h.step()
    assert library.items["3000000001"].renewals == 2
    view = h.act("renew_all")
    assert view.headline_code == "KIOSK-RENEW-004"
    view = h.act("account")
    assert view.screen is Screen.ACCOUNT and "Đang mượn 2" in view.account_text
    h.act("language")
    assert "On loan 2" in h.view.account_text
    h.act("finish")
    h.act("receipt", "email")
    assert h.view.headline_code == "KIOSK-RECEIPT-003"
    mail = [p for k, p in h.sink.events if k == "receipt_email"]
    assert mail and mail[0]["email"] == "an.nguyen@example.vn"
    assert any("RENEWED" in line for line in mail[0]["lines"])  # the patron switched to English


def test_printer_out_of_paper(client: Sip2Client, pad: FakePadReader, tmp_path: Path) -> None:
    h = Harness(client, pad, tmp_path)
    h.printer.out_of_paper = True
    signed_in(h)
    h.act("borrow")
    place(pad, 1)
    h.step()
    h.act("finish")
    view = h.act("receipt", "print")
    assert view.screen is Screen.RECEIPT and view.headline_code == "KIOSK-RECEIPT-002"
    assert view.receipt_options == ("email", "none")
    assert "printer_problem" in h.sink.kinds()
    assert h.act("receipt", "email").screen is Screen.GOODBYE


def test_inactivity_warning_then_timeout(client: Sip2Client, pad: FakePadReader, tmp_path: Path) -> None:
    h = Harness(client, pad, tmp_path, session_timeout_s=60.0, warning_s=15.0)
    signed_in(h)
    assert h.step(44).warning_seconds is None
    view = h.step(2)
    assert view.warning_seconds == 14 and "14" in view.warning_text
    h.act("still_here")
    assert h.view.warning_seconds is None
    h.step(61)
    assert h.view.screen is Screen.GOODBYE
    assert h.step(5).screen is Screen.ATTRACT


def test_confirm_count(client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path) -> None:
    h = Harness(client, pad, tmp_path, confirm_count=True)
    signed_in(h)
    h.act("borrow")
    place(pad, 1)
    place(pad, 2)
    h.step()
    assert library.checkouts == []
    view = h.step(1.5)
    assert view.screen is Screen.CONFIRM_COUNT and view.count_to_confirm == 2 and "2" in view.headline
    assert {i.title for i in view.items} == {"Truyện Kiều", "Số đỏ"}  # titles from the ILS before lending
    view = h.act("confirm_no")
    assert view.notice_code == "KIOSK-CHECKOUT-009"
    h.act("dismiss")
    h.step()
    h.step(1.5)
    assert h.view.screen is Screen.CONFIRM_COUNT
    h.act("confirm_yes")
    assert len(library.checkouts) == 2


def make_journal(kind: str, tmp_path: Path) -> Journal | OutboxJournal:
    if kind == "outbox":
        return OutboxJournal(tmp_path / "offline-outbox.db", device_id="kiosk-test")
    return Journal(tmp_path / "journal.db")


@pytest.mark.parametrize("store", ["sqlite", "outbox"])
def test_network_lost_mid_session_finishes_offline_and_replays(
    client: Sip2Client, pad: FakePadReader, peer: ScriptedPeer, library: MiniLibrary, tmp_path: Path, store: str
) -> None:
    journal = make_journal(store, tmp_path)
    ils = ResilientIls(client, journal, policy=OfflinePolicy.FINISH_SESSION)
    h = Harness(ils, pad, tmp_path)
    signed_in(h)
    h.act("borrow")
    place(pad, 1)
    h.step()
    assert h.item("3000000001")[0] == "done"
    peer.down = True
    peer.kill_connections()
    lent_offline = place(pad, 2)
    h.step()
    assert h.item("3000000002") == ("done", "KIOSK-CHECKOUT-007")
    assert pad.tags[lent_offline].afi == ON_LOAN
    assert h.view.offline and h.view.offline_text.startswith("Mất kết nối")
    h.act("finish")
    h.act("receipt", "none")
    h.step(5)
    view = h.card("0001000002")  # a new session while offline is refused under finish-session
    assert view.notice_code == "KIOSK-OFFLINE-001"
    h.act("dismiss")
    assert journal.pending_count() == 1
    peer.down = False
    h.step(11)  # the attract screen pings; the journal is replayed first
    assert not h.view.offline and journal.pending_count() == 0
    replayed = library.checkouts[-1]
    assert replayed[1] == "3000000002" and replayed[2] == "Y"  # no block = Y, with the original date
    assert [c[1] for c in library.checkouts] == ["3000000001", "3000000002"]


@pytest.mark.parametrize("store", ["sqlite", "outbox"])
def test_store_and_forward_accepts_new_sessions_offline(
    client: Sip2Client, pad: FakePadReader, peer: ScriptedPeer, library: MiniLibrary, tmp_path: Path, store: str
) -> None:
    journal = make_journal(store, tmp_path)
    ils = ResilientIls(client, journal, policy=OfflinePolicy.STORE_AND_FORWARD)
    h = Harness(ils, pad, tmp_path, store_and_forward=True)
    peer.down = True
    view = h.card("0001000001")
    assert view.screen is Screen.MENU and view.offline and view.offline_text.startswith("Đang hoạt động ngoại tuyến")
    h.act("borrow")
    place(pad, 3)
    h.step()
    assert h.item("3000000003") == ("done", "KIOSK-CHECKOUT-007")
    h.act("finish")
    h.act("receipt", "none")
    pad.clear()  # the patron takes the borrowed book away
    h.step(5)
    h.act("return")
    place(pad, 1, afi=ON_LOAN)
    h.step()
    assert h.item("3000000001") == ("done", "KIOSK-CHECKIN-005")
    h.act("finish")
    h.act("receipt", "none")
    assert [e.op for e in journal.entries()] == ["checkout", "checkin"]
    peer.down = False
    report = ils.replay()
    assert report.sent == 2 and report.remaining == 0
    assert library.checkouts[-1][1:3] == ("3000000003", "Y")
    assert library.checkins[-1] == ("3000000001", "Y")


def test_replay_conflicts_are_kept_for_staff(client: Sip2Client, library: MiniLibrary, tmp_path: Path) -> None:
    conflicts: list[str] = []
    journal = Journal(tmp_path / "j.db")
    ils = ResilientIls(client, journal, on_conflict=lambda entry, note: conflicts.append(entry.item_id))
    import datetime as dt

    journal.add("checkout", "0001000001", "9999999999", dt.datetime.now().astimezone(), None)
    report = ils.replay()
    assert report.conflicts == 1 and conflicts == ["9999999999"]
    assert journal.entries("conflict")[0].note == "Item not found"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_language_button(client: Sip2Client, pad: FakePadReader, tmp_path: Path, lang: str) -> None:
    h = Harness(client, pad, tmp_path, default_lang=lang)
    assert h.view.lang == lang
    h.act("language")
    assert h.view.lang != lang
    assert h.view.headline == MESSAGES["KIOSK-WELCOME-001"].render(h.view.lang)


def test_a_stack_is_lent_over_several_connections_at_once(
    sip_config: Sip2Config, pad: FakePadReader, library: MiniLibrary, peer: ScriptedPeer, tmp_path: Path
) -> None:
    pool = Sip2Pool(sip_config, 3)
    h = Harness(pool, pad, tmp_path, parallel_checkouts=3)
    signed_in(h)
    h.act("borrow")
    uids = [place(pad, n) for n in range(100, 110)]
    h.step()
    assert [i.code for i in h.view.items] == ["KIOSK-CHECKOUT-002"] * 10
    assert sorted(c[1] for c in library.checkouts) == [f"3000{n:06d}" for n in range(100, 110)]
    assert all(pad.tags[u].afi == ON_LOAN for u in uids)
    assert sum(1 for raw in peer.received if raw.startswith(b"93")) == 3  # three connections logged in
    h.act("finish")
    assert h.view.screen is Screen.RECEIPT
    pool.close()


def test_a_journal_left_by_an_earlier_run_is_replayed_at_start(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    import datetime as dt
    import threading

    from tests.support import wait_for

    journal = Journal(tmp_path / "journal.db")
    when = dt.datetime(2026, 11, 20, 9, 30).astimezone()
    journal.add("checkout", "0001000002", "3000000004", when, when + dt.timedelta(days=14))
    h = Harness(ResilientIls(client, journal), pad, tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=h.controller.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: journal.pending_count() == 0, timeout=10)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert library.checkouts == [("0001000002", "3000000004", "Y", "20261120    093000")]
    assert not h.view.offline


def test_stack_on_the_reader_simulator_with_the_scripted_peer(
    client: Sip2Client, library: MiniLibrary, tmp_path: Path
) -> None:
    """The same flow through the real FEIG driver and the protocol-exact simulator (faults included)."""
    from edge.readers import open_reader
    from edge.readers.sim import ReaderSimulator, VirtualTag
    from edge.tags import LibraryTag

    def tag(n: int, part: int | None = None, parts: int | None = None, owner: str = "VN-HDU") -> VirtualTag:
        data = LibraryTag(
            primary_item_id=f"3000{n:06d}", owner_isil=owner, type_of_usage=1, part_number=part, parts_in_set=parts
        )
        return VirtualTag.with_item(uid(n if part in (None, 1) else n + 1), data, afi=IN_STOCK, eas=True)

    sim = ReaderSimulator("feig", "pty", timing=False).start()
    reader = open_reader(sim.url)
    try:
        h = Harness(client, reader, tmp_path)
        signed_in(h)
        h.act("borrow")
        stack = [tag(1), tag(2), tag(3), tag(100), tag(6, 1, 2), tag(101, owner="VN-HN")]
        sim.inject("corrupt")  # one garbled reply on the serial link: the driver and the writer retry
        for t in stack:
            sim.place(t)
        h.step()
        h.step()
        h.step(1.5)
        codes = {i.item_id: i.code for i in h.view.items}
        assert codes == {
            "3000000001": "KIOSK-CHECKOUT-002",
            "3000000002": "KIOSK-CHECKOUT-002",
            "3000000003": "KIOSK-CHECKOUT-002",
            "3000000100": "KIOSK-CHECKOUT-002",
            "3000000006": "KIOSK-CHECKOUT-004",
            "3000000101": "KIOSK-ITEM-002",
        }, h.view.items
        assert [t.afi for t in stack] == [ON_LOAN] * 4 + [IN_STOCK, IN_STOCK]
        assert sorted(c[1] for c in library.checkouts) == ["3000000001", "3000000002", "3000000003", "3000000100"]
        sim.remove(stack[0].uid)
        h.step()
        h.step()
        assert h.item("3000000001") == ("done", "KIOSK-CHECKOUT-002")  # taking a lent book away is fine
    finally:
        reader.close()
        sim.stop()


def test_a_set_part_leaving_before_confirmation_is_not_lent(
    client: Sip2Client, pad: FakePadReader, library: MiniLibrary, tmp_path: Path
) -> None:
    h = Harness(client, pad, tmp_path, confirm_count=True)
    signed_in(h)
    h.act("borrow")
    pad.place_item(uid(6), "3000000006", part=1, parts=2)
    cd = pad.place_item(uid(7), "3000000006", part=2, parts=2)
    h.step()
    assert h.item("3000000006")[0] == "identified"
    pad.remove(cd)
    h.step()
    assert h.item("3000000006")[0] == "waiting_set"
    view = h.step(1.5)
    assert view.screen is Screen.BORROW and h.item("3000000006") == ("waiting_set", "KIOSK-CHECKOUT-004")
    assert library.checkouts == []
