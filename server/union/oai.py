"""OAI-PMH 2.0 data provider at ``/oai`` (GET and POST): the catalog for union catalogs and aggregators.

* Verbs: Identify, ListMetadataFormats, ListSets, GetRecord, ListIdentifiers, ListRecords.
* Formats: ``oai_dc``, ``marc21`` (MARCXML) and ``marc21_withholdings`` (MARCXML plus one 852 per library
  holding the title, with $a ISIL, $c shelving location and $h call number, and one 876 $p per item barcode, for
  union catalogs).
* Sets: ``library:<ISIL>`` for every library (records it catalogued or holds).
* Deletions are persistent (a withdrawn record keeps its row with ``deleted_at``).
* Granularity ``YYYY-MM-DDThh:mm:ssZ`` (day granularity accepted too); the datestamp is ``updated_at``.
* Resumption tokens carry the keyset position (datestamp, id) of the last record sent, never an offset,
  plus the request and the list size; they do not expire.

Protocol errors are answered with HTTP 200 and ``<error code=...>`` as the specification says.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from server.catalog.export import library_condition
from server.catalog.marcio import iso2709_to_marcxml, xml_text
from server.catalog.models import BibIdentifier, BibRecord, Holding, Item
from server.db import Database
from server.libraries.models import Library, Location
from server.union.errors import OaiError

log = logging.getLogger(__name__)

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
MARC21_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/"),
    "marc21": (MARC21_SCHEMA, "http://www.loc.gov/MARC21/slim"),
    "marc21_withholdings": (MARC21_SCHEMA, "http://www.loc.gov/MARC21/slim"),
}
_LIST = ({"metadataPrefix"}, {"from", "until", "set"}, True)
VERBS: dict[str, tuple[set[str], set[str], bool]] = {
    "Identify": (set(), set(), False),
    "ListMetadataFormats": (set(), {"identifier"}, False),
    "ListSets": (set(), set(), True),
    "GetRecord": ({"identifier", "metadataPrefix"}, set(), False),
    "ListIdentifiers": _LIST,
    "ListRecords": _LIST,
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True)
class ProviderConfig:
    """What Identify says and how large a page is; put one on ``app.state.oai`` to change the defaults."""

    repository_name: str = "Mục lục liên hợp thư viện tỉnh (provincial union catalog)"
    domain: str = "thuvien.local"
    admin_email: str = "admin@thuvien.local"
    page_size: int = 200


@dataclass
class _Position:
    prefix: str
    set_spec: str | None
    start: str | None
    until: str | None
    last_stamp: str | None
    last_id: int
    cursor: int
    total: int
    verb: str


# ------------------------------------------------------------------------------------------ arguments


def parse_arguments(pairs: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments, checked against the verb's table; OaiError otherwise."""
    verbs = [v for k, v in pairs if k == "verb"]
    if len(verbs) != 1:
        raise OaiError("badVerb", "the verb argument is missing" if not verbs else "the verb argument is repeated")
    verb = verbs[0]
    if verb not in VERBS:
        raise OaiError("badVerb", f"{verb!r} is not an OAI-PMH verb")
    args: dict[str, str] = {}
    for key, value in pairs:
        if key == "verb":
            continue
        if key in args:
            raise OaiError("badArgument", f"argument {key!r} is repeated")
        args[key] = value
    required, optional, resumable = VERBS[verb]
    if resumable and "resumptionToken" in args:
        if len(args) != 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return verb, args
    unknown = set(args) - required - optional
    if unknown:
        raise OaiError("badArgument", f"illegal argument(s) for {verb}: {', '.join(sorted(unknown))}")
    missing = required - set(args)
    if missing:
        raise OaiError("badArgument", f"missing argument(s) for {verb}: {', '.join(sorted(missing))}")
    return verb, args


def parse_datestamp(value: str, name: str, *, until: bool) -> dt.datetime:
    """The instant a from/until argument stands for; an until covers its whole second or day."""
    try:
        if _SECOND.fullmatch(value):
            moment = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            return moment + dt.timedelta(seconds=1) if until else moment
        if _DAY.fullmatch(value):
            moment = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
            return moment + dt.timedelta(days=1) if until else moment
    except (ValueError, OverflowError):
        raise OaiError("badArgument", f"{name}={value!r} is not a valid date") from None
    raise OaiError("badArgument", f"{name}={value!r} is neither YYYY-MM-DD nor YYYY-MM-DDThh:mm:ssZ")


