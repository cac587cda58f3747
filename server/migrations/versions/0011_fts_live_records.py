"""SQLite full-text index: only records that are not deleted

Revision ID: 0011_fts_live_records
Revises: 0010_search_text_rest

A deleted record keeps its row (OAI-PMH persistent deletions) but is never found by a search. With deleted
records in the FTS5 index every text search joined each match to ``bib_records`` to check ``deleted_at``, a
random lookup per match that cost more than the ranking. The triggers now keep only live records in the index
(a record leaving or re-entering the catalog by ``deleted_at`` leaves or re-enters the index), so a text
search reads the index alone. PostgreSQL is unchanged: its index lives in the row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_fts_live_records"
down_revision: str | Sequence[str] | None = "0010_search_text_rest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("title_folded", "authors_folded", "subjects_folded", "search_text")
NAMES = ", ".join(COLUMNS)
TRIGGERS = ("bib_fts_ai", "bib_fts_ad", "bib_fts_au")


ADD = f"INSERT INTO bib_fts(rowid, {NAMES})"
REMOVE = f"INSERT INTO bib_fts(bib_fts, rowid, {NAMES})"


def _values(row: str) -> str:
    return ", ".join(f"{row}.{c}" for c in COLUMNS)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _triggers(live_only=True)
    op.execute("INSERT INTO bib_fts(bib_fts) VALUES ('delete-all')")
    op.execute(f"{ADD} SELECT id, {NAMES} FROM bib_records WHERE deleted_at IS NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _triggers(live_only=False)
    op.execute("INSERT INTO bib_fts(bib_fts) VALUES ('rebuild')")


def _triggers(*, live_only: bool) -> None:
    """The insert, delete and update triggers: for the live records only (this revision) or for every row."""
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    new_live = " WHERE new.deleted_at IS NULL" if live_only else ""
    old_live = " WHERE old.deleted_at IS NULL" if live_only else ""
    op.execute(
        f"CREATE TRIGGER bib_fts_ai AFTER INSERT ON bib_records BEGIN "
        f"{ADD} SELECT new.id, {_values('new')}{new_live}; END"
    )
    op.execute(
        f"CREATE TRIGGER bib_fts_ad AFTER DELETE ON bib_records BEGIN "
        f"{REMOVE} SELECT 'delete', old.id, {_values('old')}{old_live}; END"
    )
    # One trigger for both halves, so that the old entry always goes before the new one comes.
    columns = f"{NAMES}, deleted_at" if live_only else NAMES
    op.execute(
        f"CREATE TRIGGER bib_fts_au AFTER UPDATE OF {columns} ON bib_records BEGIN "
        f"{REMOVE} SELECT 'delete', old.id, {_values('old')}{old_live}; "
        f"{ADD} SELECT new.id, {_values('new')}{new_live}; END"
    )
