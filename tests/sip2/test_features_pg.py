"""On PostgreSQL through the SIP2 server: item properties stored (19/20), a hold changed in place (15 ``*``),
on an account whose field delimiter is ``^``."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from server.catalog.models import Item
from server.circulation.models import Hold
from server.sip2.accounts import Sip2AccountService
from tests.sip2.conftest import BLANK, DATE, Running
from tests.sip2.rawclient import RawClient, frame

pytestmark = pytest.mark.postgres

AO = "AOVN-TEST^"
BW = "20261231    235959"


def test_caret_session_item_properties_and_hold_change(sip_pg: Running) -> None:
    Sip2AccountService(sip_pg.db).add("caret", "pw", library_isil="VN-TEST", field_delimiter="^")
    c = RawClient(sip_pg.port)
    try:
        assert c.request("9300CNcaret^COpw^") == frame("941", 0)
        assert c.request(f"19{DATE}{AO}AB39000003^CHBìa cứng^") == frame(
            f"201{DATE}AB39000003^AJTắt đèn^CHBìa cứng^", 1
        )
        assert c.request(f"11YN{DATE}{BLANK}{AO}AA0001^AB39000003^AC^").startswith(b"121NNY")
        assert c.request(f"15+{DATE}{AO}AA0002^AB39000003^") == frame(
            f"161N{DATE}BR1^BSVN-TEST^{AO}AA0002^AB39000003^AJTắt đèn^", 3
        )
        assert c.request(f"15*{DATE}BW{BW}^BSVN-TEST-B^{AO}AA0002^AB39000003^") == frame(
            f"161N{DATE}BW{BW}^BR1^BSVN-TEST-B^{AO}AA0002^AB39000003^AJTắt đèn^", 4
        )
    finally:
        c.close()
    with sip_pg.db.session() as s:
        assert s.scalar(select(Item.properties).where(Item.barcode == "39000003")) == "Bìa cứng"
        hold = s.scalars(select(Hold)).one()
        assert hold.pickup_library_id == sip_pg.world.branch and hold.expires_at is not None


def test_hold_change_racing_the_checkin_that_traps_it(sip_pg: Running) -> None:
    """Either the change lands first (the copy then travels to the new pickup library) or the trap does (the
    change is refused): never a hold on the shelf here that says it is picked up elsewhere."""
    returner, requester = RawClient(sip_pg.port), RawClient(sip_pg.port)
    try:
        for c in (returner, requester):
            assert c.login() == frame("941", 0)
        for barcode in ("39000001", "39000002", "39000003", "39000004", "39000005"):
            assert returner.request(f"11YN{DATE}{BLANK}AOVN-TEST|AA0001|AB{barcode}|AC|").startswith(b"121")
            assert requester.request(f"15+{DATE}AOVN-TEST|AA0002|AB{barcode}|").startswith(b"161")
            barrier = threading.Barrier(2)
            replies: dict[str, bytes] = {}

            def checkin(
                code: str = barcode, barrier: threading.Barrier = barrier, replies: dict[str, bytes] = replies
            ) -> None:
                barrier.wait()
                replies["10"] = returner.request(f"09N{DATE}{DATE}APSảnh|AOVN-TEST|AB{code}|AC|")

            def change(
                code: str = barcode, barrier: threading.Barrier = barrier, replies: dict[str, bytes] = replies
            ) -> None:
                barrier.wait()
                replies["16"] = requester.request(f"15*{DATE}BSVN-TEST-B|AOVN-TEST|AA0002|AB{code}|")

            threads = [threading.Thread(target=checkin), threading.Thread(target=change)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            with sip_pg.db.session() as s:
                item = s.scalars(select(Item).where(Item.barcode == barcode)).one()
                hold = s.scalars(select(Hold).where(Hold.record_id == item.record_id)).one()
                state = (hold.state.value, hold.pickup_library_id, item.status.value)
            changed = replies["16"].startswith(b"161")
            if changed:
                assert state == ("in_transit", sip_pg.world.branch, "in_transit") and b"CV02|" in replies["10"]
            else:
                assert state == ("ready", sip_pg.world.main, "on_hold_shelf") and b"CV01|" in replies["10"]
    finally:
        returner.close()
        requester.close()