def encode_token(position: _Position) -> str:
    data = json.dumps(position.__dict__, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_token(token: str, verb: str) -> _Position:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        position = _Position(**data)
        if not isinstance(position.last_id, int) or not isinstance(position.cursor, int):
            raise TypeError("bad numbers")
        if position.last_stamp is not None:
            dt.datetime.fromisoformat(position.last_stamp)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise OaiError("badResumptionToken", "the resumption token is not one this repository issued") from None
    if position.verb != verb or position.prefix not in FORMATS:
        raise OaiError("badResumptionToken", f"the resumption token does not belong to {verb}")
    return position


# ------------------------------------------------------------------------------------------ provider


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")[:19] + "Z"


class Provider:
    """Answers OAI-PMH requests from the catalog; one per request (it holds the session)."""

    def __init__(self, session: Session, base_url: str, config: ProviderConfig) -> None:
        self.session = session
        self.base_url = base_url
        self.config = config

    def identifier(self, record_id: int) -> str:
        return f"oai:{self.config.domain}:{record_id}"

    def record_id(self, identifier: str) -> int:
        prefix = f"oai:{self.config.domain}:"
        local = identifier.removeprefix(prefix)
        if local == identifier or not local.isdigit():
            raise OaiError("idDoesNotExist", f"{identifier!r} is not an identifier of this repository")
        return int(local)

    def answer(self, pairs: list[tuple[str, str]], now: dt.datetime) -> str:
        try:
            verb, args = parse_arguments(pairs)
        except OaiError as exc:
            return self.envelope(now, None, {}, self.error(exc))
        try:
            body = getattr(self, verb.lower())(args)
        except OaiError as exc:
            return self.envelope(now, verb, args, self.error(exc))
        return self.envelope(now, verb, args, body)

    def envelope(self, now: dt.datetime, verb: str | None, args: dict[str, str], body: str) -> str:
        attributes = ""
        if verb is not None:
            attributes = f' verb="{verb}"' + "".join(f' {k}="{xml_text(v)}"' for k, v in sorted(args.items()))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:schemaLocation="{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">'
            f"<responseDate>{_stamp(now)}</responseDate>"
            f"<request{attributes}>{xml_text(self.base_url)}</request>{body}</OAI-PMH>"
        )

    @staticmethod
    def error(exc: OaiError) -> str:
        return f'<error code="{exc.code}">{xml_text(exc.message)}</error>'

    # -- verbs

    def identify(self, _args: dict[str, str]) -> str:
        earliest = self.session.scalar(select(func.min(BibRecord.updated_at)))
        stamp = _stamp(earliest) if earliest is not None else "1970-01-01T00:00:00Z"
        return (
            f"<Identify><repositoryName>{xml_text(self.config.repository_name)}</repositoryName>"
            f"<baseURL>{xml_text(self.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            f"<adminEmail>{xml_text(self.config.admin_email)}</adminEmail>"
            f"<earliestDatestamp>{stamp}</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
            "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>"
            '<description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
            'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"><scheme>oai</scheme>'
            f"<repositoryIdentifier>{xml_text(self.config.domain)}</repositoryIdentifier><delimiter>:</delimiter>"
            f"<sampleIdentifier>{self.identifier(1)}</sampleIdentifier></oai-identifier></description></Identify>"
        )

    def listmetadataformats(self, args: dict[str, str]) -> str:
        if "identifier" in args:
            rid = self.record_id(args["identifier"])
            if self.session.get(BibRecord, rid) is None:
                raise OaiError("idDoesNotExist", f"no record {args['identifier']!r}")
        formats = "".join(
            f"<metadataFormat><metadataPrefix>{prefix}</metadataPrefix><schema>{schema}</schema>"
            f"<metadataNamespace>{namespace}</metadataNamespace></metadataFormat>"
            for prefix, (schema, namespace) in FORMATS.items()
        )
        return f"<ListMetadataFormats>{formats}</ListMetadataFormats>"

    def listsets(self, args: dict[str, str]) -> str:
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "ListSets is answered in one response; no token is valid")
        rows = list(self.session.execute(select(Library.isil, Library.name).order_by(Library.isil)))
        if not rows:
            raise OaiError("noSetHierarchy", "there are no libraries, hence no sets, yet")
        sets = "".join(
            f"<set><setSpec>library:{xml_text(isil)}</setSpec><setName>{xml_text(name)}</setName></set>"
            for isil, name in rows
        )
        return f"<ListSets>{sets}</ListSets>"

    def getrecord(self, args: dict[str, str]) -> str:
        prefix = self._prefix(args["metadataPrefix"])
        record = self.session.get(BibRecord, self.record_id(args["identifier"]))
        if record is None:
            raise OaiError("idDoesNotExist", f"no record {args['identifier']!r}")
        rows = [(record.id, record.updated_at, record.deleted_at, record.marc, record)]
        return f"<GetRecord>{self._records(rows, prefix, with_metadata=True)}</GetRecord>"

    def listidentifiers(self, args: dict[str, str]) -> str:
        return self._list(args, "ListIdentifiers", with_metadata=False)

    def listrecords(self, args: dict[str, str]) -> str:
        return self._list(args, "ListRecords", with_metadata=True)

    # -- lists

    @staticmethod
    def _prefix(prefix: str) -> str:
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"metadataPrefix {prefix!r} is not served here")
        return prefix

    def _conditions(self, position: _Position) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if position.start is not None:
            conditions.append(BibRecord.updated_at >= parse_datestamp(position.start, "from", until=False))
        if position.until is not None:
            conditions.append(BibRecord.updated_at < parse_datestamp(position.until, "until", until=True))
        if position.set_spec is not None:
            kind, _, isil = position.set_spec.partition(":")
            if kind != "library" or not isil:
                raise OaiError("noRecordsMatch", f"there is no set {position.set_spec!r}")
            try:
                conditions.append(library_condition(self.session, isil))
            except ValueError:
                raise OaiError("noRecordsMatch", f"there is no set {position.set_spec!r}") from None
        return conditions

    def _list(self, args: dict[str, str], verb: str, *, with_metadata: bool) -> str:
        if "resumptionToken" in args:
            position = decode_token(args["resumptionToken"], verb)
        else:
            start, until = args.get("from"), args.get("until")
            if start is not None and until is not None:
                if len(start) != len(until):
                    raise OaiError("badArgument", "from and until must have the same granularity")
                if parse_datestamp(start, "from", until=False) > parse_datestamp(until, "until", until=False):
                    raise OaiError("badArgument", "from is later than until")
            position = _Position(
                self._prefix(args["metadataPrefix"]), args.get("set"), start, until, None, 0, 0, -1, verb
            )
        conditions = self._conditions(position)
        if position.total < 0:
            position.total = int(
                self.session.scalar(select(func.count()).select_from(BibRecord).where(*conditions)) or 0
            )
        page_size = self.config.page_size
        columns: list[Any] = [BibRecord.id, BibRecord.updated_at, BibRecord.deleted_at]
        if with_metadata:
            # ORM objects only for Dublin Core; MARCXML is written straight from the stored bytes.
            columns += [BibRecord.marc, BibRecord] if position.prefix == "oai_dc" else [BibRecord.marc]
        stmt = select(*columns).where(*conditions)
        if position.last_stamp is not None:
            last = dt.datetime.fromisoformat(position.last_stamp)
            # The first condition lets the index start at the position; the second skips what was sent.
            stmt = stmt.where(
                BibRecord.updated_at >= last,
                or_(BibRecord.updated_at > last, BibRecord.id > position.last_id),
            )
        rows = list(self.session.execute(stmt.order_by(BibRecord.updated_at, BibRecord.id).limit(page_size + 1)))
        if not rows:
            raise OaiError("noRecordsMatch", "no record matches the request")
        more = len(rows) > page_size
        rows = rows[:page_size]
        body = self._records(rows, position.prefix, with_metadata=with_metadata)
        cursor = position.cursor
        if more or position.last_stamp is not None:
            token = ""
            if more:
                last_row = rows[-1]
                position.last_stamp = last_row[1].isoformat()
                position.last_id = last_row[0]
                position.cursor = cursor + len(rows)
                token = encode_token(position)
            body += f'<resumptionToken completeListSize="{position.total}" cursor="{cursor}">{token}</resumptionToken>'
        return f"<{verb}>{body}</{verb}>"

    def _records(self, rows: list[Any], prefix: str, *, with_metadata: bool) -> str:
        ids = [row[0] for row in rows]
        sets = self._sets(ids)
        holdings = self._holdings(ids) if with_metadata and prefix == "marc21_withholdings" else {}
        identifiers = self._identifiers(ids) if with_metadata and prefix == "oai_dc" else {}
        out: list[str] = []
        for row in rows:
            rid, stamp, deleted = row[0], row[1], row[2]
            specs = "".join(f"<setSpec>library:{xml_text(isil)}</setSpec>" for isil in sets.get(rid, ()))
            status = ' status="deleted"' if deleted is not None else ""
            header = (
                f"<header{status}><identifier>{self.identifier(rid)}</identifier>"
                f"<datestamp>{_stamp(stamp)}</datestamp>{specs}</header>"
            )
            if not with_metadata:
                out.append(header)
                continue
            if deleted is not None:
                out.append(f"<record>{header}</record>")
                continue
            if prefix == "oai_dc":
                metadata = _dublin_core(row[4], identifiers.get(rid, []))
            elif prefix == "marc21":
                metadata = iso2709_to_marcxml(row[3], prefix="")
            else:
                metadata = iso2709_to_marcxml(
                    row[3], prefix="", skip=frozenset({"852", "876"}), extra=holdings.get(rid, "")
                )
            out.append(f"<record>{header}<metadata>{metadata}</metadata></record>")
        return "".join(out)

    def _sets(self, ids: list[int]) -> dict[int, list[str]]:
        found: dict[int, set[str]] = {}
        source = select(BibRecord.id, Library.isil).join(Library, Library.id == BibRecord.source_library_id)
        held = select(Holding.record_id, Library.isil).join(Library, Library.id == Holding.library_id)
        for rid, isil in self.session.execute(
            source.where(BibRecord.id.in_(ids)).union(held.where(Holding.record_id.in_(ids)))
        ):
            found.setdefault(rid, set()).add(isil)
        return {rid: sorted(isils) for rid, isils in found.items()}

    def _identifiers(self, ids: list[int]) -> dict[int, list[str]]:
        return identifiers_of(self.session, ids)

    def _holdings(self, ids: list[int]) -> dict[int, str]:
        found: dict[int, list[str]] = {}
        rows = self.session.execute(
            select(Holding.record_id, Holding.id, Library.isil, Location.code, Holding.call_number)
            .join(Library, Library.id == Holding.library_id)
            .outerjoin(Location, Location.id == Holding.location_id)
            .where(Holding.record_id.in_(ids))
            .order_by(Holding.record_id, Library.isil, Holding.id)
        )
        items: dict[int, list[str]] = {}
        for holding_id, barcode in self.session.execute(
            select(Item.holding_id, Item.barcode).where(Item.record_id.in_(ids)).order_by(Item.barcode)
        ):
            if holding_id is not None:
                items.setdefault(holding_id, []).append(barcode)
        for rid, holding_id, isil, location, call_number in rows:
            subfields = f'<subfield code="a">{xml_text(isil)}</subfield>'
            if location:
                subfields += f'<subfield code="c">{xml_text(location)}</subfield>'
            if call_number:
                subfields += f'<subfield code="h">{xml_text(call_number)}</subfield>'
            found.setdefault(rid, []).append(f'<datafield tag="852" ind1=" " ind2=" ">{subfields}</datafield>')
            for barcode in items.get(holding_id, []):
                found[rid].append(
                    f'<datafield tag="876" ind1=" " ind2=" "><subfield code="b">{xml_text(isil)}</subfield>'
                    f'<subfield code="p">{xml_text(barcode)}</subfield></datafield>'
                )
        return {rid: "".join(parts) for rid, parts in found.items()}


