"""The provider renders a list's next page ahead of the request; harvests stay complete and current."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from server.catalog.models import BibRecord
from server.catalog.service import delete_record
from server.db import Database
from tests.support import wait_for
from tests.union.conftest import LiveServer
from tests.union.data import load_vietnamese

TOKEN = re.compile(r"<resumptionToken [^>]*>([^<]*)</resumptionToken>")
HEADER = re.compile(r'<header( status="deleted")?><identifier>[^<]*:(\d+)</identifier>')


def _page(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[list[tuple[int, bool]], str]:
    text = client.get(url, params=params).text
    found = TOKEN.search(text)
    return [(int(rid), bool(gone)) for gone, rid in HEADER.findall(text)], found.group(1) if found else ""


def test_changes_during_a_harvest_reach_the_harvester(db: Database) -> None:
    load_vietnamese(db, deleted=0)
    with LiveServer(db, page_size=10) as live, httpx.Client(timeout=30) as client:
        url = live.url + "/oai"
        seen, token = _page(client, url, {"verb": "ListIdentifiers", "metadataPrefix": "marc21"})
        prefetcher = live.app.state.oai_prefetcher
        assert wait_for(lambda: all(page.done() for page in prefetcher._pages.values()), timeout=10)
        assert len(prefetcher._pages) == 1  # the second page is ready before it is asked for
        with db.write() as session:  # a record of that second page is withdrawn after it was rendered
            ids = list(session.scalars(select(BibRecord.id).order_by(BibRecord.updated_at, BibRecord.id)))
            delete_record(session, session.get_one(BibRecord, ids[12]))
        while token:
            page, token = _page(client, url, {"verb": "ListIdentifiers", "resumptionToken": token})
            seen += page
    latest = dict(seen)  # the last state each record was sent in
    assert sorted(latest) == sorted(ids)
    assert [rid for rid, gone in latest.items() if gone] == [ids[12]]
    assert seen.count((ids[12], False)) == 1 and seen[-1] == (ids[12], True)  # sent again, deleted, at the end
