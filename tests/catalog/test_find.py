"""find(): the total is the same whatever page is asked for, ranked or sorted, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import event, select

from server.catalog.models import BibRecord
from server.catalog.search import Bool, Term, find, find_marc, search
from server.db import Database
from tests.catalog.test_search import catalog  # noqa: F401  (fixture)

QUERIES = [
    "chien tranh",  # SQLite: the one-statement FTS5 path
    Term("title", "kieu"),
    Bool("or", Term("title", "kieu"), Term("author", "tolstoy")),  # the general path, ranked
    Term("year", "1999"),  # no text: not ranked
]


@pytest.mark.parametrize("query", QUERIES, ids=str)
@pytest.mark.parametrize("sort", ["relevance", "title"])
def test_totals_do_not_depend_on_the_page(catalog: Database, query: object, sort: str) -> None:  # noqa: F811
    with catalog.session() as session:
        total, everything = find(session, query, sort=sort, limit=100)  # type: ignore[arg-type]
        assert total == len(everything) >= 2
        for limit, offset in ((0, 0), (1, 0), (1, 1), (5, total), (5, total + 3)):
            page_total, page = find(session, query, sort=sort, limit=limit, offset=offset)  # type: ignore[arg-type]
            assert page_total == total
            assert page == everything[offset : offset + limit]
        results = search(session, query, sort=sort, limit=1, offset=1)  # type: ignore[arg-type]
        assert results.total == total and [h.record.id for h in results.hits] == [everything[1][0]]


ONE_TERM = [Term("any", "chien"), Term("title", "kieu"), Term("author", "nguyen"), Term("subject", "chien tranh")]


@pytest.mark.parametrize("term", ONE_TERM, ids=str)
@pytest.mark.parametrize("sort", ["new", "relevance"])
def test_one_term_finds_what_the_built_statement_finds(catalog: Database, term: Term, sort: str) -> None:  # noqa: F811
    """A query of one text term runs a fixed statement; the same query built as a tree takes the general path."""
    with catalog.session() as session:
        total, fixed = find(session, term, sort=sort, limit=100)
        general_total, general = find(session, Bool("and", term, term), sort=sort, limit=100)
    assert total == general_total == len(fixed) >= 1
    assert [rid for rid, _ in fixed] == [rid for rid, _ in general]
    assert all(score is not None for _, score in fixed) == (sort == "relevance")


@pytest.mark.parametrize("query", [*QUERIES[1:], *ONE_TERM, Term("isbn", "0-306-40615-2")], ids=str)
@pytest.mark.parametrize("sort", ["new", "relevance", "title"])
async def test_find_marc_serves_the_pages_of_find(catalog: Database, query: Term | Bool, sort: str) -> None:  # noqa: F811
    with catalog.session() as session:
        total, everything = find(session, query, sort=sort, limit=100)
        stored = {rid: marc for rid, marc in session.execute(select(BibRecord.id, BibRecord.marc))}
    for limit, offset in ((100, 0), (0, 0), (1, 0), (2, 1), (5, total), (5, total + 3)):
        page_total, page = await find_marc(catalog, query, sort, limit, offset)
        assert page_total == total
        assert page == [(rid, stored[rid]) for rid, _ in everything[offset : offset + limit]]


@pytest.mark.parametrize("query", [
    Term("title", "kieu"), Bool("or", Term("title", "kieu"), Term("any", "an"))
], ids=str)
async def test_find_marc_reads_the_page_and_its_records_at_once(
    catalog: Database, query: Term | Bool, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """One text term: one fixed statement through Database.fetch_async, without SQLAlchemy. Any other query: on
    PostgreSQL one statement; on SQLite the page, then its records."""
    fetched: list[str] = []
    statements: list[str] = []
    fetch = catalog.fetch_async

    async def counted_fetch(sql: str, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        fetched.append(sql)
        return await fetch(sql, params)

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement != "BEGIN":
            statements.append(statement)

    monkeypatch.setattr(catalog, "fetch_async", counted_fetch)
    event.listen(catalog.reader, "before_cursor_execute", note)
    try:
        total, page = await find_marc(catalog, query, "relevance", 10, 0)
    finally:
        event.remove(catalog.reader, "before_cursor_execute", note)
    assert total == len(page) >= 2
    if isinstance(query, Term):
        assert (len(fetched), statements) == (1, [])
    else:
        assert (fetched, len(statements)) == ([], 1 if catalog.dialect == "postgresql" else 2)