def dc_elements(record: BibRecord, identifiers: list[str]) -> str:
    """The Dublin Core elements (``dc:`` prefix, declared by the caller) of a record."""
    parts: list[tuple[str, str]] = [("title", record.title)]
    parts += [("creator", a) for a in record.authors.split(" ; ") if a]
    parts += [("subject", s) for s in record.subjects.split(" ; ") if s]
    if record.publisher:
        parts.append(("publisher", record.publisher))
    if record.year is not None:
        parts.append(("date", str(record.year)))
    if record.language:
        parts.append(("language", record.language))
    parts.append(("type", "Text"))
    parts += [("identifier", i) for i in identifiers]
    return "".join(f"<dc:{name}>{xml_text(value)}</dc:{name}>" for name, value in parts)


def _dublin_core(record: BibRecord, identifiers: list[str]) -> str:
    return (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
        f'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">{dc_elements(record, identifiers)}</oai_dc:dc>'
    )


def identifiers_of(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """``urn:isbn:...``-style identifiers of records, by record id."""
    found: dict[int, list[str]] = {}
    rows = session.execute(
        select(BibIdentifier.record_id, BibIdentifier.scheme, BibIdentifier.value).where(
            BibIdentifier.record_id.in_(ids)
        )
    )
    for rid, scheme, value in rows:
        found.setdefault(rid, []).append(f"urn:{scheme}:{value}")
    return found


# ------------------------------------------------------------------------------------------ routes

_TOKEN_ISSUED = re.compile(r"<resumptionToken [^>]*>([^<]+)</resumptionToken>")
_LISTS = ("ListRecords", "ListIdentifiers")


class Prefetcher:
    """Renders the next page of a list while the harvester is still parsing the one it was just sent.

    Harvesters (Sickle, oaipmh, Koha's, MarcEdit's) fetch pages one after the other, so the provider sits idle
    while they parse; the page a resumption token leads to is rendered meanwhile in one background thread and
    answered when it is asked for. A page rendered a moment early is still correct: any change to a record
    gives it a later datestamp, so a harvest that already passed its position receives it again further on
    (resumption tokens are keyset positions). At most ``keep`` pages are held; an unclaimed one is dropped.
    """

    def __init__(self, db: Database, config: ProviderConfig, keep: int = 4) -> None:
        self.db = db
        self.config = config
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oai-prefetch")
        self._pages: OrderedDict[tuple[str, str, str], Future[str]] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, base_url: str, pairs: list[tuple[str, str]]) -> str:
        """The response to ``pairs``, taken from a page rendered beforehand when there is one."""
        key = _list_key(base_url, pairs)
        page: Future[str] | None = None
        if key is not None:
            with self._lock:
                page = self._pages.pop(key, None)
        text: str | None = None
        if page is not None:
            try:
                text = page.result()
            except Exception:  # noqa: BLE001  (rendered again below, where the error is answered or raised)
                log.warning("a prefetched OAI-PMH page failed; rendering it again", exc_info=True)
        if text is None:
            text = render(self.db, base_url, self.config, pairs)
        if key is not None or any(k == "verb" and v in _LISTS for k, v in pairs):
            issued = _TOKEN_ISSUED.search(text, max(0, len(text) - 4096))
            verb = next(v for k, v in pairs if k == "verb")
            if issued is not None:
                self._schedule(base_url, verb, issued.group(1))
        return text

    def _schedule(self, base_url: str, verb: str, token: str) -> None:
        key = (base_url, verb, token)
        pairs = [("verb", verb), ("resumptionToken", token)]
        with self._lock:
            if key in self._pages:
                return
            self._pages[key] = self._pool.submit(render, self.db, base_url, self.config, pairs)
            while len(self._pages) > self.keep:
                _key, dropped = self._pages.popitem(last=False)
                dropped.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _list_key(base_url: str, pairs: list[tuple[str, str]]) -> tuple[str, str, str] | None:
    """(base URL, verb, token) of a request for a further page of a list; None for any other request."""
    if len(pairs) != 2:
        return None
    args = dict(pairs)
    verb, token = args.get("verb"), args.get("resumptionToken")
    if verb not in _LISTS or not token:
        return None
    return base_url, verb, token


