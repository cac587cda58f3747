"""SRU queried by yaz-client (querytype cql) and by sruthi, both versions, with diagnostics."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from server.db import Database
from server.union.errors import SruDiagnostic
from server.union.sru import ON_LOOP_RECORDS, one_word_clause, parse_cql, parse_query, repair_double_encoding
from tests.support import require
from tests.union.conftest import LiveServer
from tests.union.data import load_vietnamese

DIAG = "info:srw/diagnostic/1/"


@pytest.fixture
def sru(db: Database, live: LiveServer) -> str:
    load_vietnamese(db, deleted=0)
    return live.url + "/sru"


def yaz(commands: list[str], tmp_path: Path) -> str:
    require(shutil.which("yaz-client") is not None, "yaz-client (Debian package yaz)")
    script = tmp_path / "cmds.txt"
    script.write_text("\n".join(commands) + "\n", encoding="utf-8")
    done = subprocess.run(["yaz-client", "-f", str(script)], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


def test_yaz_client(sru: str, tmp_path: Path) -> None:
    for version in ("1.2", "2.0"):
        out = yaz(
            [
                f"open {sru}",
                f"sru get {version}",
                "querytype cql",
                'find dc.title = "chiến tranh"',
                "format xml",
                "schema marcxml",
                "show 1",
                'find title="unterminated',
                "find foo.bar = x",
                "find chien and dc.date > 1990",
                "find cql.allRecords = 1",
            ],
            tmp_path,
        )
        assert "Number of hits: 1\n" in out, out
        assert "Quảng Ngãi, lịch sử chiến tranh" in out
        assert f"{DIAG}10" in out and f"{DIAG}16" in out
        assert "Number of hits: 121" in out
    post = yaz([f"open {sru}", "sru post 1.2", "querytype cql", "find dc.creator = nguyen"], tmp_path)
    assert "Number of hits: 0" not in post and "Number of hits:" in post


def test_sruthi(sru: str) -> None:
    import sruthi

    records = sruthi.searchretrieve(sru, query='dc.title any "việt nam"', record_schema="dc", maximum_records=7)
    assert records.count > 10
    titles = [r["title"] for _, r in zip(range(records.count), records, strict=False)]
    assert len(titles) == records.count  # sruthi pages through with startRecord
    marc = sruthi.searchretrieve(sru, query="bath.isbn = 9786040000000 or dc.subject = history", sru_version="1.2")
    assert marc.count >= 1
    explain = sruthi.explain(sru)
    assert "dc" in str(explain.index)
    zeerex = etree.fromstring(httpx.get(sru, params={"version": "1.2", "operation": "explain"}).content)
    scan = {str(i.findtext("{*}title")): i.get("scan") for i in zeerex.iter("{http://explain.z3950.org/dtd/2.0/}index")}
    assert scan["dc.title"] == scan["dc.creator"] == scan["dc.subject"] == "true" and scan["bath.isbn"] == "false"


def diagnostic(response: httpx.Response) -> str | None:
    root = etree.fromstring(response.content)
    uris = root.xpath("//*[local-name()='diagnostic']/*[local-name()='uri']/text()")
    return str(uris[0]).removeprefix(DIAG) if uris else None


def test_diagnostics_and_paging(sru: str) -> None:
    cases = {
        "version=1.2&operation=searchRetrieve": "7",
        "version=3.0&operation=explain": "5",
        "version=1.2&operation=scan&scanClause=dc.date%3D1990": "16",
        "version=1.2&operation=nonsense": "4",
        "version=1.2&operation=searchRetrieve&query=a%20prox%20b": "37",
        "version=1.2&operation=searchRetrieve&query=dc.title%20within%20x": "19",
        "version=1.2&operation=searchRetrieve&query=x&recordSchema=mods": "66",
        "version=1.2&operation=searchRetrieve&query=x&recordPacking=json": "71",
        "version=1.2&operation=searchRetrieve&query=x&startRecord=0": "6",
        "version=1.2&operation=searchRetrieve&query=x&maximumRecords=-3": "6",
        "version=1.2&operation=searchRetrieve&query=viet&startRecord=500": "61",
        "version=1.2&operation=searchRetrieve&query=(": "10",
        "version=1.2&operation=searchRetrieve&query=x%20sortBy%20dc.publisher": "80",
        "version=2.0&query=x&queryType=pqf": "6",
        "version=1.2&operation=searchRetrieve&query=nam%20sortBy%20dc.title": None,
        "version=1.2": None,
    }
    with httpx.Client() as client:
        answers = {query: diagnostic(client.get(f"{sru}?{query}")) for query in cases}
    assert answers == cases
    page = etree.fromstring(
        httpx.get(sru, params={"query": "nam", "startRecord": "3", "maximumRecords": "2", "version": "2.0"}).content
    )
    positions = page.xpath("//*[local-name()='recordPosition']/text()")
    assert positions == ["3", "4"] and page.xpath("//*[local-name()='nextRecordPosition']/text()") == ["5"]
    assert page.tag == "{http://docs.oasis-open.org/ns/search-ws/sruResponse}searchRetrieveResponse"
    string = httpx.get(
        sru,
        params={
            "query": "nam",
            "maximumRecords": "1",
            "recordPacking": "string",
            "operation": "searchRetrieve",
            "version": "1.2",
        },
    )
    assert b"&lt;marc:record" in string.content


def test_newest_first_unless_relevance_is_asked(db: Database, sru: str) -> None:
    """Unranked results come newest first (as Zebra's come in its own order); CQL's ``relevant`` modifier ranks."""
    from sqlalchemy import select

    from server.catalog.models import BibRecord

    with db.session() as session:
        ids = {number: rid for number, rid in session.execute(select(BibRecord.control_number, BibRecord.id))}

    def found(query: str) -> list[int]:
        params = {"version": "1.2", "operation": "searchRetrieve", "query": query, "maximumRecords": "100"}
        root = etree.fromstring(httpx.get(sru, params=params).content)
        return [ids[n.strip()] for n in root.xpath("//*[local-name()='controlfield'][@tag='001']/text()")]

    for query in ('cql.serverChoice = "ha noi"', 'dc.creator = nguyen', "dc.title = tho and dc.date > 1900"):
        newest = found(query)
        assert len(newest) > 1 and newest == sorted(newest, reverse=True), query
        ranked = found(query.replace(" = ", " =/relevant ", 1))
        assert sorted(ranked) == sorted(newest) and ranked != newest, query
    with db.session() as session:
        first = session.get(BibRecord, found('cql.serverChoice =/relevant "ha noi"')[0])
        assert first is not None and "ha noi" in first.title_folded  # a title match first, whatever its age


def test_a_long_page_is_the_short_pages_it_spans(sru: str) -> None:
    """Up to ON_LOOP_RECORDS records are written on the event loop, a longer page in a worker thread: the same
    records, in the same order, either way."""

    def records(start: int, maximum: int) -> list[bytes]:
        params = {"query": "cql.allRecords = 1", "startRecord": str(start), "maximumRecords": str(maximum)}
        root = etree.fromstring(httpx.get(sru, params=params).content)
        return [etree.tostring(r) for r in root.xpath("//*[local-name()='recordData']/*")]

    step = ON_LOOP_RECORDS // 2
    long_page = records(1, 5 * step)
    assert len(long_page) == 5 * step > ON_LOOP_RECORDS
    assert long_page == [r for start in range(1, 5 * step, step) for r in records(start, step)]


def test_double_encoded_terms_are_repaired() -> None:
    assert repair_double_encoding("chiáº¿n tranh") == "chiến tranh"
    assert repair_double_encoding("chiến tranh") == "chiến tranh"
    assert repair_double_encoding("Ã") == "Ã"


ONE_WORD_QUERIES = [
    f"{index}{space}{relation}{space}{word}"
    for index in ("dc.title", "DC.Title", "title", "dc.creator", "bath.isbn", "dc.date", "cql.allRecords", "no.such")
    for relation in ("=", "==", "=/relevant", "=/cql.relevant", "all", "ANY", "adj", "exact", "<", "=/fuzzy")
    for space in (" ", "", "  ")
    for word in ("war", "chiến", "Việt", "1984", "9780306406157", "and", "sortby", "x_y", "war*", '"war"', "Ã¡")
]


def _read(parse: Callable[[str], object], query: str) -> object:
    try:
        return parse(query)
    except SruDiagnostic as exc:
        return (exc.number, exc.details)


def test_a_one_word_query_reads_as_the_cql_parser_reads_it() -> None:
    """The short way round the parser for ``index relation word`` gives the parser's tree, sort or diagnostic
    (among them queries that only look like one word: a keyword, masking, quotes, a modifier glued to the word)."""
    differ = [q for q in ONE_WORD_QUERIES if _read(parse_query.__wrapped__, q) != _read(parse_cql, q)]
    assert differ == []


def test_the_short_way_is_taken_for_the_commonest_queries() -> None:
    taken = [query for query in ONE_WORD_QUERIES if one_word_clause(query) is not None]
    assert "dc.title = war" in taken and "dc.title =/relevant chiến" in taken and "dc.creator ANY 1984" in taken
    assert not any(word in query for query in taken for word in ("sortby", '"war"', "war*", "x_y", "fuzzy"))
