"""SRU at ``/sru``: explain and searchRetrieve, versions 1.1/1.2 and 2.0, CQL over the catalog's search.

Index names (documented in ``docs/catalog.md`` and in explain)::

    cql.serverChoice, cql.anywhere, cql.keywords, dc.anywhere   any field (title, authors, subjects, publisher, numbers)
    dc.title, bath.title                                         title
    dc.creator, dc.author, bath.author, bath.name                authors
    dc.subject, bath.subject                                     subjects
    bath.isbn, dc.identifier                                     ISBN (any form; normalised to ISBN-13)
    bath.issn                                                    ISSN
    bath.lccn                                                    LC control number
    dc.date, dc.year                                             year (= < > <= >= <>, and = 1990-1999)
    dc.language                                                  MARC language code (vie, eng...)
    rec.id                                                       record id or control number (001)
    thuvien.library                                              ISIL of a library holding the record
    cql.allRecords                                               every record

Relations: ``=`` (all words), ``all``, ``any``, ``adj``/``==``/``exact`` (phrase), ``<``... for dc.date.
``*`` at the end of a word truncates. Booleans ``and``, ``or``, ``not``; ``prox`` is refused (diagnostic 37).
Results come newest first, as Zebra and most SRU servers give them unranked; the ``relevant`` relation modifier
(``dc.title =/relevant war``, CQL's own) asks for relevance order (bm25 / ts_rank, title weighted highest).
``sortBy dc.title`` (Vietnamese order) or ``dc.date`` with ``/sort.descending``.
Record schemas: ``marcxml`` (info:srw/schema/1/marcxml-v1.1) and ``dc`` (info:srw/schema/1/dc-v1.1).

Terms that arrive double-encoded by the Simple2ZOOM Z39.50 gateway (UTF-8 read as Latin-1) are repaired.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import threading
from typing import Any, cast
from urllib.parse import parse_qsl

from cql.lexer import CQLLexer, CQLLexerError
from cql.parser import CQLParser12, CQLParserError, CQLSearchClause, CQLTriple
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from server.catalog.errors import QuerySyntaxError, SearchError, UnsupportedIndex, UnsupportedRelation
from server.catalog.marcio import iso2709_to_marcxml, xml_text
from server.catalog.models import BibRecord
from server.catalog.search import Bool, Node, Term, find, find_marc
from server.db import Database
from server.union.errors import SruDiagnostic
from server.union.oai import dc_elements, identifiers_of

# cql-parser logs every syntax error at ERROR level; they are answered as diagnostic 10 instead.
logging.getLogger("cql").setLevel(logging.CRITICAL)

NS_12 = "http://www.loc.gov/zing/srw/"
NS_20 = "http://docs.oasis-open.org/ns/search-ws/sruResponse"
DIAG_12 = "http://www.loc.gov/zing/srw/diagnostic/"
DIAG_20 = "http://docs.oasis-open.org/ns/search-ws/diagnostic"
VERSIONS = ("1.1", "1.2", "2.0")
DEFAULT_RECORDS = 10
MAX_RECORDS = 100

INDEX_MAP: dict[str, str] = {
    "cql.serverchoice": "any",
    "cql.anywhere": "any",
    "cql.keywords": "any",
    "dc.anywhere": "any",
    "serverchoice": "any",
    "anywhere": "any",
    "keywords": "any",
    "dc.title": "title",
    "bath.title": "title",
    "title": "title",
    "dc.creator": "author",
    "dc.author": "author",
    "bath.author": "author",
    "bath.name": "author",
    "creator": "author",
    "author": "author",
    "dc.subject": "subject",
    "bath.subject": "subject",
    "subject": "subject",
    "bath.isbn": "isbn",
    "dc.identifier": "isbn",
    "isbn": "isbn",
    "bath.issn": "issn",
    "issn": "issn",
    "bath.lccn": "lccn",
    "lccn": "lccn",
    "dc.date": "year",
    "dc.year": "year",
    "date": "year",
    "year": "year",
    "dc.language": "language",
    "language": "language",
    "rec.id": "id",
    "rec.identifier": "id",
    "thuvien.library": "library",
    "library": "library",
}
RELATIONS = {"=": "all", "all": "all", "any": "any", "adj": "phrase", "==": "phrase", "exact": "phrase"}
ORDER_RELATIONS = {"<", ">", "<=", ">=", "<>"}
SCHEMAS = {
    "marcxml": "info:srw/schema/1/marcxml-v1.1",
    "info:srw/schema/1/marcxml-v1.1": "info:srw/schema/1/marcxml-v1.1",
    "marc21": "info:srw/schema/1/marcxml-v1.1",
    "marc21-xml": "info:srw/schema/1/marcxml-v1.1",
    "dc": "info:srw/schema/1/dc-v1.1",
    "info:srw/schema/1/dc-v1.1": "info:srw/schema/1/dc-v1.1",
}
_DOUBLE_ENCODED = re.compile("[\u00c2-\u00ef][\u0080-\u00bf]")


def repair_double_encoding(text: str) -> str:
    """Undo UTF-8 read as Latin-1 (Simple2ZOOM sends "chiến" as "chiáº¿n"); other text is left alone."""
    if not _DOUBLE_ENCODED.search(text):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def translate(node: Any) -> Node | None:
    """A search tree from a parsed CQL node; None stands for cql.allRecords."""
    if isinstance(node, CQLTriple):
        operator = str(node.operator.value).lower()
        if operator not in ("and", "or", "not"):
            raise SruDiagnostic(37, "Unsupported boolean operator", operator)
        left, right = translate(node.left), translate(node.right)
        if left is None and right is None:
            return None if operator != "not" else Term("id", "-1", "=")
        if operator == "and":
            return right if left is None else left if right is None else Bool("and", left, right)
        if operator == "or":
            return None if left is None or right is None else Bool("or", left, right)
        if right is None:
            return Term("id", "-1", "=")
        if left is None:
            return Bool("not", Term("any", "", "all"), right)
        return Bool("not", left, right)
    if isinstance(node, CQLSearchClause):
        index = str(node.index) if node.index is not None else "cql.serverchoice"
        relation = str(node.relation.comparitor) if node.relation is not None else "="
        return _clause(index, relation, str(node.term))
    raise SruDiagnostic(10, "Query syntax error", "unexpected query structure")


def _clause(index_name: str, relation_name: str, raw_term: str) -> Node | None:
    """A search tree from one search clause, ``index relation term`` as written."""
    index, relation = index_name.lower(), relation_name.lower()
    term = repair_double_encoding(raw_term)
    if index == "cql.allrecords":
        return None
    if index not in INDEX_MAP:
        raise SruDiagnostic(16, "Unsupported index", index_name)
    target = INDEX_MAP[index]
    if target == "year":
        return Term(target, term.strip(), "=" if relation in ("=", "==", "exact", "all") else relation)
    if relation in ORDER_RELATIONS:
        if relation == "<>" and target not in ("any", "title", "author", "subject"):
            return Term(target, term, "<>")
        raise SruDiagnostic(19, "Unsupported relation", relation)
    if relation not in RELATIONS:
        raise SruDiagnostic(19, "Unsupported relation", relation)
    term = term.replace("?", "").replace("^", "")
    words = term.split()
    # A masking "*" only truncates at the end of a word; elsewhere it is dropped.
    term = " ".join(w.replace("*", "") + ("*" if w.endswith("*") and len(w) > 1 else "") for w in words)
    if target in ("any", "title", "author", "subject"):
        return Term(target, term, RELATIONS[relation])
    return Term(target, term, "=")


# The commonest query, one index, a relation and one word (``dc.title = war``, ``dc.title =/relevant war``):
# read without the CQL parser, whose tables cost ~0.15 ms a query on a server that had been idle. The word is
# letters and digits only (no quotes, masking or escapes) and not one of CQL's keywords; anything else is parsed.
_ONE_WORD = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9.]*)\s*(?:(==|=)|\s(all|any|adj|exact)\s)\s*(?:(/(?:[a-z]+\.)?relevant)\s+)?([^\W_]+)\s*",
    re.IGNORECASE,
)
_KEYWORDS = frozenset({"and", "or", "not", "prox", "sortby"})


def one_word_clause(query: str) -> tuple[str, str, str, bool] | None:
    """Index, relation, word and whether relevance is asked, of a one-word query; None for anything else."""
    match = _ONE_WORD.fullmatch(query)
    if match is None:
        return None
    index, symbol, word_relation, relevant, word = match.groups()
    relation = symbol or word_relation
    if {index.lower(), relation.lower(), word.lower()} & _KEYWORDS:
        return None
    return index, relation, word, relevant is not None


_LOCAL = threading.local()


def _parser() -> Any:
    """A CQL parser per thread: ``cql.parse`` builds the PLY lexer and tables on every call (~10 ms)."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        lexer = CQLLexer()
        lexer.build()
        parser = CQLParser12()
        parser.build(cast(Any, lexer))
        _LOCAL.parser = parser
    return parser


