"""find(): the total is the same whatever page is asked for, ranked or sorted, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from server.catalog.search import Bool, Term, find, search
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
