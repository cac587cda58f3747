"""Catalog search: Vietnamese-insensitive keyword search with filters, relevance order and Vietnamese sort.

Text is folded (:func:`server.catalog.folding.fold`) when a record is stored and when a query is run, so
"chien tranh" finds "Chiến tranh" and "duong" finds "Đường". SQLite searches the FTS5 table ``bib_fts``
(ranked by bm25, title weighted highest); PostgreSQL the generated weighted ``tsvector`` column with its
GIN index (ranked by ``ts_rank``). Both are created by migration ``0004_catalog``.

Public API::

    search(session, query="chien tranh", filters=Filters(author="nguyen", year_from=1990, libraries=("VN-HDU",)),
           sort="relevance", limit=20, offset=0) -> SearchResults(total, hits=[Hit(record, score)], ...)

    find(session, query, ...) -> (total, [(id, score)])          the page without loading the records
    find_marc(db, node, sort, limit, offset) -> (total, [(id, ISO 2709)])   what SRU serves, in one read

``query`` is a string in the simple syntax (words, all required; ``"quoted phrase"``; ``word*`` for a prefix)
or an already built tree of :class:`Term` / :class:`Bool` (what the SRU endpoint builds from CQL).
``sort`` is one of :data:`SORTS`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    column,
    exists,
    false,
    func,
    literal_column,
    not_,
    null,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.orm import Session

from server.catalog.errors import QuerySyntaxError, UnsupportedIndex, UnsupportedRelation
from server.catalog.folding import fold
from server.catalog.models import BibIdentifier, BibRecord, Holding
from server.catalog.records import normalise_isbn, normalise_issn
from server.db import Database
from server.libraries.models import Library

log = logging.getLogger(__name__)

Sort = Literal["relevance", "title", "-title", "year", "-year", "new"]
SORTS: tuple[str, ...] = ("relevance", "title", "-title", "year", "-year", "new")

TEXT_INDEXES = {"any": None, "title": "title_folded", "author": "authors_folded", "subject": "subjects_folded"}
_PG_WEIGHTS = {"title": "A", "author": "B", "subject": "C"}
INDEXES = (*TEXT_INDEXES, "isbn", "issn", "lccn", "year", "library", "id", "language")
TEXT_RELATIONS = ("all", "any", "phrase")
ORDER_RELATIONS = ("=", "<", ">", "<=", ">=", "<>")
_WORD = re.compile(r"[^\W_]+\*?")
_FTS = table("bib_fts", column("rowid"))
_TITLES = table("bib_title_search", column("id"), column("title_vector"))


@dataclass(frozen=True)
class Term:
    """A leaf of a query: ``index`` ``relation`` ``value``.

    Text indexes (any, title, author, subject) take ``all`` (every word), ``any`` (one of the words) or
    ``phrase`` (the words adjacent, in order); a word ending in ``*`` matches as a prefix. Identifier
    indexes (isbn, issn, lccn, id, language, library) take ``=`` (and ``<>``); ``year`` takes
    ``= < > <= >= <>`` and ``=`` with a range ``1990-1999``.
    """

    index: str
    value: str
    relation: str = "all"


@dataclass(frozen=True)
class Bool:
    """``left op right`` with op ``and``, ``or`` or ``not`` (and-not)."""

    op: Literal["and", "or", "not"]
    left: Node
    right: Node


Node = Term | Bool


@dataclass(frozen=True)
class Filters:
    """Restrictions added to a query (all optional; text filters fold like the query)."""

    title: str = ""
    author: str = ""
    subject: str = ""
    isbn: str = ""
    issn: str = ""
    year_from: int | None = None
    year_to: int | None = None
    libraries: tuple[str, ...] = ()
    language: str | None = None


# (record id, relevance score or None) of the records of a page, in order.
Ranked = list[tuple[int, float | None]]
# A session, or a connection of Database.read()
Bind = Session | Connection


@dataclass(frozen=True)
class Hit:
    record: BibRecord
    score: float | None = None


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: list[Hit] = field(default_factory=list)
    offset: int = 0
    limit: int = 20

    @property
    def records(self) -> list[BibRecord]:
        return [hit.record for hit in self.hits]


# ------------------------------------------------------------------------------------------ simple syntax


def parse_simple(query: str) -> Node | None:
    """Words (all required), ``"phrases"``, ``word*`` prefixes; None for an empty query."""
    if query.count('"') % 2:
        raise QuerySyntaxError(f"unbalanced quote in {query!r}")
    terms: list[Node] = []
    for index, part in enumerate(query.split('"')):
        if index % 2:
            if part.strip():
                terms.append(Term("any", part, "phrase"))
        elif part.strip():
            terms.append(Term("any", part, "all"))
    if not terms:
        return None
    node = terms[0]
    for term in terms[1:]:
        node = Bool("and", node, term)
    return node


def filters_node(filters: Filters) -> Node | None:
    terms: list[Node] = []
    for index in ("title", "author", "subject", "isbn", "issn"):
        value = getattr(filters, index)
        if value:
            terms.append(Term(index, value, "all" if index in TEXT_INDEXES else "="))
    if filters.year_from is not None:
        terms.append(Term("year", str(filters.year_from), ">="))
    if filters.year_to is not None:
        terms.append(Term("year", str(filters.year_to), "<="))
    if filters.language:
        terms.append(Term("language", filters.language, "="))
    if filters.libraries:
        libs: Node = Term("library", filters.libraries[0], "=")
        for isil in filters.libraries[1:]:
            libs = Bool("or", libs, Term("library", isil, "="))
        terms.append(libs)
    if not terms:
        return None
    node = terms[0]
    for term in terms[1:]:
        node = Bool("and", node, term)
    return node


# ------------------------------------------------------------------------------------------ compiling


def words(value: str) -> list[str]:
    """The folded words of ``value`` (a trailing ``*`` kept as the prefix mark)."""
    return _WORD.findall(fold(value))


def _fts_expression(term: Term) -> str | None:
    tokens = words(term.value)
    if not tokens:
        return None
    quoted = [f'"{t.rstrip("*")}"' + ("*" if t.endswith("*") else "") for t in tokens]
    if term.relation == "phrase":
        body = '"' + " ".join(t.rstrip("*") for t in tokens) + '"'
    else:
        body = "(" + (" OR " if term.relation == "any" else " AND ").join(quoted) + ")"
    col = TEXT_INDEXES[term.index]
    return f"{col} : {body}" if col else body


def _pg_tsquery(term: Term, *, weighted: bool = True) -> str | None:
    """The tsquery text of ``term``: restricted to its field's weight in the document unless ``weighted`` is off."""
    tokens = words(term.value)
    if not tokens:
        return None
    weight = _PG_WEIGHTS.get(term.index, "") if weighted else ""
    parts = [f"{t.rstrip('*')}:{'*' if t.endswith('*') else ''}{weight}".rstrip(":") for t in tokens]
    joiner = {"phrase": " <-> ", "any": " | "}.get(term.relation, " & ")
    return "(" + joiner.join(parts) + ")"