@functools.lru_cache(maxsize=1024)
def parse_query(query: str) -> tuple[Node | None, str]:
    """The search tree and sort of a CQL query (diagnostic 10 when it does not parse).

    Cached: the tree is immutable, and clients (Z39.50 gateways, union catalogs) repeat their queries.
    """
    clause = one_word_clause(query)
    if clause is None:
        return parse_cql(query)
    index, relation, word, relevant = clause
    return _clause(index, relation, word), "relevance" if relevant else "new"


def parse_cql(query: str) -> tuple[Node | None, str]:
    """:func:`parse_query` by the CQL parser, whatever the query."""
    try:
        parsed = _parser().parse(query, tracking=True)
    except (CQLLexerError, CQLParserError) as exc:
        raise SruDiagnostic(10, "Query syntax error", str(exc).splitlines()[0] if str(exc) else query) from None
    except Exception as exc:  # noqa: BLE001  (the vendored PLY parser raises assorted errors on odd input)
        raise SruDiagnostic(10, "Query syntax error", type(exc).__name__) from None
    if parsed is None:
        raise SruDiagnostic(10, "Query syntax error", query)
    sort = "relevance" if _asks_relevance(parsed.root) else "new"
    specs = getattr(parsed.root, "sortSpecs", None) or []
    if specs:
        spec = specs[0]
        name = str(spec.index).lower()
        descending = any("descending" in str(m.name).lower() for m in (spec.modifiers or []))
        if INDEX_MAP.get(name) == "title":
            sort = "-title" if descending else "title"
        elif INDEX_MAP.get(name) == "year":
            sort = "-year" if descending else "year"
        else:
            raise SruDiagnostic(80, "Sort not supported", str(spec.index))
    return translate(parsed.root), sort


