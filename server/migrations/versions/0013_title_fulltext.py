"""PostgreSQL: a full-text index of titles alone

Revision ID: 0013_title_fulltext
Revises: 0012_marc_lz4

``dc.title`` (and every title search) asked the weighted document for title words (``w:A``). GIN keeps no
weights, so each record holding the word anywhere was read and rechecked: for a common word, tens of thousands
of rows to find the few thousand titles. This index holds the words of ``title_folded`` of the records that are
not deleted, the same words as the document's weight A, and answers a title search exactly. SQLite is
unchanged: FTS5 answers a column filter from its own index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_title_fulltext"
down_revision: str | Sequence[str] | None = "0012_marc_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_bib_title_fulltext ON bib_records"
            " USING gin (to_tsvector('simple'::regconfig, title_folded)) WHERE deleted_at IS NULL"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_bib_title_fulltext")