def pg_document() -> ColumnElement[Any]:
    """The weighted document of a record: the generated, GIN-indexed ``search_vector`` column (migration 0004)."""
    return literal_column("bib_records.search_vector")


def pg_title_matches(query: str) -> ColumnElement[bool]:
    """The records whose title has the words of ``query``: found in the narrow table of titles of the records
    that are not deleted (migration 0014), whose GIN index answers without reading a catalog row."""
    return BibRecord.id.in_(select(_TITLES.c.id).where(_TITLES.c.title_vector.op("@@")(_tsquery(query))))


def _tsquery(text: str) -> ColumnElement[Any]:
    return func.to_tsquery(literal_column("'simple'::regconfig"), text)


def _text_relation(term: Term) -> Term:
    relation = {"=": "all", "==": "phrase", "adj": "phrase", "exact": "phrase"}.get(term.relation, term.relation)
    if relation not in TEXT_RELATIONS:
        raise UnsupportedRelation(term.relation, term.index)
    return Term(term.index, term.value, relation)


class _Compiler:
    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.positive_text: list[Term] = []

    def compile(self, node: Node, negated: bool = False) -> ColumnElement[bool]:
        if isinstance(node, Bool):
            left = self.compile(node.left, negated)
            if node.op == "and":
                return and_(left, self.compile(node.right, negated))
            if node.op == "or":
                return or_(left, self.compile(node.right, negated))
            return and_(left, not_(self.compile(node.right, not negated)))
        return self.term(node, negated)

    def term(self, term: Term, negated: bool) -> ColumnElement[bool]:
        if term.index not in INDEXES:
            raise UnsupportedIndex(term.index)
        if term.index in TEXT_INDEXES:
            return self.text_term(term, negated)
        if term.index == "year":
            return self.year_term(term)
        if term.relation not in ("=", "<>", "==", "all", "any", "phrase"):
            raise UnsupportedRelation(term.relation, term.index)
        condition = self.exact_term(term)
        return not_(condition) if term.relation == "<>" else condition

    def text_term(self, term: Term, negated: bool) -> ColumnElement[bool]:
        term = _text_relation(term)
        if self.dialect == "sqlite":
            expression = _fts_expression(term)
            if expression is None:
                return false() if term.value.strip() else true()
            if not negated:
                self.positive_text.append(term)
            sub = select(_FTS.c.rowid).where(literal_column("bib_fts").op("MATCH")(expression))
            return BibRecord.id.in_(sub)
        query = _pg_tsquery(term, weighted=term.index != "title")
        if query is None:
            return false() if term.value.strip() else true()
        if not negated:
            self.positive_text.append(term)
        if term.index == "title":
            return pg_title_matches(query)
        return pg_document().op("@@")(_tsquery(query))

    def year_term(self, term: Term) -> ColumnElement[bool]:
        value = term.value.strip()
        match = re.fullmatch(r"(\d{1,4})\s*-\s*(\d{1,4})", value)
        if match and term.relation in ("=", "all", "within"):
            return BibRecord.year.between(int(match.group(1)), int(match.group(2)))
        if not value.isdigit():
            raise QuerySyntaxError(f"year {value!r} is not a number")
        year = int(value)
        relations: dict[str, ColumnElement[bool]] = {
            "=": BibRecord.year == year,
            "==": BibRecord.year == year,
            "all": BibRecord.year == year,
            "<>": BibRecord.year != year,
            "<": BibRecord.year < year,
            ">": BibRecord.year > year,
            "<=": BibRecord.year <= year,
            ">=": BibRecord.year >= year,
        }
        if term.relation not in relations:
            raise UnsupportedRelation(term.relation, term.index)
        return relations[term.relation]

    def exact_term(self, term: Term) -> ColumnElement[bool]:
        value = term.value.strip()
        if term.index in ("isbn", "issn", "lccn"):
            if term.index == "isbn":
                normal = normalise_isbn(value) or re.sub(r"[^0-9Xx]", "", value)
            elif term.index == "issn":
                normal = normalise_issn(value) or re.sub(r"[^0-9Xx]", "", value).upper()
            else:
                normal = value.replace(" ", "")
            sub = select(BibIdentifier.record_id).where(
                BibIdentifier.scheme == term.index, BibIdentifier.value == normal
            )
            return BibRecord.id.in_(sub)
        if term.index == "id":
            if value.isdigit():
                return or_(BibRecord.id == int(value), BibRecord.control_number == value)
            return BibRecord.control_number == value
        if term.index == "language":
            return BibRecord.language == value.lower()[:3]
        # library: a holding there, or the record came from there
        lib = select(Library.id).where(func.upper(Library.isil) == value.upper())
        held = exists().where(Holding.record_id == BibRecord.id, Holding.library_id.in_(lib))
        return or_(held, BibRecord.source_library_id.in_(lib))