def _asks_relevance(node: Any) -> bool:
    """Whether a clause carries CQL's ``relevant`` relation modifier (``dc.title =/relevant war``)."""
    if isinstance(node, CQLTriple):
        return _asks_relevance(node.left) or _asks_relevance(node.right)
    if isinstance(node, CQLSearchClause) and node.relation is not None:
        return any(str(m.name).lower().rsplit(".", 1)[-1] == "relevant" for m in node.relation.modifiers or ())
    return False


# ------------------------------------------------------------------------------------------ responses


class Responder:
    def __init__(self, db: Database, base_url: str, version: str) -> None:
        self.db = db
        self.base_url = base_url
        self.version = version
        self.v2 = version == "2.0"
        self.ns = NS_20 if self.v2 else NS_12
        self.p = "sruResponse" if self.v2 else "srw"

    def el(self, name: str, content: str) -> str:
        return f"<{self.p}:{name}>{content}</{self.p}:{name}>"

    def diagnostics(self, diagnostics: list[SruDiagnostic]) -> str:
        if not diagnostics:
            return ""
        ns = DIAG_20 if self.v2 else DIAG_12
        items = "".join(
            f'<diag:diagnostic xmlns:diag="{ns}"><diag:uri>info:srw/diagnostic/1/{d.number}</diag:uri>'
            + (f"<diag:details>{xml_text(d.details)}</diag:details>" if d.details else "")
            + f"<diag:message>{xml_text(d.message)}</diag:message></diag:diagnostic>"
            for d in diagnostics
        )
        return self.el("diagnostics", items)

    def wrap(self, operation: str, body: str) -> str:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<{self.p}:{operation}Response xmlns:{self.p}="{self.ns}">'
            f"{self.el('version', self.version)}{body}</{self.p}:{operation}Response>"
        )

    def explain(self, diagnostics: list[SruDiagnostic]) -> str:
        from server.union.scan import SCANNABLE  # scan parses its clause with this module's CQL parser

        indexes = "".join(
            f'<index search="true" scan="{str(INDEX_MAP[name] in SCANNABLE).lower()}"><title>{name}</title>'
            f'<map><name set="{name.split(".")[0]}">{name.split(".", 1)[1]}</name></map></index>'
            for name in sorted(n for n in INDEX_MAP if "." in n)
        )
        sets = (
            '<set name="cql" identifier="info:srw/cql-context-set/1/cql-v1.2"/>'
            '<set name="dc" identifier="info:srw/cql-context-set/1/dc-v1.1"/>'
            '<set name="bath" identifier="http://zing.z3950.org/cql/bath/2.0/"/>'
            '<set name="rec" identifier="info:srw/cql-context-set/2/rec-1.1"/>'
            '<set name="thuvien" identifier="info:srw/cql-context-set/x/thuvien-1.0"/>'
        )
        schemas = (
            '<schema identifier="info:srw/schema/1/marcxml-v1.1" name="marcxml"><title>MARCXML</title></schema>'
            '<schema identifier="info:srw/schema/1/dc-v1.1" name="dc"><title>Dublin Core</title></schema>'
        )
        host = self.base_url.split("/")[2] if "//" in self.base_url else ""
        name, _, port = host.partition(":")
        record = (
            '<explain xmlns="http://explain.z3950.org/dtd/2.0/">'
            f'<serverInfo protocol="SRU" version="{self.version}"><host>{xml_text(name)}</host>'
            f"<port>{xml_text(port or '80')}</port><database>sru</database></serverInfo>"
            "<databaseInfo><title>Mục lục liên hợp thư viện tỉnh (provincial union catalog)</title></databaseInfo>"
            f"<indexInfo>{sets}{indexes}</indexInfo><schemaInfo>{schemas}</schemaInfo>"
            f'<configInfo><default type="numberOfRecords">{DEFAULT_RECORDS}</default>'
            f'<setting type="maximumRecords">{MAX_RECORDS}</setting></configInfo></explain>'
        )
        packing = self.el("recordXMLEscaping" if self.v2 else "recordPacking", "xml")
        body = self.el(
            "record",
            self.el("recordSchema", "http://explain.z3950.org/dtd/2.0/") + packing + self.el("recordData", record),
        )
        return self.wrap("explain", body + self.diagnostics(diagnostics))

    async def search_retrieve(self, params: dict[str, str]) -> str:
        try:
            return await self._search_retrieve(params)
        except SruDiagnostic as exc:
            return self.wrap("searchRetrieve", self.el("numberOfRecords", "0") + self.diagnostics([exc]))

    async def _search_retrieve(self, params: dict[str, str]) -> str:
        query = params.get("query")
        if query is None or not query.strip():
            raise SruDiagnostic(7, "Mandatory parameter not supplied", "query")
        start = _number(params, "startRecord", 1, minimum=1)
        maximum = min(_number(params, "maximumRecords", DEFAULT_RECORDS, minimum=0), MAX_RECORDS)
        schema_name = params.get("recordSchema", "marcxml")
        schema = SCHEMAS.get(schema_name.lower())
        if schema is None:
            raise SruDiagnostic(66, "Unknown schema for retrieval", schema_name)
        if self.v2:
            escaping = params.get("recordXMLEscaping", "xml")
            if escaping not in ("xml", "string"):
                raise SruDiagnostic(71, "Unsupported record packing", escaping)
            packing_el = "recordXMLEscaping"
            if params.get("recordPacking", "packed") not in ("packed", "unpacked"):
                raise SruDiagnostic(6, "Unsupported parameter value", "recordPacking")
        else:
            escaping = params.get("recordPacking", "xml")
            if escaping not in ("xml", "string"):
                raise SruDiagnostic(71, "Unsupported record packing", escaping)
            packing_el = "recordPacking"
        if self.v2 and params.get("queryType", "cql") != "cql":
            raise SruDiagnostic(6, "Unsupported parameter value", "queryType")
        node, sort = parse_query(query)
        try:
            if schema.endswith("marcxml-v1.1"):
                # Only the stored ISO 2709 bytes: MARCXML is written from them, no ORM object is needed.
                total, stored = await find_marc(self.db, node, sort, maximum, start - 1)
                rendered = await _marcxml(stored)
            else:
                total, rendered = await asyncio.to_thread(self._dublin_core, node, sort, maximum, start - 1)
        except UnsupportedIndex as exc:
            raise SruDiagnostic(16, "Unsupported index", exc.index) from None
        except UnsupportedRelation as exc:
            raise SruDiagnostic(19, "Unsupported relation", exc.relation) from None
        except QuerySyntaxError as exc:
            raise SruDiagnostic(10, "Query syntax error", str(exc)) from None
        except SearchError as exc:
            raise SruDiagnostic(1, "General system error", str(exc)) from None
        if maximum > 0 and total > 0 and start > total:
            raise SruDiagnostic(61, "First record position out of range", str(start))
        records = []
        for position, data in enumerate(rendered, start=start):
            if escaping == "string":
                data = xml_text(data)
            records.append(
                self.el(
                    "record",
                    self.el("recordSchema", schema)
                    + self.el(packing_el, escaping)
                    + self.el("recordData", data)
                    + self.el("recordPosition", str(position)),
                )
            )
        body = self.el("numberOfRecords", str(total))
        if self.v2:
            body += self.el("resultCountPrecision", "info:srw/vocabulary/resultCountPrecision/1/exact")
        if records:
            body += self.el("records", "".join(records))
        following = start + len(records)
        if records and following <= total:
            body += self.el("nextRecordPosition", str(following))
        echoed = self.el("query", xml_text(query)) + self.el("startRecord", str(start))
        body += self.el("echoedSearchRetrieveRequest", self.el("version", self.version) + echoed)
        return self.wrap("searchRetrieve", body)

    def _dublin_core(self, node: Node | None, sort: str, limit: int, offset: int) -> tuple[int, list[str]]:
        with self.db.session() as session:
            total, ranked = find(session, node, sort=sort, limit=limit, offset=offset)
            ids = [rid for rid, _score in ranked]
            loaded = {r.id: r for r in session.scalars(select(BibRecord).where(BibRecord.id.in_(ids)))}
            identifiers = identifiers_of(session, ids)
        return total, [
            '<srw_dc:dc xmlns:srw_dc="info:srw/schema/1/dc-schema" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"{dc_elements(loaded[rid], identifiers.get(rid, []))}</srw_dc:dc>"
            for rid in ids
        ]


