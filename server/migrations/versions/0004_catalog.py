"""catalog: folded columns, match key, SQLite FTS5 table with triggers, PostgreSQL full-text index

Revision ID: 0004_catalog
Revises: 0001

The FTS5 table, its triggers and PostgreSQL's generated ``search_vector`` column and its GIN index are not
described by the models; the migration comparison ignores them by name (``server.catalog.schema``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_catalog"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_COLUMNS = "title_folded, authors_folded, subjects_folded, search_text"

# The weighted document of a record on PostgreSQL (stored generated column ``search_vector``).
PG_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, title_folded), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, authors_folded), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, subjects_folded), 'C') || "
    "setweight(to_tsvector('simple'::regconfig, search_text), 'D')"
)


def upgrade() -> None:
    with op.batch_alter_table("bib_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_folded", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("authors_folded", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("subjects_folded", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("title_key", sa.String(length=255), nullable=False, server_default=""))
    with op.batch_alter_table("bib_records", schema=None) as batch_op:
        batch_op.alter_column("title_folded", server_default=None)
        batch_op.alter_column("authors_folded", server_default=None)
        batch_op.alter_column("subjects_folded", server_default=None)
        batch_op.alter_column("title_key", server_default=None)
        batch_op.create_index(batch_op.f("ix_bib_records_title_key"), ["title_key"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE bib_fts USING fts5({FTS_COLUMNS}, content='bib_records', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        values = ", ".join(f"new.{c.strip()}" for c in FTS_COLUMNS.split(","))
        old_values = ", ".join(f"old.{c.strip()}" for c in FTS_COLUMNS.split(","))
        op.execute(
            "CREATE TRIGGER bib_fts_ai AFTER INSERT ON bib_records BEGIN "
            f"INSERT INTO bib_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {values}); END"
        )
        op.execute(
            "CREATE TRIGGER bib_fts_ad AFTER DELETE ON bib_records BEGIN "
            f"INSERT INTO bib_fts(bib_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', old.id, {old_values}); END"
        )
        op.execute(
            f"CREATE TRIGGER bib_fts_au AFTER UPDATE OF {FTS_COLUMNS} ON bib_records BEGIN "
            f"INSERT INTO bib_fts(bib_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', old.id, {old_values}); "
            f"INSERT INTO bib_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, {values}); END"
        )
        op.execute("INSERT INTO bib_fts(bib_fts) VALUES ('rebuild')")
    elif dialect == "postgresql":
        # A stored column, not an expression index: ts_rank and weight rechecks then read it instead of
        # recomputing the document for every matching row.
        op.execute(
            f"ALTER TABLE bib_records ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
        )
        op.execute("CREATE INDEX ix_bib_fulltext ON bib_records USING gin (search_vector)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("bib_fts_ai", "bib_fts_ad", "bib_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS bib_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_bib_fulltext")
        op.execute("ALTER TABLE bib_records DROP COLUMN IF EXISTS search_vector")
    with op.batch_alter_table("bib_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bib_records_title_key"))
        batch_op.drop_column("title_key")
        batch_op.drop_column("subjects_folded")
        batch_op.drop_column("authors_folded")
        batch_op.drop_column("title_folded")
