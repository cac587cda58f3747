"""The OAI-PMH provider, harvested by Sickle 0.7.0 and oaipmh 4.0.0, and its error answers."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from lxml import etree
from sickle import Sickle
from sickle.oaiexceptions import BadArgument, CannotDisseminateFormat, IdDoesNotExist, NoRecordsMatch

from server.db import Database
from tests.union.conftest import LiveServer
from tests.union.data import load_vietnamese

OAI = "{http://www.openarchives.org/OAI/2.0/}"


@pytest.fixture
def provider(db: Database, live: LiveServer) -> tuple[str, list[int]]:
    deleted = load_vietnamese(db)
    return live.url + "/oai", deleted


def test_sickle_harvests_everything(provider: tuple[str, list[int]]) -> None:
    url, deleted = provider
    for method in ("GET", "POST"):
        sickle = Sickle(url, max_retries=1, timeout=30, http_method=method)
        identify = sickle.Identify()
        assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ" and identify.deletedRecord == "persistent"
        formats = {f.metadataPrefix for f in sickle.ListMetadataFormats()}
        assert formats == {"oai_dc", "marc21", "marc21_withholdings"}
        assert {s.setSpec for s in sickle.ListSets()} == {"library:VN-A", "library:VN-B"}
        records = list(sickle.ListRecords(metadataPrefix="marc21", ignore_deleted=False))
        assert len(records) == 121
        assert len({r.header.identifier for r in records}) == 121
        gone = [r for r in records if r.header.deleted]
        assert sorted(int(r.header.identifier.rsplit(":", 1)[1]) for r in gone) == sorted(deleted)
        assert "library:VN-A" in records[-1].header.setSpecs
        dc = list(sickle.ListRecords(metadataPrefix="oai_dc", ignore_deleted=True))
        assert len(dc) == 116
        assert any("Việt Nam" in r.metadata["title"][0] for r in dc)
        assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="library:VN-A"))) == 121


def test_sickle_get_record_dates_and_errors(provider: tuple[str, list[int]]) -> None:
    url, deleted = provider
    sickle = Sickle(url, max_retries=1, timeout=30)
    first = next(iter(sickle.ListIdentifiers(metadataPrefix="marc21", ignore_deleted=True)))
    record = sickle.GetRecord(identifier=first.identifier, metadataPrefix="marc21")
    assert "MARC21/slim" in record.raw
    holdings = sickle.GetRecord(identifier=first.identifier, metadataPrefix="marc21_withholdings")
    assert 'tag="245"' in holdings.raw
    today = dt.datetime.now(dt.UTC).date()
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc", **{"from": today.isoformat()}))) == 121
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", until="2000-01-01"))
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="library:VN-B"))
    with pytest.raises(CannotDisseminateFormat):
        sickle.GetRecord(identifier=first.identifier, metadataPrefix="mods")
    with pytest.raises(IdDoesNotExist):
        sickle.GetRecord(identifier="oai:test.lib.vn:999999", metadataPrefix="marc21")
    with pytest.raises(BadArgument):
        list(sickle.ListRecords(metadataPrefix="marc21", **{"from": "2024-13-45"}))
    gone = sickle.GetRecord(identifier=f"oai:test.lib.vn:{deleted[0]}", metadataPrefix="marc21")
    assert gone.header.deleted


def test_oaipmh_client_harvests_everything(provider: tuple[str, list[int]]) -> None:
    from oaipmh.client import Client
    from oaipmh.metadata import MetadataRegistry, oai_dc_reader

    url, deleted = provider
    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    registry.registerReader("marc21", lambda el: etree.tostring(el, encoding="unicode"))
    client = Client(url, registry)
    client.updateGranularity()
    assert client.identify().deletedRecord() == "persistent"
    records = list(client.listRecords(metadataPrefix="marc21"))
    assert len(records) == 121
    assert sum(1 for header, _m, _a in records if header.isDeleted()) == len(deleted)
    assert all(metadata is None for header, metadata, _a in records if header.isDeleted())
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    headers = list(client.listIdentifiers(metadataPrefix="oai_dc", from_=since))
    assert len(headers) == 121
    live = next(h for h in headers if not h.isDeleted())
    header, metadata, _about = client.getRecord(identifier=live.identifier(), metadataPrefix="oai_dc")
    assert metadata is not None and metadata.getField("title")
    assert [s[0] for s in client.listSets()] == ["library:VN-A", "library:VN-B"]


def error_code(response: httpx.Response) -> str | None:
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    error = root.find(f"{OAI}error")
    return None if error is None else error.get("code")


ERROR_CASES = [
    ("", "badVerb"),
    ("verb=Nope", "badVerb"),
    ("verb=Identify&verb=Identify", "badVerb"),
    ("verb=Identify&extra=1", "badArgument"),
    ("verb=ListRecords", "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc21&metadataPrefix=oai_dc", "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc21&from=2020-01-01&until=2020-01-01T00:00:00Z", "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc21&from=2021-01-01&until=2020-01-01", "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc21&from=99999-01-01", "badArgument"),
    ("verb=ListRecords&metadataPrefix=marc21&until=2020-02-30", "badArgument"),
    ("verb=ListRecords&resumptionToken=garbage", "badResumptionToken"),
    ("verb=ListRecords&resumptionToken=eyJ4IjoxfQ", "badResumptionToken"),
    ("verb=ListRecords&resumptionToken=abc&metadataPrefix=marc21", "badArgument"),
    ("verb=ListRecords&metadataPrefix=xyz", "cannotDisseminateFormat"),
    ("verb=ListRecords&metadataPrefix=marc21&set=shelf:9", "noRecordsMatch"),
    ("verb=GetRecord&identifier=oai:elsewhere:1&metadataPrefix=marc21", "idDoesNotExist"),
    ("verb=ListMetadataFormats&identifier=oai:test.lib.vn:0", "idDoesNotExist"),
    ("verb=ListSets&resumptionToken=x", "badResumptionToken"),
    ("verb=Identify", None),
]


def test_error_codes(provider: tuple[str, list[int]]) -> None:
    url, _ = provider
    with httpx.Client() as client:
        answers = {query: error_code(client.get(f"{url}?{query}")) for query, _code in ERROR_CASES}
    assert answers == dict(ERROR_CASES)


def test_token_of_another_verb_is_refused(provider: tuple[str, list[int]]) -> None:
    url, _ = provider
    first = etree.fromstring(httpx.get(url, params={"verb": "ListIdentifiers", "metadataPrefix": "marc21"}).content)
    token = first.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
    assert token is not None and token.get("completeListSize") == "121" and token.get("cursor") == "0"
    assert error_code(httpx.get(url, params={"verb": "ListRecords", "resumptionToken": token.text})) == (
        "badResumptionToken"
    )
    post = httpx.post(
        url,
        content=b"verb=ListIdentifiers&resumptionToken=" + (token.text or "").encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error_code(post) is None


def test_no_sets_without_libraries(db: Database, live: LiveServer) -> None:
    assert error_code(httpx.get(live.url + "/oai", params={"verb": "ListSets"})) == "noSetHierarchy"
    assert error_code(httpx.get(live.url + "/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc"})) == (
        "noRecordsMatch"
    )
