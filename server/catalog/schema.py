"""Database objects of the catalog that the models do not describe (search indexes of migrations 0004 and 0013)."""

from __future__ import annotations

from typing import Any

UNMODELLED_TABLE_PREFIX = "bib_fts"
FULLTEXT_INDEXES = ("ix_bib_fulltext", "ix_bib_title_fulltext")  # PostgreSQL only: GIN
UNMODELLED_INDEXES = frozenset(FULLTEXT_INDEXES)
UNMODELLED_COLUMNS = frozenset({"search_vector"})  # PostgreSQL only: generated tsvector


def include_object(_object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
    """Alembic ``include_object`` hook: leave out the FTS5 table (and its shadow tables) and the tsvector indexes."""
    if type_ == "table" and name is not None and name.startswith(UNMODELLED_TABLE_PREFIX):
        return False
    if type_ == "column" and name in UNMODELLED_COLUMNS:
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)
