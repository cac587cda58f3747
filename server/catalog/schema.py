"""Database objects of the catalog that the models do not describe (the search indexes of migrations 0004, 0011
and 0014)."""

from __future__ import annotations

from typing import Any

UNMODELLED_TABLES = ("bib_fts", "bib_title_search")  # SQLite FTS5 (and its shadow tables); PostgreSQL titles
UNMODELLED_INDEXES = frozenset({"ix_bib_fulltext"})  # PostgreSQL only: GIN of the weighted document
UNMODELLED_COLUMNS = frozenset({"search_vector"})  # PostgreSQL only: generated tsvector


def include_object(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Alembic ``include_object`` hook: leave out the search tables and the tsvector column and index."""
    if type_ == "table" and name is not None and name.startswith(UNMODELLED_TABLES):
        return False
    if type_ == "column" and name in UNMODELLED_COLUMNS:
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)
