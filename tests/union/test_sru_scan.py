"""SRU scan over titles, creators and subjects: yaz-client's scan command on both versions, the XML shapes,
positions, counts, and diagnostics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lxml import etree

from server.db import Database
from tests.union.conftest import LiveServer
from tests.union.data import load_vietnamese
from tests.union.test_sru import diagnostic, yaz

NS_12 = "{http://www.loc.gov/zing/srw/}"
NS_20 = "{http://docs.oasis-open.org/ns/search-ws/scan}"


@pytest.fixture
def sru(db: Database, live: LiveServer) -> str:
    load_vietnamese(db, deleted=0)
    return live.url + "/sru"


def test_yaz_client_scans(sru: str, tmp_path: Path) -> None:
    for version in ("1.2", "2.0"):
        out = yaz(
            [f"open {sru}", f"sru get {version}", "querytype cql", 'scan dc.title="quang ngai"',
             'scan dc.creator="nguyen khac"', "scan dc.subject=viet"],
            tmp_path,
        )  # fmt: skip
        assert out.count("Received SRW Scan Response") == 3, out
        assert "Quảng Ngãi, lịch sử chiến tranh" in out and "quang ngai lich su chien tranh" in out
        assert "Nguyễn, Khắc Đạm: 1" in out
        assert "Vietnam" in out or "Việt Nam" in out


def terms(root: etree._Element, ns: str) -> list[tuple[str, str, int, str]]:
    return [
        (t.findtext(f"{ns}displayTerm") or "", t.findtext(f"{ns}value") or "",
         int(t.findtext(f"{ns}numberOfRecords") or 0), t.findtext(f"{ns}whereInList") or "")
        for t in root.iter(f"{ns}term")
    ]  # fmt: skip


def test_scan_xml_positions_and_counts(sru: str) -> None:
    with httpx.Client() as client:

        def get(**params: str) -> etree._Element:
            return etree.fromstring(client.get(sru, params={"operation": "scan", **params}).content)

        root = get(version="1.2", scanClause='dc.title="quang ngai"', maximumTerms="5")
        assert root.tag == f"{NS_12}scanResponse" and root.findtext(f"{NS_12}version") == "1.2"
        found = terms(root, NS_12)
        assert len(found) == 5 and found[0][0].startswith("Quảng Ngãi") and found[0][3] == "inner"
        echoed = root.find(f"{NS_12}echoedScanRequest")
        assert echoed is not None and echoed.findtext(f"{NS_12}scanClause") == 'dc.title="quang ngai"'
        before = terms(get(version="1.2", scanClause='dc.title="quang ngai"', maximumTerms="5",
                           responsePosition="3"), NS_12)  # fmt: skip
        assert before[2] == found[0] and before[3:] == found[1:3]
        after = terms(get(version="1.2", scanClause=f'dc.title="{found[0][0]}"', responsePosition="0"), NS_12)
        assert after[0] == found[1]

        first = terms(get(version="2.0", scanClause="dc.title=0", maximumTerms="2"), NS_20)
        assert first[0][3] == "first" and first[1][3] == "inner"
        last = terms(get(version="2.0", scanClause="dc.title=zzzz", responsePosition="2", maximumTerms="3"), NS_20)
        assert last[-1][3] == "last" and len(last) == 1
        shape = get(version="2.0", scanClause="dc.subject=a", maximumTerms="100")
        assert shape.tag == f"{NS_20}scanResponse" and shape.find(f"{NS_20}echoedScanRequest") is None
        subjects = terms(shape, NS_20)
        display, value, count, _ = max(subjects, key=lambda t: t[2])
        assert count > 1  # several records share a subject heading
        hits = etree.fromstring(
            client.get(sru, params={"query": f'dc.subject = "{value}"', "maximumRecords": "0"}).content
        )
        assert int(hits.findtext(f"{NS_12}numberOfRecords") or 0) >= count  # the value finds them

        cases = {
            "version=1.2&operation=scan": "7",
            "version=1.2&operation=scan&scanClause=dc.title%3Dx&responsePosition=30&maximumTerms=5": "120",
            "version=2.0&operation=scan&scanClause=bath.isbn%3D978": "16",
            "version=1.2&operation=scan&scanClause=(": "10",
            "version=1.2&operation=scan&scanClause=x&maximumTerms=-1": "6",
            "version=1.2&operation=scan&scanClause=chien": None,
        }
        assert {query: diagnostic(client.get(f"{sru}?{query}")) for query in cases} == cases
