"""On PostgreSQL through the SIP2 server: item properties stored (19/20), a hold changed in place (15 ``*``),
on an account whose field delimiter is ``^``."""

from __future__ import annotations

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
