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


def _values(row: str) -> str:
    return ", ".join(f"{row}.{c}" for c in COLUMNS)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    add = f"INSERT INTO bib_fts(rowid, {NAMES})"
    remove = f"INSERT INTO bib_fts(bib_fts, rowid, {NAMES})"
    op.execute(
        "CREATE TRIGGER bib_fts_ai AFTER INSERT ON bib_records WHEN new.deleted_at IS NULL BEGIN "
        f"{add} VALUES (new.id, {_values('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER bib_fts_ad AFTER DELETE ON bib_records WHEN old.deleted_at IS NULL BEGIN "
        f"{remove} VALUES ('delete', old.id, {_values('old')}); END"
    )
    # One trigger for both halves, so that the old entry always goes before the new one comes.
    op.execute(
        f"CREATE TRIGGER bib_fts_au AFTER UPDATE OF {NAMES}, deleted_at ON bib_records BEGIN "
        f"{remove} SELECT 'delete', old.id, {_values('old')} WHERE old.deleted_at IS NULL; "
        f"{add} SELECT new.id, {_values('new')} WHERE new.deleted_at IS NULL; END"
    )
    op.execute("INSERT INTO bib_fts(bib_fts) VALUES ('delete-all')")
    op.execute(f"{add} SELECT id, {NAMES} FROM bib_records WHERE deleted_at IS NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    add = f"INSERT INTO bib_fts(rowid, {NAMES})"
    remove = f"INSERT INTO bib_fts(bib_fts, rowid, {NAMES})"
    op.execute(
        f"CREATE TRIGGER bib_fts_ai AFTER INSERT ON bib_records BEGIN {add} VALUES (new.id, {_values('new')}); END"
    )
    op.execute(
        "CREATE TRIGGER bib_fts_ad AFTER DELETE ON bib_records BEGIN "
        f"{remove} VALUES ('delete', old.id, {_values('old')}); END"
    )
    op.execute(
        f"CREATE TRIGGER bib_fts_au AFTER UPDATE OF {NAMES} ON bib_records BEGIN "
        f"{remove} VALUES ('delete', old.id, {_values('old')}); {add} VALUES (new.id, {_values('new')}); END"
    )
    op.execute("INSERT INTO bib_fts(bib_fts) VALUES ('rebuild')")