# How many records a response writes on the event loop (~0.01 ms each in C, ~0.08 ms in Python); a longer page is
# written in a worker thread, so that one request does not hold the loop, and every other request, for long.
ON_LOOP_RECORDS = 20


async def _marcxml(stored: list[tuple[int, bytes]]) -> list[str]:
    """The MARCXML of each stored record."""
    if len(stored) > ON_LOOP_RECORDS:
        return await asyncio.to_thread(_write_marcxml, stored)
    return _write_marcxml(stored)


def _write_marcxml(stored: list[tuple[int, bytes]]) -> list[str]:
    return [iso2709_to_marcxml(marc) for _rid, marc in stored]


def _number(params: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit() or int(raw) < minimum:
        raise SruDiagnostic(6, "Unsupported parameter value", name)
    return int(raw)


async def answer(db: Database, base_url: str, pairs: list[tuple[str, str]]) -> str:
    """The SRU response to a request's parameters. Answered on the event loop; what reads the database
    through a session, or writes many records, runs in a worker thread."""
    params: dict[str, str] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if key in params:
            repeated.append(key)
        params[key] = value
    version = params.get("version", "1.2")
    diagnostics: list[SruDiagnostic] = []
    if version not in VERSIONS:
        diagnostics.append(SruDiagnostic(5, "Unsupported version", version))
        version = "2.0" if version.startswith("2") else "1.2"
    responder = Responder(db, base_url, version)
    operation = params.get("operation")
    if operation is None:
        operation = "searchRetrieve" if "query" in params else "explain"
    if repeated:
        diagnostics.append(SruDiagnostic(6, "Unsupported parameter value", f"repeated: {', '.join(repeated)}"))
    if operation == "explain" or diagnostics:
        if operation == "searchRetrieve":
            return responder.wrap(
                "searchRetrieve", responder.el("numberOfRecords", "0") + responder.diagnostics(diagnostics)
            )
        return responder.explain(diagnostics)
    if operation == "searchRetrieve":
        return await responder.search_retrieve(params)
    if operation == "scan":
        return await asyncio.to_thread(_scan, db, version, params)
    return responder.wrap("explain", responder.diagnostics([SruDiagnostic(4, "Unsupported operation", operation)]))


def _scan(db: Database, version: str, params: dict[str, str]) -> str:
    from server.union.scan import scan_response  # scan parses its clause with this module's CQL parser

    with db.session() as session:
        return scan_response(session, version, params)


async def endpoint(request: Request) -> Response:
    """``/sru``, GET or POST (form-encoded parameters, as SRU 2.0 allows)."""
    if request.method == "POST":
        pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    else:
        pairs = list(request.query_params.multi_items())
    text = await answer(request.app.state.db, str(request.url).split("?", 1)[0], pairs)
    return Response(content=text.encode("utf-8"), media_type="text/xml; charset=utf-8")