def render(db: Database, base_url: str, config: ProviderConfig, pairs: list[tuple[str, str]]) -> str:
    with db.session() as session:
        return Provider(session, base_url, config).answer(pairs, dt.datetime.now(dt.UTC))


_PREFETCHERS_LOCK = threading.Lock()


def _prefetcher(request: Request) -> Prefetcher:
    state = request.app.state
    config: ProviderConfig = getattr(state, "oai", None) or ProviderConfig()
    with _PREFETCHERS_LOCK:
        current: Prefetcher | None = getattr(state, "oai_prefetcher", None)
        if current is None or current.config is not config or current.db is not state.db:
            if current is not None:
                current.close()
            current = Prefetcher(state.db, config)
            state.oai_prefetcher = current
    return current


def _respond(request: Request, pairs: list[tuple[str, str]]) -> Response:
    base_url = str(request.url).split("?", 1)[0]
    text = _prefetcher(request).answer(base_url, pairs)
    return Response(content=text.encode("utf-8"), media_type="text/xml; charset=utf-8")


async def endpoint(request: Request) -> Response:
    """``/oai``, GET or POST (form-encoded arguments, as the protocol allows)."""
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", "replace")
        try:
            pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
        except ValueError:
            pairs = [("verb", "")]  # answered as badVerb; the body is not form-encoded
    else:
        pairs = list(request.query_params.multi_items())
    return await run_in_threadpool(_respond, request, pairs)
