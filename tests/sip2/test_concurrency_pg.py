"""Through the SIP2 server on PostgreSQL: two kiosks race for the last copy; a checkout retransmitted on a new
connection (the reply was lost) never lends twice."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from server.circulation.models import Loan
from tests.sip2.conftest import BLANK, DATE, Running
from tests.sip2.rawclient import RawClient, frame

pytestmark = pytest.mark.postgres


def open_loans(run: Running) -> int:
    with run.db.session() as s:
        return s.scalar(select(func.count()).select_from(Loan).where(Loan.returned_at.is_(None))) or 0


def test_two_kiosks_race_for_the_last_copy(sip_pg: Running) -> None:
    clients = [RawClient(sip_pg.port) for _ in range(2)]
    try:
        for c in clients:
            assert c.login() == frame("941", 0)
        for round_ in range(3):
            barrier = threading.Barrier(2)
            replies: list[bytes] = [b"", b""]

            def go(i: int, barrier: threading.Barrier = barrier, replies: list[bytes] = replies) -> None:
                barrier.wait()
                replies[i] = clients[i].request(f"11YN{DATE}{BLANK}AOVN-TEST|AA000{i + 1}|AB39000001|AC|")

            threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(r[:3] for r in replies) == [b"120", b"121"], replies
            assert open_loans(sip_pg) == 1
            assert clients[0].request(f"09N{DATE}{BLANK}APx|AOVN-TEST|AB39000001|AC|").startswith(b"101"), round_
    finally:
        for c in clients:
            c.close()


def test_retransmitted_checkout_on_new_connection(sip_pg: Running) -> None:
    request = frame(f"11YN{DATE}{BLANK}AOVN-TEST|AA0001|AB39000002|AC|", 3)
    first = RawClient(sip_pg.port)
    first.login()
    first.send_raw(request)
    first.close()  # the kiosk lost the connection before reading the reply
    second = RawClient(sip_pg.port)
    try:
        second.login()
        second.send_raw(request)
        reply = second.read()
        assert reply.startswith(b"121N")  # replayed: ok, and not a renewal
        second.send_raw(request)
        assert second.read() == reply
    finally:
        second.close()
    with sip_pg.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Loan)) == 1
        assert s.scalar(select(Loan.renewals)) == 0