def _order(
    stmt: Select[Any], compiler: _Compiler, sort: str, columns: Any = BibRecord
) -> tuple[Select[Any], ColumnElement[Any] | None]:
    """``stmt`` in the order ``sort`` names, and the score it ranks by (None unless by relevance).

    ``columns`` has the ``id``, ``sort_key`` and ``year`` to order by (and on PostgreSQL, by relevance, the
    ``score``): the records' own, or those of a PostgreSQL text search's matches (:func:`_pg_text_matches`).
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    sort_key: Any = columns.sort_key
    if compiler.dialect == "postgresql":
        sort_key = columns.sort_key.collate("C")
    if sort == "title":
        return stmt.order_by(sort_key, columns.id), None
    if sort == "-title":
        return stmt.order_by(sort_key.desc(), columns.id.desc()), None
    if sort == "year":
        return stmt.order_by(columns.year.is_(None), columns.year, sort_key, columns.id), None
    if sort == "-year":
        return stmt.order_by(columns.year.is_(None), columns.year.desc(), sort_key, columns.id), None
    if sort == "new" or not compiler.positive_text:
        return stmt.order_by(columns.id.desc()), None
    if compiler.dialect == "sqlite":
        expressions = [e for e in (_fts_expression(t) for t in compiler.positive_text) if e]
        ranked = (
            select(_FTS.c.rowid.label("rid"), literal_column("bm25(bib_fts, 10.0, 5.0, 3.0, 1.0)").label("score"))
            .where(literal_column("bib_fts").op("MATCH")(" OR ".join(expressions)))
            .subquery("ranked")
        )
        score = func.coalesce(ranked.c.score, 0.0)
        stmt = stmt.outerjoin(ranked, ranked.c.rid == BibRecord.id).order_by(score, BibRecord.id)
        return stmt, -score
    return stmt.order_by(columns.score.desc(), columns.id), columns.score


def _pg_text_matches(condition: ColumnElement[bool], compiler: _Compiler, sort: str) -> Any:
    """The columns of every match of a PostgreSQL text search, gathered before they are ordered.

    Left to itself, the planner (once the table has statistics) answers ``ORDER BY id DESC LIMIT 10`` by
    walking the primary key backwards and rechecking each row's tsvector until the count is done, which
    reads the whole table for a common word. Materialized first, the matches are found through the GIN
    index (a bitmap scan of their rows only), and the page is the top of them.
    """
    score: ColumnElement[Any] = null()
    if sort == "relevance":
        queries = [q for q in (_pg_tsquery(t) for t in compiler.positive_text) if q]
        score = func.ts_rank(pg_document(), _tsquery(" | ".join(queries)))
    matches = select(BibRecord.id, BibRecord.sort_key, BibRecord.year, score.label("score")).where(condition)
    return matches.cte("matches").prefix_with("MATERIALIZED").c


@dataclass(frozen=True)
class _PgTerm:
    """A query of one text term on PostgreSQL: the tsquery that finds (through the table of titles or the
    document's), and the weighted one that ranks."""

    title: bool
    query: str
    rank: str


@dataclass(frozen=True)
class _Plan:
    """How a query is answered: ``stmt`` selects the ids of the matches in order (and their score, and their
    total in every row when ``one_pass``, else ``condition`` counts them). A query of one text term has fixed
    statements instead: ``fts`` is its FTS5 expression on SQLite, ``tsquery`` its tsqueries on PostgreSQL."""

    dialect: str
    sort: str
    condition: ColumnElement[bool] | None = None
    stmt: Select[Any] | None = None
    one_pass: bool = False
    fts: str | None = None
    tsquery: _PgTerm | None = None


def _plan(dialect: str, query: str | Node | None, filters: Filters | None, sort: str) -> _Plan:
    node = parse_simple(query) if isinstance(query, str) else query
    extra = filters_node(filters or Filters())
    if node is not None and extra is not None:
        node = Bool("and", node, extra)
    elif node is None:
        node = extra
    compiler = _Compiler(dialect)
    if sort in ("relevance", "new") and isinstance(node, Term) and node.index in TEXT_INDEXES:
        # The commonest query (SRU's dc.title = word): a fixed statement, nothing to build per query.
        term = _text_relation(node)
        if dialect == "sqlite" and (expression := _fts_expression(term)) is not None:
            return _Plan(dialect, sort, fts=expression)
        if dialect == "postgresql" and (query := _pg_tsquery(term, weighted=term.index != "title")) is not None:
            ranking = _pg_tsquery(term) or query
            return _Plan(dialect, sort, tsquery=_PgTerm(term.index == "title", query, ranking), one_pass=True)
    condition = and_(compiler.compile(node) if node is not None else true(), BibRecord.deleted_at.is_(None))
    pg_text = dialect == "postgresql" and bool(compiler.positive_text)
    if pg_text:
        matches = _pg_text_matches(condition, compiler, sort)
        stmt, score = _order(select(matches.id), compiler, sort, matches)
    else:
        stmt, score = _order(select(BibRecord.id).where(condition), compiler, sort)
    if score is None and not pg_text:
        return _Plan(dialect, sort, condition, stmt.add_columns(null()))
    # Ranking reads every match anyway: the same pass counts them. So does a PostgreSQL text search in any
    # order, whose matches are gathered first (one bitmap heap scan, not two).
    stmt = stmt.add_columns(null() if score is None else score, func.count().over().label("total"))
    return _Plan(dialect, sort, condition, stmt, one_pass=True)


# SQLite: the MARC of a page found by a general statement (which would read every match's MARC before sorting
# them if it were a column).
_MARC_OF = text("SELECT id, marc FROM bib_records WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))


def _page(bind: Bind, plan: _Plan, limit: int, offset: int, *, marc: bool) -> tuple[int, list[Any]]:
    """The total and the rows (id, score[, ISO 2709]) of the page ``plan`` finds."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must not be negative (got {limit}, {offset})")
    rows: list[Any]
    if plan.fts is not None or plan.tsquery is not None:
        total, rows = _term_page(_run_on(bind), plan, limit, offset, marc=marc)
        marc = False
    else:
        assert plan.stmt is not None and plan.condition is not None
        stmt = plan.stmt
        if marc and plan.dialect == "postgresql":
            # Read after the sort and the limit (the planner postpones a subquery of the output): ten records'
            # MARC in the statement that found them, no second round trip.
            table = BibRecord.__table__.alias("stored")
            found = select(table.c.marc).where(table.c.id == stmt.selected_columns[0])
            stmt = stmt.add_columns(found.scalar_subquery())
            marc = False
        if plan.one_pass:
            result = bind.execute(stmt.limit(limit).offset(offset)).all()
            total = int(result[0][2]) if result else (_count(bind, plan.condition) if offset or not limit else 0)
            rows = [(row[0], row[1], *row[3:]) for row in result]
        else:
            total = _count(bind, plan.condition)
            rows = list(bind.execute(stmt.limit(limit).offset(offset)).all())
    if marc and rows:
        # SQLite: a second statement in the same transaction (no round trip; SQLite would read every match's
        # MARC before sorting them if it were a column of the first)
        fetched = bind.execute(_MARC_OF, {"ids": [row[0] for row in rows]})
        stored: dict[int, bytes] = {rid: data for rid, data in fetched}
        rows = [(*row, stored[row[0]]) for row in rows]
    return total, rows


def find(
    session: Bind,
    query: str | Node | None = "",
    filters: Filters | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> tuple[int, Ranked]:
    """The total number of records matching, and (id, score) of ``limit`` of them from ``offset`` in order.

    What :func:`search` does without loading the records.
    """
    plan = _plan(_dialect(session), query, filters, sort)
    total, rows = _page(session, plan, limit, offset, marc=False)
    return total, [(int(rid), None if score is None else float(score)) for rid, score in rows]


async def find_marc(
    db: Database, query: Node | None, sort: str, limit: int, offset: int
) -> tuple[int, list[tuple[int, bytes]]]:
    """The total number of records matching, and (id, stored ISO 2709) of ``limit`` of them from ``offset``
    in order: what SRU serves, without building the records.

    A query of one text term (the commonest) is one fixed statement run by :meth:`Database.fetch_async` (on
    PostgreSQL on the event loop itself). Otherwise, in a worker thread, one read (:meth:`Database.read`) where
    one statement finds the total, the page and its MARC (every other PostgreSQL text search and ranked search),
    or anything on SQLite (whose reads are transactions that cost no round trips); otherwise a session, whose
    statements share one snapshot. (An empty page past the end is counted by a second statement.)
    """
    plan = _plan(db.dialect, query, None, sort)
    if plan.fts is not None or plan.tsquery is not None:
        count, page, params = _term_statements(plan, marc=True)
        rows = await db.fetch_async(page, {**params, "limit": limit, "offset": offset}) if limit else []
        if rows:
            total, rows = _term_rows(plan, rows)
        else:
            total = int((await db.fetch_async(count, params))[0][0]) if _empty_page_counted(limit, offset) else 0
    else:
        total, rows = await asyncio.to_thread(_marc_page, db, plan, limit, offset)
    return total, [(int(row[0]), bytes(row[-1])) for row in rows]


def _marc_page(db: Database, plan: _Plan, limit: int, offset: int) -> tuple[int, list[Any]]:
    """:func:`find_marc` of a query that is not one text term."""

    def page(bind: Bind) -> tuple[int, list[Any]]:
        return _page(bind, plan, limit, offset, marc=True)

    if db.dialect == "sqlite" or plan.one_pass:
        return db.read(page)
    with db.session() as session:
        return page(session)


def _dialect(bind: Bind) -> str:
    return bind.dialect.name if isinstance(bind, Connection) else bind.get_bind().dialect.name


def _count(bind: Bind, condition: ColumnElement[bool]) -> int:
    return int(bind.scalar(select(func.count()).select_from(BibRecord).where(condition)) or 0)


def search(
    session: Session,
    query: str | Node | None = "",
    filters: Filters | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchResults:
    """Records matching ``query`` and ``filters``, ``total`` counted, ``limit`` of them from ``offset``."""
    total, ranked = find(session, query, filters, sort, limit, offset)
    loaded = {r.id: r for r in session.scalars(select(BibRecord).where(BibRecord.id.in_([rid for rid, _ in ranked])))}
    hits = [Hit(loaded[rid], score) for rid, score in ranked]
    return SearchResults(total=total, hits=hits, offset=offset, limit=limit)


# A query of one text term has fixed statements, written for the driver (parameters in its own style: sqlite3
# ``:name``, psycopg ``%(name)s``): nothing is built or compiled per query, and SRU runs them with
# Database.fetch_async, outside SQLAlchemy. Each pair is the count alone (for a page past the end) and the page with the
# total in every row: rows (id, score, total[, stored ISO 2709]).
Runner = Callable[[str, dict[str, Any]], Sequence[Sequence[Any]]]


@functools.cache
def _fts_statements(ranked: bool, marc: bool) -> tuple[str, str]:
    """SQLite: read from the FTS5 index alone (it holds only records that are not deleted: migration 0011),
    ranked by bm25 (weights title 10, authors 5, subjects 3, the rest 1) or newest first (FTS5 walks its index
    backwards and stops at the page); the total is a subquery SQLite runs once. With ``marc``, each record's MARC
    is joined to the page after the limit (SQLite does not flatten a limited subquery into a join)."""
    count = "SELECT count(*) FROM bib_fts WHERE bib_fts MATCH :expression"
    score = "bm25(bib_fts, 10.0, 5.0, 3.0, 1.0)" if ranked else "NULL"
    order, outer = ("score, rowid", "page.score, page.rowid") if ranked else ("rowid DESC", "page.rowid DESC")
    page = (
        f"SELECT rowid, {score} AS score, ({count}) AS total FROM bib_fts WHERE bib_fts MATCH :expression "
        f"ORDER BY {order} LIMIT :limit OFFSET :offset"
    )
    if marc:
        page = (
            f"SELECT page.rowid, page.score, page.total, stored.marc FROM ({page}) AS page "
            f"JOIN bib_records AS stored ON stored.id = page.rowid ORDER BY {outer}"
        )
    return count, page


# PostgreSQL: where a search of one text term finds its matches (every row a record that is not deleted, or the
# condition says so), and the document it ranks them by.
_PG_SOURCES = {
    True: ("bib_title_search", "title_vector", ""),
    False: ("bib_records", "search_vector", " AND deleted_at IS NULL"),
}


# A tsquery made once per statement: Database.fetch(_async) plans a statement once for all its parameters, and in such a
# plan a function of a parameter is called again for each row it is used on.
_PG_QUERY = "(SELECT to_tsquery('simple'::regconfig, %({})s))"


@functools.cache
def _pg_term_statements(title: bool, ranked: bool, marc: bool) -> tuple[str, str]:
    """PostgreSQL: what :func:`_pg_text_matches` and :func:`_order` build, written once: the matches gathered
    through a GIN index (of the table of titles, or of the weighted document), then ordered newest first or by
    ``ts_rank``; with ``marc``, each record's MARC read after the limit (the planner postpones a subquery of the
    output). A title term is ranked by the title's words alone. Planned once for every word (Database.fetch_async)."""
    source, document, live = _PG_SOURCES[title]
    match = f"{document} @@ {_PG_QUERY.format('query')}{live}"
    score = f"ts_rank({document}, {_PG_QUERY.format('rank')})" if ranked else "NULL::real"
    stored = ", (SELECT marc FROM bib_records AS stored WHERE stored.id = matches.id)" if marc else ""
    page = (
        f"WITH matches AS MATERIALIZED (SELECT id, {score} AS score FROM {source} WHERE {match}) "
        f"SELECT id, score, count(*) OVER () AS total{stored} FROM matches "
        f"ORDER BY {'score DESC, id' if ranked else 'id DESC'} LIMIT %(limit)s OFFSET %(offset)s"
    )
    return f"SELECT count(*) FROM {source} WHERE {match}", page


def _term_statements(plan: _Plan, *, marc: bool) -> tuple[str, str, dict[str, Any]]:
    """One text term: its two fixed statements (the count alone, and the page with the total in every row) and
    their parameters but the page's ``limit`` and ``offset``."""
    ranked = plan.sort == "relevance"
    if plan.fts is not None:
        return (*_fts_statements(ranked, marc), {"expression": plan.fts})
    assert plan.tsquery is not None
    params: dict[str, Any] = {"query": plan.tsquery.query}
    if ranked:
        params["rank"] = plan.tsquery.rank
    return (*_pg_term_statements(plan.tsquery.title, ranked, marc), params)


def _term_rows(plan: _Plan, rows: Sequence[Sequence[Any]]) -> tuple[int, list[Any]]:
    """The total and the rows (id, score[, ISO 2709]) of a page of one text term that is not empty."""
    bm25 = plan.fts is not None  # lower is better: turned round so that a higher score is better in both
    return int(rows[0][2]), [
        (row[0], None if row[1] is None else (-row[1] if bm25 else row[1]), *row[3:]) for row in rows
    ]


def _term_page(run: Runner, plan: _Plan, limit: int, offset: int, *, marc: bool) -> tuple[int, list[Any]]:
    """One text term: the total and the rows (id, score[, ISO 2709]) of the page, by relevance (best first) or
    newest first; one statement unless the page is empty."""
    count, page, params = _term_statements(plan, marc=marc)
    rows = run(page, {**params, "limit": limit, "offset": offset}) if limit else []
    if not rows:
        return (int(run(count, params)[0][0]) if _empty_page_counted(limit, offset) else 0), []
    return _term_rows(plan, rows)


def _empty_page_counted(limit: int, offset: int) -> bool:
    """Whether an empty page of one text term needs the count statement: one past the end, or of no rows, may
    have matches before it; an empty first page of some rows has none."""
    return bool(offset or not limit)


def _run_on(bind: Bind) -> Runner:
    """A :data:`Runner` on a session's or connection's own connection (inside its transaction)."""
    connection = bind if isinstance(bind, Connection) else bind.connection()
    return lambda sql, params: connection.exec_driver_sql(sql, params).all()
